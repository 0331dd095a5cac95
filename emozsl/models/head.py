"""Emotion heads, shared by every backbone, and the model that joins a backbone to one.

A backbone maps features to representation vectors, one per space (a modality, or one fused
space); `space_dims` names them. The emotion-embedding head carries the frozen emotion word vectors
into each space with a learned map, scores them by similarity and fuses the spaces with learned
weights. The emotion list is an input to `forward`, so an unseen emotion is scored through its word
vector alone. The linear head is a plain classifier for supervised comparison: it knows only the
emotions it was trained on and refuses any other."""

from __future__ import annotations

import math

import torch
from torch import nn

from emozsl.errors import EmozslError, check_choice
from emozsl.models.registry import EMOTION_MAPS, HEAD_DEFAULTS, HEADS, SIMILARITIES


def emotion_map(word_dim: int, dim: int, kind: str) -> nn.Module:
    if kind == "linear":  # the paper's
        return nn.Linear(word_dim, dim)
    hidden = max(word_dim, dim)
    return nn.Sequential(nn.Linear(word_dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))


class FusedHead(nn.Module):
    """Per-space logits (`space_logits`) fused by learned weights (init 1/S, as the paper's 1/3)."""

    def __init__(self, fused_spaces: tuple[str, ...]):
        super().__init__()
        self.fused_spaces = list(fused_spaces)
        self.modality_weights = nn.Parameter(torch.full((len(fused_spaces),), 1.0 / len(fused_spaces)))

    def space_logits(self, space: str, representation: torch.Tensor, emotion_vectors: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, representations: dict[str, torch.Tensor], emotion_vectors: torch.Tensor) -> torch.Tensor:
        """representations: space -> (B, d_s); emotion_vectors: (K, word_dim) -> logits (B, K)."""
        scores = torch.stack([self.space_logits(s, representations[s], emotion_vectors)
                              for s in self.fused_spaces], dim=-1)
        return scores @ self.modality_weights


class EmotionEmbeddingHead(FusedHead):
    def __init__(self, space_dims: dict[str, int], word_dim: int, fused_spaces: tuple[str, ...],
                 similarity: str = HEAD_DEFAULTS["similarity"], map_kind: str = HEAD_DEFAULTS["emotion_map"]):
        super().__init__(fused_spaces)
        self.similarity = check_choice("similarity", similarity, SIMILARITIES)
        check_choice("emotion_map", map_kind, EMOTION_MAPS)
        # Text keeps the word space itself when sizes match (the paper); other spaces get a map.
        self.maps = nn.ModuleDict({
            s: nn.Identity() if (s == "text" and d == word_dim) else emotion_map(word_dim, d, map_kind)
            for s, d in space_dims.items()})
        if similarity == "cosine":  # cosines lie in [-1, 1]: a learned temperature gives them range
            self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        elif similarity == "neg-sq-distance":  # distances are >= 0: a learned offset lets near be positive
            self.log_scale = nn.Parameter(torch.tensor(0.0))
            self.offset = nn.Parameter(torch.tensor(1.0))

    def space_logits(self, space: str, representation: torch.Tensor, emotion_vectors: torch.Tensor) -> torch.Tensor:
        """(B, d) against the emotions mapped into `space` -> (B, K)."""
        images = self.maps[space](emotion_vectors)
        if self.similarity == "dot":
            return representation @ images.T
        if self.similarity == "cosine":
            cosine = nn.functional.normalize(representation, dim=-1) @ nn.functional.normalize(images, dim=-1).T
            return self.log_scale.exp() * cosine
        distance = torch.cdist(representation, images).pow(2) / representation.shape[-1]
        return self.offset - self.log_scale.exp() * distance

    def mapped(self, emotion_vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        """The emotions' images in each space (for inspection and plots)."""
        return {s: f(emotion_vectors) for s, f in self.maps.items()}


class LinearHead(FusedHead):
    """One linear classifier per space over the trained emotions, fused by learned weights.

    It remembers the trained emotions' word vectors (a buffer) only to identify the emotions it is
    asked about: a row for any other emotion would be a random number, not a zero-shot score."""

    def __init__(self, space_dims: dict[str, int], trained_vectors: torch.Tensor, fused_spaces: tuple[str, ...]):
        super().__init__(fused_spaces)
        self.register_buffer("trained_vectors", trained_vectors.detach().clone().float())
        self.classifiers = nn.ModuleDict({s: nn.Linear(d, len(trained_vectors)) for s, d in space_dims.items()})

    def known(self, emotion_vectors: torch.Tensor) -> torch.Tensor:
        """(K, K_trained) True where an asked emotion is a trained one."""
        return (emotion_vectors[:, None, :] == self.trained_vectors[None, :, :]).all(-1)

    def check_emotions(self, emotion_vectors: torch.Tensor) -> None:
        """Refuse emotions it was not trained on (read on the host: call it once, outside the steps)."""
        unknown = (~self.known(emotion_vectors).any(1)).nonzero().flatten().tolist()
        if unknown:
            raise EmozslError(f"head=linear cannot score emotion(s) at position {unknown}: it was not trained "
                              "on them and has no zero-shot route; train with head=embedding")

    def space_logits(self, space: str, representation: torch.Tensor, emotion_vectors: torch.Tensor) -> torch.Tensor:
        """Inside a step nothing is read on the host: an emotion it does not know (which
        `check_emotions` refuses up front) gets NaN logits, never another emotion's."""
        same = self.known(emotion_vectors)
        logits = self.classifiers[space](representation)[:, same.float().argmax(1)]
        return logits.masked_fill(~same.any(1)[None, :], float("nan"))


class EmotionModel(nn.Module):
    """A backbone (features -> space vectors) joined to an emotion head.

    `forward` gives the prediction. `outputs` adds one logit set per auxiliary space (LFMIM's
    uni-modal heads), each trained against that modality's labels."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, batch: dict, emotion_vectors: torch.Tensor) -> torch.Tensor:
        """batch: the inputs in emozsl.batches' form (models/sequence.py); emotion_vectors (K, word_dim)
        -> logits (B, K)."""
        return self.head(self.backbone(batch), emotion_vectors)

    def check_emotions(self, emotion_vectors: torch.Tensor) -> None:
        """Refuse, before any step, emotions this model has no route to (the linear head's unknown ones)."""
        getattr(self.head, "check_emotions", lambda _: None)(emotion_vectors)

    def outputs(self, batch: dict, emotion_vectors: torch.Tensor) -> dict[str, torch.Tensor]:
        representations = self.backbone(batch)
        out = {"prediction": self.head(representations, emotion_vectors)}
        for space in getattr(self.backbone, "auxiliary_spaces", ()):
            out[space] = self.head.space_logits(space, representations[space], emotion_vectors)
        return out


def build_head(kind: str, space_dims: dict[str, int], word_dim: int, fused_spaces: tuple[str, ...],
               similarity: str, map_kind: str, trained_vectors: torch.Tensor | None) -> nn.Module:
    if check_choice("head", kind, HEADS) == "embedding":
        return EmotionEmbeddingHead(space_dims, word_dim, fused_spaces, similarity, map_kind)
    if trained_vectors is None:
        raise EmozslError("head=linear needs the trained emotions' vectors")
    return LinearHead(space_dims, trained_vectors, fused_spaces)
