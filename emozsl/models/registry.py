"""The single source of truth for backbones: CLI choices, configs and model tests come from here."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from emozsl.errors import EmozslError
from emozsl.models.head import EmotionModel, build_head

# The emotion head every backbone gets (the paper's: word vectors, linear maps, dot product).
HEAD_DEFAULTS = {"head": "embedding", "similarity": "dot", "emotion_map": "linear"}


@dataclass(frozen=True)
class Backbone:
    name: str
    # factory(input_dims, word_dim, **options) -> a module mapping features to {space: (B, d)}, with
    # `space_dims` (and optionally `fused_spaces`, the spaces the prediction fuses, and
    # `auxiliary_spaces`, spaces trained against their own modality's labels).
    factory: Callable[..., nn.Module]
    paper: str
    unaligned: bool  # handles modalities of different lengths

    def defaults(self) -> dict:
        params = list(inspect.signature(self.factory).parameters.values())[2:]
        return {p.name: p.default for p in params}


REGISTRY: dict[str, Backbone] = {}


def register(backbone: Backbone) -> None:
    if backbone.name in REGISTRY:
        raise ValueError(f"backbone '{backbone.name}' registered twice")
    REGISTRY[backbone.name] = backbone


def get_backbone(name: str) -> Backbone:
    if name not in REGISTRY:
        raise EmozslError(f"model '{name}': unknown (choices: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def resolve_options(name: str, options: dict | None) -> dict:
    """Defaults merged with `options`; an unknown option name is an error, not ignored."""
    defaults = get_backbone(name).defaults()
    unknown = set(options or {}) - set(defaults)
    if unknown:
        raise EmozslError(f"model '{name}': unknown option(s) {', '.join(sorted(unknown))} "
                          f"(options: {', '.join(defaults)})")
    resolved = dict(defaults)
    for key, value in (options or {}).items():
        resolved[key] = _coerce(name, key, value, defaults[key])
    return resolved


def _coerce(model: str, key: str, value, default):
    """Give a value (often a string from the command line) the type of the option's default."""
    if default is None or isinstance(value, type(default)):
        return value
    try:
        if isinstance(default, bool):
            if str(value).lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return str(value).lower() in ("true", "1")
        return type(default)(value)
    except (TypeError, ValueError):
        raise EmozslError(f"model '{model}': option {key}={value!r} is not a {type(default).__name__}") from None


def build_model(name: str, input_dims: dict[str, int], word_dim: int, options: dict | None = None,
                head: dict | None = None, trained_vectors: torch.Tensor | None = None) -> EmotionModel:
    """The backbone `name` joined to an emotion head. `head` overrides HEAD_DEFAULTS; the linear
    head needs `trained_vectors`, the (K, word_dim) vectors of the emotions it is trained on."""
    backbone = get_backbone(name).factory(input_dims, word_dim, **resolve_options(name, options))
    settings = {**HEAD_DEFAULTS, **(head or {})}
    fused = tuple(getattr(backbone, "fused_spaces", backbone.space_dims))
    return EmotionModel(backbone, build_head(settings["head"], backbone.space_dims, word_dim, fused,
                                             settings["similarity"], settings["emotion_map"], trained_vectors))
