"""The emotion-embedding head: frozen emotion word vectors, carried by learned maps into each
modality's representation space, scored by similarity, fused by learned modality weights.

The emotion list is an input to `forward`, so a new emotion is scored through its vector alone."""

from __future__ import annotations

import torch
from torch import nn


class EmotionEmbeddingHead(nn.Module):
    def __init__(self, space_dims: dict[str, int], word_dim: int):
        super().__init__()
        # Text keeps the word space itself when sizes match (the paper); other spaces get a map.
        self.maps = nn.ModuleDict({
            m: nn.Identity() if (m == "text" and d == word_dim) else nn.Linear(word_dim, d)
            for m, d in space_dims.items()})
        self.modality_weights = nn.Parameter(torch.full((len(space_dims),), 1.0 / len(space_dims)))

    def forward(self, representations: dict[str, torch.Tensor], emotion_vectors: torch.Tensor) -> torch.Tensor:
        """representations: modality -> (B, d_m); emotion_vectors: (K, word_dim) -> logits (B, K)."""
        scores = torch.stack([representations[m] @ self.maps[m](emotion_vectors).T for m in self.maps], dim=-1)
        return scores @ self.modality_weights

    def mapped(self, emotion_vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """The emotions' images in each modality space (for inspection and plots)."""
        return {m: f(emotion_vectors) for m, f in self.maps.items()}
