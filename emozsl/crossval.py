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

from emozsl.config import RunConfig
from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import dumps_json, read_json, write_error, write_json
from emozsl.metrics import GROUPS, METRICS, mean_std
from emozsl.runs import (
    RunDir,
    default_run_name,
    is_finished_folder,
)
from emozsl.session import named_target
from emozsl.train import claim_outcome, stack_size, train_group

SUMMARY_FILE = "summary.json"
GROUP_FILE = "group.json"
log = logging.getLogger("emozsl")


def aggregate_results(results: list[dict]) -> dict:
    """Test results (EvalResult.to_dict) of several runs -> their mean +- std (metrics.mean_std): per
    emotion (its status, its positives and each metric the runs hold) and per group, and the same of
    the runs' calibrated results when they have them. Runs of different emotion lists are an error."""
    emotions = results[0]["emotions"]
    if any(r["emotions"] != emotions for r in results):
        raise EmozslError("runs scored different emotion lists: they cannot be averaged together")
    rows = [r["per_emotion"] for r in results]
    metrics = [m for m in METRICS if any(m in row for run_rows in rows for row in run_rows)]
    per_emotion = {e: {"status": rows[0][k]["status"],
                       **{key: mean_std([run_rows[k].get(key) for run_rows in rows]) for key in ("positives", *metrics)}}
                   for k, e in enumerate(emotions)}
    groups = {g: {m: mean_std([r["summary"][g].get(m) for r in results if g in r["summary"]]) for m in metrics}
              for g in GROUPS if any(g in r["summary"] for r in results)}
    calibrated = [r["calibrated"] for r in results if r.get("calibrated")]
    return {"emotions": emotions, "unseen": results[0]["unseen"], "low_resource": results[0]["low_resource"],
            "per_emotion": per_emotion, "summary": groups,
            **({"calibration": results[0]["calibration"]} if results[0].get("calibration") else {}),
            **({"calibrated": aggregate_results(calibrated)} if calibrated else {})}


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
    datasets: dict = {}  # read once, for naming the target and for every group of runs
    config = named_target(config, trust_pickle=trust_pickle, datasets=datasets)  # the group is named by the emotion too
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
        for child, outcome in zip(group, train_group(group, trust_pickle, exact_names=True, datasets=datasets)):
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
