"""Human-readable rendering of a data set's summary (`emozsl data info`), for labelled and
unlabelled data alike."""

from __future__ import annotations

from pathlib import Path

from emozsl.data.dataset import IMPUTE_DEFAULT
from emozsl.data.formats import load_dataset


def summary_of(path: str | Path, trust_pickle: bool = False, impute: str = IMPUTE_DEFAULT) -> dict:
    """The summary of the data at `path` (MultimodalDataset.summary), which may be unlabelled."""
    return load_dataset(path, trust_pickle, impute, labels="optional").summary()


def describe_path(path: str | Path, trust_pickle: bool = False, impute: str = IMPUTE_DEFAULT) -> str:
    """What `emozsl data info` prints for the data at `path`, labelled or not."""
    return format_summary(summary_of(path, trust_pickle, impute))


def format_summary(summary: dict) -> str:
    lines = [f"{summary['name']}  ({summary['source']})  fingerprint {summary['fingerprint']}"]
    emotions = summary["emotions"]
    first = next(iter(summary["splits"].values()))
    if summary.get("kind") == "raw":
        lines.append("modalities: " + ", ".join(f"{m} (raw media)" for m in first["shapes"]))
    else:
        lines.append("modalities: " + ", ".join(f"{m} steps={s[1]} dim={s[2]}" for m, s in first["shapes"].items()))
    labelled = summary.get("labelled", True)  # summaries written before the field were all labelled
    corner = "emotion" if labelled else "split"
    width = max(len(e) for e in emotions + [corner, "samples"])
    splits = list(summary["splits"])
    lines.append("")
    lines.append(f"{corner:<{width}}  " + "  ".join(f"{s:>7}" for s in splits))
    lines.append(f"{'samples':<{width}}  " + "  ".join(f"{summary['splits'][s]['n']:>7}" for s in splits))
    if not labelled:
        lines.append(f"no labels: data to score with a trained run (`emozsl predict RUN --data {summary['source']}`)")
    for emotion in emotions:
        lines.append(f"{emotion:<{width}}  " + "  ".join(f"{summary['splits'][s]['positives'][emotion]:>7}" for s in splits))
    if "modality_disagreement" in first:
        lines.append("")
        lines.append("uni-modal labels differing from the multimodal one: " + "; ".join(
            f"{s} " + ", ".join(f"{m} {r:.0%}" for m, r in summary["splits"][s]["modality_disagreement"].items())
            for s in splits))
    replaced = summary["neg_inf_replaced"]
    if replaced:
        lines.append("")
        lines.append("-inf set to 0: " + ", ".join(f"{k} {v}" for k, v in replaced.items()))
    for note in summary.get("notes", ()):
        lines.append(f"note: {note}")
    imputed = summary.get("imputed")
    if imputed:
        lines.append("")
        lines.append("NaN and infinities set to 0 (--impute zero): " + ", ".join(f"{k} {v}" for k, v in imputed.items()))
    dropped = summary.get("dropped")
    if dropped:
        lines.append("")
        lines.append(f"left out: {sum(dropped.values())} samples: " + ", ".join(f"{k}: {v}" for k, v in dropped.items()))
    return "\n".join(lines)
