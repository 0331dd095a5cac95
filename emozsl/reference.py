"""A run's calibration reference: its validation inputs as the trained backbone represents them.

Unseen emotions are calibrated (calibration.py) against the logits of reference inputs. The head
scores any emotion vector against stored representations, so keeping the backbone's
representations of the validation inputs (space -> (R, d_s), at most REFERENCE_ROWS of them, spread
evenly over the split) and the trained emotions' labels there lets a finished run calibrate any
emotion word later, without its training data and without looking at the data it scores. It is
written beside the checkpoint (runs.RunDir, reference.pt: tensors only)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from emozsl.calibration import Calibration, fit_calibration
from emozsl.errors import EmozslError

REFERENCE_ROWS = 2048  # bounds the file (about 8 kB per row for eea) and a calibration's cost
LABELS_KEY = "seen_labels"
SPACE_PREFIX = "space."


@dataclass
class CalibrationReference:
    representations: dict[str, torch.Tensor]  # fused space -> (R, d_s) fp32 on the CPU
    seen_labels: torch.Tensor  # (R, K_trained) float presence of the run's trained emotions

    def __len__(self) -> int:
        return len(self.seen_labels)

    @torch.no_grad()
    def fit(self, method: str, head: torch.nn.Module, vectors: torch.Tensor, calibrate: np.ndarray,
            train_vectors: torch.Tensor, threshold: float) -> Calibration:
        """The calibration of the (K, word_dim) `vectors` (those flagged in `calibrate`, (K,)
        booleans, are moved) on the scale of the run's trained emotions (`train_vectors`, every
        one of them, whatever else is scored): calibration.fit_calibration."""
        device = vectors.device
        representations = {s: r.to(device) for s, r in self.representations.items()}
        seen_logits = head(representations, train_vectors).float().cpu().numpy()
        logits = head(representations, vectors).float().cpu().numpy()
        return fit_calibration(method, seen_logits, self.seen_labels.numpy(), logits, calibrate, threshold)

    def to_state(self) -> dict[str, torch.Tensor]:
        return {LABELS_KEY: self.seen_labels, **{SPACE_PREFIX + s: r for s, r in self.representations.items()}}

    @classmethod
    def from_state(cls, state, where: str) -> CalibrationReference:
        """The inverse of to_state; a malformed file is one EmozslError naming `where`."""
        if not isinstance(state, dict) or LABELS_KEY not in state or not all(isinstance(v, torch.Tensor)
                                                                             for v in state.values()):
            raise EmozslError(f"{where}: not a calibration reference (expected {LABELS_KEY} and space tensors)")
        labels = state[LABELS_KEY]
        spaces = {k.removeprefix(SPACE_PREFIX): v.float() for k, v in state.items() if k.startswith(SPACE_PREFIX)}
        if not spaces or labels.ndim != 2 or any(v.ndim != 2 or len(v) != len(labels) for v in spaces.values()):
            raise EmozslError(f"{where}: representations and labels do not have one row per reference input")
        return cls(spaces, labels.float())


def reference_rows(n: int) -> np.ndarray:
    """At most REFERENCE_ROWS row indices spread evenly over n rows (all of them when fewer)."""
    return np.unique(np.linspace(0, n - 1, min(n, REFERENCE_ROWS)).round().astype(int)) if n else np.zeros(0, int)


@torch.no_grad()
def capture_reference(model: torch.nn.Module, inputs, labels: torch.Tensor, precision=None) -> CalibrationReference:
    """The reference of a split: `inputs` (batches.py) through the model's backbone, with `labels`
    (N, K_trained), the trained emotions' presence on the same rows."""
    model.eval()
    keep = torch.from_numpy(reference_rows(len(inputs)))
    wanted = torch.zeros(len(inputs), dtype=torch.bool)
    wanted[keep] = True
    position = torch.full((len(inputs),), -1, dtype=torch.long)
    position[keep] = torch.arange(len(keep))
    spaces = list(model.head.fused_spaces)
    out: dict[str, torch.Tensor] = {}
    with precision or contextlib.nullcontext():
        for payload, rows in inputs.batches(inputs.eval_batch):
            rows_cpu = rows.cpu()
            chosen = wanted[rows_cpu]
            if not chosen.any():
                continue
            representations = model.backbone(inputs.features(payload, rows))
            for space in spaces:
                values = representations[space][chosen.to(rows.device)].float().cpu()
                if space not in out:
                    out[space] = torch.zeros(len(keep), values.shape[-1])
                out[space][position[rows_cpu[chosen]]] = values
    return CalibrationReference(out, labels[keep.to(labels.device)].float().cpu())


def run_reference(run) -> CalibrationReference | None:
    """A finished run's (runs.RunDir) stored reference, or None for a run trained before emozsl kept one."""
    stored = run.read_reference()
    return None if stored is None else CalibrationReference.from_state(*stored)
