"""Host memory for training on a CPU.

glibc's malloc serves every block above a threshold (128 KiB, adjusted upwards as blocks are freed,
at most 32 MiB) with a fresh mmap and unmaps it when freed, so the large tensors a batch allocates
(activations, gathered patches, gradients) page-fault anew every batch. Served from the heap,
freed pages are reused by the next batch: on a 2-core CPU a full epoch went from 4.28 to 3.12 s
(eea), 10.75 to 6.92 s (fe2e) and 33.2 to 19.6 s (mesm), for a higher peak resident memory (the
benchmark process: 4.7 -> 5.7 GB; benchmarks/README.md). Set EMOZSL_KEEP_HOST_MEMORY=0
to keep glibc's defaults."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
HEAP_BLOCKS_UP_TO = 1 << 30  # blocks up to 1 GiB come from the heap
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Serve blocks up to 1 GiB from the heap (once per process, glibc on Linux only, unless
    EMOZSL_KEEP_HOST_MEMORY=0); returns whether the setting is in force."""
    global _applied
    if _applied is None:
        _applied = False
        wanted = os.environ.get("EMOZSL_KEEP_HOST_MEMORY", "1") != "0"
        if wanted and platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO))
    return _applied
