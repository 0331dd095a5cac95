"""Self- and cross-attention models (seed 003; Rajan et al., ICASSP 2022).

Each modality: a bidirectional GRU (60 units per direction, 120 features; dropout 0.25 on the
text input). 'self_attn': per modality, multi-head self-attention (6 heads), mean over time.
'cross_attn': for every ordered pair, the query modality attends to the other one, mean over the
query's time. Then statistics pooling over the modality axis ([std; mean]) -> Linear 60: the fused
vector (one emotion space).

Fixed: padding is masked in the GRU (lengths), in attention and in the time means (the original
averages over padded steps). The original's 1x1 convolution over the time axis, which squeezes
fixed frame counts (video 32 -> 25, audio 1000 -> 500), is left out: it ties the model to one
sequence length, and masking makes it unnecessary."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.models.layers import check_heads
from emozsl.models.sequence import BiRNN, Steps


class GRUEncoder(nn.Module):
    def __init__(self, input_dim: int, hidden: int, input_dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(input_dropout)
        self.gru = BiRNN("gru", input_dim, hidden)

    def forward(self, steps: Steps) -> Steps:
        output, _ = self.gru(steps.with_values(self.dropout(steps.values)))
        return steps.with_values(output)


def statistics_pooling(vectors: list[torch.Tensor]) -> torch.Tensor:
    """[std; mean] over the modality (or pair) axis."""
    stacked = torch.stack(vectors, 1)
    return torch.cat([stacked.std(1, unbiased=False), stacked.mean(1)], -1)


class AttentionGRU(nn.Module):
    cross = False

    def __init__(self, input_dims: dict[str, int], word_dim: int, hidden: int = 60, heads: int = 6,
                 text_dropout: float = 0.25, attn_dropout: float = 0.1, fused: int = 60):
        super().__init__()
        # attention reads the GRU's two directions side by side
        check_heads(heads, 2 * hidden, f"2 × hidden (hidden={hidden})")
        self.modalities = list(input_dims)
        self.encoders = nn.ModuleDict({m: GRUEncoder(d, hidden, text_dropout if m == "text" else 0.0)
                                       for m, d in input_dims.items()})
        pairs = [(q, k) for q in self.modalities for k in self.modalities if q != k] if self.cross \
            else [(m, m) for m in self.modalities]
        self.pairs = pairs
        self.attention = nn.ModuleDict({f"{q}_to_{k}": nn.MultiheadAttention(2 * hidden, heads, dropout=attn_dropout,
                                                                             batch_first=True) for q, k in pairs})
        self.out = nn.Linear(4 * hidden, fused)
        self.space_dims = {"fused": fused}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        encoded = {m: enc(Steps.of(batch, m)) for m, enc in self.encoders.items()}
        vectors = []
        for q, k in self.pairs:
            query, keys = encoded[q], encoded[k]
            attended, _ = self.attention[f"{q}_to_{k}"](query.values, keys.values, keys.values,
                                                        key_padding_mask=keys.padding, need_weights=False)
            vectors.append(query.with_values(attended).mean())
        return {"fused": self.out(statistics_pooling(vectors))}


class SelfAttentionGRU(AttentionGRU):
    cross = False


class CrossAttentionGRU(AttentionGRU):
    cross = True
