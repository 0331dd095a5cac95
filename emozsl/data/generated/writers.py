"""Writers for the real on-disk formats, so generated data goes through the same readers as a
user's files. (Tests write their own small files independently, to check the readers.)"""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np

from emozsl.data.dataset import MultimodalDataset
from emozsl.data.readers.iemocap import IEMOCAP9_COLUMNS, IEMOCAP9_FILES, IEMOCAP9_STEPS, MULT_KEYS
from emozsl.data.readers.mosei import MOSEI_FILES
from emozsl.errors import EmozslError
from emozsl.fileio import replacing


def write_mosei_folder(dataset: MultimodalDataset, folder: str | Path) -> Path:
    folder = Path(folder)
    for split, data in dataset.splits.items():
        for field_name, pattern in MOSEI_FILES.items():
            array = data.labels if field_name == "labels" else data.features[field_name]
            with replacing(folder / pattern.format(split)) as tmp, h5py.File(tmp, "w") as h5:
                h5.create_dataset("d1", data=array)
    return folder


def write_mult_pickle(dataset: MultimodalDataset, file: str | Path) -> Path:
    """MulT layout: split -> {'text','audio','vision','labels' (N,K,2), 'id'}."""
    out = {}
    for split, data in dataset.splits.items():
        present = (data.labels > 0).astype(np.float32)
        part = {key: data.features[modality] for modality, key in MULT_KEYS.items()}
        part["labels"] = np.stack([1 - present, present], axis=-1)
        part["id"] = data.ids.astype(object)
        out[split] = part
    file = Path(file)
    with replacing(file) as tmp, open(tmp, "wb") as f:
        pickle.dump(out, f, protocol=4)
    return file


def write_iemocap9_folder(dataset: MultimodalDataset, folder: str | Path) -> Path:
    """The 9-class .p layout: 21 time steps (the reader drops the last) and 11 one-hot columns."""
    folder = Path(folder)
    for split, data in dataset.splits.items():
        arrays = {}
        for modality in ("text", "audio", "visual"):
            seq = data.features[modality]
            if seq.shape[1] != IEMOCAP9_STEPS - 1:
                raise EmozslError(f"{modality}: the 9-class format holds aligned 20-step sequences, "
                                  f"not {seq.shape[1]}")
            arrays[modality] = np.concatenate([seq, seq[:, -1:]], axis=1)
        labels = np.zeros((len(data), len(IEMOCAP9_COLUMNS)), np.float32)
        labels[:, 1:-1] = data.labels > 0
        arrays["labels"] = labels
        for field_name, pattern in IEMOCAP9_FILES.items():
            with replacing(folder / pattern.format(split)) as tmp, open(tmp, "wb") as f:
                pickle.dump(arrays[field_name], f, protocol=2)  # protocol 2: what Python 2 wrote
    return folder
