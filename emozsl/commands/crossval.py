"""Repeated runs: several seeds, optionally with k-fold cross-validation (the protocol of seed 003:
5 folds x 10 seeds).

Each (fold, seed) is an ordinary run folder under one parent group folder; the group's group.json
records the configuration it was made for, and its summary.json holds the mean and standard
deviation over all of them of every test metric, per emotion and per group (reports.aggregate_results,
the aggregation `emozsl report` uses too). Running the same
command again resumes the group: finished runs are kept, missing or interrupted ones are trained."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from emozsl.config import RepeatSettings, RunConfig, identity
from emozsl.errors import EmozslError
from emozsl.fileio import dumps_json, read_json, write_error, write_json
from emozsl.reports import aggregate_results
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


def _group_folder(config: RunConfig, scheme: str) -> Path:
    """The group's folder: the one made for this same configuration (resumed), else a new one
    (NAME, NAME_2, ...: a group made for another configuration is never touched). The same is the
    same config.identity without repetition: where and how the runs ran may differ, as for a sweep."""
    base = config.name or default_run_name(config, scheme)
    record = json.loads(dumps_json({"scheme": scheme, "config": identity(config, repeats=False)}))
    for n in range(1, 10_000):
        folder = Path(config.runs_dir) / (base if n == 1 else f"{base}_{n}")
        if not folder.exists():
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise write_error(folder, exc) from None
            write_json(folder / GROUP_FILE, record)
            return folder
        if (folder / GROUP_FILE).is_file() and _same_group(read_json(folder / GROUP_FILE, "group file"), record):
            return folder
    raise EmozslError(f"{config.runs_dir}: no free group name for {base}")


def _same_group(stored, record: dict) -> bool:
    """Whether a group file holds `record`, comparing the identity's fields only (a file written
    before identities held every field of the config)."""
    return (isinstance(stored, dict) and isinstance(stored.get("config"), dict)
            and {**stored, "config": identity(stored["config"], repeats=False)} == record)


def repeated_runs(config: RunConfig, seeds: int, folds: int | None = None, trust_pickle: bool = False,
                  stack: int | None = None) -> tuple[Path, dict]:
    """Train seeds config.seed .. config.seed + seeds - 1 (x every fold when `folds` is given) into
    one group folder, then write its summary.json; finished runs of an earlier attempt are kept.
    Up to `stack` runs train together in one process (train.train_group; default: train.stack_size
    of the device). Returns the folder and the summary."""
    RepeatSettings(seeds=seeds, folds=folds, stack=stack)  # checked before any folder exists
    scheme = f"cv{folds}x{seeds}" if folds else f"{seeds}seeds"
    datasets: dict = {}  # read once, for naming the target and for every group of runs
    config = named_target(config, trust_pickle=trust_pickle, datasets=datasets)  # the group is named by the emotion too
    parent = _group_folder(config, scheme)
    seed_list = list(range(config.seed, config.seed + seeds))
    names, run_seeds, pending = [], [], []
    for seed in seed_list:
        for fold in range(folds) if folds else [None]:
            name = f"fold{fold}_seed{seed}" if folds else f"seed{seed}"
            names.append(name)
            run_seeds.append(seed)
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
    summary = {"folds": folds, "seeds": seed_list, "runs": names, **aggregate_results(results, run_seeds)}
    write_json(parent / SUMMARY_FILE, summary)
    return parent, summary
