"""Running an extractor over clips: each clip's (values, times) from the per-clip cache or from the
extractor, in this process or in a pool of worker processes that share the cores.

The cache: each clip's extracted (values, times) per modality, before alignment, is kept under
cache_root()/features/MODALITY/KEY.npz, KEY the sha256 of the extractor's spec, its version, the
sha256 of its files (model folder, word-vector file), its packages' versions, the settings that
affect it, and the clip's input (`clip_input`): its media file as it is now (path, size,
modification time, inode), its OpenFace CSV, or its words. With the values it keeps the counts the
clip added to the extractor's stats, so a clip read back counts as one extracted.

The pool: an extractor whose registry row is `per_clip` (single-threaded work on each clip:
openSMILE, log-mel, MFCC, OpenFace CSV parsing) runs in `workers` spawned processes, as the sweep's
process executor trains, each with its own copy of the extractor and one BLAS thread, clips handed
out in chunks; results come back with the counts each clip added and are merged by clip. A worker
whose extraction was killed exits within PARENT_CHECK_S; workers ignore Ctrl-C (the extraction
stops at a clip's end: extract.py). The other
extractors run here: a torch encoder already uses every core through its own threads and holds one
copy of its model; word vectors cost less than starting a process.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emozsl.errors import EmozslError, first_line
from emozsl.features import extractors as impl
from emozsl.features.registry import parse_spec
from emozsl.fileio import replacing

CACHE_FORMAT = "1"
MIN_POOLED_CLIPS = 32  # fewer clips: starting the processes (about 1 s each) costs more than they save
PARENT_CHECK_S = 0.5
CHUNK = 8  # clips per task: few enough to keep every worker busy to the end, enough to amortise a task
log = logging.getLogger("emozsl")


def cache_key(*parts) -> str:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _stat(path) -> str:
    """A file as it is now: path, size, modification time, inode (no read: resumes stay fast)."""
    path = Path(path).resolve()
    status = os.stat(path)
    return f"{path}|{status.st_size}|{status.st_mtime_ns}|{status.st_ino}"


def clip_input(modality: str, name: str, arg: str | None, u: impl.Utterance, own_first: bool = False
               ) -> list | None:
    """What the clip's output depends on besides the extractor; None: no cache entry (the extractor
    then names the fault)."""
    try:
        if modality == "text":
            return [json.dumps([u.text, u.words])]
        if modality == "audio":
            ref = u.audio
            if ref is None:
                return None
            if ref.samples is not None:
                return [hashlib.sha256(np.ascontiguousarray(ref.samples, np.float64).tobytes()).hexdigest(), ref.rate]
            return [_stat(ref.path), ref.rate] if ref.path else None
        if name == "openface":
            file = impl.openface_csv(u, Path(arg) if arg else None, own_first)
            return [_stat(file)] if file is not None else None
        ref = u.frames
        if ref is None:
            return None
        if ref.video is not None:
            return [_stat(ref.video)]
        from emozsl.data.media.decode import frame_files

        return [ref.fps, *(_stat(f) for f in frame_files(Path(ref.folder), u.uid, ref.prefix))]
    except (OSError, EmozslError):
        return None


def _cache_read(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            values = z["values"]
            times = z["times"] if "times" in z.files else None
            extra = json.loads(str(z["extra"]))
        return values, times, extra
    except Exception:  # noqa: BLE001 (a missing, partial or foreign entry is a miss)
        return None


def _cache_write(path: Path, values, times, extra: dict) -> None:
    arrays = {"values": np.asarray(values, np.float32), "extra": np.array(json.dumps(extra))}
    if times is not None:
        arrays["times"] = np.asarray(times, np.float64)
    try:
        with replacing(path, durable=False) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except (OSError, EmozslError) as exc:  # a full or read-only cache never stops an extraction
        log.debug("feature cache: cannot write %s (%s)", path, first_line(exc))


@dataclass
class Outcome:
    """One clip through one extractor: its (T, D) values and (T, 2) times (None: steps without times),
    or the failure's `cause` and one-line `error`. `extra` holds the counts the clip added to the
    extractor's stats ({"stats": {name: delta}, "seen": {name: members}}); `counted` is True when
    they are already in this process's extractor (it ran here)."""
    values: np.ndarray | None = None
    times: np.ndarray | None = None
    extra: dict | None = None
    counted: bool = False
    cached: bool = False
    cause: str | None = None
    error: str | None = None


