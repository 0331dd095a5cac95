"""Two diagnostics of where the unseen emotion's score comes from, on finished runs (default: the
baseline variant). Neither is a method: the second reads test labels, to measure a ceiling.

Default: the eea runs of the baseline variant.

1. Seen-span projection. The unseen emotion's vector is replaced by its least-squares projection
   onto the seen emotions' vectors, or by the rest (the part orthogonal to them). If the projection
   ranks as well as the whole vector, everything the model scores the unseen emotion by is a blend
   of what it learned for the seen ones.
2. Threshold ceiling. Unseen F1+ at the best threshold chosen on the test labels themselves: no
   calibration (which must not read them) can beat it at the same ranking.

    python experiments/synth_mosei_zsl_options/bounds.py [RUNS_FOLDER [MODEL]]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from emozsl.evaluate import load_run
from emozsl.metrics import confusion, f1_positive, roc_auc
from emozsl.runs import RunDir

HERE = Path(__file__).parent


def best_f1_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The score threshold (predict "yes" above it) with the highest positive-class F1: midway
    between the scores where F1 peaks, over every distinct cut."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], truth[order].astype(float)
    tp = np.cumsum(hits)
    f1 = 2 * tp / (np.arange(1, len(ranked) + 1) + hits.sum())
    last = np.r_[ranked[1:] != ranked[:-1], True]  # a cut only between different scores
    best = int(np.flatnonzero(last)[np.argmax(f1[last])])
    return float((ranked[best] + ranked[best + 1]) / 2) if best + 1 < len(ranked) else float(ranked[best] - 1)


def run_bounds(path: Path) -> dict:
    session = load_run(RunDir.open(path), device="cpu")
    emotions = session.task.emotions
    u = emotions.index(session.task.unseen[0])
    vectors = session.vectors.clone()
    seen = torch.stack([vectors[i] for i in range(len(emotions)) if i != u])
    projection = (seen.T @ torch.linalg.lstsq(seen.T, vectors[u:u + 1].T).solution).T[0]
    out = {"run": path.name}
    for name, vector in [("whole", vectors[u]), ("projection", projection), ("rest", vectors[u] - projection)]:
        session.vectors = vectors.clone()
        session.vectors[u] = vector
        logits, labels = session.split_logits("test", emotions)
        scores, truth = logits.numpy()[:, [u]], labels.numpy()[:, [u]] > 0
        out[f"auc_{name}"] = float(roc_auc(truth, scores)[0])
        if name == "whole":
            best = best_f1_threshold(scores[:, 0], truth[:, 0])
            out["f1_raw"] = float(f1_positive(confusion(truth, scores > 0))[0])
            out["f1_test_oracle"] = float(f1_positive(confusion(truth, scores > best))[0])
    return out


def main(folder: Path, model: str) -> None:
    rows = [run_bounds(p) for p in sorted(folder.iterdir()) if p.is_dir() and p.name.startswith(f"{model}__")]
    means = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "run"}
    (HERE / "bounds.json").write_text(json.dumps({"runs": rows, "mean": means}, indent=1) + "\n")
    print(f"{len(rows)} {model} runs of {folder}")
    for key, value in means.items():
        print(f"{key:<16} {value:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/zsl_options/baseline"), sys.argv[2] if len(sys.argv) > 2 else "eea")
