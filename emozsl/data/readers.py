"""Exact readers for the real on-disk formats (protocol.md section 4) and the safe HDF5 copy.

- CMU-MOSEI emotion folder: {text_S_emb,audio_S,video_S,ey_S}.h5, array under key 'd1'.
- MulT IEMOCAP pickles (iemocap_data.pkl aligned, iemocap_data_noalign.pkl unaligned).
- IEMOCAP 9-class Python-2 pickles: {text,covarep,facet,y}_S.p, 21 steps (the last is dropped).
- CHERMA-style folders: {split}.json + one .npy per utterance and modality (data/cherma.py).
- raw media (FE2E/MESM): the released MESM layout and a pickle-free table (data/raw.py).
- emozsl's own HDF5 copy (`data convert`), which loads without trusting any pickle.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import h5py
import numpy as np

from emozsl.data.cherma import is_cherma_folder, read_cherma_folder
from emozsl.data.dataset import (
    MODALITIES,
    SPLITS,
    MultimodalDataset,
    SplitData,
    check_array,
    check_same_n,
    load_pickle,
)
from emozsl.data.raw import mesm_root, read_mesm_folder, read_raw_table, table_path
from emozsl.errors import EmozslError, first_line
from emozsl.fileio import replacing

MOSEI_EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
IEMOCAP4_EMOTIONS = ["neutral", "happy", "sad", "angry"]
IEMOCAP9_COLUMNS = ["other", "anger", "excited", "fear", "sad", "surprised", "frustrated", "happy",
                    "neutral", "disgust", "unknown"]
IEMOCAP9_EMOTIONS = IEMOCAP9_COLUMNS[1:-1]
IEMOCAP9_STEPS = 21  # the .p files hold one step more than the 20-step MulT pickles

MOSEI_FILES = {"text": "text_{}_emb.h5", "audio": "audio_{}.h5", "visual": "video_{}.h5", "labels": "ey_{}.h5"}
MULT_KEYS = {"text": "text", "audio": "audio", "visual": "vision"}
IEMOCAP9_FILES = {"text": "text_{}.p", "audio": "covarep_{}.p", "visual": "facet_{}.p", "labels": "y_{}.p"}
SAFE_FORMAT_VERSION = 1
SAFE_ATTRIBUTES = ("emozsl_format", "name", "emotions", "source", "neg_inf_replaced")

DEFAULT_DATA = "data/synth-mosei"


def default_data_path() -> str:
    """$EMOZSL_DATA, else data/synth-mosei (what `emozsl data synth data/synth-mosei` writes)."""
    return os.environ.get("EMOZSL_DATA", DEFAULT_DATA)


def load_dataset(path: str | Path, trust_pickle: bool = False) -> MultimodalDataset:
    """Read any supported format, detected from what is at `path`."""
    path = Path(path)
    if not path.exists():
        raise EmozslError(f"{path}: no such file or folder (pass --data, or generate data there with "
                          f"`emozsl data synth {path}`)")
    table = table_path(path)
    if table is not None:
        return read_raw_table(table)
    root = mesm_root(path) if path.is_dir() else None
    if root is not None:
        return read_mesm_folder(root, trust_pickle)
    if path.is_dir():
        if (path / MOSEI_FILES["labels"].format("train")).exists():
            return read_mosei_folder(path)
        if (path / IEMOCAP9_FILES["labels"].format("train")).exists():
            return read_iemocap9_folder(path, trust_pickle)
        if is_cherma_folder(path):
            return read_cherma_folder(path)
        raise EmozslError(f"{path}: not a CMU-MOSEI folder (no {MOSEI_FILES['labels'].format('train')}), "
                          f"an IEMOCAP 9-class folder (no {IEMOCAP9_FILES['labels'].format('train')}) "
                          "nor a CHERMA folder (no train.json)")
    if path.suffix in (".h5", ".hdf5"):
        return read_safe_h5(path)
    if path.suffix in (".pkl", ".pickle"):
        return read_mult_pickle(path, trust_pickle)
    raise EmozslError(f"{path}: unknown format (expected a folder, a .pkl, .h5, .csv or .jsonl file)")


@contextlib.contextmanager
def _open_h5(file: Path):
    """An HDF5 file for reading; a missing, truncated or corrupt one is a one-line error."""
    if not file.exists():
        raise EmozslError(f"{file}: missing file")
    try:
        with h5py.File(file, "r") as h5:
            yield h5
    except OSError as exc:  # h5py reports unreadable files and failed reads as OSError
        raise EmozslError(f"{file}: not a readable HDF5 file ({first_line(exc)})") from None


def _h5_array(h5, key: str, where: str) -> np.ndarray:
    if key not in h5 or not isinstance(h5[key], h5py.Dataset):
        raise EmozslError(f"{where}: no array '{key}' (keys: {sorted(h5.keys())})")
    return h5[key][()]


def _read_h5_d1(file: Path) -> np.ndarray:
    with _open_h5(file) as h5:
        return _h5_array(h5, "d1", str(file))


def read_mosei_folder(folder: Path) -> MultimodalDataset:
    splits, replaced = {}, {}
    for split in SPLITS:
        arrays = {}
        for field_name, pattern in MOSEI_FILES.items():
            file = folder / pattern.format(split)
            where = f"{file}:d1"
            if field_name == "labels":
                arrays[field_name], _ = check_array(_read_h5_d1(file), where, 2, len(MOSEI_EMOTIONS))
            else:
                arrays[field_name], count = check_array(_read_h5_d1(file), where, 3,
                                                        allow_neg_inf=field_name == "audio")
                if count:
                    replaced[f"{split}/{field_name}"] = count
        labels = arrays.pop("labels")
        ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("mosei", list(MOSEI_EMOTIONS), splits, str(folder), replaced)


def _ids_as_strings(raw, n: int, where: str) -> np.ndarray:
    raw = np.asarray(raw)
    if len(raw) != n:
        raise EmozslError(f"{where}: {len(raw)} ids for {n} samples")

    def text(v):
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)

    if raw.ndim == 1:
        return np.array([text(v) for v in raw])
    return np.array(["_".join(text(v) for v in row.ravel()) for row in raw])


def read_mult_pickle(file: Path, trust_pickle: bool) -> MultimodalDataset:
    data = load_pickle(file, trust_pickle)
    if not isinstance(data, dict):
        raise EmozslError(f"{file}: expected a dict of splits, found {type(data).__name__}")
    splits, replaced = {}, {}
    for split in SPLITS:
        if split not in data:
            raise EmozslError(f"{file}: no split '{split}' (keys: {sorted(map(str, data))})")
        part = data[split]
        arrays = {}
        for modality, key in MULT_KEYS.items():
            if key not in part:
                raise EmozslError(f"{file}: split '{split}' has no key '{key}'")
            arrays[modality], count = check_array(part[key], f"{file}:{split}/{key}", 3,
                                                  allow_neg_inf=modality == "audio")
            if count:
                replaced[f"{split}/{modality}"] = count
        if "labels" not in part:
            raise EmozslError(f"{file}: split '{split}' has no key 'labels'")
        raw = np.asarray(part["labels"])
        if raw.ndim == 3 and raw.shape[1:] == (1, 1):
            raise EmozslError(f"{file}:{split}/labels: shape {raw.shape} holds sentiment scores, not "
                              "emotion labels (a MOSEI sentiment pickle); use the MOSEI emotion HDF5 folder")
        labels, _ = check_array(raw, f"{file}:{split}/labels", 3)
        if labels.shape[1:] != (len(IEMOCAP4_EMOTIONS), 2):
            raise EmozslError(f"{file}:{split}/labels: expected shape (N, 4, 2), found {labels.shape}")
        arrays["labels"] = (labels[..., 1] == 1).astype(np.float32)  # [..., 1] == 1 means present
        labels = arrays.pop("labels")
        if "id" in part:
            ids = _ids_as_strings(part["id"], len(labels), f"{file}:{split}/id")
        else:
            ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("iemocap4", list(IEMOCAP4_EMOTIONS), splits, str(file), replaced)


def read_iemocap9_folder(folder: Path, trust_pickle: bool) -> MultimodalDataset:
    splits, replaced = {}, {}
    for split in SPLITS:
        arrays = {}
        for field_name, pattern in IEMOCAP9_FILES.items():
            file = folder / pattern.format(split)
            raw = load_pickle(file, trust_pickle)
            if field_name == "labels":
                arrays[field_name], _ = check_array(raw, str(file), 2, len(IEMOCAP9_COLUMNS))
                continue
            array, count = check_array(raw, str(file), 3, allow_neg_inf=field_name == "audio")
            if array.shape[1] != IEMOCAP9_STEPS:
                raise EmozslError(f"{file}: expected {IEMOCAP9_STEPS} time steps, found shape {array.shape}")
            arrays[field_name] = array[:, :-1]  # drop the last step to match the 20-step pickles
            if count:
                replaced[f"{split}/{field_name}"] = count
        labels = arrays.pop("labels")[:, 1:-1]  # drop 'other' and 'unknown'
        ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        splits[split] = SplitData(arrays, labels, ids)
    return MultimodalDataset("iemocap9", list(IEMOCAP9_EMOTIONS), splits, str(folder), replaced)


def write_safe_h5(dataset: MultimodalDataset, file: str | Path) -> Path:
    """Write a copy that loads without unpickling (the target of `data convert`)."""
    file = Path(file)
    if dataset.kind == "raw":
        raise EmozslError(f"{file}: raw media are copied as a table of paths (data.raw.write_raw_table, OUT.csv), "
                          "not into HDF5")
    with replacing(file) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["emozsl_format"] = SAFE_FORMAT_VERSION
        h5.attrs["name"] = dataset.name
        h5.attrs["emotions"] = json.dumps(dataset.emotions)
        h5.attrs["source"] = dataset.source
        h5.attrs["neg_inf_replaced"] = json.dumps(dataset.neg_inf_replaced)
        for split, data in dataset.splits.items():
            group = h5.create_group(split)
            for modality, array in data.features.items():
                group.create_dataset(modality, data=array)
            group.create_dataset("labels", data=data.labels)
            for modality, array in data.modality_labels.items():
                group.create_dataset(f"labels_{modality}", data=array)
            group.create_dataset("ids", data=data.ids.astype(object), dtype=h5py.string_dtype())
    return file


def read_safe_h5(file: Path) -> MultimodalDataset:
    with _open_h5(file) as h5:
        missing = [a for a in SAFE_ATTRIBUTES if a not in h5.attrs]
        if "emozsl_format" in missing:
            raise EmozslError(f"{file}: not an emozsl data file (no 'emozsl_format' attribute); "
                              "a MOSEI .h5 belongs in its folder, pass the folder")
        if missing:
            raise EmozslError(f"{file}: no attribute(s) {', '.join(missing)}")
        if h5.attrs["emozsl_format"] != SAFE_FORMAT_VERSION:
            raise EmozslError(f"{file}: emozsl data format {h5.attrs['emozsl_format']}, this emozsl reads "
                              f"format {SAFE_FORMAT_VERSION} (convert the source again with `emozsl data convert`)")
        try:
            emotions, neg_inf_replaced = json.loads(h5.attrs["emotions"]), json.loads(h5.attrs["neg_inf_replaced"])
        except (TypeError, json.JSONDecodeError):
            raise EmozslError(f"{file}: attributes emotions and neg_inf_replaced must hold JSON") from None
        if not isinstance(emotions, list) or not all(isinstance(e, str) for e in emotions):
            raise EmozslError(f"{file}: attribute emotions must be a JSON list of names")
        splits = {}
        for split in SPLITS:
            if split not in h5:
                raise EmozslError(f"{file}: no group '{split}'")
            group, where = h5[split], f"{file}:{split}"
            features = {}
            for modality in (m for m in MODALITIES if m in group):
                features[modality], _ = check_array(group[modality][()], f"{where}/{modality}", 3)
            labels, _ = check_array(_h5_array(group, "labels", where), f"{where}/labels", 2, len(emotions))
            modality_labels = {m: check_array(group[f"labels_{m}"][()], f"{where}/labels_{m}", 2,
                                              len(emotions))[0] for m in features if f"labels_{m}" in group}
            ids = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in _h5_array(group, "ids", where)])
            check_same_n({**features, "labels": labels, "ids": ids, **modality_labels}, f"{file} ({split} split)")
            splits[split] = SplitData(features, labels, ids, modality_labels)
        return MultimodalDataset(str(h5.attrs["name"]), emotions, splits, str(h5.attrs["source"]), neg_inf_replaced)
