"""Steps captured once and replayed: a training or scoring step as one CUDA graph launch.

A step here is a function of tensors (nested dicts and tuples) that returns tensors and never reads
a device value on the host (models/sequence.py, the sync detector in syncs.py). On CUDA,
`CapturedStep` runs the first call of each input signature (shapes and dtypes) eagerly, as a
warm-up (optimizer state, cuDNN and cuBLAS workspaces are made lazily), captures the second into
a CUDA graph with static input buffers, and from then on copies each call's inputs into the
buffers and replays the graph: one launch instead of hundreds, and the host runs ahead of the GPU.
A call whose capture fails runs eagerly, and that signature stays eager; the reason is logged once.
Elsewhere (a CPU) the step runs eagerly. The time spent warming up and capturing is counted apart
(`capture_seconds`), so epoch times stay comparable.

Replayed outputs are static tensors, overwritten by the next replay of the same signature: a caller
reads (or accumulates) them before its next call."""

from __future__ import annotations

import logging
import time
import warnings

import torch

from emozsl.batches import map_tensors

log = logging.getLogger("emozsl")
MAX_GRAPHS = 24  # signatures captured per step; more (raw media's length ladder, tails) run eagerly


def signature(tree) -> tuple:
    """The shapes and dtypes of a tree of tensors, in order (what a graph is specific to)."""
    out = []
    map_tensors(lambda t: out.append((tuple(t.shape), t.dtype)), tree)
    return tuple(out)


class CudaGraphs:
    """The capture backend of one CUDA device (torch.cuda.graph). Its graphs share one memory pool:
    they are replayed one at a time, on one stream, and none keeps memory contents from one replay
    to the next except its static inputs and outputs, which stay referenced (never handed out
    again). Captures use a stream of the device (`cuda:N` included) and `thread_local` error mode,
    so a DataLoader's pin-memory thread working meanwhile does not invalidate them."""

    def __init__(self, device: torch.device):
        self.device = torch.device("cuda", device.index if device.index is not None else torch.cuda.current_device())
        with torch.cuda.device(self.device):
            self.stream = torch.cuda.Stream(self.device)
            self.pool = torch.cuda.graph_pool_handle()

    def warm_up(self, fn, args):
        # On a side stream, as torch's CUDA-graph notes advise before a capture.
        with torch.cuda.device(self.device):
            current = torch.cuda.current_stream(self.device)
            self.stream.wait_stream(current)
            with torch.cuda.stream(self.stream):
                out = fn(*args)
            current.wait_stream(self.stream)
        return out

    def capture(self, fn, static_args):
        """-> (replay, static outputs). Nothing runs until the first replay. A failed capture leaves
        the current stream as it was and raises the error that caused it."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.device(self.device):
            current = torch.cuda.current_stream(self.device)
            try:
                with torch.cuda.graph(graph, pool=self.pool, stream=self.stream, capture_error_mode="thread_local"):
                    out = fn(*static_args)
            except Exception as exc:
                torch.cuda.set_stream(current)  # torch's context leaves the capture stream current then
                cause = exc.__context__ if isinstance(exc.__context__, Exception) else exc
                raise cause from None
        return graph.replay, out

    def synchronize(self) -> None:
        torch.cuda.synchronize(self.device)


class CapturedStep:
    """`fn(*args)`, captured per input signature on CUDA (module docstring). `backend`: CudaGraphs
    of the device, None (eager), or a stand-in with the same methods (the tests')."""

    def __init__(self, fn, backend: CudaGraphs | None, name: str = "step", max_graphs: int = MAX_GRAPHS):
        self.fn, self.backend, self.name, self.max_graphs = fn, backend, name, max_graphs
        self.graphs: dict[tuple, tuple] = {}  # signature -> (replay, static args, static outputs)
        self.seen: dict[tuple, int] = {}
        self.eager: set[tuple] = set()  # signatures whose capture failed, or beyond max_graphs
        self.capture_seconds = 0.0
        self.failures: list[str] = []

    @property
    def captured(self) -> int:
        return len(self.graphs)

    def __call__(self, *args):
        if self.backend is None:
            return self.fn(*args)
        key = signature(args)
        entry = self.graphs.get(key)
        if entry is not None:
            replay, static_args, out = entry
            map_tensors(lambda static, new: static.copy_(new, non_blocking=True), static_args, args)
            replay()
            return out
        if key in self.eager:
            return self.fn(*args)
        self.seen[key] = self.seen.get(key, 0) + 1
        start = time.perf_counter()
        try:
            if self.seen[key] == 1 or len(self.graphs) >= self.max_graphs:
                if len(self.graphs) >= self.max_graphs:
                    self.eager.add(key)
                with warnings.catch_warnings():  # a capturable optimizer warns when it runs uncaptured
                    warnings.filterwarnings("ignore", message=".*capturable=True.*")
                    return self.backend.warm_up(self.fn, args)
            return self._capture(key, args)
        finally:
            self.backend.synchronize()
            self.capture_seconds += time.perf_counter() - start

    def _capture(self, key: tuple, args):
        static_args = map_tensors(lambda t: t.clone(), args)
        try:
            replay, out = self.backend.capture(self.fn, static_args)
        except Exception as exc:  # an operation that cannot be captured: this signature stays eager
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            self.failures.append(reason)
            self.eager.add(key)
            log.warning("%s: CUDA graph capture failed (%s); this shape runs eagerly", self.name, reason)
            return self.fn(*args)
        self.graphs[key] = (replay, static_args, out)
        replay()
        return out
