"""The single source of truth for backbones: CLI choices, configs, model tests and docs come from here.

Importing this module (and `emozsl.models`) does not import torch: a backbone's class is imported
when it is first built or its options are resolved, so `emozsl --help` and the commands that need no
model start fast."""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from emozsl.errors import EmozslError, FieldError, check_choice

# The emotion head every backbone gets (the paper's: word vectors, linear maps, dot product).
HEADS = ("embedding", "linear")
SIMILARITIES = ("dot", "cosine", "neg-sq-distance")
EMOTION_MAPS = ("linear", "mlp")
HEAD_DEFAULTS = {"head": "embedding", "similarity": "dot", "emotion_map": "linear"}


@dataclass(frozen=True)
class Kind:
    """What values a backbone option takes. A value (often a command-line string) is given
    `value_type`, then must pass `allows`, else the FieldError says it `must be {rule} ({noun})`. A
    choice's names are the factory's own collection, `source` ("module:NAME"), imported when first
    needed as the factory is, so declaring one imports no torch and the names live in one place."""
    name: str
    value_type: type
    noun: str
    rule: str = ""
    allows: Callable[[Any], bool] = lambda value: True
    source: str = ""

    def choices(self) -> tuple[str, ...]:
        """A choice's names (imports the factory's module)."""
        module, _, attribute = self.source.partition(":")
        return tuple(getattr(importlib.import_module(module), attribute))

    def check(self, key: str, value):
        """`value` given this kind's type and checked; a FieldError naming `model_options.{key}`."""
        value = _coerce(key, value, self.value_type)
        if self.source:
            return check_choice(f"model_options.{key}", value, self.choices())
        if not self.allows(value):
            raise FieldError(f"model_options.{key}", value, f"must be {self.rule} ({self.noun})")
        return value

    def describe(self) -> str:
        """As `emozsl models` lists it: 'rate: within [0, 1)', 'choice: mean, last'."""
        return f"{self.name}: {', '.join(self.choices()) if self.source else self.rule or self.noun}"


# NaN fails every comparison, so each numeric test also refuses it.
COUNT = Kind("count", int, "a size or a count", "at least 1", lambda value: value >= 1)
COUNT0 = Kind("count0", int, "a count", "at least 0", lambda value: value >= 0)
FRACTION = Kind("fraction", float, "a fraction", "within (0, 1]", lambda value: 0 < value <= 1)
RATE = Kind("rate", float, "a rate", "within [0, 1)", lambda value: 0 <= value < 1)
POSITIVE = Kind("positive", float, "a positive number", "finite and above 0", lambda value: 0 < value < math.inf)
FLAG = Kind("flag", bool, "true or false")
PATH = Kind("path", str, "a local folder or file ('' for none)")  # the factory checks what must be there


def choice(source: str) -> Kind:
    """A named choice; `source` ("module:NAME") is the factory's collection of the names."""
    return Kind("choice", str, "a choice", source=source)


INPUTS = {"features": "pre-extracted features", "raw": "raw media"}  # what a backbone reads -> its words


@runtime_checkable
class BackboneModule(Protocol):
    """What a backbone's factory returns: a torch module that, called on a batch in emozsl.batches'
    form (models/sequence.py), gives {space: (B, d)} float tensors, d = space_dims[space]. Optional
    attributes, read where present: `fused_spaces` (the spaces the prediction fuses; default all),
    `auxiliary_spaces` (spaces trained against their own modality's labels); a raw-media backbone
    also has `pad_id` (the token id text batches are padded with). `Backbone.build` checks this."""

    space_dims: Mapping[str, int]  # space -> width d

    def __call__(self, batch: dict) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Backbone:
    """`target` ("module:Class") names the factory: factory(input_dims, word_dim, **options) -> a
    BackboneModule. Its keyword defaults are the options' defaults; `options` declares each
    one's Kind (a test checks that every option has one and every default passes it). Options
    valid alone but not together (a width its heads must divide) are the factory's to check in
    __init__, as a FieldError on one option naming the others, so the meta-device check
    (build.check_model) refuses them before any data is read (tests/test_option_combinations.py)."""
    name: str
    target: str
    paper: str
    unaligned: bool  # handles modalities of different lengths
    options: Mapping[str, Kind]
    inputs: str = "features"  # or "raw": reads raw media (text, audio files, face frames)
    epochs: int = 100  # the training epochs a run gets unless it sets its own (early stopping ends most sooner)

    @cached_property
    def factory(self):
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def defaults(self) -> dict:
        """{option: default} in the factory's order."""
        params = list(inspect.signature(self.factory).parameters.values())[2:]
        return {p.name: p.default for p in params}

    def build(self, input_dims: dict[str, int], word_dim: int, **options):
        """factory(input_dims, word_dim, **options), checked against BackboneModule: a module that
        breaks the contract is an EmozslError naming this backbone, before the head is joined."""
        module = self.factory(input_dims, word_dim, **options)
        if fault := _contract_fault(self, module):
            raise EmozslError(f"backbone '{self.name}' ({self.target}): {fault}")
        return module


