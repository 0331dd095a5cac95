"""The run folder and its one owner, `RunDir`: nothing else opens a run's files.

    runs/NAME/config.json      the resolved RunConfig
              split.json       the split manifest used
              metadata.json    emotions, input sizes, parameters, embeddings file and sha256, ...
              metrics.jsonl    one line per epoch
              checkpoint.pt    the best model: tensors only, read with weights_only=True
              reference.pt     the calibration reference (reference.py): tensors only, likewise
              results.json     written last: the run's format version, best epoch, test result

A run trains in `ROOT/.partial/NAME.../`, holding a lock there, and is renamed to `ROOT/NAME` only
once results.json is written: a folder outside `.partial` is always a whole, finished run, and a
failed run never looks finished. The lock dies with its process, so the partial folder of a killed
run is recognised and removed by the next run made under the same root. A run with an exact name
(a sweep trial, one seed of `--seeds`) is claimed: while one process trains it, another skips it."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emozsl import __version__
from emozsl.config import TRUST_FIELD, RunConfig, check_folder_name
from emozsl.errors import EmozslError, first_line
from emozsl.fileio import (
    Lock,
    dumps_json,
    read_json,
    write_bytes,
    write_error,
    write_json,
    write_text,
)
from emozsl.metrics import EvalResult
from emozsl.splits import dumps_manifest, load_manifest

if TYPE_CHECKING:  # torch is imported only where a checkpoint is read or written or metadata made:
    import torch  # reading a run's config, metadata and results (emozsl report) needs no training stack

PARTIAL = ".partial"
CONFIG_FILE, METRICS_FILE, CHECKPOINT_FILE = "config.json", "metrics.jsonl", "checkpoint.pt"
REFERENCE_FILE = "reference.pt"
METADATA_FILE, RESULTS_FILE, SPLIT_FILE = "metadata.json", "results.json", "split.json"
EVAL_FOLDER = "eval"
# 1: emozsl 0.1.0 (no format field; NaN written as NaN); 2: format field, nulls, named selection metric.
RUN_FORMAT = 2
LOCK_SUFFIX = ".lock"


class RunBusy(EmozslError):
    """Another live process is training a run of this exact name."""


class RunFinished(EmozslError):
    """A run of this exact name was finished (by another process) before this one could start."""


def _torch_version() -> str:
    import torch

    return torch.__version__


@dataclass
class RunMetadata:
    emotions: list[str]
    train_emotions: list[str]
    unseen: list[str]
    input_dims: dict[str, int]
    parameters: int
    embeddings: dict  # {"path": ..., "sha256": ...}
    split: dict  # protocol, target, sources (fingerprints), file
    selection_metric: str
    device: str
    # the extraction recipe of the features it was trained on (features/recipe.py), when they were made
    # by `emozsl features extract`: `emozsl predict` extracts new clips with it
    features: dict | None = None
    emozsl: str = __version__
    torch: str = field(default_factory=_torch_version)
    format: int = RUN_FORMAT


@dataclass
class RunResults:
    best_epoch: int
    selection_metric: str
    best_valid: float
    epochs_run: int
    seconds: float
    test: EvalResult

    def to_dict(self) -> dict:
        return {"format": RUN_FORMAT, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
                "test": self.test.to_dict()}

    @classmethod
    def from_dict(cls, stored: dict, where: str) -> RunResults:
        version = _format(stored, where)
        try:
            if version == 1:  # emozsl 0.1.0: best_valid_<metric>
                metric = next(k for k in stored if k.startswith("best_valid_")).removeprefix("best_valid_")
                best = stored[f"best_valid_{metric}"]
            else:
                metric, best = stored["selection_metric"], stored["best_valid"]
            return cls(stored["best_epoch"], metric, float("nan") if best is None else best, stored["epochs_run"],
                       stored["seconds"], EvalResult.from_dict(stored["test"]))
        except (KeyError, StopIteration, TypeError, ValueError) as exc:
            raise EmozslError(f"{where}: not an emozsl results file (bad or missing field {exc})") from None


def _format(stored, where: str) -> int:
    if not isinstance(stored, dict):
        raise EmozslError(f"{where}: expected a JSON object")
    version = stored.get("format", 1)
    if version not in range(1, RUN_FORMAT + 1):
        raise EmozslError(f"{where}: run format {version!r}, this emozsl {__version__} reads formats 1 to "
                          f"{RUN_FORMAT}; read it with the emozsl that wrote it, or a newer one")
    return version


class RunDir:
    """One run's folder. Made with `create` (a new run, in its partial folder until `finish`) or
    `open` (a finished run, read-only use)."""

    def __init__(self, path: Path, lock: Lock | None = None, root: Path | None = None, name: str | None = None,
                 exact: bool = False):
        self.path, self._lock, self._root, self._name, self._exact = Path(path), lock, root, name, exact

    # ------------------------------------------------------------ life
    @classmethod
    def create(cls, root: str | Path, name: str, exact: bool = False) -> RunDir:
        """A new, empty run in ROOT/.partial/. `exact`: the finished run will be ROOT/NAME, and the
        name is claimed (RunBusy while a live process holds it, RunFinished once it is done);
        otherwise it will be ROOT/NAME, or NAME_2, NAME_3, ... if that is taken (an existing run
        is never overwritten)."""
        root = Path(root)
        check_folder_name("name", name)  # a derived name (NAME_seed3, a sweep's trials) too, before any write
        partial = root / PARTIAL
        try:
            partial.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(partial, exc) from None
        remove_dead_partials(partial)
        slot = name if exact else f"{name}.{secrets.token_hex(4)}"
        lock = Lock.try_take(partial / (slot + LOCK_SUFFIX))
        if lock is None:
            raise RunBusy(f"{root / name}: another process is training this run")
        if exact and is_finished_folder(root / name):  # its holder finished it while we were starting
            lock.release()
            raise RunFinished(f"{root / name}: finished already")
        folder = partial / slot
        try:
            shutil.rmtree(folder, ignore_errors=True)  # a dead attempt's files: the lock is ours now
            folder.mkdir()
        except OSError as exc:
            lock.release()
            raise write_error(folder, exc) from None
        return cls(folder, lock, root, name, exact)

    def finish(self, results: RunResults) -> Path:
        """Write results.json last, then move the run to its final name; returns that path."""
        self.write_results(results)
        candidates = [self._name] if self._exact else [self._name, *(f"{self._name}_{n}" for n in range(2, 10_000))]
        for candidate in candidates:
            final = self._root / candidate
            try:
                os.rename(self.path, final)  # never replaces a non-empty folder: a run is never overwritten
            except OSError as exc:
                if not final.exists():
                    raise write_error(final, exc) from None
                continue
            self.path = final
            self._lock.release()
            return final
        raise EmozslError(f"{self._root / self._name}: exists and is not this run; move it away and rerun")

    def abandon(self) -> None:
        """Remove an unfinished run's folder and free its name (after a failure or an interrupt)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """A finished run, or a one-line error saying why the folder is not one."""
        path = Path(path)
        if not path.is_dir():
            raise EmozslError(f"{path}: no such run folder")
        run = cls(path)
        if not run.is_finished():
            inside = find_runs(path) if PARTIAL not in path.parts else []
            if inside:  # a sweep's or a --seeds group's folder
                raise EmozslError(f"{path}: holds {len(inside)} finished runs, not one (e.g. {inside[0].path}); "
                                  f"pass one of them, or `emozsl report {path}` for their table")
            raise EmozslError(f"{path}: not a finished emozsl run (no {RESULTS_FILE} and {CONFIG_FILE})")
        return run

    def is_finished(self) -> bool:
        return PARTIAL not in self.path.parts and is_finished_folder(self.path)

    # ------------------------------------------------------------ files
    def write_config(self, config: RunConfig) -> None:
        write_json(self.path / CONFIG_FILE, config.to_dict())

    def read_config(self) -> RunConfig:
        values = read_json(self.path / CONFIG_FILE, "run config")
        if isinstance(values, dict):
            values.pop(TRUST_FIELD, None)  # emozsl 0.1.0 stored it; trust now comes only from the command line
        return RunConfig.from_dict(values, str(self.path / CONFIG_FILE), check_build=False)  # checked when written

    @property
    def manifest_path(self) -> Path:
        return self.path / SPLIT_FILE

    def write_manifest(self, manifest: dict) -> None:
        write_text(self.manifest_path, dumps_manifest(manifest))

    def read_manifest(self) -> dict:
        return load_manifest(self.manifest_path)

    def write_metadata(self, metadata: RunMetadata) -> None:
        write_json(self.path / METADATA_FILE, dataclasses.asdict(metadata))

    def read_metadata(self) -> RunMetadata:
        where = str(self.path / METADATA_FILE)
        stored = read_json(self.path / METADATA_FILE, "run metadata")
        _format(stored, where)
        fields = {f.name for f in dataclasses.fields(RunMetadata)}
        try:
            metadata = RunMetadata(**{k: v for k, v in stored.items() if k in fields})
        except TypeError as exc:
            raise EmozslError(f"{where}: not an emozsl run's metadata ({exc})") from None
        emotions = metadata.emotions
        if not (isinstance(emotions, list) and all(isinstance(e, str) for e in emotions)
                and set(metadata.train_emotions) <= set(emotions) and set(metadata.unseen) <= set(emotions)):
            raise EmozslError(f"{where}: emotions, train_emotions and unseen must be lists of the run's emotions")
        if not (isinstance(metadata.input_dims, dict) and all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in metadata.input_dims.values())):
            raise EmozslError(f"{where}: input_dims must map each modality to a positive size")
        if not isinstance(metadata.embeddings, dict) or not {"path", "sha256"} <= set(metadata.embeddings):
            raise EmozslError(f"{where}: embeddings must record the file's path and sha256")
        return metadata

    def append_metrics(self, record: dict) -> None:
        """One epoch's line; a line is appended whole or, on a failed write, the run stops."""
        try:
            with open(self.path / METRICS_FILE, "a", encoding="utf-8") as f:
                f.write(dumps_json(record, indent=None))
        except OSError as exc:
            raise write_error(self.path / METRICS_FILE, exc) from None

    def read_metrics(self) -> list[dict]:
        try:
            lines = (self.path / METRICS_FILE).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise EmozslError(f"{self.path / METRICS_FILE}: cannot read ({exc.strerror or exc})") from None
        try:
            return [json.loads(line) for line in lines if line]
        except json.JSONDecodeError as exc:
            raise EmozslError(f"{self.path / METRICS_FILE}: not JSON lines ({exc})") from None

    def save_checkpoint(self, model: torch.nn.Module) -> None:
        save_state(model, self.path / CHECKPOINT_FILE)

    def load_checkpoint(self, model: torch.nn.Module) -> None:
        load_state(model, self.path / CHECKPOINT_FILE)

    def save_reference(self, state: dict) -> None:
        """The calibration reference's tensors (reference.CalibrationReference.to_state)."""
        save_tensors(state, self.path / REFERENCE_FILE)

    def read_reference(self) -> tuple[dict, str] | None:
        """The calibration reference's tensors and where they were read, or None for a run trained
        before emozsl kept one."""
        path = self.path / REFERENCE_FILE
        return (load_tensors(path), str(path)) if path.is_file() else None

    def write_results(self, results: RunResults) -> None:
        write_json(self.path / RESULTS_FILE, results.to_dict())

    def read_results(self) -> RunResults:
        return RunResults.from_dict(read_json(self.path / RESULTS_FILE, "results file"), str(self.path / RESULTS_FILE))

    @property
    def eval_dir(self) -> Path:
        return self.path / EVAL_FOLDER


