"""Scoring a split: its tensors on a device, a model's logits, and the per-emotion result. Shared
by training (validation each epoch, test at the end), evaluation and the benchmark."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from emozsl.data import SplitData
from emozsl.metrics import METRICS, emotion_metrics, group_summary

EVAL_BATCH = 1024


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


def split_tensors(split: SplitData, device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    features = {m: torch.from_numpy(a).to(device) for m, a in split.features.items()}
    return features, torch.from_numpy(split.presence.astype(np.float32)).to(device)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, features: dict[str, torch.Tensor], vectors: torch.Tensor,
                   batch_size: int = EVAL_BATCH, precision=None) -> torch.Tensor:
    """Logits (N, K) in fp32, computed in batches (under `precision`, an autocast context) and
    kept on the features' device: metrics are computed once, from all of them."""
    model.eval()
    n = len(next(iter(features.values())))
    with precision or contextlib.nullcontext():
        return torch.cat([model({m: a[i:i + batch_size] for m, a in features.items()}, vectors).float()
                          for i in range(0, n, batch_size)])


def score(logits: torch.Tensor, labels: torch.Tensor, emotions: list[str], unseen: list[str],
          threshold: float, split: str) -> EvalResult:
    probabilities = torch.sigmoid(logits.float()).cpu().numpy()
    return EvalResult(list(emotions), [e for e in emotions if e in unseen],
                      emotion_metrics(labels.cpu().numpy(), probabilities, threshold), split)