def _contract_fault(backbone: Backbone, module) -> str | None:
    """What `module` breaks of BackboneModule, or None."""
    if not isinstance(module, BackboneModule):
        missing = "space_dims" if callable(module) else "__call__ (it maps a batch to its spaces)"
        return f"the factory returned {type(module).__name__}, which has no {missing}"
    dims = module.space_dims
    if not isinstance(dims, Mapping) or not dims:
        return "space_dims must be a non-empty {space: width} mapping"
    bad = [f"{s}={d!r}" for s, d in dims.items() if not isinstance(s, str) or not isinstance(d, int) or d < 1]
    if bad:
        return f"space_dims {', '.join(bad)}: each must be a space name with a width of at least 1"
    for optional in ("fused_spaces", "auxiliary_spaces"):
        unknown = [s for s in getattr(module, optional, ()) if s not in dims]
        if unknown:
            return f"{optional} {', '.join(map(str, unknown))} not in space_dims ({', '.join(dims)})"
    if backbone.inputs == "raw" and not isinstance(getattr(module, "pad_id", None), int):
        return "a raw-media backbone needs an integer pad_id"
    return None


REGISTRY: dict[str, Backbone] = {}


def register(backbone: Backbone) -> None:
    """Add `backbone` to REGISTRY, checking its declaration without importing its module (no torch):
    a new name, a "module:Attribute" target, inputs among INPUTS, a Kind per option, epochs at least 1.
    A fault is an EmozslError naming the backbone."""
    module, _, attribute = backbone.target.partition(":")
    faults = [fault for broken, fault in (
        (backbone.name in REGISTRY, "registered twice"),
        (not (module and attribute.isidentifier()), f"target {backbone.target!r} is not 'module:Attribute'"),
        (backbone.inputs not in INPUTS, f"inputs {backbone.inputs!r}: choose one of {', '.join(INPUTS)}"),
        (not all(isinstance(k, Kind) for k in backbone.options.values()), "every option needs a Kind"),
        (not (isinstance(backbone.epochs, int) and backbone.epochs >= 1), "epochs must be at least 1"),
    ) if broken]
    if faults:
        raise EmozslError(f"backbone '{backbone.name}': {'; '.join(faults)}")
    REGISTRY[backbone.name] = backbone


def get_backbone(name: str) -> Backbone:
    return REGISTRY[check_choice("model", name, list(REGISTRY))]


def resolve_options(name: str, options: dict | None) -> dict:
    """Defaults merged with `options`, each value given its kind's type and checked; a bad value, or
    an unknown option name (not ignored), is a FieldError naming `model_options.KEY`."""
    backbone = get_backbone(name)
    defaults = backbone.defaults()
    if not isinstance(options or {}, dict):
        raise FieldError("model_options", options, "must be a table of option = value")
    for key in sorted(set(options or {}) - set(defaults)):
        raise FieldError(f"model_options.{key}", options[key],
                         f"not an option of {name} (options: {', '.join(defaults)})")
    return {**defaults, **{key: backbone.options[key].check(key, value) for key, value in (options or {}).items()}}


KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _coerce(key: str, value, kind: type):
    """Give a value (often a string from the command line) the type `kind`."""
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    text = str(value).strip().lower()
    if kind is bool and text in ("true", "1", "false", "0"):
        return text in ("true", "1")
    if kind is int and isinstance(value, str) and text.lstrip("-").isdigit():
        return int(text)
    if kind is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise FieldError(f"model_options.{key}", value, f"is not {KIND_NAMES[kind]}")
