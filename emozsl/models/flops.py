"""FLOPs of FE2E/MESM's feature extraction (the audio and visual CNNs) for one utterance, measured
by torch's FLOP counter on the operations that run. MESM is counted on its 'gather' implementation,
whose convolutions multiply the kept positions only (the paper's sparse arithmetic, so the count
falls with top_p); training and scoring run the 'masked' implementation, dense convolutions masked
to the same positions (mesm.py): the same result in less time, not fewer FLOPs. The text encoder is
left out, as in the paper's figure. The selection comes from a randomly initialised model on random inputs: a trained
model's attention is sharper, so it keeps fewer positions for the same p."""

from __future__ import annotations

import math

import torch
from torch.utils.flop_counter import FlopCounterMode

from emozsl.data.media.decode import MediaSettings
from emozsl.data.media.refs import MEDIA_STEP_DIMS
from emozsl.errors import FieldError
from emozsl.models.build import build_model
from emozsl.models.mesm import SparseCNN
from emozsl.models.registry import resolve_options
from emozsl.models.sequence import LENGTHS

TOP_PS = tuple(round(0.1 * k, 1) for k in range(1, 11))
WORDS_PER_SECOND = 2.5
MAX_SECONDS = 600


def utterance(backbone, seconds: float, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random inputs shaped like one utterance of `seconds`: mel chunks, a frame per 500 ms, words
    (tokenised by the backbone's own tokenizer)."""
    media = MediaSettings()
    frames = 1 + int(seconds * media.sample_rate) // media.hop
    chunks = math.ceil(frames / media.chunk_frames)
    images = max(1, int(seconds / media.frame_interval))
    words = max(1, round(seconds * WORDS_PER_SECOND))
    ids = torch.from_numpy(backbone.tokenize([" ".join(f"word{k}" for k in range(words))])[0])[None]
    return {"text": ids, LENGTHS: {"text": torch.tensor([ids.shape[1]])},
            "audio": torch.randn(1, chunks, 1, media.n_mels, media.chunk_frames, generator=generator),
            "visual": torch.rand(1, images, 3, media.face_size, media.face_size, generator=generator) * 255}


@torch.no_grad()
def feature_extraction_flops(name: str, seconds: float, options: dict | None = None, seed: int = 0) -> int:
    torch.manual_seed(seed)
    backbone = build_model(name, MEDIA_STEP_DIMS, 50, resolve_options(name, options)).backbone.eval()
    inputs = utterance(backbone, seconds, torch.Generator().manual_seed(seed))
    query = backbone.query(backbone.text_vector(inputs))
    with FlopCounterMode(display=False) as counter:
        for modality, stream in backbone.streams.items():
            if isinstance(stream.cnn, SparseCNN):
                stream.cnn.implementation = "gather"  # the sparse arithmetic (module docstring)
            items = stream.normalised(inputs[modality][0])
            stream.cnn(items, None if query is None else query.expand(len(items), -1))
    return counter.get_total_flops()


def flops_table(seconds: float = 5.0, options: dict | None = None) -> str:
    """GFLOPs of MESM's feature extraction against top_p, and FE2E's, for one utterance."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise FieldError("seconds", seconds, f"must be above 0 and at most {MAX_SECONDS}")
    options = dict(options or {})
    shared = {k: v for k, v in options.items() if k != "top_p"}
    mesm = [feature_extraction_flops("mesm", seconds, {**shared, "top_p": p}) / 1e9 for p in TOP_PS]
    fe2e = feature_extraction_flops("fe2e", seconds, shared) / 1e9
    header = "| top-p | " + " | ".join(f"{p:g}" for p in TOP_PS) + " | FE2E |"
    rule = "|---" * (len(TOP_PS) + 2) + "|"
    row = "| GFLOPs | " + " | ".join(f"{g:.3f}" for g in mesm) + f" | {fe2e:.3f} |"
    settings = ", ".join(f"{k}={v}" for k, v in sorted(shared.items())) or "default options"
    note = ("MESM counted on its 'gather' implementation (the paper's sparse arithmetic: kept positions only); "
            "training runs the 'masked' one (dense convolutions masked to the same positions: same result, faster).")
    return (f"Feature extraction (audio + visual CNNs) for one {seconds:g} s utterance, {settings}:\n\n{header}\n"
            f"{rule}\n{row}\n\n{note}")
