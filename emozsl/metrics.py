"""Per-emotion binary metrics, vectorised over emotions (columns). Pure functions of
(truth, probabilities); each equals its sklearn counterpart (tests check), without a Python loop.
Also the result of scoring a split (EvalResult): numpy only, so reading and tabulating results
(emozsl report) never needs the training stack.

An undefined value (AUC or WAcc of an emotion with no positive or no negative) is NaN, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """A per-emotion metric: its key in results, its column title, which way is better, its
    function: compute(truth (N, K) bool, probabilities (N, K), threshold) -> (K,) values, NaN where
    undefined; and the tables that show it as a column (TABLES' keys; results files hold every
    metric)."""
    name: str
    title: str
    higher_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray, float], np.ndarray]
    tables: tuple[str, ...] = ()

    def better(self, value: float, than: float) -> bool:
        """Whether `value` beats `than` in this metric's direction (never when either is NaN)."""
        return value > than if self.higher_is_better else value < than


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
    from scipy.stats import rankdata  # here, not at the top: scipy.stats costs every command half a second

    truth = truth.astype(bool)
    ranks = rankdata(scores, axis=0)
    p = truth.sum(0).astype(float)
    n = len(truth) - p
    rank_sum = (ranks * truth).sum(0)
    return _ratio(rank_sum - p * (p + 1) / 2, p * n, np.nan)


def _of_predictions(counts_metric: Callable[[dict[str, np.ndarray]], np.ndarray]):
    """A metric of the confusion counts as a Metric's compute: of the predictions above the threshold."""
    return lambda truth, probabilities, threshold: counts_metric(confusion(truth, probabilities > threshold))


# The tables a metric can be a column of.
TABLES = {"result": "one system's per-emotion table (train, eval, predict, --seeds)",
          "comparison": "`emozsl report`'s table of systems side by side, one column per system and metric"}
_EVERY_TABLE = tuple(TABLES)
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("wacc", "WAcc", True, _of_predictions(weighted_accuracy), _EVERY_TABLE),
    Metric("f1_weighted", "wF1", True, _of_predictions(f1_weighted), ("result",)),
    Metric("f1_positive", "F1+", True, _of_predictions(f1_positive), _EVERY_TABLE),
    Metric("auc", "AUC", True, lambda truth, probabilities, threshold: roc_auc(truth, probabilities), _EVERY_TABLE),
    # plain accuracy flatters the majority class of these imbalanced labels: in the files, in no table
    Metric("acc", "Acc", True, _of_predictions(accuracy)))}
# The thresholded metrics tables also show after calibration (AUC is threshold-free: calibration keeps it).
CALIBRATED_METRICS = ("wacc", "f1_positive")
# Emotion groups of a result, in table order: seen (trained with all their labels), unseen (zero-shot),
# low-resource (few-shot) and the harmonic mean of the seen and unseen averages.
GROUPS = {"seen": "seen average", "unseen": "unseen average", "low_resource": "low-resource average",
          "harmonic": "harmonic mean"}


