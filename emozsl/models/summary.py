"""The `emozsl models` table, generated from the registry."""

from __future__ import annotations

from emozsl.models.build import build_model
from emozsl.models.registry import REGISTRY

# Default sizes for counting: the MOSEI feature dims and 300-d word vectors of the paper.
REFERENCE_DIMS = {"text": 300, "audio": 74, "visual": 35}
REFERENCE_WORD_DIM = 300


def parameter_count(name: str, input_dims: dict[str, int] = REFERENCE_DIMS, word_dim: int = REFERENCE_WORD_DIM) -> int:
    model = build_model(name, input_dims, word_dim)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def models_table() -> str:
    rows = [("name", "paper", "parameters", "unaligned")]
    rows += [(b.name, b.paper, f"{parameter_count(b.name):,}", "yes" if b.unaligned else "no") for b in REGISTRY.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
