"""How a split's inputs reach a model, batch by batch, for training and scoring alike.

Padding is found once, here, when a split is loaded, and shapes are static, so no training or
scoring step reads a device value on the host (models/sequence.py):

- Feature data (`ResidentInputs`): each row's real steps are moved to the front once (the
  all-zero step rule, `left_align`; jointly over the modalities for early fusion), the split keeps
  one length (its longest real sequence), and the whole split lives on the training device with its
  lengths. A batch is a set of rows; `features` gathers them (inside a captured step, so a step's
  only input is its row indices).
- Raw media (`StreamedInputs`): the preprocessed chunks, crops and token ids, read from the
  preprocessing cache by a DataLoader with workers (pinned memory on CUDA). Lengths are the decoded
  counts, never pixel or sample values. A batch holds the real chunks and frames only (padded to
  the next count of a fixed ladder, `PAD_LADDER`) with the index that lays them out per utterance
  (`media_items`), and token ids padded to the ladder too: a split meets a handful of shapes.
  Batches are length-aware: training batches group utterances of similar length within windows of
  a random order (then the batches are shuffled); scoring batches go in length order.

Each batch is (payload, rows): device tensors (empty for resident features) and the rows of the
split it holds; `inputs.features(payload, rows)` is the batch the model takes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from emozsl.data import SplitData
from emozsl.data.media.cache import PreparedSplit, load_audio, load_frames
from emozsl.models.sequence import ITEM_ROWS, LENGTHS, SLOTS, left_align

EVAL_BATCH = 1024
# Raw scoring batches: on CUDA large (fewer steps, more parallel work); on a CPU small, which keeps the
# CNN's activations in cache (fe2e scored 157 samples/s at 32 against 119 at 128 on 2 cores).
RAW_EVAL_BATCH = {"cuda": 128, "cpu": 32}
LENGTH_WINDOW = 32  # a training batch's utterances come from a window of this many batches
ALIGN_CHUNK = 2048  # rows left-aligned at a time at load (bounds the host memory it takes)
# Raw media pad a batch to the next of these lengths (then multiples of the last): at most about
# 1.5x the longest sequence, and a handful of shapes per split.
PAD_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def map_tensors(fn, tree, *others):
    """`fn` applied to the tensors of nested dicts, lists and tuples (and the matching leaves of
    `others`, trees of the same structure), the structure kept."""
    if isinstance(tree, dict):
        return {k: map_tensors(fn, v, *(o[k] for o in others)) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(map_tensors(fn, v, *(o[i] for o in others)) for i, v in enumerate(tree))
    return fn(tree, *others)


def padded_length(longest: int) -> int:
    """The ladder's first length that holds `longest` steps."""
    for step in PAD_LADDER:
        if longest <= step:
            return step
    return -(-longest // PAD_LADDER[-1]) * PAD_LADDER[-1]


def aligned_split(features: dict[str, np.ndarray], joint: bool = False) -> tuple[dict[str, torch.Tensor],
                                                                                dict[str, torch.Tensor]]:
    """A split's feature arrays (N, T_m, D_m) -> left-aligned host tensors trimmed to the split's
    longest real sequence per modality, and their (N,) lengths (models/sequence.py's rule; `joint`
    for early fusion)."""
    n = len(next(iter(features.values())))
    parts = [left_align({m: torch.from_numpy(np.ascontiguousarray(a[i:i + ALIGN_CHUNK])) for m, a in features.items()},
                        joint) for i in range(0, n, ALIGN_CHUNK)]
    lengths = {m: torch.cat([p[LENGTHS][m] for p in parts]) for m in features}
    values = {m: torch.cat([p[m] for p in parts])[:, :int(lengths[m].max())] for m in features}
    return values, lengths


class ResidentInputs:
    def __init__(self, split: SplitData, device: torch.device, joint: bool = False):
        """`joint`: modalities aligned together (early-fusion backbones, models/sequence.left_align)."""
        values, lengths = aligned_split(split.features, joint)
        self.values = {m: v.to(device) for m, v in values.items()}
        self.lengths = {m: v.to(device) for m, v in lengths.items()}
        self.device = device
        self.eval_batch = EVAL_BATCH

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def batches(self, batch_size: int, order: torch.Tensor | None = None) -> Iterator[tuple[dict, torch.Tensor]]:
        rows = torch.arange(len(self), device=self.device) if order is None else order.to(self.device)
        for start in range(0, len(rows), batch_size):
            yield {}, rows[start:start + batch_size]

    def features(self, payload: dict, rows: torch.Tensor) -> dict:
        """The model's batch for `rows`: left-aligned values and lengths, gathered on the device."""
        batch = {m: a[rows] for m, a in self.values.items()}
        batch[LENGTHS] = {m: a[rows] for m, a in self.lengths.items()}
        return batch


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


def media_items(sequences: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Utterances' chunks or frames, (n_i, ...) each -> the batch form raw backbones take:
    - items (N, ...): every real chunk or frame, utterance after utterance, then zero items up to
      N = padded_length(sum n_i) (a few static shapes, and the CNN never runs on padding);
    - slots (B, T): the item at each utterance's step t, T = padded_length(max n_i); N (one past the
      last item) where t is padding;
    - rows (N,): the utterance of each item (0 for the zero items).
    The lengths are the n_i: the decoded counts, never pixel or sample values."""
    lengths = [len(a) for a in sequences]
    total = sum(lengths)
    first = next((a for a in sequences if len(a)), sequences[0])
    items = np.zeros((padded_length(max(1, total)), *first.shape[1:]), dtype=first.dtype)
    slots = np.full((len(sequences), padded_length(max(1, max(lengths)))), len(items), dtype=np.int64)
    rows = np.zeros(len(items), dtype=np.int64)
    start = 0
    for k, a in enumerate(sequences):
        items[start:start + len(a)] = a
        slots[k, :len(a)] = np.arange(start, start + len(a))
        rows[start:start + len(a)] = k
        start += len(a)
    return torch.from_numpy(items), torch.from_numpy(slots), torch.from_numpy(rows)


class Collate:
    """Utterances into a batch: audio chunks and face frames as `media_items` (in SLOTS and
    ITEM_ROWS), token ids padded at the end with the tokenizer's pad id to `padded_length` of the
    longest, and each modality's lengths, the decoded counts."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[int, dict]]) -> tuple[dict, torch.Tensor]:
        rows = torch.tensor([i for i, _ in items])
        first = items[0][1]
        batch = {LENGTHS: {}, SLOTS: {}, ITEM_ROWS: {}}
        for m in ("audio", "visual"):
            if m in first:
                sequences = [it[m] for _, it in items]
                values, batch[SLOTS][m], batch[ITEM_ROWS][m] = media_items(sequences)
                # audio (N, 1, mels, frames); face crops (N, 3, 48, 48) from uint8 (N, 48, 48, 3)
                batch[m] = values[:, None] if m == "audio" else values.permute(0, 3, 1, 2).float()
                batch[LENGTHS][m] = torch.tensor([len(a) for a in sequences])
        if "text" in first:
            texts = [it["text"] for _, it in items]
            ids = np.full((len(texts), padded_length(max(len(t) for t in texts))), self.pad_id, dtype=np.int64)
            for k, t in enumerate(texts):
                ids[k, :len(t)] = t
            batch["text"], batch[LENGTHS]["text"] = torch.from_numpy(ids), torch.tensor([len(t) for t in texts])
        return batch, rows


class StreamedInputs:
    def __init__(self, prepared: PreparedSplit, device: torch.device, pad_id: int, workers: int):
        self.prepared, self.device, self.workers = prepared, device, workers
        self.items, self.collate = MediaItems(prepared), Collate(pad_id)
        self.sizes = sum(prepared.lengths.values())  # an utterance's total steps, for length-aware batches
        self.eval_batch = RAW_EVAL_BATCH.get(device.type, RAW_EVAL_BATCH["cpu"])

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
            yield map_tensors(lambda v: v.to(self.device, non_blocking=True), (batch, rows))

    def features(self, payload: dict, rows: torch.Tensor) -> dict:
        return payload
