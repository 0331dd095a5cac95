"""Repeated runs: several seeds, optionally with k-fold cross-validation (the protocol of seed 003:
5 folds x 10 seeds).

Each (fold, seed) is an ordinary run folder under one parent group folder; the group's group.json
records the configuration it was made for, and its summary.json holds the mean and standard
deviation over all of them of every test metric, per emotion and per group. Running the same
command again resumes the group: finished runs are kept, missing or interrupted ones are trained."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from emozsl.config import RunConfig
from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import dumps_json, read_json, write_error, write_json
from emozsl.metrics import METRICS
from emozsl.runs import (
    RunDir,
    default_run_name,
    is_finished_folder,
)
from emozsl.train import claim_outcome, stack_size, train_group

SUMMARY_FILE = "summary.json"
GROUP_FILE = "group.json"
log = logging.getLogger("emozsl")


def mean_std(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value), NaNs ignored."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if not len(array):
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
            "n": len(array)}


def aggregate_results(results: list[dict]) -> dict:
    """Test results (EvalResult.to_dict) of several runs -> mean/std per emotion and group."""
    emotions = results[0]["emotions"]
    if any(r["emotions"] != emotions for r in results):
        raise EmozslError("runs scored different emotion lists: they cannot be averaged together")
    per_emotion = {e: {m: mean_std([r["per_emotion"][k][m] for r in results]) for m in METRICS}
                   for k, e in enumerate(emotions)}
    groups = {g: {m: mean_std([r["summary"][g][m] for r in results if g in r["summary"]]) for m in METRICS}
              for g in results[0]["summary"]}
    return {"emotions": emotions, "unseen": results[0]["unseen"], "per_emotion": per_emotion, "summary": groups}


def _group_folder(config: RunConfig, scheme: str) -> Path:
    """The group's folder: the one made for this same configuration (resumed), else a new one
    (NAME, NAME_2, ...: a group made for another configuration is never touched)."""
    base = config.name or default_run_name(config, scheme)
    # cuda_graphs is how steps run, not what is trained (and groups made before it lack it)
    settings = {k: v for k, v in config.to_dict().items() if k != "cuda_graphs"}
    record = json.loads(dumps_json({"scheme": scheme, "config": {**settings, "seed": None, "name": None}}))
    for n in range(1, 10_000):
        folder = Path(config.runs_dir) / (base if n == 1 else f"{base}_{n}")
        if not folder.exists():
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise write_error(folder, exc) from None
            write_json(folder / GROUP_FILE, record)
            return folder
        if (folder / GROUP_FILE).is_file() and read_json(folder / GROUP_FILE, "group file") == record:
            return folder
    raise EmozslError(f"{config.runs_dir}: no free group name for {base}")


def repeated_runs(config: RunConfig, seeds: int, folds: int | None = None, trust_pickle: bool = False,
                  stack: int | None = None) -> tuple[Path, dict]:
    """Train seeds config.seed .. config.seed + seeds - 1 (x every fold when `folds` is given) into
    one group folder, then write its summary.json; finished runs of an earlier attempt are kept.
    Up to `stack` runs train together in one process (train.train_group; default: train.stack_size
    of the device). Returns the folder and the summary."""
    if seeds < 1:
        raise FieldError("seeds", seeds, "need at least 1 seed")
    if stack is not None and stack < 1:
        raise FieldError("stack", stack, "must be at least 1")
    if folds is not None:
        dataclasses.replace(config, folds=folds, fold=0)  # RunConfig checks the folds, before any folder exists
    scheme = f"cv{folds}x{seeds}" if folds else f"{seeds}seeds"
    parent = _group_folder(config, scheme)
    seed_list = list(range(config.seed, config.seed + seeds))
    names, pending = [], []
    for seed in seed_list:
        for fold in range(folds) if folds else [None]:
            name = f"fold{fold}_seed{seed}" if folds else f"seed{seed}"
            names.append(name)
            if is_finished_folder(parent / name):
                log.info("%s: finished already, kept", parent / name)
            else:
                pending.append(dataclasses.replace(config, folds=folds, fold=fold, seed=seed, runs_dir=str(parent),
                                                   name=name))
    size = stack or stack_size(config)
    busy = []
    for start in range(0, len(pending), size):
        group = pending[start:start + size]
        for child, outcome in zip(group, train_group(group, trust_pickle, exact_names=True)):
            outcome = claim_outcome(outcome)  # 'skipped': another process with the same command finished it
            if outcome == "busy":  # another process with the same command is on it: go on with the rest
                busy.append(child.name)
            elif isinstance(outcome, BaseException):
                raise outcome
    if busy:
        raise EmozslError(f"{parent}: {', '.join(busy)} still being trained by another process; the rest are "
                          "done: run the same command again when it finishes to write the summary")
    results = [RunDir.open(parent / name).read_results().test.to_dict() for name in names]
    summary = {"folds": folds, "seeds": seed_list, "runs": names, **aggregate_results(results)}
    write_json(parent / SUMMARY_FILE, summary)
    return parent, summary
