"""Evaluating a finished run: its best checkpoint re-scored on its test set (or other data the
run's split applies to), for any emotions the data label, seen and unseen: the labelled case of
prediction (predict.py). Also a run's session or model rebuilt from its folder, for inspection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from emozsl.config import DEFAULTS
from emozsl.data import MultimodalDataset
from emozsl.errors import FieldError
from emozsl.predict import Prediction, Predictor
from emozsl.runs import RunDir, RunMetadata
from emozsl.scoring import EvalResult
from emozsl.session import (
    Session,
    build_session,
    check_vectors,
    emotion_model,
    prepare_task,
    run_embeddings,
    word_vectors,
)
from emozsl.splits import resolve_target


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


def run_emotions(run: RunDir, emotions: list[str] | None) -> list[str] | None:
    """`emotions` (by name in any case, or by index) as the run's emotion names, each once; checked
    against the run's files before any data are read."""
    if not emotions:
        return None
    choices = run.read_metadata().emotions
    emotions = [resolve_target(e, choices, "emotions") for e in emotions]
    repeated = sorted({e for e in emotions if emotions.count(e) > 1})
    if repeated:
        raise FieldError("emotions", ",".join(repeated), "given more than once")
    return emotions


def evaluate_prediction(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                        device: str = DEFAULTS.device, split: str = "test", trust_pickle: bool = False,
                        calibration: str | None = None) -> Prediction:
    """`emozsl eval`: the labelled case of `emozsl predict` (one scoring path). The run's split is
    applied to its data (or to `data`, which must fit the split), then the run's best checkpoint
    scores `split` for `emotions` (any emotions of the run, by name or index; default all of them),
    per utterance and in the per-emotion table. Unseen emotions also get calibrated metrics
    (`calibration`, default the run's), fitted on the run's calibration reference (reference.py);
    a run trained before emozsl kept one is calibrated on its validation split."""
    run = RunDir.open(run_dir)
    emotions = run_emotions(run, emotions)
    predictor = Predictor(run, device)
    config = run.read_config()
    config = dataclasses.replace(config, data=data or config.data)
    task = prepare_task(config, trust_pickle, run.read_manifest(), str(run.manifest_path))
    dataset = MultimodalDataset(task.dataset, task.emotions, task.splits, str(config.data))
    if predictor.reference is None:
        predictor.reference = predictor.capture_reference(task.splits["valid"], task.emotions)
    return predictor.prediction(dataset, emotions or task.emotions, split=split, calibration=calibration)


def evaluate_run(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                 device: str = DEFAULTS.device, split: str = "test", trust_pickle: bool = False,
                 calibration: str | None = None) -> EvalResult:
    """The per-emotion table of evaluate_prediction."""
    return evaluate_prediction(run_dir, emotions, data, device, split, trust_pickle, calibration).results[split]
