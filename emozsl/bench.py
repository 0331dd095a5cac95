"""`emozsl bench`: training and evaluation speed per backbone on MOSEI-size generated data (raw-media
backbones on the generated raw table).

Each backbone trains one full epoch with the training loop itself (`train_epoch`: device-resident
tensors and index batches for features, the cache-reading DataLoader for raw media) after a short
warm-up, then scores valid and test the way training does
(logits accumulated on the device, every metric computed once, vectorised). Reported: train and
eval samples per second and the time of one full epoch (train + valid + test evaluation)."""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path

import torch

from emozsl import __version__
from emozsl.config import RunConfig
from emozsl.data import load_dataset
from emozsl.errors import first_line
from emozsl.fileio import write_json
from emozsl.models import get_backbone
from emozsl.scoring import predict_logits, score
from emozsl.session import Session, build_session
from emozsl.splits import Task, apply_split, make_split
from emozsl.train import train_epoch

WARMUP_ROWS = 256
log = logging.getLogger("emozsl")


def bench_data_path(size: str, kind: str = "features") -> Path:
    """Where the benchmark's generated data live ($EMOZSL_BENCH_DATA, else a cache folder): MOSEI
    features for feature backbones, the raw-media table for fe2e and mesm."""
    if "EMOZSL_BENCH_DATA" in os.environ:
        root = Path(os.environ["EMOZSL_BENCH_DATA"])
        return root if kind == "features" else root / "raw"
    name = f"synth-mosei-{size}" if kind == "features" else f"synth-raw-{size}"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emozsl" / name


def bench_task(data: str | None, size: str, kind: str = "features") -> Task:
    """The supervised task on `data`, or on generated data of `size` for backbones reading `kind`
    (made once, then reused)."""
    path = Path(data) if data else bench_data_path(size, kind)
    marker = "ey_test.h5" if kind == "features" else "utterances.csv"
    if data is None and not (path / marker).exists():
        from emozsl.data.synth import write_synth

        write_synth("mosei" if kind == "features" else "raw", path, size=size, seed=0)
    dataset = load_dataset(path)
    return apply_split(make_split(dataset, "supervised", None, 0), dataset)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epoch(session: Session) -> dict[str, float]:
    """Seconds for one training epoch and for scoring valid and test, the way training does both
    (raw media are preprocessed, or found in the cache, before the clock starts)."""
    config, model, device = session.config, session.model, session.device
    for split in ("valid", "test"):
        session.inputs(split)
    features, _ = session.inputs("train")
    targets = session.targets("train")
    loss_fn, optimizer, precision = session.loss_fn(), session.optimizer(), session.precision()
    generator = torch.Generator().manual_seed(0)
    train_epoch(model, features, targets, session.train_vectors, loss_fn, optimizer, config.batch_size, generator,
                config.clip, precision, max_rows=WARMUP_ROWS)
    _synchronize(device)
    start = time.perf_counter()
    train_epoch(model, features, targets, session.train_vectors, loss_fn, optimizer, config.batch_size, generator,
                config.clip, precision)
    _synchronize(device)
    trained = time.perf_counter()
    for split in ("valid", "test"):
        split_features, labels = session.inputs(split)
        logits = predict_logits(model, split_features, session.train_vectors, precision=precision)
        score(logits, labels, session.task.train_emotions, [], config.threshold, split)
    _synchronize(device)
    return {"train_seconds": trained - start, "eval_seconds": time.perf_counter() - trained}


def bench(models: list[str], device: str = "auto", data: str | None = None, size: str = "full",
          batch_size: int = 64, precision: str = "fp32", compile_model: bool = False,
          out: str | Path | None = "bench.json") -> dict:
    """Time every backbone in `models`; one that fails gets an error row, the others still run."""
    configs = [RunConfig(model=name, data=str(data or bench_data_path(size)), device=device, precision=precision,
                         batch_size=batch_size, compile=compile_model) for name in models]  # checked before any work
    tasks: dict[str, Task] = {}
    rows, torch_device = [], None
    for config in configs:
        try:
            kind = get_backbone(config.model).inputs
            if kind not in tasks:
                tasks[kind] = bench_task(data, size, kind)
            task = tasks[kind]
            n = {split: len(part) for split, part in task.splits.items()}
            session = build_session(config, task=task)
            torch_device = session.device
            if torch_device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(torch_device)
            times = time_epoch(session)
        except Exception as exc:  # one backbone's failure (an error, out of memory) is reported, not fatal
            error = f"{type(exc).__name__}: {first_line(exc)}"
            log.warning("bench %s failed: %s", config.model, error)
            rows.append({"model": config.model, "error": error})
            continue
        rows.append({"model": config.model, "data": kind, "samples": n,
                     "parameters": sum(p.numel() for p in session.model.parameters()),
                     "train_samples_per_s": n["train"] / times["train_seconds"],
                     "eval_samples_per_s": (n["valid"] + n["test"]) / times["eval_seconds"],
                     "epoch_seconds": times["train_seconds"] + times["eval_seconds"], **times,
                     **({"peak_gpu_mb": torch.cuda.max_memory_allocated(torch_device) / 2**20}
                        if torch_device.type == "cuda" else {})})
    on_cuda = torch_device is not None and torch_device.type == "cuda"
    result = {"emozsl": __version__, "torch": torch.__version__, "device": str(torch_device or device),
              "device_name": torch.cuda.get_device_name(torch_device) if on_cuda else platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "precision": precision, "compile": compile_model,
              "batch_size": batch_size, "results": rows}
    if out:
        write_json(Path(out), result)
    return result


def format_bench(result: dict) -> str:
    peak = any("peak_gpu_mb" in r for r in result["results"])
    lines = [(f"{result['device']} ({result['device_name']}, {result['threads']} threads), {result['precision']}, "
              f"batch {result['batch_size']}"),
             (f"{'model':<16}{'parameters':>12}{'train/valid/test':>18}{'train samples/s':>17}{'eval samples/s':>16}"
              f"{'epoch s':>10}" + (f"{'peak GPU MB':>13}" if peak else ""))]
    for r in result["results"]:
        if "error" in r:
            lines.append(f"{r['model']:<16}failed: {r['error']}")
            continue
        samples = "/".join(str(r["samples"][s]) for s in ("train", "valid", "test"))
        lines.append(f"{r['model']:<16}{r['parameters']:>12,}{samples:>18}{r['train_samples_per_s']:>17.1f}"
                     f"{r['eval_samples_per_s']:>16.1f}{r['epoch_seconds']:>10.2f}"
                     + (f"{r['peak_gpu_mb']:>13.0f}" if "peak_gpu_mb" in r else ""))
    return "\n".join(lines)
