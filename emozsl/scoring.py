"""Scoring a split: a model's logits over its inputs, and the per-emotion result (with its
calibrated twin when unseen emotions are scored, calibration.py). Shared by training (validation
each epoch, test at the end), evaluation and the benchmark."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from emozsl.calibration import fit_calibration
from emozsl.metrics import METRICS, emotion_metrics, group_summary


@dataclass
class EvalResult:
    emotions: list[str]
    unseen: list[str]
    per_emotion: dict[str, np.ndarray]  # metric -> (K,); NaN where undefined
    split: str
    calibration: str | None = None  # the method, for a result scored on calibrated logits
    calibrated: EvalResult | None = None  # the same logits calibrated (unseen emotions' thresholds)

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return group_summary(self.per_emotion, self.emotions, self.unseen)

    def rows(self) -> list[dict]:
        return [{"emotion": e, "status": "unseen" if e in self.unseen else "seen",
                 **{m: float(self.per_emotion[m][k]) for m in METRICS},
                 "positives": int(self.per_emotion["positives"][k]), "n": int(self.per_emotion["n"][k])}
                for k, e in enumerate(self.emotions)]

    def to_dict(self) -> dict:
        return {"split": self.split, "emotions": self.emotions, "unseen": self.unseen,
                "per_emotion": self.rows(), "summary": self.summary,
                **({"calibration": self.calibration} if self.calibration else {}),
                **({"calibrated": self.calibrated.to_dict()} if self.calibrated else {})}

    @classmethod
    def from_dict(cls, stored: dict) -> EvalResult:
        """The inverse of to_dict; an undefined metric is stored as null (or NaN by emozsl 0.1.0)."""
        rows = stored["per_emotion"]
        per_emotion = {key: np.array([np.nan if row[key] is None else row[key] for row in rows], dtype=float)
                       for key in (*METRICS, "positives", "n")}
        calibrated = cls.from_dict(stored["calibrated"]) if stored.get("calibrated") else None
        return cls(list(stored["emotions"]), list(stored["unseen"]), per_emotion, stored["split"],
                   stored.get("calibration"), calibrated)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, inputs, vectors: torch.Tensor, precision=None, step=None) -> torch.Tensor:
    """Logits (N, K) in fp32 of every row of `inputs` (batches.ResidentInputs or StreamedInputs),
    computed in batches (under `precision`, an autocast context) and kept on the device: metrics
    are computed once, from all of them. `step(payload, rows)` -> logits is the scoring step (a
    CapturedStep, when the caller keeps one); by default the model is called directly. Emotions the
    model has no route to are refused first."""
    model.eval()
    model.check_emotions(vectors)
    step = step or scoring_step(model, inputs, vectors)
    out = torch.zeros(len(inputs), len(vectors), device=vectors.device)
    with precision or contextlib.nullcontext():
        for payload, rows in inputs.batches(inputs.eval_batch):
            out[rows] = step(payload, rows)
    return out


def scoring_step(model: torch.nn.Module, inputs, vectors: torch.Tensor):
    """The scoring step: (payload, rows) of `inputs` -> fp32 logits (B, K); no host sync."""
    return lambda payload, rows: model(inputs.features(payload, rows), vectors).float()


def score(logits: torch.Tensor, labels: torch.Tensor, emotions: list[str], unseen: list[str],
          threshold: float, split: str, calibration: str | None = None) -> EvalResult:
    probabilities = torch.sigmoid(logits.float()).cpu().numpy()
    return EvalResult(list(emotions), [e for e in emotions if e in unseen],
                      emotion_metrics(labels.cpu().numpy(), probabilities, threshold), split, calibration)


def score_calibrated(logits: torch.Tensor, labels: torch.Tensor, reference_logits: torch.Tensor,
                     reference_labels: torch.Tensor, emotions: list[str], unseen: list[str], threshold: float,
                     split: str, calibration: str) -> EvalResult:
    """`score`, with the calibrated twin attached when an unseen emotion is scored: the calibration is
    fitted on the reference split's logits (and seen emotions' labels), never on this split's."""
    result = score(logits, labels, emotions, unseen, threshold, split)
    if calibration == "none" or not result.unseen:
        return result
    seen = np.array([e not in result.unseen for e in emotions])
    fitted = fit_calibration(calibration, reference_logits.float().cpu().numpy(), seen,
                             reference_labels.cpu().numpy(), threshold)
    adjusted = torch.from_numpy(fitted.apply(logits.float().cpu().numpy()))
    result.calibrated = score(adjusted, labels, emotions, unseen, threshold, split, calibration)
    return result
