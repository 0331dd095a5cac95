"""The transformer baselines of the EmoEmbs repository (early and late fusion), one fused vector.

Padding is masked in attention and pooling (the originals attend to padded steps)."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.models.layers import TransformerStream, check_pooling, pooled
from emozsl.models.sequence import Steps, concat_features


class TransformerEF(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, d: int = 64, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1, pooling: str = "mean"):
        super().__init__()
        self.stream = TransformerStream(sum(input_dims.values()), d, heads, layers, 4 * d, dropout, dropout)
        self.pooling = check_pooling(pooling)
        self.modalities = list(input_dims)
        self.space_dims = {"fused": d}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        steps = concat_features(batch, self.modalities, "transformer_ef")
        return {"fused": pooled(self.stream(steps), self.pooling)}


class TransformerLF(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, d: int = 64, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1, pooling: str = "mean"):
        super().__init__()
        self.streams = nn.ModuleDict({m: TransformerStream(dim, d, heads, layers, 4 * d, dropout, dropout)
                                      for m, dim in input_dims.items()})
        self.pooling = check_pooling(pooling)
        self.space_dims = {"fused": d * len(input_dims)}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        vectors = [pooled(stream(Steps.of(batch, m)), self.pooling) for m, stream in self.streams.items()]
        return {"fused": torch.cat(vectors, -1)}
