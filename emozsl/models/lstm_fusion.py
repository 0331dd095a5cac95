"""The LSTM fusion baselines of the EmoEmbs repository, each ending in one fused vector (one
mapped emotion space).

- ef_lstm: the modalities side by side per step (aligned data), one bidirectional LSTM.
- lf_lstm: one bidirectional LSTM per modality, final states concatenated.
- ef_lf_lstm: both, then an MLP.
Fixed: the originals take the output at the last step, where the backward direction has seen one
step only and padding is read as data; here the final states of both directions over the real steps."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.models.layers import LSTMEncoder
from emozsl.models.sequence import Steps, concat_features


class EFLSTM(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.15):
        super().__init__()
        self.encoder = LSTMEncoder(sum(input_dims.values()), hidden, layers, dropout, combine="concat")
        self.dropout = nn.Dropout(dropout)
        self.modalities = list(input_dims)
        self.space_dims = {"fused": self.encoder.output_dim}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return {"fused": self.dropout(self.encoder(concat_features(batch, self.modalities, "ef_lstm")))}


class LFLSTM(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, hidden: int = 64, layers: int = 2,
                 dropout: float = 0.15):
        super().__init__()
        self.encoders = nn.ModuleDict({m: LSTMEncoder(d, hidden, layers, dropout, combine="concat")
                                       for m, d in input_dims.items()})
        self.dropout = nn.Dropout(dropout)
        self.space_dims = {"fused": 2 * hidden * len(input_dims)}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return {"fused": self.dropout(torch.cat([enc(Steps.of(batch, m)) for m, enc in self.encoders.items()], -1))}


class EFLFLSTM(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, hidden: int = 64, layers: int = 2,
                 dropout: float = 0.15, fused: int = 128):
        super().__init__()
        self.early = EFLSTM(input_dims, word_dim, hidden, layers, dropout)
        self.late = LFLSTM(input_dims, word_dim, hidden, layers, dropout)
        both = self.early.space_dims["fused"] + self.late.space_dims["fused"]
        self.mlp = nn.Sequential(nn.Linear(both, fused), nn.ReLU(), nn.Dropout(dropout), nn.Linear(fused, fused))
        self.space_dims = {"fused": fused}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        both = torch.cat([self.early(batch)["fused"], self.late(batch)["fused"]], -1)
        return {"fused": self.mlp(both)}
