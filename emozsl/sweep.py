"""`emozsl sweep FILE.toml`: many runs from one file, resumable.

    name = "synth_mosei_zsl"            # the sweep folder: runs/<name> unless base.runs_dir says otherwise
    executor = "local"                  # local | process | ray
    workers = 2                         # process / ray: trials at a time

    [base]                              # RunConfig fields shared by every trial
    data = "data/synth-mosei"
    epochs = 40

    [grid]                              # every combination becomes one trial
    model = ["eea", "lf_lstm"]
    protocol = ["zsl"]
    target = ["anger", "fear"]
    seed = [0, 1, 2]

    [models.mult]                       # per-backbone overrides (model_options merge)
    model_options = { preset = "mosei" }

A trial is a pure function of its spec (base + one grid point + its backbone's overrides). It trains
in `<sweep>/.partial/<id>/` and is renamed to `<sweep>/<id>/` when finished, so a folder under the
sweep is always a whole run; a finished trial is skipped and an interrupted one starts again, so a
sweep killed at any moment resumes with nothing lost or duplicated."""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import torch

from emozsl.errors import EmozslError, check_choice
from emozsl.models import resolve_options
from emozsl.runs import RESULTS_FILE, RunConfig, write_json
from emozsl.train import train

EXECUTORS = ("local", "process", "ray")
SWEEP_KEYS = {"name", "executor", "workers", "base", "grid", "models"}
PARTIAL = ".partial"
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class Trial:
    id: str
    config: dict


@dataclass
class Sweep:
    name: str
    folder: Path
    executor: str
    workers: int
    trials: list[Trial]


PLAIN_GRID_KEYS = ("model", "protocol", "target")  # their values name themselves in a trial name


def _trial_id(point: dict) -> str:
    """Readable and unique: the grid values in grid order (e.g. eea__zsl__fear__seed0)."""
    def part(key, value) -> str:
        if key == "seed":
            return f"seed{value}"
        return str(value) if key in PLAIN_GRID_KEYS else f"{key}-{value}"

    return "__".join(part(k, v).replace("/", "_").replace(" ", "") for k, v in point.items())


def load_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    if not path.exists():
        raise EmozslError(f"{path}: no such sweep file")
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise EmozslError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(spec) - SWEEP_KEYS
    if unknown:
        raise EmozslError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (keys: {', '.join(sorted(SWEEP_KEYS))})")
    grid = spec.get("grid", {})
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise EmozslError(f"{path}: grid.{key} must be a non-empty list")
    executor = check_choice(f"{path}: executor", spec.get("executor", "local"), EXECUTORS)
    base = dict(spec.get("base", {}))
    name = spec.get("name", path.stem)
    folder = Path(base.pop("runs_dir", Path("runs") / name))
    trials = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values))
        config = {**base, **point}
        overrides = spec.get("models", {}).get(config.get("model", "eea"), {})
        config.update({k: v for k, v in overrides.items() if k != "model_options"})
        config["model_options"] = {**base.get("model_options", {}), **overrides.get("model_options", {})}
        where = f"{path} trial {point}"
        checked = RunConfig.from_dict({**config, "runs_dir": str(folder)}, where)  # validate now, not mid-sweep
        try:
            resolve_options(checked.model, checked.model_options)
        except EmozslError as exc:
            raise EmozslError(f"{where}: {exc}") from None
        trials.append(Trial(_trial_id(point), config))
    ids = [t.id for t in trials]
    if len(set(ids)) != len(ids):
        raise EmozslError(f"{path}: grid values give duplicate trial names")
    return Sweep(name, folder, executor, int(spec.get("workers", 1)), trials)


def run_trial(folder: str, trial: Trial, device: str | None = None) -> str:
    """Train one trial unless it is finished; returns 'done' or 'skipped'."""
    folder = Path(folder)
    final = folder / trial.id
    if (final / RESULTS_FILE).exists():
        return "skipped"
    partial = folder / PARTIAL
    shutil.rmtree(partial / trial.id, ignore_errors=True)  # an interrupted attempt starts again
    config = {**trial.config, "runs_dir": str(partial), "name": trial.id}
    if device:
        config["device"] = device
    run_dir = train(RunConfig.from_dict(config, trial.id))
    try:
        os.replace(run_dir, final)  # atomic: the sweep folder only ever holds whole runs
    except OSError:  # another process finished it first: keep theirs, drop ours
        shutil.rmtree(run_dir, ignore_errors=True)
        return "skipped"
    return "done"


def _devices(workers: int) -> list[str | None]:
    """Several workers per GPU when there are more workers than GPUs; None keeps the config's."""
    gpus = torch.cuda.device_count()
    return [f"cuda:{i % gpus}" if gpus else None for i in range(workers)]


def run_sweep(path: str | Path, executor: str | None = None, workers: int | None = None) -> tuple[Path, dict]:
    sweep = load_sweep(path)
    executor = check_choice("--executor", executor or sweep.executor, EXECUTORS)
    workers = workers or sweep.workers
    sweep.folder.mkdir(parents=True, exist_ok=True)
    write_json(sweep.folder / SWEEP_FILE, {"name": sweep.name, "source": str(path),
                                           "trials": {t.id: t.config for t in sweep.trials}})
    pending = [t for t in sweep.trials if not (sweep.folder / t.id / RESULTS_FILE).exists()]
    counts = {"trials": len(sweep.trials), "skipped": len(sweep.trials) - len(pending), "done": 0}
    if executor == "local":
        outcomes = [run_trial(str(sweep.folder), t) for t in pending]
    elif executor == "process":
        devices = _devices(workers)
        # spawn: a fresh interpreter per worker, safe with CUDA
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_trial, str(sweep.folder), t, devices[i % workers]) for i, t in enumerate(pending)]
            outcomes = [f.result() for f in futures]
    else:
        outcomes = _run_with_ray(sweep, pending)
    for outcome in outcomes:
        counts[outcome] += 1
    shutil.rmtree(sweep.folder / PARTIAL, ignore_errors=True)
    return sweep.folder, counts


def _run_with_ray(sweep: Sweep, pending: list[Trial]) -> list[str]:
    try:
        import ray
    except ImportError:
        raise EmozslError("executor 'ray' needs Ray: pip install 'emozsl[ray]' (or use --executor process)") from None
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    gpus = 1 / max(1, sweep.workers) if torch.cuda.is_available() else 0  # workers share a GPU
    remote = ray.remote(num_gpus=gpus)(run_trial)
    return ray.get([remote.remote(str(sweep.folder), t) for t in pending])
