"""LMR-CBT (seed 000): a light cross-modal model for unaligned sequences, about 0.41M parameters.

Text: embedding dropout, a 2-layer bidirectional LSTM (20 units per direction), LayerNorm. Audio
and visual: Conv1d (kernel 3, no padding, no bias) + BatchNorm to width 40, then a causal
transformer each (5 layers, 8 heads, FFN 160, pre-LayerNorm); their last real steps are F_A, F_V.
The text steps X are gated by softmax over channels of tanh(W X + b + U y), with y = F_V then F_A,
plus one residual (Z = gated + X); Z goes through the text transformer, last step F_F.
[F_F; F_A; F_V] -> Linear -> ReLU -> dropout -> Linear is the fused vector (one emotion space).

Fixed: the original feeds a time-major tensor to an LSTM declared batch-first, so it recurs over
the batch (one utterance's output depends on the others); here it recurs over time, over the real
steps only, and every attention masks padding."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.errors import FieldError
from emozsl.models.layers import TransformerStream, check_modalities
from emozsl.models.sequence import BiRNN, MaskedBatchNorm1d, Steps

CONV_KERNEL = 3


class CrossModalGate(nn.Module):
    """X (B, T, d) and y (B, d) -> softmax_channels(tanh(W X + b + U y)) * X."""

    def __init__(self, d: int):
        super().__init__()
        self.w, self.u = nn.Linear(d, d), nn.Linear(d, d, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.softmax(torch.tanh(self.w(x) + self.u(y).unsqueeze(1)), dim=-1) * x


class ConvFront(nn.Module):
    """Conv1d (no padding) + BatchNorm over the real steps; lengths shrink by kernel - 1. The
    BatchNorm's statistics count the outputs that read real steps only."""

    def __init__(self, input_dim: int, d: int):
        super().__init__()
        self.conv = nn.Conv1d(input_dim, d, CONV_KERNEL, bias=False)
        self.norm = MaskedBatchNorm1d(d)

    def forward(self, steps: Steps) -> Steps:
        x = steps.values
        short = CONV_KERNEL - x.shape[1]
        if short > 0:  # too short to convolve (a static shape): pad with zero steps
            x = torch.cat([x, x.new_zeros(x.shape[0], short, x.shape[2])], 1)
        out = steps.with_values(self.conv(x.transpose(1, 2)).transpose(1, 2),
                                (steps.lengths - (CONV_KERNEL - 1)).clamp(min=1))
        return out.with_values(self.norm(out.values.transpose(1, 2), out.padding).transpose(1, 2))


class LMRCBT(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, d: int = 40, heads: int = 8, layers: int = 5,
                 text_hidden: int = 20, text_dropout: float = 0.3, embed_dropout: float = 0.3,
                 attn_dropout: float = 0.1, out_dropout: float = 0.1):
        super().__init__()
        check_modalities("lmr_cbt", input_dims, ("text", "audio", "visual"))
        if d != 2 * text_hidden:  # the gates add the text LSTM's steps (both directions) to d-wide ones
            fix = f"set text_hidden={d // 2} with it" if d % 2 == 0 else "d must be even, with text_hidden = d / 2"
            raise FieldError("d", d, f"must equal 2 × text_hidden = {2 * text_hidden} (text_hidden={text_hidden}: "
                                     f"the cross-modal gates mix the bidirectional text LSTM's steps with "
                                     f"the d-wide audio and visual streams); {fix}")
        self.text_dropout = nn.Dropout(text_dropout)
        self.text_lstm = BiRNN("lstm", input_dims["text"], text_hidden, layers=2)
        self.text_norm = nn.LayerNorm(2 * text_hidden)
        self.fronts = nn.ModuleDict({m: ConvFront(input_dims[m], d) for m in ("audio", "visual")})
        self.streams = nn.ModuleDict({m: TransformerStream(d, d, heads, layers,
                                                           4 * d, attn_dropout, embed_dropout, causal=True)
                                      for m in ("text", "audio", "visual")})
        self.gate_visual, self.gate_audio = CrossModalGate(d), CrossModalGate(d)
        self.fuse = nn.Sequential(nn.Linear(3 * d, 3 * d), nn.ReLU(), nn.Dropout(out_dropout), nn.Linear(3 * d, 3 * d))
        self.space_dims = {"fused": 3 * d}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        ends = {m: self.streams[m](self.fronts[m](Steps.of(batch, m))).last() for m in ("audio", "visual")}
        text = Steps.of(batch, "text")
        text = text.with_values(self.text_dropout(text.values))
        recurred, _ = self.text_lstm(text)
        x = self.text_norm(recurred)
        z = self.gate_audio(self.gate_visual(x, ends["visual"]), ends["audio"]) + x
        fused_text = self.streams["text"](text.with_values(z)).last()
        return {"fused": self.fuse(torch.cat([fused_text, ends["audio"], ends["visual"]], -1))}
