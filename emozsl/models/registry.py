"""The single source of truth for backbones: CLI choices, configs, model tests and docs come from here.

Importing this module (and `emozsl.models`) does not import torch: a backbone's class is imported
when it is first built or its options are resolved, so `emozsl --help` and the commands that need no
model start fast."""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass
from functools import cached_property

from emozsl.errors import FieldError, check_choice

# The emotion head every backbone gets (the paper's: word vectors, linear maps, dot product).
HEADS = ("embedding", "linear")
SIMILARITIES = ("dot", "cosine", "neg-sq-distance")
EMOTION_MAPS = ("linear", "mlp")
HEAD_DEFAULTS = {"head": "embedding", "similarity": "dot", "emotion_map": "linear"}


@dataclass(frozen=True)
class Backbone:
    """`target` ("module:Class") names the factory: factory(input_dims, word_dim, **options) -> a
    module mapping features to {space: (B, d)}, with `space_dims` (and optionally `fused_spaces`,
    the spaces the prediction fuses, and `auxiliary_spaces`, spaces trained against their own
    modality's labels). Its keyword defaults are the options: an int option is a size or a count
    (at least 1), a float option a dropout rate (within [0, 1)), a str option a named choice the
    factory checks; a float option named in `fractions` is a fraction within (0, 1] instead)."""
    name: str
    target: str
    paper: str
    unaligned: bool  # handles modalities of different lengths
    inputs: str = "features"  # or "raw": reads raw media (text, audio files, face frames)
    fractions: tuple[str, ...] = ()
    epochs: int = 100  # the training epochs a run gets unless it sets its own (early stopping ends most sooner)

    @cached_property
    def factory(self):
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def defaults(self) -> dict:
        params = list(inspect.signature(self.factory).parameters.values())[2:]
        return {p.name: p.default for p in params}


REGISTRY: dict[str, Backbone] = {}


def register(backbone: Backbone) -> None:
    if backbone.name in REGISTRY:
        raise ValueError(f"backbone '{backbone.name}' registered twice")
    REGISTRY[backbone.name] = backbone


def get_backbone(name: str) -> Backbone:
    return REGISTRY[check_choice("model", name, list(REGISTRY))]


def resolve_options(name: str, options: dict | None) -> dict:
    """Defaults merged with `options`, each value given its default's type and checked; an unknown
    option name is an error, not ignored."""
    backbone = get_backbone(name)
    defaults = backbone.defaults()
    if not isinstance(options or {}, dict):
        raise FieldError("model_options", options, "must be a table of option = value")
    for key in sorted(set(options or {}) - set(defaults)):
        raise FieldError(f"model_options.{key}", options[key],
                         f"not an option of {name} (options: {', '.join(defaults)})")
    resolved = dict(defaults)
    for key, value in (options or {}).items():
        resolved[key] = _checked(key, _coerce(key, value, defaults[key]), key in backbone.fractions)
    return resolved


KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _coerce(key: str, value, default):
    """Give a value (often a string from the command line) the type of the option's default."""
    kind = type(default)
    if default is None or (isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)):
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
    raise FieldError(f"model_options.{key}", value, f"is not {KIND_NAMES.get(kind, kind.__name__)}")


def _checked(key: str, value, fraction: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if fraction:
        if not (math.isfinite(value) and 0 < value <= 1):
            raise FieldError(f"model_options.{key}", value, "must be within (0, 1] (a fraction)")
        return float(value)
    if isinstance(value, int) and value < 1:
        raise FieldError(f"model_options.{key}", value, "must be at least 1 (a size or a count)")
    if isinstance(value, float) and not (math.isfinite(value) and 0 <= value < 1):
        raise FieldError(f"model_options.{key}", value, "must be within [0, 1) (a dropout rate)")
    return value
