"""LFMIM (seed 002, layer-wise fusion with modality independence modelling).

Three uni-modal transformer streams (text, audio, visual) and one multimodal stream. Each stream
starts with a learned CLS token before its steps (LayerNorm, sinusoidal positions). The multimodal
stream holds `tokens` learned tokens plus one slot per modality; at each of `stages` stages the
uni-modal streams run their blocks, then each modality's slot becomes a learned mix of its old
content and the current uni-modal steps, then the multimodal blocks run over everything. Information
flows from the uni-modal streams to the multimodal one only. Every stream ends in learned
attention pooling.

Four spaces: the multimodal one makes the prediction; text, audio and visual are auxiliary, each
trained against its own modality's labels when the data carry them (the shared label otherwise).
Fixed or exposed: `width` (the original's 1024 with 16 heads is ~250M parameters, far too big for
these features), padding masked in every block, and `stop_gradient` (default on): the multimodal
loss no longer trains the uni-modal streams, which makes their independence real."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.models.layers import AttentionPooling, check_heads
from emozsl.models.sequence import Steps, sinusoidal_positions


def _blocks(width: int, heads: int, count: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, count, enable_nested_tensor=False)


class LFMIM(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, width: int = 64, heads: int = 4,
                 stages: int = 4, blocks_per_stage: int = 1, tokens: int = 4, dropout: float = 0.1,
                 stop_gradient: bool = True):
        super().__init__()
        check_heads(heads, width, "width")  # every stream's blocks are `width` wide
        self.modalities, self.width, self.stop_gradient = list(input_dims), width, stop_gradient
        self.project = nn.ModuleDict({m: nn.Linear(d, width) for m, d in input_dims.items()})
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(1, 1, width) * 0.02) for m in input_dims})
        self.input_norm = nn.ModuleDict({m: nn.LayerNorm(width) for m in input_dims})
        self.unimodal = nn.ModuleDict({m: nn.ModuleList([_blocks(width, heads, blocks_per_stage, dropout)
                                                         for _ in range(stages)]) for m in input_dims})
        self.tokens = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        self.multimodal = nn.ModuleList([_blocks(width, heads, blocks_per_stage, dropout) for _ in range(stages)])
        # mix logits per stage and modality; sigmoid(0) = an even mix of old slot and new steps
        self.mix = nn.Parameter(torch.zeros(stages, len(input_dims)))
        self.pool = nn.ModuleDict({s: AttentionPooling(width) for s in [*input_dims, "multimodal"]})
        self.space_dims = {s: width for s in [*input_dims, "multimodal"]}
        self.fused_spaces = ("multimodal",)
        self.auxiliary_spaces = tuple(input_dims)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        streams, paddings = {}, {}
        for m in self.modalities:
            steps = Steps.of(batch, m)
            x = torch.cat([self.cls[m].expand(len(steps.values), -1, -1), self.project[m](steps.values)], 1)
            x = self.input_norm[m](x + sinusoidal_positions(x.shape[1], self.width, x.device))
            streams[m] = x
            paddings[m] = torch.cat([steps.padding.new_zeros(len(x), 1), steps.padding], 1)
        batch = len(next(iter(streams.values())))
        token_padding = paddings[self.modalities[0]].new_zeros(batch, self.tokens.shape[1])
        joint_padding = torch.cat([token_padding, *paddings.values()], 1)
        tokens = self.tokens.expand(batch, -1, -1)
        slots = {m: torch.zeros_like(streams[m]) for m in self.modalities}
        for stage, joint_blocks in enumerate(self.multimodal):
            mix = torch.sigmoid(self.mix[stage])
            for i, m in enumerate(self.modalities):
                streams[m] = self.unimodal[m][stage](streams[m], src_key_padding_mask=paddings[m])
                current = streams[m].detach() if self.stop_gradient else streams[m]
                slots[m] = mix[i] * slots[m] + (1 - mix[i]) * current
            joint = joint_blocks(torch.cat([tokens, *slots.values()], 1), src_key_padding_mask=joint_padding)
            tokens, parts = joint[:, :tokens.shape[1]], joint[:, tokens.shape[1]:].split(
                [slots[m].shape[1] for m in self.modalities], 1)
            slots = dict(zip(self.modalities, parts))
        out = {m: self.pool[m](streams[m], paddings[m]) for m in self.modalities}
        out["multimodal"] = self.pool["multimodal"](joint, joint_padding)
        return out
