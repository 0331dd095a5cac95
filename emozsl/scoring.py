"""Scoring a split: a model's logits over its inputs, and the per-emotion result. Shared
by training (validation each epoch, test at the end), evaluation and the benchmark."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from emozsl.metrics import METRICS, emotion_metrics, group_summary


@dataclass
class EvalResult:
    emotions: list[str]
    unseen: list[str]
    per_emotion: dict[str, np.ndarray]  # metric -> (K,); NaN where undefined
    split: str

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
                "per_emotion": self.rows(), "summary": self.summary}

    @classmethod
    def from_dict(cls, stored: dict) -> EvalResult:
        """The inverse of to_dict; an undefined metric is stored as null (or NaN by emozsl 0.1.0)."""
        rows = stored["per_emotion"]
        per_emotion = {key: np.array([np.nan if row[key] is None else row[key] for row in rows], dtype=float)
                       for key in (*METRICS, "positives", "n")}
        return cls(list(stored["emotions"]), list(stored["unseen"]), per_emotion, stored["split"])


@torch.no_grad()
def predict_logits(model: torch.nn.Module, inputs, vectors: torch.Tensor, precision=None) -> torch.Tensor:
    """Logits (N, K) in fp32 of every row of `inputs` (batches.ResidentInputs or StreamedInputs),
    computed in batches (under `precision`, an autocast context) and kept on the device: metrics
    are computed once, from all of them."""
    model.eval()
    out = torch.zeros(len(inputs), len(vectors), device=vectors.device)
    with precision or contextlib.nullcontext():
        for batch, rows in inputs.batches(inputs.eval_batch):
            out[rows] = model(batch, vectors).float()
    return out


def score(logits: torch.Tensor, labels: torch.Tensor, emotions: list[str], unseen: list[str],
          threshold: float, split: str) -> EvalResult:
    probabilities = torch.sigmoid(logits.float()).cpu().numpy()
    return EvalResult(list(emotions), [e for e in emotions if e in unseen],
                      emotion_metrics(labels.cpu().numpy(), probabilities, threshold), split)
