"""Human-readable rendering of a data set's summary (`emozsl data info`)."""

from __future__ import annotations


def format_summary(summary: dict) -> str:
    lines = [f"{summary['name']}  ({summary['source']})  fingerprint {summary['fingerprint']}"]
    emotions = summary["emotions"]
    first = next(iter(summary["splits"].values()))
    if summary.get("kind") == "raw":
        lines.append("modalities: " + ", ".join(f"{m} (raw media)" for m in first["shapes"]))
    else:
        lines.append("modalities: " + ", ".join(f"{m} steps={s[1]} dim={s[2]}" for m, s in first["shapes"].items()))
    width = max(len(e) for e in emotions + ["emotion"])
    splits = list(summary["splits"])
    lines.append("")
    lines.append(f"{'emotion':<{width}}  " + "  ".join(f"{s:>7}" for s in splits))
    lines.append(f"{'samples':<{width}}  " + "  ".join(f"{summary['splits'][s]['n']:>7}" for s in splits))
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
