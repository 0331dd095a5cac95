"""CMU-MOSEI's processed emotion folder, as the EmoEmbs code reads it (docs/data-formats.md):
{text_S_emb,audio_S,video_S,ey_S}.h5 for S in train, valid, test, each array under key 'd1':
text (N, 20, 300) GloVe, audio (N, 20, 74) COVAREP (holds -inf), video (N, 20, 35) FACET, labels
(N, 6) intensities in the order anger, disgust, fear, happy, sad, surprise (CMU SDK issue 124).
A folder without the ey files is read unlabelled (data to score), with the splits whose three
feature files it holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import IMPUTE_DEFAULT, SPLITS, FeatureValues, MultimodalDataset, SplitData, check_array
from emozsl.data.hdf5 import h5_array, open_h5
from emozsl.errors import EmozslError

MOSEI_EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
MOSEI_FILES = {"text": "text_{}_emb.h5", "audio": "audio_{}.h5", "visual": "video_{}.h5", "labels": "ey_{}.h5"}
# The CMU SDK's 'All Labels' columns (docs/data-formats.md): a 7-column labels array is the SDK's, not EmoEmbs'.
SDK_LABEL_COLUMNS = ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
FEATURE_FIELDS = ("text", "audio", "visual")


def _has_features(folder: Path, split: str) -> bool:
    return all((folder / MOSEI_FILES[f].format(split)).exists() for f in FEATURE_FIELDS)


def mosei_folder(path: Path) -> Path | None:
    """A labelled folder (ey_train.h5), or an unlabelled one holding one split's three feature files."""
    if not path.is_dir():
        return None
    if (path / MOSEI_FILES["labels"].format("train")).exists() or any(_has_features(path, s) for s in SPLITS):
        return path
    return None


def _present_splits(folder: Path) -> tuple[list[str], bool]:
    """The splits to read and whether they are labelled. A split is present when any of its feature
    files is; present, it needs all three, and either every present split has its ey file or none
    does. A labelled folder needs all three splits, as before (MultimodalDataset checks)."""
    splits = [s for s in SPLITS if any((folder / MOSEI_FILES[f].format(s)).exists()
                                       for f in (*FEATURE_FIELDS, "labels"))]
    for split in splits:
        for field_name in FEATURE_FIELDS:
            file = folder / MOSEI_FILES[field_name].format(split)
            if not file.exists():
                raise EmozslError(f"{file}: missing file (the {split} split's {field_name} features)")
    labelled = [(folder / MOSEI_FILES["labels"].format(s)).exists() for s in splits]
    if any(labelled) and not all(labelled):
        missing = folder / MOSEI_FILES["labels"].format(splits[labelled.index(False)])
        raise EmozslError(f"{missing}: missing file (the other splits have their labels; remove every "
                          f"ey_*.h5 to read the folder without labels)")
    return splits, all(labelled)


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


def read_mosei_folder(folder: Path, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    """The three splits with labels, or (without any ey_*.h5) the splits whose feature files are
    there, unlabelled: labels (N, 0). Errors: EmozslError, one line naming the file and key.
    `impute`: FeatureValues."""
    present, labelled = _present_splits(folder)
    if labelled:  # a labelled folder missing a whole split is reported as before: the split's first file
        present = list(SPLITS)
    splits, values = {}, FeatureValues(impute)
    for split in present:
        arrays = {}
        for field_name, pattern in MOSEI_FILES.items():
            file = folder / pattern.format(split)
            where = f"{file}:d1"
            if field_name == "labels":
                if labelled:
                    arrays[field_name] = check_mosei_labels(_read_d1(file), where)
            else:
                arrays[field_name] = values.check(_read_d1(file), where, f"{split}/{field_name}",
                                                  covarep=field_name == "audio")
        n = len(arrays["text"])
        labels = arrays.pop("labels") if labelled else np.zeros((n, 0), dtype=np.float32)
        ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("mosei", list(MOSEI_EMOTIONS) if labelled else [], splits, str(folder),
                             values.neg_inf_replaced, imputed=values.imputed, labelled=labelled)
