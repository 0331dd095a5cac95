"""`emozsl sweep FILE.toml`: many runs from one file, resumable.

    name = "synth_mosei_zsl"            # the sweep folder: runs/<name> unless base.runs_dir says otherwise
    executor = "local"                  # local | process | ray
    workers = 2                         # process / ray: trials (or groups) at a time
    stack = 18                          # trials trained together in one process (default: 32 on CUDA, 4 raw; 1 on CPU)

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

A trial is a pure function of its spec (base + one grid point + its backbone's overrides), named by
its grid values. Every trial is checked before the first one starts. A trial is a run with an exact
name (runs.py): it trains in `<sweep>/.partial/` and appears as `<sweep>/<trial>/` only when
finished; a finished trial is skipped, an interrupted one starts again, and one that another process
is training (a second sweep on the same folder) is left to it. So a sweep killed at any moment
resumes with nothing lost or duplicated, and two sweeps on one folder share the work.

Trials that read the same data on the same device are stacked: up to `stack` of them train together
in one process (train.train_group: the data read once, the steps of all in lockstep, each trial
with its own random state, early stopping, checkpoint and run folder; on CUDA each on its own
stream, so the GPU runs them side by side). A stacked trial is claimed and finished like any
other, so resuming and sharing work the same way.

Executors: `local` trains the groups one after another in this process; `process` trains up to
`workers` groups at once in processes of this machine, which share its cores and GPUs; `ray` trains
up to `workers` groups at once as tasks of a Ray cluster, each reserving (and using as its threads)
its share of the cluster's cores, at most a node's, and its share of the cluster's GPUs. `ray` logs
each finished group with the node it ran on, and a failed trial as one line naming it.
Ray takes its cluster from RAY_ADDRESS, else the one last started on this machine, else starts a
local one for the sweep. On a real cluster, with emozsl and its extra [ray] (the same versions) on
every node:

    ray start --head                                      # on one machine, HEAD
    ray start --address=HEAD:6379                         # on every other machine
    RAY_ADDRESS=HEAD:6379 emozsl sweep FILE --executor ray --workers N

A trial reads its data and embeddings and writes its run folder itself, on whichever node Ray puts
it, and the sweep sees which trials are finished from the machine it runs on: the data, the
embeddings and the sweep folder must be on a file system shared by every node, at the same paths
(paths in the sweep file are relative to the file, the sweep's folder to the folder the command
runs in, on every node alike)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import logging
import multiprocessing
import os
import tomllib
from pathlib import Path

import torch

from emozsl.config import (
    DEFAULTS,
    RepeatSettings,
    RunConfig,
    anchor_paths,
    check_folder_name,
    check_sources,
    identity,
)
from emozsl.errors import EmozslError, FieldError, check_choice, first_line
from emozsl.extras import install_hint
from emozsl.fileio import read_text, write_json
from emozsl.models import REGISTRY
from emozsl.runs import RunDir
from emozsl.session import resolve_device
from emozsl.train import claim_outcome, stack_size, train_group

REPEAT_KEYS = ("executor", "workers", "stack")  # RepeatSettings of the file, which the command's flags override
SWEEP_KEYS = {"name", *REPEAT_KEYS, "base", "grid", "models"}
SWEEP_OWNED = ("runs_dir", "name")  # set by the sweep for every trial
SWEEP_FILE = "sweep.json"
log = logging.getLogger("emozsl")


@dataclasses.dataclass(frozen=True)
class Trial:
    id: str
    config: dict  # as the sweep file gives it (base + grid point + backbone overrides)
    run_config: RunConfig  # checked, with the sweep's folder and the trial's name


@dataclasses.dataclass
class Sweep:
    name: str
    folder: Path
    repeat: RepeatSettings  # executor, workers, stack (None: the default of the trials' device, train.stack_size)
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
    try:
        spec = tomllib.loads(read_text(path, "sweep file"))
    except tomllib.TOMLDecodeError as exc:
        raise EmozslError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(spec) - SWEEP_KEYS
    if unknown:
        raise EmozslError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (keys: {', '.join(sorted(SWEEP_KEYS))})")
    for key in ("base", "models"):
        if not isinstance(spec.get(key, {}), dict):
            raise EmozslError(f"{path}: {key} must be a table ([{key}])")
    grid = spec.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise EmozslError(f"{path}: [grid] is missing or empty; a sweep needs at least one grid key "
                          "(e.g. seed = [0, 1, 2])")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise EmozslError(f"{path}: grid.{key} must be a non-empty list")
    models = spec.get("models", {})
    for model, overrides in models.items():
        check_choice(f"{path}: models.{model}", model, list(REGISTRY))
        if not isinstance(overrides, dict):
            raise EmozslError(f"{path}: models.{model} must be a table of run fields")
    base = anchor_paths(spec.get("base", {}), path)
    for where, table in [("grid", grid), *((f"models.{m}", o) for m, o in models.items())]:
        for key in SWEEP_OWNED:
            if key in table:
                raise EmozslError(f"{path}: {where}.{key}: set by the sweep for every trial (runs_dir only in [base])")
    repeat = RepeatSettings.from_dict({key: spec[key] for key in REPEAT_KEYS if key in spec}, str(path))
    if "name" in base:
        raise EmozslError(f"{path}: base.name: trials are named by their grid values")
    name = check_folder_name("name", str(spec.get("name", path.stem)))
    folder = Path(base.pop("runs_dir", Path("runs") / name))
    trials = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values))
        config = {**base, **anchor_paths(point, path)}
        overrides = anchor_paths(models.get(config.get("model", DEFAULTS.model), {}), path)
        config.update({k: v for k, v in overrides.items() if k != "model_options"})
        config["model_options"] = {**base.get("model_options", {}), **overrides.get("model_options", {})}
        trial_id = _trial_id(point)
        where = f"{path} trial {trial_id}"
        if str(config.get("target", "")).strip().lstrip("-").isdigit():  # `train --zsl 3` reads the data to name it
            raise FieldError("target", config["target"], "a sweep names its emotions (its trials and tables are named "
                             "by them): give the emotion's name", where)
        try:
            check_folder_name("trial name", trial_id)
        except FieldError as exc:
            raise exc.located(f"{path}: grid values {point}") from None
        run_config = RunConfig.from_dict({**config, "runs_dir": str(folder), "name": trial_id}, where)  # every field, now
        trials.append(Trial(trial_id, config, run_config))
    ids = [t.id for t in trials]
    if len(set(ids)) != len(ids):
        raise EmozslError(f"{path}: grid values give duplicate trial names")
    return Sweep(name, folder, repeat, trials)


def _check_finished_trial(run: RunDir, expected: RunConfig) -> None:
    """A finished trial is skipped only if it computed what this sweep's trial computes (its
    config.identity: where and how it ran may differ)."""
    stored, wanted = identity(run.read_config()), identity(expected)
    differing = [k for k in wanted if stored[k] != wanted[k]]
    if differing:
        key = differing[0]
        raise EmozslError(f"{run.path}: finished with other settings ({key} {stored.get(key)!r}, this sweep "
                          f"{wanted[key]!r}); give the sweep another name, or move that trial away")


def run_group(trials: list[Trial], device: str | None = None, trust_pickle: bool = False,
              threads: int | None = None) -> list[str]:
    """Train `trials` together (one process; a group of one is a plain run), each unless it is
    finished ('skipped') or another process is training it ('busy'); 'done' for the others. The
    first error of a trial is raised once the others are finished. `threads`: the CPU threads
    this process's operators may use (default: torch's, one per core)."""
    if threads is not None:
        torch.set_num_threads(threads)
    configs = [dataclasses.replace(t.run_config, device=device) if device else t.run_config for t in trials]
    outcomes = ["skipped" if RunDir(Path(c.runs_dir) / t.id).is_finished() else None for t, c in zip(trials, configs)]
    pending = [k for k, outcome in enumerate(outcomes) if outcome is None]
    errors = []
    for k, outcome in zip(pending, train_group([configs[k] for k in pending], trust_pickle, exact_names=True)):
        outcomes[k] = claim_outcome(outcome)
        if isinstance(outcomes[k], BaseException):
            errors.append(outcomes[k])
        elif outcomes[k] == "done":
            log.info("trial %s: %s (test: %s)", trials[k].id, outcome, result_line(RunDir.open(outcome)))
    if errors:
        raise errors[0]
    return outcomes


def result_line(run: RunDir) -> str:
    """A finished run's test AUC per emotion group, for a progress line."""
    summary = run.read_results().test.summary
    return ", ".join(f"{group} AUC {values['auc']:.3f}" for group, values in summary.items()
                     if group != "harmonic" and values.get("auc") == values.get("auc")) or "no AUC"


