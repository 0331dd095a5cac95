"""Scoring a split: a model's logits over its inputs, and the per-emotion result (metrics.EvalResult,
with its calibrated twin when unseen emotions are scored, calibration.py). Shared by training
(validation each epoch, test at the end), evaluation and the benchmark."""

from __future__ import annotations

import contextlib

import torch

from emozsl.calibration import Calibration
from emozsl.metrics import EvalResult, emotion_metrics


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
          threshold: float, split: str, calibration: str | None = None, low_resource: list[str] = ()) -> EvalResult:
    """The result of (N, K) logits against (N, K) labels of `emotions`; `unseen` and `low_resource`
    name the zero-shot and few-shot emotions (those not scored are dropped)."""
    probabilities = torch.sigmoid(logits.float()).cpu().numpy()
    return EvalResult(list(emotions), [e for e in emotions if e in unseen], [e for e in emotions if e in low_resource],
                      emotion_metrics(labels.cpu().numpy(), probabilities, threshold), split, calibration)


def score_calibrated(logits: torch.Tensor, labels: torch.Tensor, calibration: Calibration | None, emotions: list[str],
                     unseen: list[str], threshold: float, split: str, low_resource: list[str] = ()) -> EvalResult:
    """`score`, with the calibrated twin attached when an unseen emotion is scored and a calibration
    is given (fitted on the run's reference inputs, reference.py: never on this split)."""
    result = score(logits, labels, emotions, unseen, threshold, split, low_resource=low_resource)
    if calibration is None or calibration.method == "none" or not result.unseen:
        return result
    adjusted = torch.from_numpy(calibration.apply(logits.float().cpu().numpy()))
    result.calibrated = score(adjusted, labels, emotions, unseen, threshold, split, calibration.method, low_resource)
    return result
