"""Throughput of `emozsl predict`, output writing included, against the eval samples/s that
`emozsl bench` reports for the same backbone, measured in one process (one run of this script).

1. Features: an `eea` run (trained here, a few epochs: speed does not depend on how well it
   learned) scores the test split of MOSEI-size generated features (`--size full`: 4,832 test
   rows) through `emozsl.predict.predict_to_file` to a .csv (rows written as they come, plus the
   OUT.meta.json sidecar). Timed: the whole call (the run loaded, the data read, scored, written)
   and the same with the data read beforehand (what the bench's eval does not count either),
   median of --repeats. Against it: `emozsl.commands.bench.bench(["eea"], data=the same folder)`, whose
   eval samples/s are (valid + test rows) / the seconds to score valid and test the way training
   does (logits kept on the device, every metric computed once), after an untimed pass.
   Target: predict no slower than the bench's eval samples/s for the same backbone.
2. Raw clips: a `mesm` run (trained here on the generated raw table) scores the test clips, cold
   (a fresh, empty media cache, $EMOZSL_CACHE, and the process's file-digest memo cleared: every
   clip decoded) and warm (the same cache again: every clip read from it). The OS page cache is
   not dropped, so "cold" means no preprocessed entries, not a cold disk.

    python benchmarks/predict.py --device cpu --epochs 1 [--size full] [--raw-size small]

On CUDA (--device cuda, or auto with a GPU) the same figures are measured on the GPU; without one
the GPU figures are reported as pending.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch


def timed(fn, repeats: int) -> tuple[float, list[float], object]:
    """Median seconds of `repeats` calls of fn (and every time, and the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def train_run(root: Path, data: Path, model: str, device: str, epochs: int) -> Path:
    from emozsl.config import RunConfig
    from emozsl.train import train

    config = RunConfig(model=model, data=str(data), device=device, epochs=epochs, seed=0,
                       runs_dir=str(root / "runs"), name=f"{model}_bench")
    start = time.perf_counter()
    run = train(config)
    print(f"trained {model} ({epochs} epoch(s)) in {time.perf_counter() - start:.1f} s: {run}", flush=True)
    return run


def features_figures(root: Path, args) -> dict:
    from emozsl.commands.bench import bench
    from emozsl.data import load_dataset
    from emozsl.data.generated.synth import write_synth
    from emozsl.predict import predict_to_file

    data = Path(args.data) if args.data else root / f"mosei-{args.size}"
    if not args.data:
        write_synth("mosei", data, size=args.size, seed=0)
    run = train_run(root, data, "eea", args.device, args.epochs)
    out = root / "eea_test.csv"

    def whole():
        return predict_to_file(run, str(data), out, split="test", overwrite=True, device=args.device)

    dataset = load_dataset(data, labels="optional")

    def preloaded():
        return predict_to_file(run, dataset, out, split="test", overwrite=True, device=args.device)

    whole()  # warm-up: first-call costs (imports, allocator) left out
    t_whole, all_whole, prediction = timed(whole, args.repeats)
    t_pre, all_pre, _ = timed(preloaded, args.repeats)
    rows = prediction.rows
    print(f"predict eea: {rows} rows, whole call {[round(t, 3) for t in all_whole]} s, "
          f"data preloaded {[round(t, 3) for t in all_pre]} s; csv {out.stat().st_size / 1e6:.1f} MB", flush=True)
    result = bench(["eea"], device=args.device, data=str(data), out=None)
    row = result["results"][0]
    if "error" in row:
        raise SystemExit(f"bench eea failed: {row['error']}")
    return {"rows": rows, "whole_s": t_whole, "preloaded_s": t_pre, "bench_eval": row["eval_samples_per_s"],
            "bench_train": row["train_samples_per_s"], "bench_rows": row["samples"]["valid"] + row["samples"]["test"],
            "bench_device": f"{result['device']} ({result['device_name']}, {result['threads']} threads)"}


def raw_figures(root: Path, args) -> dict:
    from emozsl.data.media.cache import _content_digest
    from emozsl.data.generated.synth import write_synth
    from emozsl.predict import predict_to_file

    data = root / f"raw-{args.raw_size}"
    paths = write_synth("raw", data, size=args.raw_size, seed=0)
    data = paths[0]
    os.environ["EMOZSL_CACHE"] = str(root / "cache-train")
    run = train_run(root, data, "mesm", args.device, args.epochs)
    cache = root / "cache-predict"
    os.environ["EMOZSL_CACHE"] = str(cache)  # fresh and empty: every test clip decoded
    _content_digest.cache_clear()
    out = root / "mesm_test.csv"

    def call():
        return predict_to_file(run, str(data), out, split="test", overwrite=True, device=args.device)

    start = time.perf_counter()
    prediction = call()
    cold = time.perf_counter() - start
    t_warm, all_warm, _ = timed(call, args.repeats)
    entries = sum(1 for _ in cache.rglob("*.npz"))
    print(f"predict mesm: {prediction.rows} clips ({prediction.errors} errors), cold {cold:.2f} s, warm "
          f"{[round(t, 3) for t in all_warm]} s; {entries} cache entries", flush=True)
    return {"clips": prediction.rows, "cold_s": cold, "warm_s": t_warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of the runs scored (speed only)")
    parser.add_argument("--size", default="full", choices=["small", "full"], help="generated MOSEI features")
    parser.add_argument("--raw-size", default="small", choices=["small", "full"], help="generated raw table")
    parser.add_argument("--data", help="an existing MOSEI-format folder instead of generating one")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per figure (median)")
    parser.add_argument("--skip-raw", action="store_true", help="features only")
    parser.add_argument("--workdir", help="keep data and runs here (default: a temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import emozsl
    from emozsl.session import resolve_device

    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory(prefix="emozsl-predict-bench-") as scratch:
        root = Path(args.workdir or scratch)
        root.mkdir(parents=True, exist_ok=True)
        f = features_figures(root, args)
        r = None if args.skip_raw else raw_figures(root, args)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    print()
    print(f"emozsl {emozsl.__version__}, torch {torch.__version__}, {device} ({name}), {os.cpu_count()} cores, "
          f"bench: {f['bench_device']}")
    print(f"{'what':<58}{'rows':>7}{'seconds':>9}{'per second':>12}")
    lines = [
        ("eea predict -> csv, test split (whole call: load+read+write)", f["rows"], f["whole_s"]),
        ("eea predict -> csv, test split (data read beforehand)", f["rows"], f["preloaded_s"]),
        ("eea bench eval (valid+test, metrics, no output)", f["bench_rows"], f["bench_rows"] / f["bench_eval"]),
    ]
    if r:
        lines += [("mesm predict -> csv, test clips, cold cache", r["clips"], r["cold_s"]),
                  ("mesm predict -> csv, test clips, warm cache", r["clips"], r["warm_s"])]
    for what, n, seconds in lines:
        print(f"{what:<58}{n:>7}{seconds:>9.2f}{n / seconds:>12.1f}")
    ratio = f["rows"] / f["whole_s"] / f["bench_eval"]
    ratio_pre = f["rows"] / f["preloaded_s"] / f["bench_eval"]
    verdict = "met" if ratio >= 1 else ("met with the data read beforehand" if ratio_pre >= 1 else "NOT met")
    print(f"target (predict, output writing included, >= bench eval samples/s of eea): {ratio:.2f}x whole call, "
          f"{ratio_pre:.2f}x data preloaded -> {verdict}")
    print(f"(eea bench train samples/s: {f['bench_train']:.1f})")
    if device.type != "cuda":
        print("GPU figures: pending (no CUDA device here; rerun with --device cuda on a GPU machine)")


if __name__ == "__main__":
    main()
