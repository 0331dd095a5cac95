"""Parts shared by the end-to-end backbones FE2E and MESM (docs/models.md).

- Text: a local Hugging Face model folder (`text_model=PATH`; CLS vector; fine-tuned at a tenth of
  the learning rate, as in the paper), or, without one, an encoder trained from scratch offline:
  words (lower-cased, split at non-letters) hashed into `vocabulary` buckets, a learned CLS token,
  sinusoidal positions and a small transformer.
- Audio chunks (1 x 128 x 32 mel) and face frames (3 x 48 x 48): a VGG-style CNN per chunk or frame
  (conv5x5 c; blocks c, c, 2c / 4c / 8c, each block ending in a 2x2 max-pool; flatten -> 16c -> d),
  c = `width` (the paper's is 64). MESM makes its blocks sparse (mesm.py).
- A per-modality transformer over the chunk or frame sequence with a learned CLS token.

Inputs of a batch (emozsl.batches): "text" token ids (B, L) padded at the end; "audio" (N, 1, 128,
32) and "visual" (N, 3, 48, 48), the batch's real chunks and frames (padded with zero items to a
static count), laid out per utterance by batch["slots"][m] (B, T) and attributed by
batch["item_rows"][m] (N,); batch["lengths"][m] (B,): the real tokens, chunks and frames, the
decoded counts (a black frame or a silent chunk is still real). The CNN runs once per item (the
real ones and the few zero items that round their count up to a static one), never on an
utterance's padded steps, which are masked in attention.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emozsl.data.media.decode import MediaSettings
from emozsl.errors import FieldError
from emozsl.extras import transformers_module
from emozsl.models.sequence import ITEM_ROWS, LENGTHS, SLOTS, sinusoidal_positions

FACE_MEAN = (159.0, 111.0, 102.0)  # the original's normalisation of 0-255 face crops
FACE_STD = (37.0, 33.0, 32.0)
WORD = re.compile(r"[^\W_]+")


class HashTokenizer:
    """Words -> ids in 1..vocabulary-1 by a stable hash (0 is padding): no vocabulary file, so it
    works offline and on any transcript."""

    def __init__(self, vocabulary: int, max_tokens: int):
        self.vocabulary, self.max_tokens, self.pad_id = vocabulary, max_tokens, 0

    def word_id(self, word: str) -> int:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        return 1 + int.from_bytes(digest, "little") % (self.vocabulary - 1)

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        return [np.array([self.word_id(w) for w in WORD.findall(t.lower())[:self.max_tokens]] or [1], np.int64)
                for t in texts]


class ScratchTextEncoder(nn.Module):
    def __init__(self, vocabulary: int, d: int, layers: int, heads: int, dropout: float, max_tokens: int):
        super().__init__()
        if d % heads:  # `heads` sets the text encoder's heads too
            raise FieldError("heads", heads, f"must divide text_dim={d}")
        if vocabulary < 2:
            raise FieldError("vocabulary", vocabulary, "must be at least 2 (id 0 is padding)")
        self.tokenizer, self.pad_id = HashTokenizer(vocabulary, max_tokens), 0
        self.embedding = nn.Embedding(vocabulary, d, padding_idx=0)
        self.sequence = SequenceEncoder(d, layers, heads, dropout)
        self.output_dim = d

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.sequence(self.embedding(ids), ~mask)

    def fine_tuned_parameters(self) -> list[nn.Parameter]:
        return []


class PretrainedTextEncoder(nn.Module):
    """A local Hugging Face encoder (never downloaded): its tokenizer, and its first token's final
    hidden state as the utterance vector."""

    def __init__(self, path: str, max_tokens: int):
        super().__init__()
        transformers = transformers_module("text_model")
        if not (Path(path) / "config.json").is_file():
            raise FieldError("text_model", path, "not a local Hugging Face model folder (no config.json there); "
                             "models are never downloaded")
        try:
            self.hf_tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            if torch.empty(0).device.type == "meta":  # the config check (models/build.py): structure only
                config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
                self.model = transformers.AutoModel.from_config(config)
            else:
                self.model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise FieldError("text_model", path, f"not a local Hugging Face model folder ({str(exc).splitlines()[0][:160]})") from None
        self.max_tokens = max_tokens
        self.output_dim = int(self.model.config.hidden_size)

    def tokenizer(self, texts: list[str]) -> list[np.ndarray]:
        encoded = self.hf_tokenizer(list(texts), truncation=True, max_length=self.max_tokens)
        return [np.asarray(ids, np.int64) for ids in encoded["input_ids"]]

    @property
    def pad_id(self) -> int:
        return int(self.hf_tokenizer.pad_token_id or 0)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=ids, attention_mask=mask.long()).last_hidden_state[:, 0]

    def fine_tuned_parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())


def text_encoder(text_model: str, vocabulary: int, d: int, layers: int, heads: int, dropout: float,
                 max_tokens: int) -> nn.Module:
    if text_model:
        return PretrainedTextEncoder(text_model, max_tokens)
    return ScratchTextEncoder(vocabulary, d, layers, heads, dropout, max_tokens)


class SequenceEncoder(nn.Module):
    """(B, T, d) steps with a padding mask -> (B, d): a learned CLS token in front, sinusoidal
    positions, a pre-LayerNorm transformer, the CLS token's final state."""

    def __init__(self, d: int, layers: int, heads: int, dropout: float):
        super().__init__()
        if d % heads:
            raise FieldError("heads", heads, f"must divide the width d={d}")
        self.cls = nn.Parameter(torch.randn(d) / math.sqrt(d))
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, steps: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        b, t, d = steps.shape
        x = torch.cat([self.cls.expand(b, 1, d).to(steps.dtype), steps], 1)
        x = x + sinusoidal_positions(t + 1, d, x.device).to(x.dtype)
        padding = torch.cat([padding.new_zeros(b, 1), padding], 1)
        return self.norm(self.encoder(x, src_key_padding_mask=padding)[:, 0])