def emotion_metrics(truth: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """Every metric of METRICS, plus positive and sample counts, each (K,), for (N, K) inputs."""
    truth = np.asarray(truth) > 0
    probabilities = np.asarray(probabilities, dtype=float)
    return {**{name: metric.compute(truth, probabilities, threshold) for name, metric in METRICS.items()},
            "positives": truth.sum(0), "n": np.full(truth.shape[1], len(truth))}


def harmonic_mean(a: float, b: float) -> float:
    if np.isnan(a) or np.isnan(b) or a + b <= 0:
        return float("nan")
    return 2 * a * b / (a + b)


def group_summary(per_emotion: dict[str, np.ndarray], emotions: list[str], unseen: list[str],
                  low_resource: list[str] = ()) -> dict[str, dict[str, float]]:
    """Per metric of `per_emotion` (metric -> (K,) values of `emotions`): the average of each group
    that has emotions (seen: neither unseen nor low-resource), and the harmonic mean of the seen and
    unseen averages (generalised zero-shot) when both exist. Group -> metric -> value (NaN: no defined value)."""
    members = {"seen": [e not in unseen and e not in low_resource for e in emotions],
               "unseen": [e in unseen for e in emotions], "low_resource": [e in low_resource for e in emotions]}
    out = {group: {m: _mean_defined(np.asarray(per_emotion[m], float)[np.array(mask, bool)])
                   for m in METRICS if m in per_emotion}
           for group, mask in members.items() if any(mask)}
    if "seen" in out and "unseen" in out:
        out["harmonic"] = {m: harmonic_mean(out["seen"][m], out["unseen"][m]) for m in out["seen"]}
    return out


def _mean_defined(values: np.ndarray) -> float:
    """Mean over the defined (non-NaN) values; NaN when there are none."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else float("nan")


@dataclass
class EvalResult:
    """One split's result. `per_emotion`: metric -> (K,) values in the order of `emotions` (NaN where
    undefined) for each metric the result holds (one read from a file holds what the file held), and
    "positives" and "n" -> (K,) counts."""
    emotions: list[str]
    unseen: list[str]  # zero-shot: no training label
    low_resource: list[str]  # few-shot: a few training labels
    per_emotion: dict[str, np.ndarray]
    split: str
    calibration: str | None = None  # the method, for a result scored on calibrated logits
    calibrated: EvalResult | None = None  # the same logits calibrated (unseen emotions' thresholds)

    @property
    def metrics(self) -> list[str]:
        """The metrics this result holds, in METRICS order."""
        return [m for m in METRICS if m in self.per_emotion]

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return group_summary(self.per_emotion, self.emotions, self.unseen, self.low_resource)

    def status(self, emotion: str) -> str:
        """'seen', 'unseen' (zero-shot) or 'low-resource' (few-shot)."""
        return "unseen" if emotion in self.unseen else "low-resource" if emotion in self.low_resource else "seen"

    def rows(self) -> list[dict]:
        return [{"emotion": e, "status": self.status(e), **{m: float(self.per_emotion[m][k]) for m in self.metrics},
                 "positives": int(self.per_emotion["positives"][k]), "n": int(self.per_emotion["n"][k])}
                for k, e in enumerate(self.emotions)]

    def to_dict(self) -> dict:
        return {"split": self.split, "emotions": self.emotions, "unseen": self.unseen,
                "low_resource": self.low_resource, "per_emotion": self.rows(), "summary": self.summary,
                **({"calibration": self.calibration} if self.calibration else {}),
                **({"calibrated": self.calibrated.to_dict()} if self.calibrated else {})}

    @classmethod
    def from_dict(cls, stored: dict) -> EvalResult:
        """The inverse of to_dict. Holds the metrics the stored rows hold (NaN in a row without one;
        an undefined value is stored as null, or NaN by emozsl 0.1.0); a name that is no metric is
        ignored; a file from before low-resource emotions has none. KeyError, TypeError or
        ValueError for a missing or malformed field."""
        rows = stored["per_emotion"]
        held = [m for m in METRICS if any(m in row for row in rows)]
        per_emotion = {key: np.array([_stored_value(row, key) for row in rows], dtype=float)
                       for key in (*held, "positives", "n")}
        calibrated = cls.from_dict(stored["calibrated"]) if stored.get("calibrated") else None
        return cls(list(stored["emotions"]), list(stored["unseen"]), list(stored.get("low_resource", [])),
                   per_emotion, stored["split"], stored.get("calibration"), calibrated)


def _stored_value(row: dict, key: str) -> float:
    """A stored row's value of `key`: NaN when null, or when the row lacks that metric (a row without
    a count is a KeyError)."""
    if key in METRICS and key not in row:
        return np.nan
    return np.nan if row[key] is None else row[key]
