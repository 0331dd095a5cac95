"""Per-emotion binary metrics, vectorised over emotions (columns). Pure functions of
(truth, probabilities); each equals its sklearn counterpart (tests check), without a Python loop.

An undefined value (AUC or WAcc of an emotion with no positive or no negative) is NaN, never 0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

METRICS = ("wacc", "f1_weighted", "f1_positive", "auc", "acc")
METRIC_TITLES = {"wacc": "WAcc", "f1_weighted": "wF1", "f1_positive": "F1+", "auc": "AUC", "acc": "Acc"}


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.full(num.shape, empty), where=den > 0)


def confusion(truth: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    """(N, K) booleans -> per-emotion tp, fp, fn, tn counts (K,)."""
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    tp = (truth & predicted).sum(0)
    fp = (~truth & predicted).sum(0)
    fn = (truth & ~predicted).sum(0)
    tn = (~truth & ~predicted).sum(0)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def weighted_accuracy(c: dict[str, np.ndarray]) -> np.ndarray:
    """(TP * N/P + TN) / (2N): the MOSEI WAcc, equal to balanced accuracy."""
    p, n = c["tp"] + c["fn"], c["tn"] + c["fp"]
    return _ratio(c["tp"] * _ratio(n, p, np.nan) + c["tn"], 2 * n, np.nan)


def f1_positive(c: dict[str, np.ndarray]) -> np.ndarray:
    return _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"], 0.0)


def f1_weighted(c: dict[str, np.ndarray]) -> np.ndarray:
    """sklearn's average='weighted' over the two classes: each class's F1 weighted by its support."""
    f1_neg = _ratio(2 * c["tn"], 2 * c["tn"] + c["fn"] + c["fp"], 0.0)
    p, n = c["tp"] + c["fn"], c["tn"] + c["fp"]
    return _ratio(f1_positive(c) * p + f1_neg * n, p + n, 0.0)


def accuracy(c: dict[str, np.ndarray]) -> np.ndarray:
    return _ratio(c["tp"] + c["tn"], c["tp"] + c["tn"] + c["fp"] + c["fn"], np.nan)


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-column ROC AUC by the rank-sum (Mann-Whitney) identity; ties get average ranks."""
    truth = truth.astype(bool)
    ranks = rankdata(scores, axis=0)
    p = truth.sum(0).astype(float)
    n = len(truth) - p
    rank_sum = (ranks * truth).sum(0)
    return _ratio(rank_sum - p * (p + 1) / 2, p * n, np.nan)


def emotion_metrics(truth: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """All per-emotion metrics, plus positive and sample counts, for (N, K) inputs."""
    truth = np.asarray(truth) > 0
    probabilities = np.asarray(probabilities, dtype=float)
    c = confusion(truth, probabilities > threshold)
    return {"wacc": weighted_accuracy(c), "f1_weighted": f1_weighted(c), "f1_positive": f1_positive(c),
            "auc": roc_auc(truth, probabilities), "acc": accuracy(c),
            "positives": truth.sum(0), "n": np.full(truth.shape[1], len(truth))}


def harmonic_mean(a: float, b: float) -> float:
    if np.isnan(a) or np.isnan(b) or a + b <= 0:
        return float("nan")
    return 2 * a * b / (a + b)


def group_summary(per_emotion: dict[str, np.ndarray], emotions: list[str], unseen: list[str]) -> dict[str, dict[str, float]]:
    """Seen average, unseen average and their harmonic mean (generalised zero-shot), per metric."""
    is_unseen = np.array([e in unseen for e in emotions])
    out: dict[str, dict[str, float]] = {"seen": {}, "unseen": {}, "harmonic": {}}
    for metric in METRICS:
        values = np.asarray(per_emotion[metric], float)
        out["seen"][metric] = _mean_defined(values[~is_unseen])
        out["unseen"][metric] = _mean_defined(values[is_unseen])
        out["harmonic"][metric] = harmonic_mean(out["seen"][metric], out["unseen"][metric])
    return out


def _mean_defined(values: np.ndarray) -> float:
    """Mean over the defined (non-NaN) values; NaN when there are none."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else float("nan")
