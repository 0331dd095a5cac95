"""IEMOCAP's feature formats (docs/data-formats.md):
- the MulT pickles (iemocap_data.pkl aligned, iemocap_data_noalign.pkl unaligned): split ->
  {'text', 'audio', 'vision' (N, T, D), 'labels' (N, 4, 2) one-hot (absent, present) for neutral,
  happy, sad, angry, optionally 'id'};
- the 9-class Python-2 pickles {text,covarep,facet,y}_S.p: 21 steps (the last is dropped to match
  the 20-step pickles) and 11 one-hot columns ('other' and 'unknown' dropped).
Both are pickles: they need --trust-pickle (then `emozsl data convert` writes a safe copy).

Both corpora are multi-class: one emotion (class) per utterance, and the readers check it from the
data rather than train on something else silently (read_mult_pickle, read_iemocap9_folder). A file
whose rows do not carry one emotion each, bar a few (NEARLY_ALL), is an error that gives the counts;
the few rows that carry none or several are left out, counted by cause in the data set's `dropped`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import IMPUTE_DEFAULT, SPLITS, FeatureValues, MultimodalDataset, SplitData, check_array, load_pickle
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
# A multi-class file is read when at least this share of its rows carry exactly one emotion; the
# rest (none, or several) are left out and counted. Below it, the labels mean something else.
NEARLY_ALL = 0.95
# The two conventions of the (N, 4, 2) labels in public code: which of the last axis' two entries is
# 1 when the emotion is present. MulT's pickles (and emozsl's writer): (absent, present); the
# flipped variant some LMF/MulT loaders read: (present, absent).
MULT_CONVENTIONS = {1: "[..., 1] == 1 marks an emotion present (MulT's convention)",
                    0: "[..., 0] == 1 marks an emotion present (the flipped convention of some LMF/MulT loaders)"}


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


def _row_counts(present: np.ndarray) -> np.ndarray:
    """How many rows of a (N, K) presence matrix carry 0, 1 and 2+ emotions."""
    per_row = present.sum(1)
    return np.array([(per_row == 0).sum(), (per_row == 1).sum(), (per_row >= 2).sum()], dtype=np.int64)


def _counts_text(counts: np.ndarray) -> str:
    return f"0: {counts[0]}, 1: {counts[1]}, 2+: {counts[2]} rows"


def _nearly_all_single(counts: np.ndarray) -> bool:
    total = int(counts.sum())
    return total == 0 or counts[1] >= NEARLY_ALL * total


def _one_per_row(present: np.ndarray, none_cause: str, several_cause: str, dropped: dict[str, int]) -> np.ndarray:
    """The rows carrying exactly one emotion; the others counted in `dropped` by cause."""
    per_row = present.sum(1)
    for cause, count in ((none_cause, int((per_row == 0).sum())), (several_cause, int((per_row >= 2).sum()))):
        if count:
            dropped[cause] = dropped.get(cause, 0) + count
    return per_row == 1


def mult_convention(file: Path, labels: dict[str, np.ndarray]) -> int:
    """Which entry of the (N, 4, 2) labels' last axis is 1 when an emotion is present (a key of
    MULT_CONVENTIONS), decided over every split at once: the reading under which (nearly) all rows
    carry exactly one emotion, as IEMOCAP's 4 classes do. Read the other way, each row of one-hot
    pairs carries three emotions (or none). Neither reading, or both, qualifying is a one-line error
    giving how many rows carry 0, 1 and 2+ emotions under each."""
    counts = {entry: sum((_row_counts(raw[..., entry] == 1) for raw in labels.values()), np.zeros(3, np.int64))
              for entry in MULT_CONVENTIONS}
    fitting = [entry for entry in MULT_CONVENTIONS if _nearly_all_single(counts[entry])]
    if len(fitting) == 1:
        return fitting[0]
    why = "neither reading" if not fitting else "both readings"
    raise EmozslError(f"{file}:labels: {why} of the (N, 4, 2) labels give one emotion per row, as IEMOCAP's "
                      f"4 classes need; emotions a row carries when [..., 1] == 1 marks presence: "
                      f"{_counts_text(counts[1])}; when [..., 0] == 1 does: {_counts_text(counts[0])}")


def read_mult_pickle(file: Path, trust_pickle: bool, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    """A MulT IEMOCAP pickle. Its labels' convention is detected from the data (mult_convention) and
    said in the data set's `notes`; the few rows that then carry no emotion, or several, are left
    out, counted in `dropped`."""
    data = load_pickle(file, trust_pickle)
    if not isinstance(data, dict):
        raise EmozslError(f"{file}: expected a dict of splits, found {type(data).__name__}")
    parts, raw_labels, values = {}, {}, FeatureValues(impute)
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
        if "id" in part:
            ids = _ids_as_strings(part["id"], len(labels), f"{file}:{split}/id")
        else:
            ids = np.array([f"{split}/{i}" for i in range(len(labels))])
        parts[split], raw_labels[split] = (arrays, ids), labels
    entry = mult_convention(file, raw_labels)
    splits, dropped = {}, {}
    for split, (arrays, ids) in parts.items():
        present = raw_labels[split][..., entry] == 1
        rows = _one_per_row(present, "no emotion in labels", "several emotions in labels", dropped)
        splits[split] = SplitData({m: a[rows] for m, a in arrays.items()}, present[rows].astype(np.float32), ids[rows])
    return MultimodalDataset("iemocap4", list(IEMOCAP4_EMOTIONS), splits, str(file), values.neg_inf_replaced,
                             dropped=dropped, imputed=values.imputed, notes=[f"labels: {MULT_CONVENTIONS[entry]}"])


def read_iemocap9_folder(folder: Path, trust_pickle: bool, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    """The 9-class folder. Its y_S.p are one-hot over 11 columns, one class per utterance, checked
    on the 11 as stored: a row with no class (all zero) has no label and one with several an
    ambiguous one; such rows, if few (under 1 - NEARLY_ALL of the folder's rows, all splits
    together), are left out and counted in `dropped` ("no class in y", "several classes in y"); if
    more, the labels are not one-hot (a flipped 1 - one-hot file gives 10 a row) and reading them
    is a one-line error giving, for each y file, how many rows carry 0, 1 and 2+ classes. Rows of
    class 'other' or 'unknown' are kept, with no emotion among the 9 (a note says how many)."""
    splits, values, raw_labels = {}, FeatureValues(impute), {}
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
        raw_labels[split] = arrays.pop("labels")
        splits[split] = arrays
    counts = {split: _row_counts(y != 0) for split, y in raw_labels.items()}
    if not _nearly_all_single(sum(counts.values())):
        raise EmozslError(f"{folder}: the labels are not one class per row, as IEMOCAP's 9 classes need "
                          "(classes a row carries: " + "; ".join(
                              f"{IEMOCAP9_FILES['labels'].format(s)} {_counts_text(c)}" for s, c in counts.items()) + ")")
    dropped, outside = {}, 0
    for split, arrays in splits.items():
        y = raw_labels[split]
        rows = _one_per_row(y != 0, "no class in y", "several classes in y", dropped)
        labels = y[rows][:, 1:-1]  # drop 'other' and 'unknown'
        outside += int((labels.sum(1) == 0).sum())
        ids = np.array([f"{split}/{i}" for i in np.flatnonzero(rows)])
        splits[split] = SplitData({m: a[rows] for m, a in arrays.items()}, labels, ids)
    notes = [f"rows of class 'other' or 'unknown', kept with no emotion: {outside}"] if outside else []
    return MultimodalDataset("iemocap9", list(IEMOCAP9_EMOTIONS), splits, str(folder), values.neg_inf_replaced,
                             dropped=dropped, imputed=values.imputed, notes=notes)