def is_finished_folder(path: Path) -> bool:
    return (path / RESULTS_FILE).is_file() and (path / CONFIG_FILE).is_file()


def find_runs(root: str | Path) -> list[RunDir]:
    """Every finished run at or below `root` (unfinished ones, in .partial, are never listed)."""
    root = Path(root)
    folders = {p.parent for p in root.rglob(RESULTS_FILE) if PARTIAL not in p.relative_to(root).parts}
    return [RunDir(folder) for folder in sorted(folders) if is_finished_folder(folder)]


def remove_dead_partials(partial: Path) -> None:
    """Remove the partial folders whose process is gone (its lock is free); a live run's are kept."""
    try:
        entries = list(partial.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(LOCK_SUFFIX) and entry.is_file():
            lock = Lock.try_take(entry)
            if lock is not None:
                shutil.rmtree(partial / entry.name.removesuffix(LOCK_SUFFIX), ignore_errors=True)
                lock.release()
        elif entry.is_dir() and not (partial / (entry.name + LOCK_SUFFIX)).exists():
            shutil.rmtree(entry, ignore_errors=True)  # left by emozsl 0.1.0, which kept no lock


def default_run_name(config: RunConfig, suffix: str) -> str:
    """model_protocol[_target][_foldFofK]_suffix: what a run (or a group of runs) is called."""
    target = f"_{config.target}" if config.target is not None else ""
    target += f"_fold{config.fold}of{config.folds}" if config.folds is not None else ""
    return f"{config.model}_{config.protocol}{target}_{suffix}"


def save_tensors(state: dict, path: Path) -> None:
    """A mapping of names to tensors, written atomically (serialised in memory first, so a failed
    write is an OSError the file layer reports, never a half-written file)."""
    import torch

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
    write_bytes(path, buffer.getvalue())


def load_tensors(path: Path) -> dict:
    """A mapping of names to tensors; pickled code is never run (weights_only)."""
    import torch

    if not path.is_file():
        raise EmozslError(f"{path}: missing file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        raise EmozslError(f"{path}: not a readable tensors-only file ({first_line(exc)[:120]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise EmozslError(f"{path}: expected a mapping of names to tensors")
    return state


def save_state(model: torch.nn.Module, path: Path) -> None:
    """A model's tensors only, written atomically."""
    save_tensors(model.state_dict(), path)


def load_state(model: torch.nn.Module, path: Path) -> None:
    """Fill `model` from a tensors-only checkpoint; pickled code is never run (weights_only)."""
    if not path.is_file():
        raise EmozslError(f"{path}: missing checkpoint")
    state = load_tensors(path)
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    resized = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or resized:
        example = (f"{resized[0]} is {tuple(state[resized[0]].shape)}, the model's {tuple(expected[resized[0]].shape)}"
                   if resized else f"e.g. {(missing or unexpected)[0]}")
        raise EmozslError(f"{path}: does not fit this model ({len(missing)} missing, {len(unexpected)} unexpected, "
                          f"{len(resized)} resized tensors; {example}): a checkpoint of another model or size")
    model.load_state_dict(state)
