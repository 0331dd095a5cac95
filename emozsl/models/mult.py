"""MulT (Tsai et al., ACL 2019): cross-modal transformers for every ordered pair of modalities.

Each modality is projected to width d (40) by a 1x1 convolution; for each target modality, one
cross-modal transformer per source modality lets the target's steps attend to the source's steps;
the target's cross-modal outputs are concatenated and read by a self-attention transformer; the
last real step of each target is taken; the three are concatenated and passed through a residual
two-layer projection. That fused vector is one mapped emotion space.

Presets: 'iemocap' is the original's IEMOCAP configuration; 'mosei' is emozsl's configuration for
MOSEI emotions, which the original lacks (it ships MOSEI sentiment only). Padding is masked in
every attention (the original attends to the MulT pickles' zero padding)."""

from __future__ import annotations

import math

import torch
from torch import nn

from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.models.sequence import Steps, sinusoidal_positions

PRESETS = {
    "iemocap": {"heads": 10, "layers": 4, "attn_dropout": 0.25, "embed_dropout": 0.3, "out_dropout": 0.1,
                "relu_dropout": 0.1, "res_dropout": 0.1},
    "mosei": {"heads": 8, "layers": 4, "attn_dropout": 0.1, "embed_dropout": 0.25, "out_dropout": 0.1,
              "relu_dropout": 0.1, "res_dropout": 0.1},
}
MEMORY_LAYERS = 3  # the self-attention transformer over each target's cross-modal outputs


class CrossModalLayer(nn.Module):
    """Pre-LayerNorm block: target steps attend to source steps (source padding masked), then FFN."""

    def __init__(self, d: int, heads: int, attn_dropout: float, relu_dropout: float, res_dropout: float):
        super().__init__()
        self.norm_query, self.norm_source, self.norm_ffn = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attention = nn.MultiheadAttention(d, heads, dropout=attn_dropout, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Dropout(relu_dropout), nn.Linear(4 * d, d))
        self.dropout = nn.Dropout(res_dropout)

    def forward(self, target: torch.Tensor, source: torch.Tensor, source_padding: torch.Tensor) -> torch.Tensor:
        query, keys = self.norm_query(target), self.norm_source(source)
        attended, _ = self.attention(query, keys, keys, key_padding_mask=source_padding, need_weights=False)
        target = target + self.dropout(attended)
        return target + self.dropout(self.ffn(self.norm_ffn(target)))


class CrossModalTransformer(nn.Module):
    def __init__(self, d: int, layers: int, **dropouts):
        super().__init__()
        self.layers = nn.ModuleList([CrossModalLayer(d, **dropouts) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)

    def forward(self, target: torch.Tensor, source: Steps | None = None, target_padding=None) -> torch.Tensor:
        """Cross-modal when `source` is given, else self-attention over `target`."""
        keys, padding = (source.values, source.padding) if source is not None else (None, target_padding)
        for layer in self.layers:
            target = layer(target, target if keys is None else keys, padding)
        return self.norm(target)


class MulT(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, preset: str = "mosei", d: int = 40):
        super().__init__()
        check_choice("preset", preset, PRESETS)
        if len(input_dims) < 2:
            raise EmozslError("mult: needs at least two modalities (it is built of cross-modal pairs)")
        config = PRESETS[preset]
        if d % config["heads"]:  # then d * (modalities - 1), the memory's width, is divisible too
            raise FieldError("d", d, f"must be divisible by heads={config['heads']}, which preset={preset} sets "
                                     f"(attention heads split d evenly)")
        blocks = {"heads": config["heads"], "attn_dropout": config["attn_dropout"],
                  "relu_dropout": config["relu_dropout"], "res_dropout": config["res_dropout"]}
        self.modalities, self.d = list(input_dims), d
        self.project = nn.ModuleDict({m: nn.Conv1d(dim, d, kernel_size=1, bias=False) for m, dim in input_dims.items()})
        self.embed_dropout = nn.Dropout(config["embed_dropout"])
        self.cross = nn.ModuleDict({f"{t}_from_{s}": CrossModalTransformer(d, config["layers"], **blocks)
                                    for t in self.modalities for s in self.modalities if s != t})
        width = d * (len(input_dims) - 1)
        self.memory = nn.ModuleDict({t: CrossModalTransformer(width, MEMORY_LAYERS, **blocks)
                                     for t in self.modalities})
        fused = width * len(input_dims)
        self.projection = nn.Sequential(nn.Linear(fused, fused), nn.ReLU(), nn.Dropout(config["out_dropout"]),
                                        nn.Linear(fused, fused))
        self.space_dims = {"fused": fused}

    def embed(self, modality: str, steps: Steps) -> Steps:
        values = self.project[modality](steps.values.transpose(1, 2)).transpose(1, 2) * math.sqrt(self.d)
        values = values + sinusoidal_positions(values.shape[1], self.d, values.device)
        return steps.with_values(self.embed_dropout(values))

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        steps = {m: self.embed(m, Steps.of(batch, m)) for m in self.modalities}
        last = []
        for t in self.modalities:
            crossed = [self.cross[f"{t}_from_{s}"](steps[t].values, steps[s]) for s in self.modalities if s != t]
            memory = self.memory[t](torch.cat(crossed, -1), target_padding=steps[t].padding)
            last.append(steps[t].with_values(memory).last())
        fused = torch.cat(last, -1)
        return {"fused": fused + self.projection(fused)}
