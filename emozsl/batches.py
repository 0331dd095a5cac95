"""How a split's inputs reach a model, batch by batch, for training and scoring alike.

- Feature data (`ResidentInputs`): whole tensors on the training device, batches are index slices
  (no per-sample loader, no host work per batch).
- Raw media (`StreamedInputs`): the preprocessed chunks, crops and token ids, read from the
  preprocessing cache by a DataLoader with workers (pinned memory on CUDA) and padded per batch.
  Batches are length-aware: training batches group utterances of similar length within windows of
  a random order (then the batches are shuffled); scoring batches go in length order.

Each batch is (inputs, rows): the inputs the model takes and the rows of the split they hold."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from emozsl.data import SplitData
from emozsl.data.media_cache import PreparedSplit, load_audio, load_frames

EVAL_BATCH = 1024
RAW_EVAL_BATCH = 32
LENGTH_WINDOW = 32  # a training batch's utterances come from a window of this many batches


class ResidentInputs:
    def __init__(self, split: SplitData, device: torch.device):
        self.features = {m: torch.from_numpy(a).to(device) for m, a in split.features.items()}
        self.device = device
        self.eval_batch = EVAL_BATCH

    def __len__(self) -> int:
        return len(next(iter(self.features.values())))

    def batches(self, batch_size: int, order: torch.Tensor | None = None) -> Iterator[tuple[dict, torch.Tensor]]:
        n = len(self)
        if order is None:
            for start in range(0, n, batch_size):
                rows = torch.arange(start, min(n, start + batch_size), device=self.device)
                yield {m: a[start:start + batch_size] for m, a in self.features.items()}, rows
            return
        order = order.to(self.device)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            yield {m: a[rows] for m, a in self.features.items()}, rows


class MediaItems(torch.utils.data.Dataset):
    def __init__(self, prepared: PreparedSplit):
        self.prepared = prepared

    def __len__(self) -> int:
        return len(next(iter(self.prepared.lengths.values())))

    def __getitem__(self, i: int) -> tuple[int, dict[str, np.ndarray]]:
        p = self.prepared
        item = {}
        if p.audio:
            item["audio"] = load_audio(p.audio[i])
        if p.visual:
            item["visual"] = load_frames(p.visual[i])
        if p.text:
            item["text"] = p.text[i]
        return i, item


class Collate:
    """Pads a list of utterances into batch tensors: zero chunks and frames (at least one, so every
    sequence has a place), token ids padded with the tokenizer's pad id and a mask of real tokens."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[int, dict]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        rows = torch.tensor([i for i, _ in items])
        first = items[0][1]
        batch = {}
        if "audio" in first:
            batch["audio"] = _stack([it["audio"] for _, it in items])[:, :, None]  # (B, C, 1, mels, frames)
        if "visual" in first:
            frames = _stack([it["visual"] for _, it in items])  # (B, S, 48, 48, 3) uint8
            batch["visual"] = frames.permute(0, 1, 4, 2, 3).float()
        if "text" in first:
            texts = [it["text"] for _, it in items]
            width = max(len(t) for t in texts)
            ids = torch.full((len(texts), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(texts), width), dtype=torch.bool)
            for k, t in enumerate(texts):
                ids[k, :len(t)] = torch.from_numpy(t)
                mask[k, :len(t)] = True
            batch["text"], batch["text_mask"] = ids, mask
        return batch, rows


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    steps = max(1, max(len(a) for a in arrays))
    out = np.zeros((len(arrays), steps, *arrays[0].shape[1:]), dtype=arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[k, :len(a)] = a
    return torch.from_numpy(out)


class StreamedInputs:
    def __init__(self, prepared: PreparedSplit, device: torch.device, pad_id: int, workers: int):
        self.prepared, self.device, self.workers = prepared, device, workers
        self.items, self.collate = MediaItems(prepared), Collate(pad_id)
        self.sizes = sum(prepared.lengths.values())  # an utterance's total steps, for length-aware batches
        self.eval_batch = RAW_EVAL_BATCH

    def __len__(self) -> int:
        return len(self.items)

    def batch_rows(self, batch_size: int, order: torch.Tensor | None) -> list[list[int]]:
        if order is None:
            ranked = np.argsort(self.sizes, kind="stable")
            return [ranked[i:i + batch_size].tolist() for i in range(0, len(ranked), batch_size)]
        order = order.cpu().numpy()
        batches = []
        window = batch_size * LENGTH_WINDOW
        for start in range(0, len(order), window):
            part = order[start:start + window]
            part = part[np.argsort(self.sizes[part], kind="stable")]
            batches += [part[i:i + batch_size].tolist() for i in range(0, len(part), batch_size)]
        # The batches in an order drawn from `order` itself (so the run's generator stays the only
        # source of randomness): there are never more batches than rows.
        return [batches[k] for k in np.argsort(order[:len(batches)])]

    def batches(self, batch_size: int, order: torch.Tensor | None = None) -> Iterator[tuple[dict, torch.Tensor]]:
        loader = torch.utils.data.DataLoader(
            self.items, batch_sampler=self.batch_rows(batch_size, order), collate_fn=self.collate,
            num_workers=self.workers, pin_memory=self.device.type == "cuda")
        for batch, rows in loader:
            yield ({k: v.to(self.device, non_blocking=True) for k, v in batch.items()},
                   rows.to(self.device, non_blocking=True))
