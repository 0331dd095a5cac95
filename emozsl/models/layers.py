"""Building blocks shared by several backbones; every one masks padding (see sequence.py)."""

from __future__ import annotations

import math

import torch
from torch import nn

from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.models.sequence import BiRNN, Steps, causal_mask, sinusoidal_positions

POOLINGS = ("final-states", "last-step-sum")


def check_heads(heads: int, width: int, width_option: str = "d") -> None:
    """Attention splits its width evenly among its heads: a FieldError on the option `heads` naming
    the width and the option that sets it (build_model names them `model_options.*`)."""
    if width % heads:
        raise FieldError("heads", heads, f"must divide the width {width} set by {width_option} "
                                         f"(attention heads split it evenly)")


class LSTMEncoder(nn.Module):
    """Steps (B, T, D) -> vector (B, H or 2H): a bidirectional LSTM over the real steps.

    'final-states': the final hidden state of each direction (the backward one has read the whole
    sequence). 'last-step-sum': EmoEmbs' original output at the last step, where the backward
    direction has seen one step only; kept for faithful comparison. `combine` sums the two
    directions (EmoEmbs) or concatenates them."""

    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float,
                 pooling: str = "final-states", combine: str = "sum"):
        super().__init__()
        self.hidden, self.pooling = hidden, check_choice("pooling", pooling, POOLINGS)
        self.combine = combine
        self.output_dim = hidden if combine == "sum" else 2 * hidden
        self.lstm = BiRNN("lstm", input_dim, hidden, layers, dropout if layers > 1 else 0.0)

    def forward(self, steps: Steps) -> torch.Tensor:
        output, final = self.lstm(steps)
        if self.pooling == "final-states":
            forward_state, backward_state = final[0], final[1]
        else:
            last = steps.with_values(output).last()
            forward_state, backward_state = last[:, :self.hidden], last[:, self.hidden:]
        if self.combine == "sum":
            return forward_state + backward_state
        return torch.cat([forward_state, backward_state], dim=-1)


class TransformerStream(nn.Module):
    """Steps (B, T, D) -> Steps (B, T, d): projection, input scaled by sqrt(d), sinusoidal positions,
    embedding dropout, pre-LayerNorm transformer encoder layers with padding (and optionally
    causal) masks, final LayerNorm."""

    def __init__(self, input_dim: int, d: int, heads: int, layers: int, ffn: int, dropout: float,
                 embed_dropout: float = 0.0, causal: bool = False):
        super().__init__()
        check_heads(heads, d)
        self.d, self.causal = d, causal
        self.project = nn.Linear(input_dim, d) if input_dim != d else nn.Identity()
        self.embed_dropout = nn.Dropout(embed_dropout)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, steps: Steps) -> Steps:
        x = self.project(steps.values) * math.sqrt(self.d)
        x = self.embed_dropout(x + sinusoidal_positions(x.shape[1], self.d, x.device))
        mask = causal_mask(x.shape[1], x.device) if self.causal else None
        # is_causal given: torch would otherwise compare the mask with a causal one on the host.
        x = self.encoder(x, mask=mask, src_key_padding_mask=steps.padding, is_causal=self.causal)
        return steps.with_values(self.norm(x))


class AttentionPooling(nn.Module):
    """A learned query attends over the real steps: (B, T, d) -> (B, d)."""

    def __init__(self, d: int):
        super().__init__()
        self.query = nn.Parameter(torch.randn(d) / math.sqrt(d))

    def forward(self, values: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """values (B, T, d), padding (B, T) True at padded steps."""
        weights = (values @ self.query).masked_fill(padding, float("-inf")).softmax(-1)
        return (weights.unsqueeze(-1) * values).sum(1)


def check_modalities(model: str, input_dims: dict[str, int], needed: tuple[str, ...] = ()) -> None:
    missing = [m for m in needed if m not in input_dims]
    if missing:
        raise EmozslError(f"{model}: needs modalities {', '.join(needed)} (missing {', '.join(missing)})")


SEQUENCE_POOLINGS = ("mean", "last")


def check_pooling(pooling: str) -> str:
    return check_choice("pooling", pooling, SEQUENCE_POOLINGS)


def pooled(steps: Steps, pooling: str) -> torch.Tensor:
    """Mean over the real steps, or the last real step."""
    return steps.mean() if pooling == "mean" else steps.last()

