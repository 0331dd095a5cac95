"""The `emozsl models` tables, generated from the registry: parameter counts, and every option with
its default and kind."""

from __future__ import annotations

from emozsl.errors import show
from emozsl.models.build import build_model
from emozsl.models.registry import REGISTRY, get_backbone

# Default sizes for counting: the MOSEI feature dims and 300-d word vectors of the paper.
REFERENCE_DIMS = {"text": 300, "audio": 74, "visual": 35}
REFERENCE_WORD_DIM = 300


def parameter_count(name: str, input_dims: dict[str, int] = REFERENCE_DIMS, word_dim: int = REFERENCE_WORD_DIM,
                    options: dict | None = None) -> int:
    """Trainable parameters of backbone `name` at `options` joined to the default emotion head."""
    model = build_model(name, input_dims, word_dim, options)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _written(value) -> str:
    """A value as `--option KEY=VALUE` writes it."""
    return str(value).lower() if isinstance(value, bool) else show(value)


def models_table(names: list[str] | None = None, options: dict | None = None) -> str:
    """The backbones `names` (default: every registered one) with their parameter counts at the
    reference sizes, then each one's options with default and kind. `options` (KEY=VALUE, as
    `--option` gives them) apply to every named backbone: a name that is not an option of one of
    them is a FieldError (`model_options.KEY`)."""
    backbones = [get_backbone(name) for name in names or REGISTRY]
    rows = [("name", "paper", "parameters", "unaligned")]
    rows += [(b.name, b.paper, f"{parameter_count(b.name, options=options):,} ({REFERENCE_WORD_DIM}-d words)",
              "yes" if b.unaligned else "no") for b in backbones]
    dims = ", ".join(f"{m} {d}" for m, d in REFERENCE_DIMS.items())
    at = ", ".join(f"{k}={v}" for k, v in (options or {}).items()) or "default options"
    raw = ", ".join(b.name for b in REGISTRY.values() if b.inputs == "raw")
    note = (f"Parameters: trainable, with the default emotion head, at {at};\n{REFERENCE_WORD_DIM}-d word vectors (the "
            f"paper's GloVe; the shipped vectors are 50-d, so a run on them counts fewer, as training prints) and "
            f"the MOSEI feature dims ({dims}), which {raw} (raw media) do not read.")
    listed = [("name", "option", "default", "kind")]
    listed += [(b.name, key, _written(default), b.options[key].describe())
               for b in backbones for key, default in b.defaults().items()]
    return (f"{_columns(rows)}\n\n{note}\n\nOptions (--option KEY=VALUE; `emozsl models --model NAME --option "
            f"KEY=VALUE` counts parameters at other values):\n\n{_columns(listed)}")
