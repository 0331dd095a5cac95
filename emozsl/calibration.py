"""Calibrated unseen-emotion scores (generalised zero-shot).

A seen emotion's logits are trained against its labels, so the decision threshold (0 for a 0.5
probability) means something for it. An unseen emotion's logits come through its word vector alone,
on a scale nothing fixed: its ranking (AUC) can be good while its thresholded metrics are poor.
A calibration moves each unseen emotion's logits onto the seen emotions' scale with an affine map
fitted on a reference split's scores (validation: never test), without the unseen emotions' labels:

- standardize: label-free. The unseen emotion's logits are standardised over the reference inputs
  and given the seen emotions' average mean and spread there.
- seen-fpr: the unseen emotion's threshold becomes the quantile of its reference logits at which it
  says "yes" as often to those inputs as the seen emotions wrongly do (their false-positive rate at
  the threshold, from their own reference labels).
  In a zero-shot split the reference inputs hold none of the unseen emotion's positives by
  construction; with real unlabelled data, positives are few.

Seen emotions keep their logits (scale 1, shift 0), so AUC never changes and seen metrics neither."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emozsl.errors import check_choice

CALIBRATIONS = ("none", "standardize", "seen-fpr")
MIN_SPREAD = 1e-6  # a constant score has no scale to standardise


@dataclass
class Calibration:
    scale: np.ndarray  # (K,)
    shift: np.ndarray  # (K,)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return logits * self.scale + self.shift


def fit_calibration(method: str, reference_logits: np.ndarray, seen: np.ndarray,
                    seen_labels: np.ndarray | None = None, threshold: float = 0.5) -> Calibration:
    """An affine map per emotion from (N, K) reference logits. `seen`: (K,) booleans; `seen_labels`:
    (N, K) truth, read only in the seen columns (seen-fpr); `threshold`: the probability threshold."""
    check_choice("calibration", method, CALIBRATIONS)
    logits = np.asarray(reference_logits, dtype=float)
    seen = np.asarray(seen, dtype=bool)
    k = logits.shape[1]
    scale, shift = np.ones(k), np.zeros(k)
    unseen = np.flatnonzero(~seen)
    if method == "none" or not len(unseen) or not seen.any():
        return Calibration(scale, shift)
    cut = math.log(threshold / (1 - threshold))  # the threshold in logits
    if method == "standardize":
        mean, spread = logits.mean(0), np.maximum(logits.std(0), MIN_SPREAD)
        scale[unseen] = spread[seen].mean() / spread[unseen]
        shift[unseen] = mean[seen].mean() - mean[unseen] * scale[unseen]
        return Calibration(scale, shift)
    truth = np.asarray(seen_labels)[:, seen] > 0
    negatives = np.maximum((~truth).sum(0), 1)
    false_positive_rate = float((((logits[:, seen] > cut) & ~truth).sum(0) / negatives).mean())
    # The unseen threshold that the same share of reference inputs exceeds; shifted onto `cut`.
    unseen_cut = np.quantile(logits[:, unseen], 1 - false_positive_rate, axis=0)
    shift[unseen] = cut - unseen_cut
    return Calibration(scale, shift)

