"""Building a registered backbone joined to an emotion head, and checking that a configuration
builds before any data is read."""

from __future__ import annotations

import torch

from emozsl.errors import FieldError
from emozsl.models.head import EmotionModel, build_head
from emozsl.models.registry import HEAD_DEFAULTS, get_backbone, resolve_options

PROBE_DIM = 8  # feature and word sizes of the structural check (no size constraint depends on them)


def build_model(name: str, input_dims: dict[str, int], word_dim: int, options: dict | None = None,
                head: dict | None = None, trained_vectors: torch.Tensor | None = None) -> EmotionModel:
    """The backbone `name` joined to an emotion head. `head` overrides HEAD_DEFAULTS; the linear
    head needs `trained_vectors`, the (K, word_dim) vectors of the emotions it is trained on."""
    resolved = resolve_options(name, options)
    try:
        backbone = get_backbone(name).build(input_dims, word_dim, **resolved)
    except FieldError as exc:  # a backbone checks its own named choices: say which option it was
        if exc.field in resolved:
            raise FieldError(f"model_options.{exc.field}", exc.value, exc.reason) from None
        raise
    settings = {**HEAD_DEFAULTS, **(head or {})}
    fused = tuple(getattr(backbone, "fused_spaces", backbone.space_dims))
    return EmotionModel(backbone, build_head(settings["head"], backbone.space_dims, word_dim, fused,
                                             settings["similarity"], settings["emotion_map"], trained_vectors))


def check_model(name: str, modalities: list[str], options: dict | None, head: dict) -> dict:
    """Build the model once without memory (torch's meta device) to raise every error its
    configuration can raise (choices, widths that heads must divide, modalities it needs), before
    any data is read; returns the resolved options."""
    resolved = resolve_options(name, options)
    with torch.device("meta"):
        build_model(name, {m: PROBE_DIM for m in modalities}, PROBE_DIM, resolved, head,
                    torch.zeros(1, PROBE_DIM))
    return resolved
