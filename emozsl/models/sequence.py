"""Padding, lengths and positions shared by the backbones.

Padding is found once, when a split is loaded (emozsl.batches), never inside a training step: a
time step whose features are all zero is padding (that is how CMU-MOSEI and the MulT pickles pad
short utterances, at the front, and how emozsl pads per-utterance files, at the end); raw media's
lengths are the decoded counts. At load the real steps are moved to the front (`left_align`), and
each row's length travels with the batch as `batch["lengths"][modality]`, (B,) int64 on the
device. Backbones read a modality as `Steps.of(batch, modality)`, so no step reads a device value
on the host: shapes are static, and a step can be captured (CUDA graphs) or traced as one graph.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from emozsl.errors import EmozslError

LENGTHS = "lengths"  # the batch key holding each modality's (B,) real lengths
# Raw media batches (batches.media_items): a modality's real chunks or frames are batch[m], (N, ...);
# batch[SLOTS][m] (B, T) lays them out per utterance, batch[ITEM_ROWS][m] (N,) names their utterance.
SLOTS, ITEM_ROWS = "slots", "item_rows"


class Steps:
    """A batch of left-aligned sequences: values (B, T, D), lengths (B,) (at least 1 each), and
    `padding` (B, T), True at padded steps. T is static (the split's); values at padded steps are
    never read as data."""

    def __init__(self, values: torch.Tensor, lengths: torch.Tensor):
        self.values, self.lengths = values, lengths
        steps = torch.arange(values.shape[1], device=values.device)
        self.padding = steps[None, :] >= lengths[:, None]

    @classmethod
    def of(cls, batch: dict, modality: str) -> Steps:
        """A modality of a batch in the form `left_align` gives (what emozsl.batches yields)."""
        return cls(batch[modality], batch[LENGTHS][modality])

    def with_values(self, values: torch.Tensor, lengths: torch.Tensor | None = None) -> Steps:
        return Steps(values, self.lengths if lengths is None else lengths)

    def last(self) -> torch.Tensor:
        """The last real step of each sequence (B, D)."""
        index = (self.lengths - 1).clamp(min=0)
        return self.values[torch.arange(len(index), device=index.device), index]

    def mean(self) -> torch.Tensor:
        """Mean over real steps (B, D)."""
        keep = (~self.padding).unsqueeze(-1).to(self.values.dtype)
        return (self.values * keep).sum(1) / keep.sum(1).clamp(min=1)

    def zero_padding(self, values: torch.Tensor) -> torch.Tensor:
        """`values` (B, T, ...) with the padded steps set to zero."""
        keep = ~self.padding
        return values * keep.view(*keep.shape, *([1] * (values.dim() - 2))).to(values.dtype)


def real_steps(x: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) -> (B, T) True at real steps: a feature step is padding when all of it is zero.
    Used at load only (never on raw media, whose lengths are the decoded counts)."""
    return x.flatten(2).abs().amax(-1) > 0


def left_align(features: dict[str, torch.Tensor], joint: bool = False) -> dict:
    """Features (B, T_m, D_m) padded anywhere -> the batch form backbones take: each modality's real
    steps first, in their order, zeros after, and `LENGTHS`: modality -> (B,) int64, at least 1 (a
    sequence with no real step keeps one zero step, so attention and recurrence stay defined).

    Each modality is aligned by its own steps; with `joint` (early fusion, which needs step t to be
    the same moment in every modality), aligned features (one T for every modality) are aligned
    together: a step is padding when it is zero in every modality. Shapes are kept (static)."""
    lengths_of = {m: a.shape[1] for m, a in features.items()}
    together = joint and len(set(lengths_of.values())) == 1
    groups = [list(features)] if together else [[m] for m in features]
    out, lengths = {}, {}
    for group in groups:
        real = torch.stack([real_steps(features[m]) for m in group]).any(0)
        # A stable sort on "is padding" moves the real steps to the front, keeping their order.
        order = torch.sort((~real).to(torch.int8), dim=1, stable=True).indices
        length = real.sum(1).clamp(min=1)
        keep = torch.arange(real.shape[1], device=real.device)[None, :] < real.sum(1, keepdim=True)
        for m in group:
            x = features[m]
            gathered = torch.gather(x, 1, order.view(*order.shape, *([1] * (x.dim() - 2))).expand_as(x))
            out[m] = gathered * keep.view(*keep.shape, *([1] * (x.dim() - 2))).to(x.dtype)
            lengths[m] = length
    out[LENGTHS] = lengths
    return out


def concat_features(batch: dict, modalities: list[str], model: str) -> Steps:
    """Early fusion: the modalities side by side per step; only defined for aligned data (whose
    modalities share their lengths, `left_align`)."""
    steps = {m: batch[m].shape[1] for m in modalities}
    if len(set(steps.values())) > 1:
        raise EmozslError(f"{model}: early fusion needs aligned data (one length for every modality), "
                          f"got {steps}; use a late-fusion backbone for unaligned data")
    return Steps(torch.cat([batch[m] for m in modalities], dim=-1), batch[LENGTHS][modalities[0]])


RNN_KINDS = {"lstm": nn.LSTM, "gru": nn.GRU}


class BiRNN(nn.Module):
    """A bidirectional, multi-layer LSTM or GRU over left-aligned sequences of known lengths,
    without packing: shapes stay static and the lengths never leave the device.

    Per layer, the forward direction reads the steps as they are (its outputs at real steps never
    depend on the padding after them); the backward direction reads each sequence reversed within
    its length (one gather), so it starts at the last real step and never reads padding. Between
    layers, dropout as nn.LSTM applies it. Each layer and direction is a single-layer batch-first
    nn.LSTM / nn.GRU (cuDNN or oneDNN kernels); the state dict of the equivalent
    `nn.LSTM(..., bidirectional=True)` (the layout of emozsl 0.1 checkpoints) loads into it."""

    def __init__(self, kind: str, input_size: int, hidden: int, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        cell = RNN_KINDS[kind]
        self.hidden, self.dropout = hidden, dropout
        self.layers = nn.ModuleList(
            nn.ModuleList(cell(input_size if k == 0 else 2 * hidden, hidden, batch_first=True) for _ in range(2))
            for k in range(layers))
        self._register_load_state_dict_pre_hook(_legacy_rnn_names)

    def forward(self, steps: Steps) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the outputs (B, T, 2H), zero at padding, and the last layer's final states
        (2, B, H): forward, then backward (which has read each whole sequence)."""
        t = torch.arange(steps.values.shape[1], device=steps.values.device)[None, :]
        # Reversal within each length (an involution): step t <-> length-1-t; padding stays put.
        reverse = torch.where(t < steps.lengths[:, None], steps.lengths[:, None] - 1 - t, t)
        last = (steps.lengths - 1).clamp(min=0)
        rows = torch.arange(len(last), device=last.device)
        x = steps.values
        for k, (forward, backward) in enumerate(self.layers):
            if k:
                x = F.dropout(x, self.dropout, self.training)
            ahead, _ = forward(x)
            behind, _ = backward(_gather_steps(x, reverse))
            x = torch.cat([ahead, _gather_steps(behind, reverse)], -1)
        final = torch.stack([ahead[rows, last], behind[rows, last]])
        return steps.zero_padding(x), final


def _gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(x, 1, index[:, :, None].expand(-1, -1, x.shape[-1]))


def _legacy_rnn_names(state_dict, prefix, *_):
    """nn.LSTM/GRU(bidirectional) names -> BiRNN's: weight_ih_l1_reverse -> layers.1.1.weight_ih_l0."""
    for key in [k for k in state_dict if k.startswith(prefix) and "." not in k[len(prefix):]]:
        name = key[len(prefix):]
        base, _, layer = name.removesuffix("_reverse").rpartition("_l")
        if base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") and layer.isdigit():
            direction = int(name.endswith("_reverse"))
            state_dict[f"{prefix}layers.{layer}.{direction}.{base}_l0"] = state_dict.pop(key)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over (B, C, T) whose training statistics count the real steps only, so a batch's
    padding (static shapes keep the split's length) never shifts them. Same parameters and buffers
    as nn.BatchNorm1d."""

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        # Statistics in fp32 whatever the autocast dtype (as nn.BatchNorm keeps them).
        values, keep = x.float(), (~padding).unsqueeze(1).float()  # keep: (B, 1, T)
        count = keep.sum().clamp(min=2)
        mean = (values * keep).sum((0, 2)) / count
        var = ((values - mean[None, :, None]) ** 2 * keep).sum((0, 2)) / count
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * count / (count - 1), self.momentum)
            self.num_batches_tracked.add_(1)
        normed = (values - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        return (normed * self.weight[None, :, None] + self.bias[None, :, None]).to(x.dtype)


def sinusoidal_positions(steps: int, dim: int, device: torch.device) -> torch.Tensor:
    """(steps, dim) fixed sinusoidal position codes (Vaswani et al.)."""
    position = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(steps, dim, device=device)
    codes[:, 0::2] = torch.sin(position * rate)
    codes[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return codes


def causal_mask(steps: int, device: torch.device) -> torch.Tensor:
    """(steps, steps) True above the diagonal: a step never attends to later steps."""
    return torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=device), diagonal=1)
