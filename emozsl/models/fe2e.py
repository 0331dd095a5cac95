"""FE2E (Dai et al., NAACL 2021; seed 004): end to end from raw text, audio and face frames.

A text encoder's CLS vector, a VGG-style CNN per audio chunk and per face frame, a transformer over
each modality's chunk or frame sequence with a learned CLS; one space per modality, scored by the
shared emotion head and fused by learned weights (raw_encoders.py). `width` = 64 is the paper's
CNN; the default 8 trains on two CPU cores in minutes."""

from __future__ import annotations

from emozsl.models.raw_encoders import ChunkCNN, EndToEnd


class FE2E(EndToEnd):
    def __init__(self, input_dims: dict[str, int], word_dim: int, width: int = 8, d: int = 64, layers: int = 4,
                 heads: int = 4, dropout: float = 0.1, text_model: str = "", text_dim: int = 64,
                 text_layers: int = 2, vocabulary: int = 8192, max_tokens: int = 100, log_mel: bool = True):
        super().__init__(input_dims, word_dim, lambda cin, h, w, _: ChunkCNN(cin, h, w, width, d), d=d,
                         layers=layers, heads=heads, dropout=dropout, text_model=text_model, text_dim=text_dim,
                         text_layers=text_layers, vocabulary=vocabulary, max_tokens=max_tokens, log_mel=log_mel)
