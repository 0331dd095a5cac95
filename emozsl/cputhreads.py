"""CPU threads for training on a shared machine.

torch runs each operator on one OpenMP thread per core, and an OpenMP thread waiting for the others
spins. When other processes already keep cores busy, those threads take turns on the cores
instead of running together, and every one of the thousands of small operators of a step waits
for a thread that is not running: on a 2-core machine with one other busy process, a stacked
sweep of 4 small trials took 89 s with a thread per core and 6.6 s with one thread (7.5 and 6.9
s without the other process; benchmarks/README.md). So a run takes only the cores that are idle
when it starts: the cores minus the other tasks running then (Linux counts them in
/proc/loadavg), at least one, at most what torch was given (OMP_NUM_THREADS, a sweep worker's
share). An OMP_NUM_THREADS or EMOZSL_CPU_THREADS set by the user is taken as it is."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

import torch

from emozsl.errors import EmozslError

LOADAVG = Path("/proc/loadavg")
SAMPLES, SAMPLE_GAP_S = 5, 0.01  # the running count is a snapshot: the median of a few
log = logging.getLogger("emozsl")
_chosen: int | None = None


def other_running_tasks() -> int | None:
    """Tasks running or waiting for a core now, other than this one; None where unknown."""
    counts = []
    for k in range(SAMPLES):
        try:
            running = int(LOADAVG.read_text().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return None
        counts.append(running - 1)  # this process, reading the count
        if k + 1 < SAMPLES:
            time.sleep(SAMPLE_GAP_S)
    return max(0, round(statistics.median(counts)))


def use_idle_cores() -> int:
    """Set torch's intra-op threads to the idle cores (module docstring), once per process;
    returns the count in force."""
    global _chosen
    if _chosen is not None:
        return _chosen
    given = os.environ.get("EMOZSL_CPU_THREADS")
    if given:
        try:
            _chosen = max(1, int(given))
        except ValueError:
            raise EmozslError(f"EMOZSL_CPU_THREADS={given}: not a number of threads") from None
    elif os.environ.get("OMP_NUM_THREADS"):
        _chosen = torch.get_num_threads()
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        others = other_running_tasks()
        _chosen = torch.get_num_threads() if others is None else max(1, min(torch.get_num_threads(), cores - others))
        if _chosen < torch.get_num_threads():
            log.info("cpu: %d of %d threads (other tasks running: %d; EMOZSL_CPU_THREADS sets it)",
                     _chosen, torch.get_num_threads(), others)
    torch.set_num_threads(_chosen)
    return _chosen
