"""The zero-shot options table: every finished run of every variant under runs/zsl_options/,
re-scored once (its best checkpoint; test logits and its calibration reference), then each
calibration applied to the same logits. Writes results.md (mean +- std over seeds of the mean over
the held-out emotions) and results.json (every run's figures).

    python experiments/synth_mosei_zsl_options/report.py [RUNS_ROOT]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from emozsl.calibration import CALIBRATIONS
from emozsl.evaluate import load_run
from emozsl.reference import run_reference
from emozsl.runs import RunDir
from emozsl.scoring import score_calibrated

HERE = Path(__file__).parent
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
TRAINING_OPTIONS = ("label_words", "weight_decay")
MODELS = ["eea", "transformer_ef", "self_attn"]


def run_figures(path: Path) -> dict:
    """Unseen AUC, raw and calibrated unseen F1+ and WAcc, and the seen averages, of one run."""
    run = RunDir.open(path)
    session = load_run(run, device="cpu")
    emotions = session.task.emotions
    logits, labels = session.split_logits("test", emotions)
    reference = run_reference(run) or session.reference()
    unseen = np.array([e in session.task.unseen for e in emotions])
    figures = {"target": session.task.unseen[0], "seed": session.config.seed, "model": session.config.model,
               "options": {k: getattr(session.config, k) for k in TRAINING_OPTIONS}}
    for method in CALIBRATIONS:
        fitted = reference.fit(method, session.model.head, session.vectors, unseen, session.train_vectors,
                               session.config.threshold)
        result = score_calibrated(logits, labels, fitted, emotions, session.task.unseen, session.config.threshold,
                                  "test")
        scored = result.calibrated or result
        unseen, seen = scored.summary["unseen"], result.summary["seen"]
        figures[method] = {"unseen_f1": unseen["f1_positive"], "unseen_wacc": unseen["wacc"]}
    figures.update(unseen_auc=result.summary["unseen"]["auc"], seen_auc=seen["auc"], seen_wacc=seen["wacc"],
                   seen_f1=seen["f1_positive"])
    return figures


def mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


def per_seed_means(rows: list[dict], key) -> list[float]:
    """The mean over held-out emotions of `key(row)`, one value per seed."""
    seeds = sorted({r["seed"] for r in rows})
    return [float(np.mean([key(r) for r in rows if r["seed"] == s])) for s in seeds]


def main(root: Path) -> None:
    variants: dict[str, list[dict]] = {}  # "model variant" -> its runs' figures
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            figures = run_figures(path)
            variants.setdefault(f"{figures['model']} {folder.name}", []).append(figures)
    variants = dict(sorted(variants.items(), key=lambda item: (MODELS.index(item[1][0]["model"]), item[0])))
    lines = ["| model and variant | runs | unseen AUC | unseen F1+ raw | unseen F1+ "
             + " | unseen F1+ ".join(CALIBRATIONS[1:]) + " | unseen WAcc raw | unseen WAcc "
             + " | unseen WAcc ".join(CALIBRATIONS[1:]) + " | seen AUC | seen WAcc | seen F1+ |",
             "|---|---|---|" + "---|" * (2 * len(CALIBRATIONS)) + "---|---|---|"]
    for name, rows in variants.items():
        cells = [mean_std(per_seed_means(rows, lambda r: r["unseen_auc"])),
                 *(mean_std(per_seed_means(rows, lambda r, m=m: r[m]["unseen_f1"])) for m in CALIBRATIONS),
                 *(mean_std(per_seed_means(rows, lambda r, m=m: r[m]["unseen_wacc"])) for m in CALIBRATIONS),
                 *(mean_std(per_seed_means(rows, lambda r, k=k: r[k])) for k in ("seen_auc", "seen_wacc", "seen_f1"))]
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    lines += ["", f"Per held-out emotion, unseen AUC / F1+ raw / F1+ {CALIBRATIONS[1]} (mean over seeds):", "",
              "| model and variant | " + " | ".join(EMOTIONS) + " |", "|---|" + "---|" * len(EMOTIONS)]
    for name, rows in variants.items():
        cells = []
        for emotion in EMOTIONS:
            mine = [r for r in rows if r["target"] == emotion]
            cells.append("/".join(f"{np.mean(v):.2f}" for v in ([r["unseen_auc"] for r in mine],
                                                                [r["none"]["unseen_f1"] for r in mine],
                                                                [r[CALIBRATIONS[1]]["unseen_f1"] for r in mine])) if mine else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    (HERE / "results.json").write_text(json.dumps(variants, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/zsl_options"))
