"""EmoEmbs ("eea", Dai et al., AACL 2020): one bidirectional LSTM per modality, scored against
the emotion embeddings. The text LSTM's hidden size equals the word-vector size, so the text
representation lives in the word space and text needs no map."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.errors import EmozslError
from emozsl.models.layers import LSTMEncoder
from emozsl.models.sequence import Steps


class EmoEmbs(nn.Module):
    def __init__(self, input_dims: dict[str, int], word_dim: int, audio_hidden: int = 200,
                 visual_hidden: int = 100, layers: int = 2, dropout: float = 0.15,
                 pooling: str = "final-states"):
        super().__init__()
        hidden = {"text": word_dim, "audio": audio_hidden, "visual": visual_hidden}
        unknown = set(input_dims) - set(hidden)
        if unknown:
            raise EmozslError(f"eea: unknown modalities {sorted(unknown)} (expects text, audio, visual)")
        self.encoders = nn.ModuleDict({m: LSTMEncoder(d, hidden[m], layers, dropout, pooling)
                                       for m, d in input_dims.items()})
        self.dropout = nn.Dropout(dropout)
        self.space_dims = {m: hidden[m] for m in input_dims}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return {m: self.dropout(enc(Steps.of(batch, m))) for m, enc in self.encoders.items()}