def run_clip(extractor: impl.Opened, modality: str, spec: str, u: impl.Utterance, entry: Path | None) -> Outcome:
    """The clip's cached outcome when `entry` holds one, else the extractor's (written to `entry`)."""
    hit = _cache_read(entry) if entry is not None and entry.is_file() else None
    if hit is not None:
        values, times, extra = hit
        if times is None and u.words is not None:
            times = impl.word_times(u)
        return Outcome(values, times, extra, cached=True)
    before = dict(extractor.stats)
    extractor.clip_seen = {}
    try:
        values, times = extractor(u)
    except KeyboardInterrupt:
        raise
    except impl.ClipError as exc:
        return Outcome(cause=exc.cause, error=str(exc))
    except EmozslError as exc:
        return Outcome(cause="extractor", error=f"{modality} {spec}: {exc}")
    except Exception as exc:  # noqa: BLE001 (a library's own error on this clip's data)
        return Outcome(cause="extractor", error=f"{modality} {spec}: {type(exc).__name__}: {first_line(exc)}")
    if not np.isfinite(values).all():  # never written into the output, where training would fail on it
        return Outcome(cause="extractor", error=f"{modality} {spec}: utterance {u.uid}: gives non-finite values")
    delta = {n: v - before.get(n, 0) for n, v in extractor.stats.items()
             if n not in extractor.seen and isinstance(v, int) and v != before.get(n, 0)}
    extra = {"stats": delta, "seen": {n: sorted(v) for n, v in extractor.clip_seen.items()}}
    if entry is not None:
        _cache_write(entry, values, times, extra)
    return Outcome(values, times, extra, counted=True)


def count(extractor: impl.Opened, outcome: Outcome) -> None:
    """Adds the counts of a clip that did not run in this process to the extractor's stats."""
    if outcome.counted or outcome.extra is None:
        return
    for name, delta in outcome.extra["stats"].items():
        extractor.stats[name] = extractor.stats.get(name, 0) + delta
    for name, members in outcome.extra["seen"].items():
        extractor.seen[name].update(members)
        extractor.stats[name] = len(extractor.seen[name])


def pool_workers(workers: int | None, clips: int) -> int:
    """Processes for the per-clip extractors: `workers` when given, else the cores this process may
    use when there are at least MIN_POOLED_CLIPS clips; 1 means no pool."""
    if workers is not None:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise EmozslError(f"workers {workers!r}: give a whole number of processes above 0")
        return workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores if clips >= MIN_POOLED_CLIPS else 1


_worker_extractors: dict[str, tuple[impl.Opened, str]] = {}


def _exit_with(parent: int) -> None:
    """A worker outliving its extraction (killed) would wait for tasks forever: its siblings hold
    the task queue open. It exits once it is no longer its parent's child."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _open_in_worker(specs: dict[str, str], settings: impl.Settings, parent: int) -> None:
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # Ctrl-C is the extraction's to handle, at a clip's end: a library interrupted mid-clip (openSMILE
    # swallows it in a callback) would return a clip short of frames
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)  # one BLAS thread per worker: the workers share the cores
    for modality, spec in specs.items():
        row, arg = parse_spec(modality, spec)
        _worker_extractors[modality] = (getattr(impl, row.opener)(arg, settings), spec)


def _run_chunk(modality: str, chunk: list[tuple[int, impl.Utterance, Path | None]]) -> list[tuple[int, Outcome]]:
    extractor, spec = _worker_extractors[modality]
    done = [(k, run_clip(extractor, modality, spec, u, entry)) for k, u, entry in chunk]
    for _, outcome in done:
        outcome.counted = False  # counted in this worker's copy: the extraction's own is yet to count it
    return done


class ClipPool:
    """Worker processes running the per-clip extractors `specs` ({modality: spec}) on clips."""

    def __init__(self, specs: dict[str, str], settings: impl.Settings, workers: int):
        self.workers = workers
        self.executor = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_open_in_worker,
            initargs=(specs, settings, os.getpid()))

    def __enter__(self) -> ClipPool:
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, modality: str, spec: str, tasks: list[tuple[int, impl.Utterance, Path | None]]):
        """Hands the clips to the workers now (each modality's clips queued behind the previous
        modality's, so no worker waits between modalities) and returns an iterator of (clip index,
        Outcome) as chunks finish. A worker that dies (a library crashing on a clip) is an
        EmozslError naming the clips of its chunk; clips finished before are cached."""
        size = max(1, min(CHUNK, -(-len(tasks) // (4 * self.workers))))
        chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]
        return self._results(modality, spec, {self.executor.submit(_run_chunk, modality, c): c for c in chunks})

    @staticmethod
    def _results(modality: str, spec: str, futures: dict):
        for future in concurrent.futures.as_completed(futures):
            try:
                done = future.result()
            except concurrent.futures.process.BrokenProcessPool:
                # every pending chunk fails with it, so which clip killed the worker is unknown here
                raise EmozslError(f"{modality} {spec}: a worker process died (a library crashing on a clip); the "
                                  "clips extracted before are cached: rerun with --workers 1 to name the clip") from None
            yield from done
