"""Calibrated unseen-emotion scores (generalised zero-shot).

A seen emotion's logits are trained against its labels, so the decision threshold (0 for a 0.5
probability) means something for it. An unseen emotion's logits come through its word vector alone,
on a scale nothing fixed: its ranking (AUC) can be good while its thresholded metrics are poor.
A calibration moves each unseen emotion's logits onto the scale of the run's trained emotions with
an affine map fitted on a reference set of inputs (the run's validation inputs, kept in the run
folder: reference.py), never on the scored data and never with the unseen emotion's labels:

- standardize: label-free. The unseen emotion's logits are standardised over the reference inputs
  and given the trained emotions' average mean and spread there.
- seen-fpr: the unseen emotion's threshold becomes the quantile of its reference logits at which it
  says "yes" as often to those inputs as the trained emotions wrongly do (their false-positive rate
  at the threshold, from their own reference labels).
  In a zero-shot split the reference inputs hold none of the unseen emotion's positives by
  construction; with real unlabelled data, positives are few.

The seen side is always every trained emotion of the run, whatever else is scored, so an emotion's
calibrated score depends only on the run and that emotion. Seen emotions keep their logits (scale
1, shift 0), so AUC never changes and seen metrics neither."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emozsl.errors import check_choice

CALIBRATIONS = ("none", "standardize", "seen-fpr")
MIN_SPREAD = 1e-6  # a constant score has no scale to standardise


@dataclass
class Calibration:
    method: str
    scale: np.ndarray  # (K,)
    shift: np.ndarray  # (K,)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        return logits * self.scale + self.shift


def fit_calibration(method: str, seen_logits: np.ndarray, seen_labels: np.ndarray | None, logits: np.ndarray,
                    calibrate: np.ndarray, threshold: float = 0.5) -> Calibration:
    """An affine map per scored emotion, each fitted on its own reference logits.

    seen_logits (R, K_seen): the trained emotions' logits on R reference inputs; seen_labels
    (R, K_seen): their truth there (read by seen-fpr only); logits (R, K): the scored emotions' logits
    on the same inputs; calibrate (K,) booleans: which scored emotions are moved (the unseen ones);
    threshold: the probability threshold. Errors: EmozslError for an unknown method."""
    check_choice("calibration", method, CALIBRATIONS)
    logits, seen_logits = np.asarray(logits, dtype=float), np.asarray(seen_logits, dtype=float)
    calibrate = np.asarray(calibrate, dtype=bool)
    scale, shift = np.ones(logits.shape[1]), np.zeros(logits.shape[1])
    moved = np.flatnonzero(calibrate)
    if method == "none" or not len(moved) or not seen_logits.shape[1]:
        return Calibration(method, scale, shift)
    cut = math.log(threshold / (1 - threshold))  # the threshold in logits
    if method == "standardize":
        mean, spread = logits[:, moved].mean(0), np.maximum(logits[:, moved].std(0), MIN_SPREAD)
        scale[moved] = np.maximum(seen_logits.std(0), MIN_SPREAD).mean() / spread
        shift[moved] = seen_logits.mean(0).mean() - mean * scale[moved]
        return Calibration(method, scale, shift)
    truth = np.asarray(seen_labels) > 0
    negatives = np.maximum((~truth).sum(0), 1)
    false_positive_rate = float((((seen_logits > cut) & ~truth).sum(0) / negatives).mean())
    # The threshold that the same share of reference inputs exceeds; shifted onto `cut`.
    shift[moved] = cut - np.quantile(logits[:, moved], 1 - false_positive_rate, axis=0)
    return Calibration(method, scale, shift)
