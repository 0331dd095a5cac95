"""`emozsl bench`: training and evaluation speed per backbone on MOSEI-size generated data (raw-media
backbones on the generated raw table), and with `profile` what a step costs the host.

Each backbone trains one full epoch with the training loop itself (train.Trainer and train_epoch:
the recipe, the step, captured as CUDA graphs on CUDA) after a short warm-up, then scores valid
and test the way training does (logits accumulated on the device, every metric computed once,
vectorised). Reported: train and eval samples per second and the time of one full epoch (train +
valid + test evaluation); the time spent warming up and capturing steps is reported apart
(`capture_seconds`) and left out of the epoch.

The profile (`profile=True`), per backbone: host synchronisations per training and per scoring
step with the lines that cause them (syncs.SyncDetector: on any device, a CPU included),
operations dispatched per training step, graph breaks when the forward and the loss are traced
(torch.compile's tracer, RNNs included); on CUDA also kernel launches per step, GPU kernel time
against step time (torch.profiler), the syncs torch's CUDA sync debug mode reports, and peak
memory."""

from __future__ import annotations

import gc
import logging
import os
import platform
import time
import warnings
from pathlib import Path

import torch

from emozsl import __version__
from emozsl.capture import CapturedStep
from emozsl.config import DEFAULTS, BenchSettings, RunConfig, defaults
from emozsl.data import load_dataset
from emozsl.errors import FieldError, first_line
from emozsl.fileio import write_json
from emozsl.models import REGISTRY, get_backbone
from emozsl.scoring import predict_logits, score, scoring_step
from emozsl.session import autocast, build_session, resolve_device
from emozsl.splits import Task, apply_split, make_split
from emozsl.syncs import SyncDetector
from emozsl.train import Trainer, graph_backend, train_epoch

WARMUP_ROWS = 256
PROFILE_STEPS = 3  # steps watched by the sync detector (after the warm-up epoch)
TIMED_STEPS = 10  # CUDA: steps timed and profiled
log = logging.getLogger("emozsl")
BENCH = defaults(BenchSettings)


def bench_data_path(size: str, kind: str = "features") -> Path:
    """Where the benchmark's generated data live ($EMOZSL_BENCH_DATA, else a cache folder): MOSEI
    features for feature backbones, the raw-media table for fe2e and mesm."""
    if os.environ.get("EMOZSL_BENCH_DATA"):  # set and not empty (an empty one would be the working folder)
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
        from emozsl.data.generated.synth import write_synth

        write_synth("mosei" if kind == "features" else "raw", path, size=size, seed=0)
    dataset = load_dataset(path)
    return apply_split(make_split(dataset, "supervised", None, 0), dataset)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epoch(trainer: Trainer) -> dict[str, float]:
    """Seconds for one training epoch and for scoring valid and test, the way training does both,
    without the time spent warming up and capturing steps (raw media are preprocessed, or found
    in the cache, before the clock starts). With captured steps, two untimed epochs and scoring
    passes first: a step is warmed up at a shape's first call and captured at its second, and every
    shape (the tail batch, raw media's lengths) must be captured before the clock starts."""
    session, device = trainer.session, trainer.session.device
    scoring = {}
    for split in ("valid", "test"):
        inputs, _ = session.inputs(split)
        step = CapturedStep(scoring_step(trainer.model, inputs, trainer.vectors), trainer.step.backend, f"{split} scoring")
        scoring[split] = inputs, step
    captured = trainer.step.backend is not None
    for _ in range(2 if captured else 1):
        train_epoch([trainer], max_rows=None if captured else WARMUP_ROWS)
    _synchronize(device)
    before = trainer.capture_seconds
    start = time.perf_counter()
    train_epoch([trainer])
    _synchronize(device)
    trained = time.perf_counter()
    train_capture = trainer.capture_seconds - before
    seconds = {}
    for timed in (False, *([False] if captured else []), True):  # untimed passes warm up (and capture)
        eval_start = time.perf_counter()
        before = sum(step.capture_seconds for _, step in scoring.values())
        for split, (inputs, step) in scoring.items():
            _, labels = session.inputs(split)
            logits = predict_logits(trainer.model, inputs, trainer.vectors, trainer.precision, step)
            score(logits, labels, session.task.train_emotions, [], session.config.threshold, split)
        _synchronize(device)
        eval_capture = sum(step.capture_seconds for _, step in scoring.values()) - before
        seconds["eval_seconds"] = time.perf_counter() - eval_start - eval_capture
    capture = trainer.capture_seconds + sum(step.capture_seconds for _, step in scoring.values())
    return {"train_seconds": trained - start - train_capture, **seconds, "capture_seconds": capture,
            "graphs": trainer.step.captured, "capture_failures": trainer.step.failures}


