"""The results table of a folder of finished runs (one per name), as Markdown: parameters, unseen and
seen test figures, best epoch, epochs run, median seconds per epoch, and with --flops-seconds S the
GFLOPs of a raw-media model's feature extraction for one utterance of S seconds.

    python experiments/results_table.py RUNS_DIR OUT.md NAME... [--flops-seconds S]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def row(run: Path, flops_seconds: float | None) -> list[str]:
    config = json.loads((run / "config.json").read_text())
    results = json.loads((run / "results.json").read_text())
    meta = json.loads((run / "metadata.json").read_text())
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    unseen = next(r for r in results["test"]["per_emotion"] if r["status"] == "unseen")
    seen = results["test"]["summary"]["seen"]
    per_epoch = sorted(e["seconds"] for e in epochs)[len(epochs) // 2]
    options = config["model_options"]
    cells = [run.name, f"{meta['parameters']:,}", f"{unseen['auc']:.3f}", f"{unseen['wacc']:.3f}", f"{seen['auc']:.3f}",
             f"{seen['wacc']:.3f}"]
    if flops_seconds is not None:
        from emozsl.models.flops import feature_extraction_flops

        cells += [f"{options['top_p']:g}" if "top_p" in options else "-",
                  f"{feature_extraction_flops(config['model'], flops_seconds, options) / 1e9:.3f}"]
    return cells + [str(results["best_epoch"]), str(results["epochs_run"]), f"{per_epoch:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--flops-seconds", type=float)
    args = parser.parse_args()
    header = ["run", "parameters", "unseen AUC", "unseen WAcc", "seen avg AUC", "seen avg WAcc"]
    if args.flops_seconds is not None:
        header += ["top_p", f"GFLOPs per {args.flops_seconds:g} s utterance"]
    header += ["best epoch", "epochs run", "s/epoch (CPU)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row(args.runs / name, args.flops_seconds)) + " |" for name in args.names]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
