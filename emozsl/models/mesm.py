"""MESM (Dai et al., NAACL 2021; seed 004): FE2E whose CNN blocks are cross-modal sparse blocks.

Before each pooled CNN block, the text's CLS vector q attends over the feature map M (C x H x W) of
every chunk or frame: M_q = tanh(W_m M + b_m + W_q q), M_i = softmax over the H x W positions of
(w_i M_q + b_i), and nucleus selection keeps the smallest set of positions whose attention mass
reaches `top_p`. The block then computes only at the kept positions, so its arithmetic falls with
p; a pooled position lives on when any position under it was kept, and the next selection chooses
among those.

Two implementations give the same result. 'masked' (training and scoring): each convolution runs
dense and its output is masked to the kept positions: static shapes, no host synchronisation,
cuDNN / oneDNN kernels, which on a GPU and on a CPU is faster than gathering. 'gather': each kept
position gathers its own 3x3 neighbourhood and multiplies those alone (data-dependent shapes): the
paper's sparse arithmetic, which `emozsl models --flops` counts (models/flops.py).

What emozsl fixes in the original (docs/models.md): the kept features are weighted by their
attention (scaled so the weights average 1 over the live positions), so the attention parameters
receive gradient (the original selected on detached tensors and never weighted); and every kept
feature is computed from, and written back to, its own position (the original paired the first
sparse layer's features with the wrong positions)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from emozsl.errors import EmozslError, FieldError
from emozsl.models.raw_encoders import ChunkCNN, EndToEnd


def nucleus(probabilities: torch.Tensor, top_p: float) -> torch.Tensor:
    """(N, P) distributions -> (N, P) bool: the smallest set of positions whose mass reaches top_p."""
    if top_p >= 1.0:
        return probabilities > 0
    ranked, order = probabilities.sort(-1, descending=True)
    before = ranked.cumsum(-1) - ranked  # mass of the positions ranked above each one
    return torch.zeros_like(ranked, dtype=torch.bool).scatter(-1, order, before < top_p)


class KeptPositions:
    """The kept positions of a batch of (N, H, W) maps, and for each the flat indices of its 3x3
    neighbourhood in the zero-padded channels-last map: what a sparse convolution gathers."""

    def __init__(self, keep: torch.Tensor):
        n, h, w = keep.shape
        self.shape = (n, h, w)
        self.index = keep.flatten().nonzero().squeeze(1)  # (P,) into N*H*W
        item, rest = self.index // (h * w), self.index % (h * w)
        corner = item * (h + 2) * (w + 2) + (rest // w) * (w + 2) + rest % w
        offsets = torch.tensor([dy * (w + 2) + dx for dy in range(3) for dx in range(3)], device=keep.device)
        self.neighbours = corner[:, None] + offsets[None, :]  # (P, 9)


def sparse_conv(x: torch.Tensor, layer: nn.Conv2d, kept: KeptPositions) -> torch.Tensor:
    """A 3x3 'same' convolution computed at the kept positions only, zero elsewhere. x (N, H, W, C)
    channels-last. Each kept position gathers its own neighbourhood and its result is written back
    to that position, so the work is proportional to the number of kept positions."""
    n, h, w = kept.shape
    c = x.shape[-1]
    padded = F.pad(x, (0, 0, 1, 1, 1, 1)).reshape(-1, c)
    patches = padded.index_select(0, kept.neighbours.flatten()).reshape(len(kept.index), 9 * c)  # (P, 9C)
    weight = layer.weight.permute(0, 2, 3, 1).reshape(layer.out_channels, 9 * c)
    values = patches @ weight.T.to(patches.dtype) + layer.bias.to(patches.dtype)
    out = values.new_zeros(n * h * w, layer.out_channels).index_copy(0, kept.index, values)
    return out.reshape(n, h, w, layer.out_channels)


class CrossModalSparseAttention(nn.Module):
    def __init__(self, channels: int, query_dim: int, attention_dim: int):
        super().__init__()
        self.feature = nn.Linear(channels, attention_dim)  # W_m, b_m: a 1x1 convolution
        self.query = nn.Linear(query_dim, attention_dim, bias=False)  # W_q
        self.score = nn.Linear(attention_dim, 1)  # w_i, b_i

    def forward(self, m: torch.Tensor, query: torch.Tensor, live: torch.Tensor, top_p: float):
        """m (N, H, W, C) channels-last, query (N, q), live (N, H, W) -> (the kept features weighted
        by their attention, keep (N, H, W), attention (N, H, W))."""
        n, h, w, _ = m.shape
        mixed = torch.tanh(self.feature(m) + self.query(query.to(m.dtype))[:, None, None, :])
        logits = self.score(mixed).reshape(n, h * w).float().masked_fill(~live.flatten(1), float("-inf"))
        attention = logits.softmax(-1)
        keep = nucleus(attention, top_p) & live.flatten(1)
        weights = attention * live.flatten(1).sum(-1, keepdim=True)  # averages 1 over the live positions
        out = m * (keep * weights).view(n, h, w, 1).to(m.dtype)
        return out, keep.view(n, h, w), attention.view(n, h, w)


class SparseCNN(ChunkCNN):
    def __init__(self, cin: int, height: int, width_px: int, width: int, d: int, query_dim: int,
                 top_p: float, attention_dim: int):
        super().__init__(cin, height, width_px, width, d)
        self.top_p = top_p
        self.implementation = "masked"  # see the module docstring; the FLOPs counter sets 'gather'
        inputs = [width, 2 * width, 4 * width]  # channels entering each block
        self.attention = nn.ModuleList(CrossModalSparseAttention(c, query_dim, attention_dim) for c in inputs)

    def forward(self, x: torch.Tensor, query: torch.Tensor | None = None) -> torch.Tensor:
        if query is None:
            raise EmozslError("mesm: the sparse blocks need the text's vector as their query")
        x = torch.relu(self.stem(x))
        live = torch.ones((x.shape[0], *x.shape[2:]), dtype=torch.bool, device=x.device)
        for block, attention in zip(self.blocks, self.attention):
            weighted, keep, _ = attention(x.permute(0, 2, 3, 1), query, live, self.top_p)
            if self.implementation == "gather":
                kept = KeptPositions(keep)
                for layer in block:
                    weighted = torch.relu(sparse_conv(weighted, layer, kept))
                x = weighted.permute(0, 3, 1, 2)
            else:  # dense and masked: relu(conv) * keep equals the sparse result at every position
                x, mask = weighted.permute(0, 3, 1, 2), keep[:, None].to(weighted.dtype)
                for layer in block:
                    x = torch.relu(layer(x)) * mask
            x = F.max_pool2d(x, 2)
            live = F.max_pool2d(keep[:, None].float(), 2)[:, 0] > 0
        return self.project(x)


class MESM(EndToEnd):
    def __init__(self, input_dims: dict[str, int], word_dim: int, top_p: float = 0.7, width: int = 8, d: int = 64,
                 layers: int = 4, heads: int = 4, dropout: float = 0.1, attention_dim: int = 32,
                 text_model: str = "", text_dim: int = 64, text_layers: int = 2, vocabulary: int = 8192,
                 max_tokens: int = 100, log_mel: bool = True):
        if "text" not in input_dims:
            raise FieldError("modalities", sorted(input_dims), "mesm needs text: its sparse blocks are queried by the text")
        super().__init__(input_dims, word_dim,
                         lambda cin, h, w, query_dim: SparseCNN(cin, h, w, width, d, query_dim, top_p, attention_dim),
                         d=d, layers=layers, heads=heads, dropout=dropout, text_model=text_model, text_dim=text_dim,
                         text_layers=text_layers, vocabulary=vocabulary, max_tokens=max_tokens, log_mel=log_mel)

    def query(self, text: torch.Tensor | None) -> torch.Tensor | None:
        return text