def conv(cin: int, cout: int, kernel: int) -> nn.Conv2d:
    layer = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)
    return layer


class ChunkCNN(nn.Module):
    """The VGG-style CNN over one chunk or frame: (N, cin, H, W) -> (N, d). `blocks` holds the convs
    of each pooled block (MESM's SparseCNN computes them only where its attention keeps positions)."""

    def __init__(self, cin: int, height: int, width_px: int, width: int, d: int):
        super().__init__()
        self.stem = conv(cin, width, 5)
        channels = [[width, width, 2 * width], [4 * width], [8 * width]]
        blocks, previous = [], width
        for block in channels:
            layers = []
            for c in block:
                layers.append(conv(previous, c, 3))
                previous = c
            blocks.append(nn.ModuleList(layers))
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool2d(2)
        flat = previous * (height // 8) * (width_px // 8)
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(flat, 16 * width), nn.ReLU(), nn.Linear(16 * width, d))

    def forward(self, x: torch.Tensor, query: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            for layer in block:
                x = torch.relu(layer(x))
            x = self.pool(x)
        return self.project(x)


class MediaStream(nn.Module):
    """A modality's chunks or frames -> (B, d): the CNN on each real one, then the sequence encoder."""

    def __init__(self, cnn: nn.Module, d: int, layers: int, heads: int, dropout: float, normalise=None):
        super().__init__()
        self.cnn, self.sequence = cnn, SequenceEncoder(d, layers, heads, dropout)
        self.d = d
        if normalise is not None:
            self.register_buffer("mean", torch.tensor(normalise[0]).view(1, -1, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(normalise[1]).view(1, -1, 1, 1), persistent=False)
        else:
            self.mean = self.std = None

    def normalised(self, items: torch.Tensor) -> torch.Tensor:
        """Face crops (0-255) standardised as the original; mel chunks as they are."""
        return items if self.mean is None else (items - self.mean) / self.std

    def forward(self, items: torch.Tensor, slots: torch.Tensor, rows: torch.Tensor, lengths: torch.Tensor,
                query: torch.Tensor | None = None) -> torch.Tensor:
        """items (N, C, H, W) chunks or frames, slots (B, T), rows (N,), lengths (B,) (the batch
        form above), query (B, q) or None -> (B, d)."""
        encoded = self.cnn(self.normalised(items), None if query is None else query[rows])
        encoded = torch.cat([encoded, encoded.new_zeros(1, encoded.shape[1])])  # slot N: padding
        padding = torch.arange(slots.shape[1], device=slots.device)[None, :] >= lengths[:, None]
        return self.sequence(encoded[slots], padding)


class EndToEnd(nn.Module):
    """FE2E's skeleton: text encoder, audio and visual streams, one space per modality. The media
    settings and the tokenizer it exposes tell emozsl how to preprocess raw data for it."""

    def __init__(self, input_dims: dict[str, int], word_dim: int, cnn, *, d: int, layers: int, heads: int,
                 dropout: float, text_model: str, text_dim: int, text_layers: int, vocabulary: int,
                 max_tokens: int, log_mel: bool):
        """`cnn(cin, height, width, query_dim)` builds the CNN of one modality; query_dim is the text
        vector's size (MESM's query)."""
        super().__init__()
        self.log_mel = log_mel
        media = MediaSettings(log_mel=log_mel)  # the geometry of chunks and crops is the media settings'
        self.text = (text_encoder(text_model, vocabulary, text_dim, text_layers, heads, dropout, max_tokens)
                     if "text" in input_dims else None)
        query_dim = self.text.output_dim if self.text is not None else 0
        self.streams = nn.ModuleDict()
        if "audio" in input_dims:
            self.streams["audio"] = MediaStream(cnn(1, media.n_mels, media.chunk_frames, query_dim), d, layers, heads, dropout)
        if "visual" in input_dims:
            self.streams["visual"] = MediaStream(cnn(3, media.face_size, media.face_size, query_dim), d, layers, heads, dropout,
                                                 (FACE_MEAN, FACE_STD))
        self.dropout = nn.Dropout(dropout)
        self.space_dims = {**({"text": self.text.output_dim} if self.text is not None else {}),
                           **{m: d for m in self.streams}}

    def media_settings(self) -> dict:
        return {"log_mel": self.log_mel}

    def tokenize(self, texts: list[str]) -> list[np.ndarray]:
        return self.text.tokenizer(texts)

    @property
    def pad_id(self) -> int:
        return self.text.pad_id if self.text is not None else 0

    def fine_tuned_parameters(self) -> list[nn.Parameter]:
        return self.text.fine_tuned_parameters() if self.text is not None else []

    def text_vector(self, batch: dict) -> torch.Tensor | None:
        if self.text is None:
            return None
        ids = batch["text"]
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < batch[LENGTHS]["text"][:, None]
        return self.text(ids, mask)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        text = self.text_vector(batch)
        out = {} if text is None else {"text": self.dropout(text)}
        for m, stream in self.streams.items():
            out[m] = self.dropout(stream(batch[m], batch[SLOTS][m], batch[ITEM_ROWS][m], batch[LENGTHS][m],
                                         self.query(text)))
        return out

    def query(self, text: torch.Tensor | None) -> torch.Tensor | None:
        return None  # FE2E's CNNs do not look at the text
