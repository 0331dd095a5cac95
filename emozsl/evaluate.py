"""Scoring a split and evaluating a finished run on its test set, seen and unseen emotions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emozsl.data import SplitData
from emozsl.embeddings import (
    default_embeddings_path,
    emotion_vectors,
    file_sha256,
    load_embeddings,
)
from emozsl.errors import EmozslError
from emozsl.metrics import METRICS, emotion_metrics, group_summary
from emozsl.models import build_model
from emozsl.runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    SPLIT_FILE,
    RunConfig,
    load_checkpoint,
    prepare_task,
    read_json,
    resolve_device,
)

EVAL_BATCH = 1024


@dataclass
class EvalResult:
    emotions: list[str]
    unseen: list[str]
    per_emotion: dict[str, np.ndarray]  # metric -> (K,)
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
        """The inverse of to_dict (a run's results.json holds its test result so)."""
        rows = stored["per_emotion"]
        per_emotion = {key: np.array([row[key] for row in rows]) for key in (*METRICS, "positives", "n")}
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


def load_run_model(run_dir: Path, config: RunConfig, metadata: dict, word_dim: int,
                   device: torch.device) -> torch.nn.Module:
    # The linear head's trained-emotion vectors are a buffer: the checkpoint fills the placeholder.
    placeholder = torch.zeros(len(metadata["train_emotions"]), word_dim) if config.head == "linear" else None
    model = build_model(config.model, metadata["input_dims"], word_dim, config.model_options,
                        config.head_settings(), placeholder)
    load_checkpoint(model, run_dir / CHECKPOINT_FILE)
    return model.to(device)


def run_embeddings(config: RunConfig, metadata: dict) -> Path:
    """The embeddings file the run was trained with: the recorded path, or (for a run folder moved
    to another machine) the configured or shipped file, provided its sha256 still matches."""
    recorded = metadata["embeddings"]
    candidates = [Path(recorded["path"]), Path(config.embeddings) if config.embeddings else default_embeddings_path()]
    existing = [c for c in candidates if c.exists()]
    if not existing:
        raise EmozslError(f"{recorded['path']}: embeddings file of this run not found")
    for path in existing:
        if file_sha256(path) == recorded["sha256"]:
            return path
    raise EmozslError(f"{existing[0]}: changed since this run was trained (sha256 differs)")


def read_run(run_dir: Path) -> tuple[RunConfig, dict]:
    """A finished run's configuration and metadata."""
    config = RunConfig.from_dict(read_json(run_dir / CONFIG_FILE), str(run_dir / CONFIG_FILE))
    return config, read_json(run_dir / METADATA_FILE)


def run_model(run_dir: Path, config: RunConfig, metadata: dict, emotions: list[str],
              device: torch.device) -> tuple[torch.nn.Module, np.ndarray]:
    """A run's best model on `device` and the word vectors of `emotions` from the run's embeddings."""
    embeddings_path = run_embeddings(config, metadata)
    vectors = emotion_vectors(load_embeddings(embeddings_path), emotions, config.emotion_words, embeddings_path)
    return load_run_model(run_dir, config, metadata, vectors.shape[1], device), vectors


def evaluate_run(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                 device: str = "auto", split: str = "test") -> EvalResult:
    """Re-score a run's best checkpoint. `emotions` picks and orders the scored emotions (any
    emotion the evaluation data labels); by default every emotion of the run's split."""
    run_dir = Path(run_dir)
    config, metadata = read_run(run_dir)
    config.split = str(run_dir / SPLIT_FILE)
    if data:
        config.data = data
    task, _ = prepare_task(config)
    emotions = list(emotions or task.emotions)
    unknown = [e for e in emotions if e not in task.emotions]
    if unknown:
        raise EmozslError(f"--emotions: {', '.join(unknown)} not labelled in this data "
                          f"(choices: {', '.join(task.emotions)})")
    torch_device = resolve_device(device)
    model, vectors = run_model(run_dir, config, metadata, emotions, torch_device)
    features, labels = split_tensors(task.splits[split], torch_device)
    columns = [task.emotions.index(e) for e in emotions]
    logits = predict_logits(model, features, torch.from_numpy(vectors).to(torch_device))
    return score(logits, labels[:, columns], emotions, task.unseen, config.threshold, split)
