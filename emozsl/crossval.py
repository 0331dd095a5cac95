"""Repeated runs: several seeds, optionally with k-fold cross-validation (the protocol of seed 003:
5 folds x 10 seeds).

Each (fold, seed) is an ordinary run folder under one parent; the parent's summary.json holds
the mean and standard deviation over all of them of every test metric, per emotion and per group."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from emozsl.errors import EmozslError
from emozsl.metrics import METRICS
from emozsl.runs import (
    RESULTS_FILE,
    RunConfig,
    default_run_name,
    new_run_dir,
    read_json,
    write_json,
)
from emozsl.train import train

SUMMARY_FILE = "summary.json"


def mean_std(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value), NaNs ignored."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if not len(array):
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
            "n": len(array)}


def aggregate_results(results: list[dict]) -> dict:
    """Test results (results.json["test"]) of several runs -> mean/std per emotion and group."""
    emotions = results[0]["emotions"]
    if any(r["emotions"] != emotions for r in results):
        raise EmozslError("runs scored different emotion lists: they cannot be averaged together")
    per_emotion = {e: {m: mean_std([r["per_emotion"][k][m] for r in results]) for m in METRICS}
                   for k, e in enumerate(emotions)}
    groups = {g: {m: mean_std([r["summary"][g][m] for r in results if g in r["summary"]]) for m in METRICS}
              for g in results[0]["summary"]}
    return {"emotions": emotions, "unseen": results[0]["unseen"], "per_emotion": per_emotion, "summary": groups}


def repeated_runs(config: RunConfig, seeds: int, folds: int | None = None) -> Path:
    """Train seeds config.seed .. config.seed + seeds - 1 (x every fold when `folds` is given) into
    one new parent folder, then write its summary.json."""
    if seeds < 1:
        raise EmozslError(f"--seeds {seeds}: need at least 1 seed")
    if folds is not None:
        dataclasses.replace(config, folds=folds, fold=0)  # RunConfig checks the folds, before any folder exists
    scheme = f"cv{folds}x{seeds}" if folds else f"{seeds}seeds"
    parent = new_run_dir(dataclasses.replace(config, name=config.name or default_run_name(config, scheme)))
    runs, results = [], []
    seed_list = list(range(config.seed, config.seed + seeds))
    for seed in seed_list:
        for fold in range(folds) if folds else [None]:
            child = dataclasses.replace(config, folds=folds, fold=fold, seed=seed, runs_dir=str(parent),
                                        name=f"fold{fold}_seed{seed}" if folds else f"seed{seed}")
            run_dir = train(child)
            runs.append(run_dir.name)
            results.append(read_json(run_dir / RESULTS_FILE)["test"])
    write_json(parent / SUMMARY_FILE, {"folds": folds, "seeds": seed_list, "runs": runs, **aggregate_results(results)})
    return parent
