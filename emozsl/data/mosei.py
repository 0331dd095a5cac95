"""CMU-MOSEI's processed emotion folder, as the EmoEmbs code reads it (protocol.md section 4):
{text_S_emb,audio_S,video_S,ey_S}.h5 for S in train, valid, test, each array under key 'd1':
text (N, 20, 300) GloVe, audio (N, 20, 74) COVAREP (holds -inf), video (N, 20, 35) FACET, labels
(N, 6) intensities in the order anger, disgust, fear, happy, sad, surprise (CMU SDK issue 124).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import SPLITS, FeatureValues, MultimodalDataset, SplitData, check_array
from emozsl.data.hdf5 import h5_array, open_h5
from emozsl.errors import EmozslError

MOSEI_EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
MOSEI_FILES = {"text": "text_{}_emb.h5", "audio": "audio_{}.h5", "visual": "video_{}.h5", "labels": "ey_{}.h5"}
# The CMU SDK's 'All Labels' columns (csd.md): a 7-column labels array is the SDK's, not EmoEmbs'.
SDK_LABEL_COLUMNS = ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]


def mosei_folder(path: Path) -> Path | None:
    return path if path.is_dir() and (path / MOSEI_FILES["labels"].format("train")).exists() else None


def _read_d1(file: Path) -> np.ndarray:
    with open_h5(file) as h5:
        return h5_array(h5, "d1", str(file))


def check_mosei_labels(array: np.ndarray, where: str) -> np.ndarray:
    """(N, 6) MOSEI emotion intensities, 0 to 3 (a few exceed 3: SDK issue 8; an emotion is present
    when > 0); the SDK's 7-column 'All Labels' gets a pointer instead, a negative intensity an error."""
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] == len(SDK_LABEL_COLUMNS):
        raise EmozslError(f"{where}: {array.shape[1]} columns look like the CMU SDK's 'All Labels' "
                          f"({', '.join(SDK_LABEL_COLUMNS)}); emozsl reads {len(MOSEI_EMOTIONS)} emotion columns "
                          f"({', '.join(MOSEI_EMOTIONS)}): pass the SDK's folder of .csd files instead")
    labels = check_array(array, where, 2, len(MOSEI_EMOTIONS))
    negative = np.argwhere(labels < 0)
    if len(negative):
        row, column = negative[0]
        raise EmozslError(f"{where}: row {row}, {MOSEI_EMOTIONS[column]}: intensity {labels[row, column]:g} "
                          f"is negative ({len(negative)} such values); emotion intensities run from 0 to 3")
    return labels


def read_mosei_folder(folder: Path, impute: str = "none") -> MultimodalDataset:
    """Errors: EmozslError, one line naming the file and key. `impute`: FeatureValues."""
    splits, values = {}, FeatureValues(impute)
    for split in SPLITS:
        arrays = {}
        for field_name, pattern in MOSEI_FILES.items():
            file = folder / pattern.format(split)
            where = f"{file}:d1"
            if field_name == "labels":
                arrays[field_name] = check_mosei_labels(_read_d1(file), where)
            else:
                arrays[field_name] = values.check(_read_d1(file), where, f"{split}/{field_name}",
                                                  covarep=field_name == "audio")
        labels = arrays.pop("labels")
        ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("mosei", list(MOSEI_EMOTIONS), splits, str(folder), values.neg_inf_replaced,
                             imputed=values.imputed)
