"""IEMOCAP's feature formats (protocol.md section 4):
- the MulT pickles (iemocap_data.pkl aligned, iemocap_data_noalign.pkl unaligned): split ->
  {'text', 'audio', 'vision' (N, T, D), 'labels' (N, 4, 2) one-hot (absent, present) for neutral,
  happy, sad, angry, optionally 'id'};
- the 9-class Python-2 pickles {text,covarep,facet,y}_S.p: 21 steps (the last is dropped to match
  the 20-step pickles) and 11 one-hot columns ('other' and 'unknown' dropped).
Both are pickles: they need --trust-pickle (then `emozsl data convert` writes a safe copy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import SPLITS, FeatureValues, MultimodalDataset, SplitData, check_array, load_pickle
from emozsl.errors import EmozslError

IEMOCAP4_EMOTIONS = ["neutral", "happy", "sad", "angry"]
IEMOCAP9_COLUMNS = ["other", "anger", "excited", "fear", "sad", "surprised", "frustrated", "happy",
                    "neutral", "disgust", "unknown"]
IEMOCAP9_EMOTIONS = IEMOCAP9_COLUMNS[1:-1]
IEMOCAP9_STEPS = 21  # the .p files hold one step more than the 20-step MulT pickles
MULT_KEYS = {"text": "text", "audio": "audio", "visual": "vision"}
IEMOCAP9_FILES = {"text": "text_{}.p", "audio": "covarep_{}.p", "visual": "facet_{}.p", "labels": "y_{}.p"}
PICKLE_SUFFIXES = (".pkl", ".pickle")
# Keys of the MMSA toolkit's pickles (sentiment regression data sets, no emotion labels).
MMSA_KEYS = ("regression_labels", "classification_labels")


def iemocap9_folder(path: Path) -> Path | None:
    return path if path.is_dir() and (path / IEMOCAP9_FILES["labels"].format("train")).exists() else None


def mult_pickle(path: Path) -> Path | None:
    return path if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES else None


def _ids_as_strings(raw, n: int, where: str) -> np.ndarray:
    raw = np.asarray(raw)
    if len(raw) != n:
        raise EmozslError(f"{where}: {len(raw)} ids for {n} samples")

    def text(v):
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)

    if raw.ndim == 1:
        return np.array([text(v) for v in raw])
    return np.array(["_".join(text(v) for v in row.ravel()) for row in raw])


def read_mult_pickle(file: Path, trust_pickle: bool, impute: str = "none") -> MultimodalDataset:
    data = load_pickle(file, trust_pickle)
    if not isinstance(data, dict):
        raise EmozslError(f"{file}: expected a dict of splits, found {type(data).__name__}")
    splits, values = {}, FeatureValues(impute)
    for split in SPLITS:
        if split not in data:
            raise EmozslError(f"{file}: no split '{split}' (keys: {sorted(map(str, data))})")
        part = data[split]
        if isinstance(part, dict) and any(k in part for k in MMSA_KEYS):
            raise EmozslError(f"{file}: an MMSA pickle (split '{split}' holds {', '.join(k for k in MMSA_KEYS if k in part)}): "
                              "sentiment labels, no emotion labels; emozsl reads CMU-MOSEI emotions from the "
                              "processed HDF5 folder (ey_train.h5, ...) or the CMU SDK's .csd folder")
        arrays = {}
        for modality, key in MULT_KEYS.items():
            if key not in part:
                raise EmozslError(f"{file}: split '{split}' has no key '{key}'")
            arrays[modality] = values.check(part[key], f"{file}:{split}/{key}", f"{split}/{modality}",
                                            covarep=modality == "audio")
        if "labels" not in part:
            raise EmozslError(f"{file}: split '{split}' has no key 'labels'")
        raw = np.asarray(part["labels"])
        if raw.ndim == 3 and raw.shape[1:] == (1, 1):
            raise EmozslError(f"{file}:{split}/labels: shape {raw.shape} holds sentiment scores, not "
                              "emotion labels (a MOSEI sentiment pickle); use the MOSEI emotion HDF5 folder")
        labels = check_array(raw, f"{file}:{split}/labels", 3)
        if labels.shape[1:] != (len(IEMOCAP4_EMOTIONS), 2):
            raise EmozslError(f"{file}:{split}/labels: expected shape (N, 4, 2), found {labels.shape}")
        arrays["labels"] = (labels[..., 1] == 1).astype(np.float32)  # [..., 1] == 1 means present
        labels = arrays.pop("labels")
        if "id" in part:
            ids = _ids_as_strings(part["id"], len(labels), f"{file}:{split}/id")
        else:
            ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("iemocap4", list(IEMOCAP4_EMOTIONS), splits, str(file), values.neg_inf_replaced,
                             imputed=values.imputed)


def read_iemocap9_folder(folder: Path, trust_pickle: bool, impute: str = "none") -> MultimodalDataset:
    splits, values = {}, FeatureValues(impute)
    for split in SPLITS:
        arrays = {}
        for field_name, pattern in IEMOCAP9_FILES.items():
            file = folder / pattern.format(split)
            raw = load_pickle(file, trust_pickle)
            if field_name == "labels":
                arrays[field_name] = check_array(raw, str(file), 2, len(IEMOCAP9_COLUMNS))
                continue
            array = values.check(raw, str(file), f"{split}/{field_name}", covarep=field_name == "audio")
            if array.shape[1] != IEMOCAP9_STEPS:
                raise EmozslError(f"{file}: expected {IEMOCAP9_STEPS} time steps, found shape {array.shape}")
            arrays[field_name] = array[:, :-1]  # drop the last step to match the 20-step pickles
        labels = arrays.pop("labels")[:, 1:-1]  # drop 'other' and 'unknown'
        ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("iemocap9", list(IEMOCAP9_EMOTIONS), splits, str(folder), values.neg_inf_replaced,
                             imputed=values.imputed)
