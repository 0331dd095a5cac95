"""Padding, lengths and positions shared by the backbones.

A time step whose features are all zero is padding: that is how CMU-MOSEI and the MulT pickles pad
short utterances (at the front) and how emozsl pads per-utterance files (at the end). Every backbone
first moves each sequence's real steps to the front (`pack_steps`), so positions, causal masks and
"last step" mean the same thing whatever the padding, then masks the rest."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emozsl.errors import EmozslError


class Steps:
    """A batch of sequences with their real steps first: values (B, T, D), lengths (B,), and
    `padding` (B, T), True at padded steps. T is trimmed to the longest real sequence."""

    def __init__(self, values: torch.Tensor, lengths: torch.Tensor):
        self.values, self.lengths = values, lengths
        steps = torch.arange(values.shape[1], device=values.device)
        self.padding = steps[None, :] >= lengths[:, None]

    @property
    def full(self) -> bool:
        """No padding in the batch (the fast path: no packing, no masks needed)."""
        return not bool(self.padding.any())

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


def real_steps(x: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) -> (B, T) True at real steps: a step (a feature vector, a mel chunk, a frame) is
    padding when all of it is zero."""
    return x.flatten(2).abs().amax(-1) > 0


def pack_steps(x: torch.Tensor) -> Steps:
    """(B, T, D) with all-zero padding anywhere -> Steps with the real steps first, in order.
    A sequence with no real step keeps one (zero) step, so attention and recurrence stay defined."""
    real = real_steps(x)
    lengths = real.sum(1).clamp(min=1)
    if bool(real.all()):
        return Steps(x, lengths)
    # A stable sort on "is padding" moves the real steps to the front, keeping their order.
    order = torch.sort((~real).to(torch.int8), dim=1, stable=True).indices
    x = torch.gather(x, 1, order.unsqueeze(-1).expand_as(x))
    longest = int(lengths.max())
    x = x[:, :longest]
    steps = torch.arange(longest, device=x.device)
    x = x * (steps[None, :] < lengths[:, None]).unsqueeze(-1).to(x.dtype)
    return Steps(x, lengths)


def concat_features(features: dict[str, torch.Tensor], model: str) -> torch.Tensor:
    """Early fusion: the modalities side by side per step; only defined for aligned data."""
    lengths = {m: a.shape[1] for m, a in features.items()}
    if len(set(lengths.values())) > 1:
        raise EmozslError(f"{model}: early fusion needs aligned data (one length for every modality), "
                          f"got {lengths}; use a late-fusion backbone for unaligned data")
    return torch.cat(list(features.values()), dim=-1)


def run_rnn(rnn: nn.RNNBase, steps: Steps) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batch-first (bi)RNN over the real steps only. Returns the outputs (B, T, H*dirs), zero
    at padding, and the last layer's final states (dirs, B, H): the backward direction's final state
    has read each whole sequence, never its padding."""
    if steps.full:
        output, hidden = rnn(steps.values)
    else:
        packed = pack_padded_sequence(steps.values, steps.lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, hidden = rnn(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=steps.values.shape[1])
    if isinstance(hidden, tuple):  # LSTM: (h, c)
        hidden = hidden[0]
    directions = 2 if rnn.bidirectional else 1
    return output, hidden[-directions:]


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
