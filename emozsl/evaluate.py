"""Evaluating a finished run: its best checkpoint re-scored on its test set (or other data the
run's split applies to), for any emotions the data label, seen and unseen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from emozsl.embeddings import default_embeddings_path, file_sha256
from emozsl.errors import EmozslError, FieldError
from emozsl.reference import run_reference
from emozsl.runs import RunDir, RunMetadata
from emozsl.scoring import EvalResult
from emozsl.session import (
    Session,
    build_session,
    check_vectors,
    emotion_model,
    prepare_task,
    word_vectors,
)
from emozsl.splits import resolve_target


def run_embeddings(config_embeddings: str | None, metadata: RunMetadata) -> Path:
    """The embeddings file the run was trained with: the recorded path, or (for a run folder moved
    to another machine) the configured or shipped file, provided its sha256 still matches."""
    recorded = metadata.embeddings
    candidates = [Path(recorded["path"]), Path(config_embeddings) if config_embeddings else default_embeddings_path()]
    existing = [c for c in candidates if c.is_file()]
    if not existing:
        raise EmozslError(f"{recorded['path']}: embeddings file of this run not found")
    for path in existing:
        if file_sha256(path) == recorded["sha256"]:
            return path
    raise EmozslError(f"{existing[0]}: changed since this run was trained (sha256 differs)")


def load_run(run: RunDir, data: str | None = None, device: str = "cpu", trust_pickle: bool = False) -> Session:
    """A finished run's session (its split applied to its data, or to `data`) with the best
    checkpoint loaded, in fp32 on `device`. Pickle trust comes only from the caller (the command
    line), never from the run's files: a received run folder cannot make emozsl unpickle anything."""
    config = run.read_config()
    config = dataclasses.replace(config, data=data or config.data, device=device, precision="fp32", compile=False)
    metadata = run.read_metadata()
    task = prepare_task(config, trust_pickle, run.read_manifest(), str(run.manifest_path))
    session = build_session(config, trust_pickle, task=task, embeddings=run_embeddings(config.embeddings, metadata))
    check_vectors(session.vectors, task.emotions, metadata)
    run.load_checkpoint(session.model)
    return session


def load_run_model(run: RunDir) -> tuple[torch.nn.Module, torch.Tensor, RunMetadata]:
    """A finished run's best model on the CPU and the vectors of all its emotions, built from its
    own files alone (no data needed: for inspecting the learned emotion maps)."""
    config, metadata = dataclasses.replace(run.read_config(), compile=False), run.read_metadata()
    vectors = word_vectors(config, run_embeddings(config.embeddings, metadata), metadata.emotions, torch.device("cpu"))
    check_vectors(vectors, metadata.emotions, metadata)
    model = emotion_model(config, metadata.input_dims,
                          vectors[[metadata.emotions.index(e) for e in metadata.train_emotions]])
    run.load_checkpoint(model)
    return model.eval(), vectors, metadata


def evaluate_run(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                 device: str = "auto", split: str = "test", trust_pickle: bool = False,
                 calibration: str | None = None) -> EvalResult:
    """Re-score a run's best checkpoint. `emotions` picks and orders the scored emotions (any
    emotion the evaluation data labels); by default every emotion of the run's split. Unseen
    emotions also get calibrated metrics (`calibration`, default the run's; calibration.py)."""
    run = RunDir.open(run_dir)
    session = load_run(run, data, device, trust_pickle)
    if emotions:  # by name or index, as --zsl takes them; each once
        emotions = [resolve_target(e, session.task.emotions, "emotions") for e in emotions]
        repeated = sorted({e for e in emotions if emotions.count(e) > 1})
        if repeated:
            raise FieldError("emotions", ",".join(repeated), "given more than once")
    # the run's own reference (a run trained before emozsl kept one is calibrated on its validation split)
    return session.score_test(emotions=emotions, split=split, calibration=calibration, reference=run_reference(run))