def plan_groups(trials: list[Trial], stack: int, workers: int) -> list[list[Trial]]:
    """Trials that read the same data on the same device, in groups of at most `stack`, spread
    over at least `workers` groups when there are enough trials (each worker trains one group)."""
    classes: dict[tuple, list[Trial]] = {}
    for trial in trials:
        c = trial.run_config
        classes.setdefault((c.data, c.extra, c.device), []).append(trial)
    groups = []
    for members in classes.values():
        size = max(1, min(stack, -(-len(members) // workers)))
        groups += [members[i:i + size] for i in range(0, len(members), size)]
    return groups


def worker_threads(workers: int) -> int:
    """CPU threads per process worker: the cores this process may use, shared out. Every worker
    taking every core makes their operators wait on each other's threads (many times slower)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


def _devices(workers: int) -> list[str | None]:
    """Several workers per GPU when there are more workers than GPUs; None keeps the config's."""
    gpus = torch.cuda.device_count()
    return [f"cuda:{i % gpus}" if gpus else None for i in range(workers)]


def run_sweep(path: str | Path, trust_pickle: bool = False, **overrides) -> tuple[Path, dict]:
    """`emozsl sweep FILE`: train every trial of the sweep file not finished yet; `overrides`
    (RepeatSettings' fields, e.g. executor, workers, stack; None: the file's) replace the file's.
    Returns the sweep's folder and its counts of trials (trials, done, skipped, busy). FieldError
    naming a setting and the file or trial it came from, before any trial trains."""
    sweep = load_sweep(path)
    repeat = dataclasses.replace(sweep.repeat, **{k: v for k, v in overrides.items() if v is not None})  # checked
    executor, workers = repeat.executor, repeat.workers
    pending = []
    for trial in sweep.trials:
        config = trial.run_config
        resolve_device(config.device)  # a device this machine lacks stops the sweep before any trial
        check_sources(config, f"{path} trial {trial.id}")  # so does a missing path or a bad label-word file
        run = RunDir(sweep.folder / trial.id)
        if run.is_finished():
            _check_finished_trial(run, config)
        else:
            pending.append(trial)
    write_json(sweep.folder / SWEEP_FILE, {"name": sweep.name, "source": str(path),
                                           "trials": {t.id: t.config for t in sweep.trials}})
    counts = {"trials": len(sweep.trials), "skipped": len(sweep.trials) - len(pending), "done": 0, "busy": 0}
    size = repeat.stack or min((stack_size(t.run_config) for t in pending), default=1)
    groups = plan_groups(pending, size, workers if executor != "local" else 1)
    log.info("%s: %d trials to train in %d group(s) of at most %d", sweep.name, len(pending), len(groups), size)
    if executor == "local":
        outcomes, started = [], 0
        for group in groups:
            log.info("%s: trial%s %s of %d: %s", sweep.name, "s" if len(group) > 1 else "",
                     f"{started + 1}-{started + len(group)}" if len(group) > 1 else started + 1, len(pending),
                     ", ".join(t.id for t in group))
            outcomes += run_group(group, trust_pickle=trust_pickle)
            started += len(group)
    elif executor == "process":
        placement = _devices(workers)
        # spawn: a fresh interpreter per worker, safe with CUDA
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            threads = worker_threads(workers)
            futures = {pool.submit(run_group, g, placement[i % workers], trust_pickle, threads): g
                       for i, g in enumerate(groups)}
            finished = 0
            for future in concurrent.futures.as_completed(futures):
                finished += len(futures[future])
                log.info("%s: %d of %d trials finished", sweep.name, finished, len(pending))
            outcomes = [o for f in futures for o in f.result()]
    else:
        outcomes = _run_with_ray(sweep, groups, workers, trust_pickle)
    for outcome in outcomes:
        counts[outcome] += 1
    return sweep.folder, counts


def _ray_group(group: list[Trial], trust_pickle: bool, threads: int, cwd: str) -> tuple[str, list[str]]:
    """One Ray task: `run_group` on the node Ray chose, with that node named for the progress log."""
    import ray

    os.chdir(cwd)  # relative paths (runs/NAME by default) mean what they mean to the sweep command
    where = f"{ray.util.get_node_ip_address()} {ray.get_runtime_context().get_node_id()[:8]}"
    return where, run_group(group, None, trust_pickle, threads)


def _ray_cpus(nodes: list[dict], workers: int) -> int:
    """CPUs each Ray task reserves, and its operators' threads: the cluster's cores shared out among
    the workers as `worker_threads` shares one machine's, but no more than the smallest node has (a
    task must fit on any node). Reserving what it uses keeps a node from running more threads than cores."""
    cores = [int(n["Resources"]["CPU"]) for n in nodes if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
    return max(1, min(min(cores), sum(cores) // workers)) if cores else 1


def _ray_failure(sweep: Sweep, group: list[Trial], exc: Exception) -> EmozslError:
    """A failed Ray task as one line naming its trials (those of its group left unfinished)."""
    cause = getattr(exc, "cause", None) or exc  # a task's own error, else Ray's (a worker or node lost)
    failed = [t.id for t in group if not RunDir(sweep.folder / t.id).is_finished()] or [t.id for t in group]
    return EmozslError(f"{sweep.name}: trial {', '.join(failed)} failed: {first_line(cause)}")


def _run_with_ray(sweep: Sweep, groups: list[list[Trial]], workers: int, trust_pickle: bool) -> list[str]:
    """At most `workers` groups at once as tasks of a Ray cluster (module docstring); the first
    failure is raised once the others are finished, as by the process executor."""
    if not groups:  # nothing to train: no cluster to start or join
        return []
    try:
        import ray
    except ImportError:
        raise EmozslError(f"executor 'ray' needs Ray: {install_hint('ray')} (or use --executor process)") from None
    connected = ray.is_initialized()
    if not connected:  # RAY_ADDRESS, else the cluster last started on this machine, else a new local one
        ray.init(logging_level=log.getEffectiveLevel())  # -q quiets Ray's lines too
    try:
        threads = _ray_cpus(ray.nodes(), workers)
        gpus = min(1.0, ray.cluster_resources().get("GPU", 0) / workers)  # workers share a GPU, as by `_devices`
        remote = ray.remote(num_cpus=threads, num_gpus=gpus)(_ray_group)
        cwd, queue, running = os.getcwd(), iter(groups), {}

        def start(count: int) -> None:  # the next `count` groups
            for group in itertools.islice(queue, count):
                running[remote.remote(group, trust_pickle, threads, cwd)] = group

        start(workers)
        outcomes, finished, total, error = [], 0, sum(map(len, groups)), None
        while running:
            (ready,), _ = ray.wait(list(running))
            group = running.pop(ready)
            try:
                where, done = ray.get(ready)
                outcomes, status = outcomes + done, f"on node {where}"
            except ray.exceptions.RayError as exc:
                error, status = error or _ray_failure(sweep, group, exc), "failed"
            finished += len(group)
            log.info("%s: %d of %d trials finished (%s %s)", sweep.name, finished, total,
                     ", ".join(t.id for t in group), status)
            start(1)
        if error:
            raise error
        return outcomes
    finally:
        if not connected:  # a local cluster started here ends here; a connection made here is closed
            ray.shutdown()
