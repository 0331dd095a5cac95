"""emozsl's own HDF5 copy of a data set (`emozsl data convert`): loads without trusting any pickle.

Layout: attributes emozsl_format (version), name, emotions (JSON list), source, neg_inf_replaced,
dropped, imputed and notes (JSON; the last three optional, the source's counts, so a copy keeps the
source's fingerprint), labelled (optional, default true), corpus (optional: a name of
data.corpora.CORPORA; a copy without it follows the corpus its name stands for); one group per split
holding one (N, T, D) float32 array per modality, labels (N, K), optional labels_<modality> (N, K),
and ids (N,) strings. Unlabelled data (labelled
false: no emotions, (N, 0) labels) hold any of the splits, or the one split UNSPLIT.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from emozsl.data.corpora import CORPORA, Corpus, corpus_named
from emozsl.data.dataset import (
    IMPUTE_DEFAULT,
    MODALITIES,
    SPLITS,
    UNSPLIT,
    FeatureValues,
    MultimodalDataset,
    SplitData,
    check_array,
    check_same_n,
)
from emozsl.data.hdf5 import h5_array, open_h5
from emozsl.errors import EmozslError
from emozsl.fileio import replacing

SAFE_FORMAT_VERSION = 1
SAFE_ATTRIBUTES = ("emozsl_format", "name", "emotions", "source", "neg_inf_replaced")
HDF5_SUFFIXES = (".h5", ".hdf5")


def safe_h5_file(path: Path) -> Path | None:
    return path if path.is_file() and path.suffix.lower() in HDF5_SUFFIXES else None


def write_safe_h5(dataset: MultimodalDataset, file: str | Path) -> Path:
    """Write a copy that loads without unpickling (the target of `data convert`)."""
    file = Path(file)
    if dataset.kind == "raw":
        raise EmozslError(f"{file}: raw media are copied as a table of paths (OUT.csv), "
                          "not into HDF5")
    with replacing(file) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["emozsl_format"] = SAFE_FORMAT_VERSION
        h5.attrs["name"] = dataset.name
        h5.attrs["emotions"] = json.dumps(dataset.emotions)
        h5.attrs["source"] = dataset.source
        h5.attrs["neg_inf_replaced"] = json.dumps(dataset.neg_inf_replaced)
        h5.attrs["dropped"] = json.dumps(dataset.dropped)
        h5.attrs["imputed"] = json.dumps(dataset.imputed)
        h5.attrs["notes"] = json.dumps(dataset.notes)
        h5.attrs["labelled"] = bool(dataset.labelled)
        if dataset.corpus is not None:
            h5.attrs["corpus"] = dataset.corpus.name
        for split, data in dataset.splits.items():
            group = h5.create_group(split)
            for modality, array in data.features.items():
                group.create_dataset(modality, data=array)
            group.create_dataset("labels", data=data.labels)
            for modality, array in data.modality_labels.items():
                group.create_dataset(f"labels_{modality}", data=array)
            group.create_dataset("ids", data=data.ids.astype(object), dtype=h5py.string_dtype())
    return file


def safe_h5_corpus(file: Path) -> Corpus:
    """The corpus the copy records (attribute `corpus`); for a copy that records none (written
    before it was recorded, or of a data set built in code), the one its name stands for."""
    with open_h5(file) as h5:
        recorded, name = h5.attrs.get("corpus"), str(h5.attrs.get("name", ""))
    if recorded is None:
        return corpus_named(name)
    if str(recorded) not in CORPORA:
        raise EmozslError(f"{file}: attribute corpus {recorded!r}: expected one of {', '.join(CORPORA)}")
    return CORPORA[str(recorded)]


def read_safe_h5(file: Path, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    with open_h5(file) as h5:
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
        splits, values = {}, FeatureValues(impute)
        labelled = bool(h5.attrs.get("labelled", True))  # copies written before it was recorded are labelled
        for split in SPLITS if labelled else [s for s in (*SPLITS, UNSPLIT) if s in h5]:
            if split not in h5:
                raise EmozslError(f"{file}: no group '{split}'")
            group, where = h5[split], f"{file}:{split}"
            features = {}
            for modality in (m for m in MODALITIES if m in group):
                features[modality] = values.check(group[modality][()], f"{where}/{modality}", f"{split}/{modality}")
            labels = check_array(h5_array(group, "labels", where), f"{where}/labels", 2, len(emotions))
            modality_labels = {m: check_array(group[f"labels_{m}"][()], f"{where}/labels_{m}", 2,
                                              len(emotions)) for m in features if f"labels_{m}" in group}
            ids = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in h5_array(group, "ids", where)])
            check_same_n({**features, "labels": labels, "ids": ids, **modality_labels}, f"{file} ({split} split)")
            splits[split] = SplitData(features, labels, ids, modality_labels)
        # copies written before these were recorded have none
        dropped, imputed = json.loads(h5.attrs.get("dropped", "{}")), json.loads(h5.attrs.get("imputed", "{}"))
        notes = json.loads(h5.attrs.get("notes", "[]"))
        for key, count in values.imputed.items():
            imputed[key] = imputed.get(key, 0) + count
        return MultimodalDataset(str(h5.attrs["name"]), emotions, splits, str(h5.attrs["source"]), neg_inf_replaced,
                                 dropped, imputed, notes, labelled)