def profile_steps(trainer: Trainer) -> dict:
    """What a training step and a scoring step cost the host (module docstring); run after
    `time_epoch` (the steps are warm)."""
    batches = trainer.start_epoch()
    watched = [next(batches) for _ in range(PROFILE_STEPS)]
    with SyncDetector() as detector:
        for payload, rows in watched:
            trainer._train_step(payload, rows)
    trainer.model.eval()
    inputs = trainer.valid_inputs
    payload, rows = next(iter(inputs.batches(trainer.config.batch_size)))
    with SyncDetector() as scoring, torch.no_grad(), trainer.precision:
        scoring_step(trainer.model, inputs, trainer.vectors)(payload, rows)
    breaks, reasons = graph_breaks(trainer, *watched[0])
    row = {"host_syncs_per_step": detector.total / PROFILE_STEPS, "sync_sites": detector.sites(PROFILE_STEPS),
           "scoring_syncs_per_step": float(scoring.total), "scoring_sync_sites": scoring.sites(),
           "ops_per_step": detector.ops / PROFILE_STEPS, "graph_breaks": breaks, "break_reasons": reasons}
    if trainer.session.device.type == "cuda":
        row.update(cuda_profile(trainer))
    return row


def graph_breaks(trainer: Trainer, payload: dict, rows: torch.Tensor) -> tuple[int, list[str]]:
    """Graph breaks of the forward and the loss traced by torch.compile's tracer (RNN modules
    traced too), with their reasons."""
    import torch._dynamo

    trainer.model.train()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(allow_rnn=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanation = torch._dynamo.explain(trainer.loss)(payload, rows)
    torch._dynamo.reset()
    reasons = sorted({first_line(getattr(r, "reason", r))[:160] for r in explanation.break_reasons})
    return explanation.graph_break_count, reasons


def cuda_profile(trainer: Trainer) -> dict:
    """Per training step on CUDA (the step as training runs it, captured or not): wall ms, GPU
    kernel ms, kernel and graph launches; and the syncs torch's CUDA sync debug mode reports in the
    step run eagerly (a graph replay calls nothing it could see)."""
    from torch.profiler import ProfilerActivity, profile

    device = trainer.session.device
    batches = trainer.start_epoch()
    steps = [next(batches) for _ in range(min(TIMED_STEPS, trainer.batch_count - 1))]
    for _ in range(2):  # every shape among them warmed up and captured before the clock starts
        for payload, rows in steps:
            trainer.train_batch(payload, rows)
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    for payload, rows in steps:
        trainer.train_batch(payload, rows)
    torch.cuda.synchronize(device)
    step_ms = (time.perf_counter() - start) / len(steps) * 1000
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for payload, rows in steps:
            trainer.train_batch(payload, rows)
        torch.cuda.synchronize(device)
    launches = sum(e.count for e in prof.key_averages() if "LaunchKernel" in e.key or "GraphLaunch" in e.key)
    kernel_us = sum(e.time_range.elapsed_us() for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    warned = []
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for payload, rows in steps:
                trainer._train_step(payload, rows)
            warned = [w for w in caught if "synchroniz" in str(w.message)]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return {"step_ms": step_ms, "kernel_ms": kernel_us / len(steps) / 1000, "launches_per_step": launches / len(steps),
            "cuda_syncs_per_step": len(warned) / len(steps)}


def bench(models: list[str], device: str = BENCH.device, data: str | None = None, size: str = BENCH.size,
          batch_size: int = BENCH.batch_size, precision: str = BENCH.precision, compile_model: bool = BENCH.compile,
          cuda_graphs: bool = BENCH.cuda_graphs, profile: bool = BENCH.profile,
          out: str | Path | None = BENCH.out) -> dict:
    """Time (and with `profile`, profile) every backbone in `models` (the settings: BenchSettings);
    one that fails gets an error row, the others still run."""
    configs = [RunConfig(model=name, data=str(data or bench_data_path(size)), device=device, precision=precision,
                         batch_size=batch_size, compile=compile_model, cuda_graphs=cuda_graphs)
               for name in models]  # checked before any work
    autocast(resolve_device(device), precision)  # so are the device and the precision: a row each would hide it
    if data is not None and not Path(data).exists():
        raise FieldError("data", data, "no such file or folder")
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
            trainer = Trainer(session, graph_backend(session))
            times = time_epoch(trainer)
            profiled = profile_steps(trainer) if profile else {}
            trainer.step = trainer.score_step = trainer = None  # free this backbone's memory before the next
            gc.collect()
        except Exception as exc:  # one backbone's failure (an error, out of memory) is reported, not fatal
            error = f"{type(exc).__name__}: {first_line(exc)}"
            log.warning("bench %s failed: %s", config.model, error)
            rows.append({"model": config.model, "error": error})
            continue
        rows.append({"model": config.model, "data": kind, "samples": n,
                     "parameters": sum(p.numel() for p in session.model.parameters()),
                     "train_samples_per_s": n["train"] / times["train_seconds"],
                     "eval_samples_per_s": (n["valid"] + n["test"]) / times["eval_seconds"],
                     "epoch_seconds": times["train_seconds"] + times["eval_seconds"], **times, **profiled,
                     **({"peak_gpu_mb": torch.cuda.max_memory_allocated(torch_device) / 2**20}
                        if torch_device.type == "cuda" else {})})
    on_cuda = torch_device is not None and torch_device.type == "cuda"
    result = {"emozsl": __version__, "torch": torch.__version__, "device": str(torch_device or device),
              "device_name": torch.cuda.get_device_name(torch_device) if on_cuda else platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "precision": precision, "compile": compile_model,
              "cuda_graphs": cuda_graphs and on_cuda, "batch_size": batch_size, "profile": profile, "results": rows}
    if out:
        write_json(Path(out), result)
    return result


def format_bench(result: dict) -> str:
    rows = [r for r in result["results"] if "error" not in r]
    peak = any("peak_gpu_mb" in r for r in rows)
    profiled = result.get("profile")
    cuda = any("step_ms" in r for r in rows)
    graphs = ", CUDA graphs" if result.get("cuda_graphs") else ""
    lines = [(f"{result['device']} ({result['device_name']}, {result['threads']} threads), {result['precision']}, "
              f"batch {result['batch_size']}{graphs}"),
             (f"{'model':<16}{'parameters':>12}{'train/valid/test':>18}{'train samples/s':>17}{'eval samples/s':>16}"
              f"{'epoch s':>10}{'capture s':>11}" + (f"{'peak GPU MB':>13}" if peak else "")
              + (f"{'syncs/step':>12}{'scoring syncs':>15}{'ops/step':>10}{'graph breaks':>14}" if profiled else "")
              + (f"{'step ms':>9}{'kernel ms':>11}{'launches':>10}" if cuda else ""))]
    for r in result["results"]:
        if "error" in r:
            lines.append(f"{r['model']:<16}failed: {r['error']}")
            continue
        samples = "/".join(str(r["samples"][s]) for s in ("train", "valid", "test"))
        line = (f"{r['model']:<16}{r['parameters']:>12,}{samples:>18}{r['train_samples_per_s']:>17.1f}"
                f"{r['eval_samples_per_s']:>16.1f}{r['epoch_seconds']:>10.2f}"
                + (f"{r['capture_seconds']:>11.2f}" if result.get("cuda_graphs") else f"{'-':>11}")
                + (f"{r['peak_gpu_mb']:>13.0f}" if "peak_gpu_mb" in r else ""))
        if profiled:
            line += (f"{r['host_syncs_per_step']:>12g}{r['scoring_syncs_per_step']:>15g}{r['ops_per_step']:>10.0f}"
                     f"{r['graph_breaks']:>14}")
        if "step_ms" in r:
            line += f"{r['step_ms']:>9.2f}{r['kernel_ms']:>11.2f}{r['launches_per_step']:>10.0f}"
        lines.append(line)
    lines.append(("Supervised split of generated data (MOSEI-format features; the raw table for fe2e and mesm). epoch s: "
                  "one training epoch plus scoring valid and test; capture s: time spent warming up and capturing "
                  "CUDA graphs, left out of the epoch (- : no capture on this device)."))
    if profiled:
        lines.append("syncs/step: host synchronisations in one training step (scoring syncs: one scoring step), "
                     "counted on any device by emozsl's detector; ops/step: operations dispatched per training "
                     "step; graph breaks: where torch.compile's tracer splits the forward and loss"
                     + ("; step ms, kernel ms: wall and GPU kernel time per step, launches: kernel and graph "
                        "launches per step" if cuda else "") + ".")
        for r in rows:
            for site, count in list(r["sync_sites"].items())[:5]:
                lines.append(f"  {r['model']}: {count:g}/step {site}")
            for site, count in list(r["scoring_sync_sites"].items())[:3]:
                lines.append(f"  {r['model']} (scoring): {count:g}/step {site}")
            for reason in r["break_reasons"][:3]:
                lines.append(f"  {r['model']} graph break: {reason}")
    return "\n".join(lines)


def bench_and_report(settings: BenchSettings) -> str:
    """`emozsl bench`: `bench` of the chosen backbones (`models`, `all_models`: every registered
    one; default the run default) at `settings`, as format_bench's table and where the JSON went."""
    chosen = list(REGISTRY) if settings.all_models else list(settings.models) or [DEFAULTS.model]
    result = bench(chosen, settings.device, settings.data_path, settings.size, settings.batch_size, settings.precision,
                   settings.compile, settings.cuda_graphs, settings.profile, settings.out)
    return f"{format_bench(result)}\n\nwrote {settings.out}"
