"""A detector of host synchronisations that works on any device, a CPU included.

On a CUDA device some operations make the host wait for the GPU (a sync): a value read into Python
(`.item()`, `bool(t)`, `int(t)`), an output whose size depends on the data (`nonzero`,
`masked_select`, `unique`, indexing with a boolean mask), a copy to the host (`.cpu()`, `.numpy()`,
`.tolist()`), lengths read back for packing (`pack_padded_sequence`). Each one stalls the step and
makes it impossible to capture (CUDA graphs) or to trace as one graph. `SyncDetector` watches every
aten operation dispatched inside it (torch's dispatch mode: forward, backward and optimizer alike)
and the host-copy methods, and records each sync with the lines of code that caused it; it also
counts the operations, a step's host work. On a CPU nothing actually waits, but the same
operations would on a GPU: that is what makes a step's sync-freedom provable without one."""

from __future__ import annotations

import collections
import os
import sys
import traceback

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
SYNCING_OPS = {
    aten._local_scalar_dense.default: "a value read into Python",
    aten.nonzero.default: "nonzero (data-dependent size)",
    aten.masked_select.default: "masked_select (data-dependent size)",
    aten._unique2.default: "unique (data-dependent size)",
    aten.unique_dim.default: "unique (data-dependent size)",
    aten.unique_consecutive.default: "unique (data-dependent size)",
    aten.repeat_interleave.Tensor: "repeat_interleave without output_size",
    aten._pack_padded_sequence.default: "lengths read on the host for packing",
    aten.equal.default: "a comparison read into Python",
}
BOOLEAN_INDEXED = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default, aten._index_put_impl_.default}
HOST_COPIES = ("cpu", "numpy", "tolist")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_ROOT = os.path.dirname(os.path.abspath(torch.__file__))
# Installed packages are never the project's own code, even in a virtual environment inside the
# checkout (CI's .ci-venv/).
INSTALLED = tuple(sorted({os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, TORCH_ROOT)}))


def _own(filename: str) -> bool:
    return filename.startswith(ROOT) and not filename.startswith(INSTALLED) and not filename.endswith("syncs.py")


def call_site() -> str:
    """'emozsl/models/x.py:58', with the torch layer it went through when there is one
    ('... via nn/modules/transformer.py:537'); a sync in backward points at the backward call."""
    frames = traceback.extract_stack()[:-3]
    own = next((f for f in reversed(frames) if _own(f.filename)), None)
    library = next((f for f in reversed(frames) if f.filename.startswith(TORCH_ROOT)
                    and any(part in f.filename for part in ("/nn/", "/optim/", "/functional.py"))), None)
    where = f"{os.path.relpath(own.filename, ROOT)}:{own.lineno}" if own else "?"
    if library is not None and (own is None or frames.index(library) > frames.index(own)):
        where += f" via {os.path.relpath(library.filename, TORCH_ROOT)}:{library.lineno}"
    return where


def _boolean_index(args) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices or ())


class SyncDetector(TorchDispatchMode):
    """`with SyncDetector() as d: step()`; then d.syncs ({(what, where): count}), d.total, d.ops."""

    def __init__(self):
        super().__init__()
        self.syncs: collections.Counter = collections.Counter()
        self.ops = 0
        self._originals = {}

    @property
    def total(self) -> int:
        return sum(self.syncs.values())

    def _record(self, what: str) -> None:
        self.syncs[(what, call_site())] += 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        if func in SYNCING_OPS:
            self._record(SYNCING_OPS[func])
        elif func in BOOLEAN_INDEXED and _boolean_index(args):
            self._record("indexing with a boolean mask (data-dependent size)")
        return func(*args, **(kwargs or {}))

    def __enter__(self):
        for name in HOST_COPIES:
            self._originals[name] = torch.Tensor.__dict__.get(name)  # None: inherited from TensorBase
            original = getattr(torch.Tensor, name)

            def watched(tensor, *args, _original=original, _name=name, **kwargs):
                self._record(f"a copy to the host (.{_name}())")
                return _original(tensor, *args, **kwargs)

            setattr(torch.Tensor, name, watched)
        return super().__enter__()

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            if original is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, original)
        return super().__exit__(*exc)

    def sites(self, steps: int = 1) -> dict[str, float]:
        """'what at where' -> syncs per step, most frequent first."""
        return {f"{what} at {where}": count / steps for (what, where), count in self.syncs.most_common()}
