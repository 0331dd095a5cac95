"""EmoEmbs ("eea", Dai et al., AACL 2020): one bidirectional LSTM per modality, scored against
the emotion embeddings. The text LSTM's hidden size equals the word-vector size, so the text
representation lives in the word space and text needs no map."""

from __future__ import annotations

import torch
from torch import nn

from emozsl.errors import EmozslError
from emozsl.models.head import EmotionEmbeddingHead

POOLINGS = ("final-states", "last-step-sum")


class LSTMEncoder(nn.Module):
    """Sequence (B, T, D) -> vector (B, H), directions summed.

    'final-states': the final hidden state of each direction (the backward one has read the whole
    sequence). 'last-step-sum': the original code's output at the last step, where the backward
    direction has seen one step only; kept for faithful comparison."""

    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float, pooling: str):
        super().__init__()
        if pooling not in POOLINGS:
            raise EmozslError(f"pooling '{pooling}': choose one of {', '.join(POOLINGS)}")
        self.hidden, self.pooling = hidden, pooling
        self.lstm = nn.LSTM(input_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, (h_n, _) = self.lstm(x)
        if self.pooling == "final-states":
            return h_n[-2] + h_n[-1]  # last layer: forward, backward
        last = output[:, -1]
        return last[:, :self.hidden] + last[:, self.hidden:]


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
        self.head = EmotionEmbeddingHead({m: hidden[m] for m in input_dims}, word_dim)

    def forward(self, features: dict[str, torch.Tensor], emotion_vectors: torch.Tensor) -> torch.Tensor:
        representations = {m: self.dropout(enc(features[m])) for m, enc in self.encoders.items()}
        return self.head(representations, emotion_vectors)
