"""`emozsl bench`: training and evaluation speed per backbone on MOSEI-size generated data.

Each backbone trains one full epoch with the training loop itself (`train_epoch`: device-resident
tensors, index batches) after a short warm-up, then scores valid and test the way training does
(logits accumulated on the device, every metric computed once, vectorised). Reported: train and
eval samples per second and the time of one full epoch (train + valid + test evaluation)."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from emozsl import __version__
from emozsl.data import load_dataset
from emozsl.embeddings import default_embeddings_path, emotion_vectors, load_embeddings
from emozsl.evaluate import predict_logits, score, split_tensors
from emozsl.models import build_model
from emozsl.runs import autocast, resolve_device, write_json
from emozsl.splits import Task, apply_split, make_split
from emozsl.train import pos_weights, seed_everything, train_epoch

WARMUP_ROWS = 256


def bench_data_path(size: str) -> Path:
    """Where the benchmark's generated data live ($EMOZSL_BENCH_DATA, else a cache folder)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emozsl" / f"synth-mosei-{size}"
    return Path(os.environ.get("EMOZSL_BENCH_DATA", default))


def bench_task(data: str | None, size: str) -> Task:
    """The supervised task on `data`, or on generated MOSEI data of `size` (made once, then reused)."""
    path = Path(data) if data else bench_data_path(size)
    if data is None and not (path / "ey_test.h5").exists():
        from emozsl.data.synth import write_synth

        write_synth("mosei", path, size=size, seed=0)
    dataset = load_dataset(path)
    return apply_split(make_split(dataset, "supervised", None, 0), dataset)


@dataclass
class BenchSetup:
    """A model with its data on the device, ready for timing (shared with benchmarks/)."""
    model: torch.nn.Module
    features: dict[str, dict[str, torch.Tensor]]  # split -> modality -> tensor
    labels: dict[str, torch.Tensor]
    vectors: torch.Tensor
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    emotions: list[str]


def setup(name: str, task: Task, device: torch.device, options: dict | None = None, seed: int = 0) -> BenchSetup:
    seed_everything(seed)
    embeddings = default_embeddings_path()
    vectors = torch.from_numpy(emotion_vectors(load_embeddings(embeddings), task.emotions, {}, embeddings)).to(device)
    model = build_model(name, task.input_dims(), vectors.shape[1], options).to(device)
    features, labels = {}, {}
    for split, part in task.splits.items():
        features[split], labels[split] = split_tensors(part, device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weights(labels["train"], task.emotions))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return BenchSetup(model, features, labels, vectors, loss_fn, optimizer, list(task.emotions))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_resident_epoch(s: BenchSetup, device: torch.device, batch_size: int, precision) -> dict[str, float]:
    """Seconds for one training epoch and for scoring valid and test, emozsl's way."""
    generator = torch.Generator().manual_seed(0)
    warm = {m: a[:WARMUP_ROWS] for m, a in s.features["train"].items()}
    train_epoch(s.model, warm, {"prediction": s.labels["train"][:WARMUP_ROWS]}, s.vectors, s.loss_fn, s.optimizer,
                batch_size, generator, 1.0, precision, "warm-up")
    _synchronize(device)
    start = time.perf_counter()
    train_epoch(s.model, s.features["train"], {"prediction": s.labels["train"]}, s.vectors, s.loss_fn, s.optimizer,
                batch_size, generator, 1.0, precision, "bench")
    _synchronize(device)
    trained = time.perf_counter()
    for split in ("valid", "test"):
        logits = predict_logits(s.model, s.features[split], s.vectors, precision=precision)
        score(logits, s.labels[split], s.emotions, [], 0.5, split)
    _synchronize(device)
    return {"train_seconds": trained - start, "eval_seconds": time.perf_counter() - trained}


def bench(models: list[str], device: str = "auto", data: str | None = None, size: str = "full",
          batch_size: int = 64, precision: str = "fp32", compile_model: bool = False,
          out: str | Path | None = "bench.json") -> dict:
    torch_device = resolve_device(device)
    context = autocast(torch_device, precision)
    task = bench_task(data, size)
    n = {split: len(part) for split, part in task.splits.items()}
    rows = []
    for name in models:
        s = setup(name, task, torch_device)
        if compile_model:
            s.model.backbone.compile()
        if torch_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(torch_device)
        times = time_resident_epoch(s, torch_device, batch_size, context)
        rows.append({"model": name, "parameters": sum(p.numel() for p in s.model.parameters()),
                     "train_samples_per_s": n["train"] / times["train_seconds"],
                     "eval_samples_per_s": (n["valid"] + n["test"]) / times["eval_seconds"],
                     "epoch_seconds": times["train_seconds"] + times["eval_seconds"], **times,
                     **({"peak_gpu_mb": torch.cuda.max_memory_allocated(torch_device) / 2**20}
                        if torch_device.type == "cuda" else {})})
    result = {"emozsl": __version__, "torch": torch.__version__, "device": str(torch_device),
              "device_name": torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "precision": precision, "compile": compile_model,
              "batch_size": batch_size, "samples": n, "results": rows}
    if out:
        write_json(Path(out), result)
    return result


def format_bench(result: dict) -> str:
    samples = result["samples"]
    lines = [(f"{result['device']} ({result['device_name']}, {result['threads']} threads), {result['precision']}, "
              f"batch {result['batch_size']}, train/valid/test {samples['train']}/{samples['valid']}/{samples['test']}"),
             f"{'model':<16}{'parameters':>12}{'train samples/s':>17}{'eval samples/s':>16}{'epoch s':>10}"]
    for r in result["results"]:
        lines.append(f"{r['model']:<16}{r['parameters']:>12,}{r['train_samples_per_s']:>17.0f}"
                     f"{r['eval_samples_per_s']:>16.0f}{r['epoch_seconds']:>10.2f}")
    return "\n".join(lines)


