"""emozsl's device-resident training epoch against a straightforward per-sample DataLoader loop,
on the same model, data and device, in one run; prints both times and their ratio.

    python benchmarks/resident_vs_dataloader.py [--model eea] [--size full] [--device auto]

The straightforward loop is what most research code does: a Dataset returning one utterance at a
time, DataLoader(shuffle=True) with the default collate, each batch moved to the device, and
evaluation that moves each batch's predictions to the CPU and computes the metrics at the end."""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from emozsl.commands.bench import bench_data_path, bench_task, time_epoch
from emozsl.config import RunConfig
from emozsl.metrics import emotion_metrics
from emozsl.models import REGISTRY
from emozsl.models.sequence import left_align
from emozsl.session import build_session
from emozsl.train import Trainer, graph_backend, loss_function, make_optimizer


class Utterances(Dataset):
    def __init__(self, split):
        self.split = split

    def __len__(self):
        return len(self.split)

    def __getitem__(self, i):
        return ({m: torch.tensor(a[i]) for m, a in self.split.features.items()},
                torch.tensor(self.split.presence[i], dtype=torch.float32))


def time_dataloader_epoch(s, task, batch_size):
    """The straightforward loop, with emozsl's recipe (loss, optimizer) and the padding of each
    batch found on the device, per batch."""
    model, vectors, device = s.model, s.train_vectors, s.device
    loss_fn, optimizer = loss_function(s), make_optimizer(s, captured=False)
    loader = DataLoader(Utterances(task.splits["train"]), batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    model.train()
    for features, labels in loader:
        features = left_align({m: a.to(device) for m, a in features.items()})
        loss = loss_fn(model(features, vectors), labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.config.clip)
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    trained = time.perf_counter()
    model.eval()
    for split in ("valid", "test"):
        probabilities, truth = [], []
        with torch.no_grad():
            for features, labels in DataLoader(Utterances(task.splits[split]), batch_size=batch_size):
                logits = model(left_align({m: a.to(device) for m, a in features.items()}), vectors)
                probabilities.append(torch.sigmoid(logits).cpu().numpy())
                truth.append(labels.numpy())
        emotion_metrics(np.concatenate(truth), np.concatenate(probabilities), s.config.threshold)
    return {"train_seconds": trained - start, "eval_seconds": time.perf_counter() - trained}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="eea", choices=list(REGISTRY))
    parser.add_argument("--size", default="full", choices=["small", "full"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    task = bench_task(None, args.size)
    config = RunConfig(model=args.model, data=str(bench_data_path(args.size)), device=args.device,
                       batch_size=args.batch_size)
    session = build_session(config, task=task)
    resident = time_epoch(Trainer(session, graph_backend(session)))
    baseline_session = build_session(config, task=task)
    device = baseline_session.device
    warm_up = dataclasses.replace(task, splits={k: v.subset(np.arange(min(256, len(v)))) for k, v in task.splits.items()})
    time_dataloader_epoch(baseline_session, warm_up, args.batch_size)
    baseline = time_dataloader_epoch(baseline_session, task, args.batch_size)
    print(f"{args.model} on {device}, {args.size} MOSEI-format data ({len(task.splits['train'])} train rows), "
          f"batch {args.batch_size}, {torch.get_num_threads()} threads")
    print(f"{'loop':<22}{'train s':>9}{'eval s':>9}{'epoch s':>9}")
    for label, t in (("emozsl (resident)", resident), ("DataLoader per sample", baseline)):
        print(f"{label:<22}{t['train_seconds']:>9.2f}{t['eval_seconds']:>9.2f}{t['train_seconds'] + t['eval_seconds']:>9.2f}")
    ratio = (baseline["train_seconds"] + baseline["eval_seconds"]) / (resident["train_seconds"] + resident["eval_seconds"])
    print(f"speed-up of a full epoch (train + valid + test evaluation): {ratio:.2f}x")


if __name__ == "__main__":
    main()
