"""One backbone's full epoch at this checkout against an earlier commit, measured in one run on the
same machine and data, plus where this checkout's training step spends its time.

Each version times itself with its own `emozsl bench` (one training epoch after a warm-up, then
valid and test scoring), run alternately in fresh processes with the other version's code out of
the way (the old commit is checked out into a temporary git worktree). The profile shows how much
of a training step the backbone's arithmetic kernels take: the bound on what removing overhead can
gain on this device.

    python benchmarks/epoch_vs_commit.py --commit e480d0b --model eea --size small --device cpu
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_once(code: Path, model: str, data: Path, device: str, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-c", "from emozsl.cli import main; main()", "-q", "bench", "--model", model,
               "--device", device, "--data", str(data), "--out", str(out)]
    subprocess.run(command, cwd=code, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())["results"][0]


def profile_step(model: str, data: Path, device: str, rows: int = 640) -> list[tuple[str, float]]:
    """The heaviest operators of `rows` training rows at this checkout: (name, share of the time)."""
    from torch.profiler import profile

    from emozsl.config import RunConfig
    from emozsl.session import build_session
    from emozsl.train import Trainer, graph_backend, train_epoch

    session = build_session(RunConfig(model=model, data=str(data), device=device))
    trainer = Trainer(session, graph_backend(session))

    def step():
        train_epoch([trainer], max_rows=rows)

    step()
    with profile() as prof:
        step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)
    return [(e.key, e.self_cpu_time_total / total) for e in ranked[:6]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="e480d0b")
    parser.add_argument("--model", default="eea")
    parser.add_argument("--size", default="small", choices=["small", "full"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from emozsl.commands.bench import bench_data_path, bench_task
    from emozsl.models import get_backbone

    kind = get_backbone(args.model).inputs
    bench_task(None, args.size, kind)  # generates the data once
    data = bench_data_path(args.size, kind)
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.commit],
                       check=True, capture_output=True)
        try:
            epochs = {"old": [], "new": []}
            for _ in range(args.repeats):  # alternating, so drifts in the machine's speed hit both
                for label, code in (("old", old), ("new", ROOT)):
                    row = bench_once(code, args.model, data, args.device, Path(tmp) / f"{label}.json")
                    epochs[label].append(row["epoch_seconds"])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    old_s, new_s = statistics.median(epochs["old"]), statistics.median(epochs["new"])
    print(f"{args.model}, {args.size} generated {kind} data, {args.device}, full epoch (train + valid + test), "
          f"median of {args.repeats}:")
    print(f"  {args.commit}: {old_s:.2f} s  {[round(s, 2) for s in epochs['old']]}")
    print(f"  this checkout: {new_s:.2f} s  {[round(s, 2) for s in epochs['new']]}")
    print(f"  speed-up: {old_s / new_s:.2f}x")
    print("where a training step spends its time at this checkout (self time):")
    for name, share in profile_step(args.model, data, args.device):
        print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    main()
