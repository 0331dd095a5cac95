"""Raw-media references: what a raw data set (FE2E/MESM inputs) holds per utterance instead of
feature arrays: a transcript, where its audio is (a file, or samples and rate), where its frames are
(a folder of images or a video). Decoding happens later, once, into the preprocessing cache
(media_cache.py), when a model reads them; splits, manifests, fingerprints and `data info` work on
references as on feature arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emozsl.data.dataset import SplitData
from emozsl.data.media.decode import MediaSettings

MEDIA_KINDS = ("text", "audio", "visual")
# The size of one preprocessed step, what `input_dims` reports for a raw modality: audio mel bins
# (from the media settings), visual colour channels, text one token id.
MEDIA_STEP_DIMS = {"text": 1, "audio": MediaSettings().n_mels, "visual": 3}
DEFAULT_FPS = 2.0


@dataclass(frozen=True)
class AudioRef:
    """An utterance's audio: a file (with the rate the data state, if any) or samples and rate."""
    path: str | None = None
    samples: np.ndarray | None = None
    rate: int | None = None


@dataclass(frozen=True)
class FramesRef:
    """An utterance's frames: a folder of images (files starting with `prefix`) at `fps`, or a video."""
    folder: str | None = None
    prefix: str = ""
    fps: float = DEFAULT_FPS
    video: str | None = None


class MediaColumn:
    """One modality of a raw data set: (N,) references (transcripts, AudioRefs or FramesRefs)."""

    def __init__(self, kind: str, items):
        if kind not in MEDIA_KINDS:
            raise ValueError(kind)
        self.kind = kind
        self.items = np.empty(len(items), dtype=object)
        self.items[:] = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, rows) -> MediaColumn:
        return MediaColumn(self.kind, self.items[rows])

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.items), MEDIA_STEP_DIMS[self.kind])

    @staticmethod
    def concat(columns: list[MediaColumn]) -> MediaColumn:
        return MediaColumn(columns[0].kind, np.concatenate([c.items for c in columns]))


def media_split(part: dict, k: int) -> SplitData:
    """A raw split from lists of ids, label rows, transcripts, AudioRefs, FramesRefs and uni-modal labels."""
    features = {"text": MediaColumn("text", part["text"]), "audio": MediaColumn("audio", part["audio"]),
                "visual": MediaColumn("visual", part["visual"])}
    n = len(part["ids"])  # not -1: numpy cannot infer the rows of (N, 0) labels (unlabelled data, k = 0)
    labels = np.asarray(part["labels"], dtype=np.float32).reshape(n, k)
    uni = {m: np.asarray(v, dtype=np.float32).reshape(n, k) for m, v in part["uni"].items()}
    return SplitData(features, labels, np.array(part["ids"], dtype=str), uni)
