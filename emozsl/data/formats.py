"""Every on-disk data format emozsl reads, detected through one table, and `load_dataset`.

A format is one row: its name, what it is (for messages), `detect` (the path to read, given what
the user passed, or None), `read`, and `corpus`: the corpus (data/corpora.py) the data it holds
follow, which sets their validation metric and protocol; a format that holds several corpora
tells them apart by content or by what the file records. Adding a format is one module plus one
row here. Rows are
tried in order, so a more specific layout comes before a looser one (a plain folder of clips,
the loosest, is last).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py

from emozsl.data.readers.cherma import is_cherma_folder, read_cherma_folder
from emozsl.data.readers.clips import clips_folder, read_clips_folder
from emozsl.data.corpora import CHERMA, IEMOCAP, MOSEI, OTHER, Corpus
from emozsl.data.readers.csd import csd_folder, explain_csd_file, read_csd_folder
from emozsl.data.dataset import IMPUTE_DEFAULT, MultimodalDataset
from emozsl.data.readers.iemocap import iemocap9_folder, mult_pickle, read_iemocap9_folder, read_mult_pickle
from emozsl.data.readers.mesm import mesm_corpus, mesm_root, read_mesm_folder
from emozsl.data.readers.mosei import mosei_folder, read_mosei_folder
from emozsl.data.readers.safe_h5 import read_safe_h5, safe_h5_corpus, safe_h5_file
from emozsl.data.readers.utterance_table import read_raw_table, table_corpus, table_path
from emozsl.errors import EmozslError

DEFAULT_DATA = "data/synth-mosei"
# What `load_dataset` accepts: "required" refuses data without emotion labels (training, splitting,
# evaluation), "optional" reads them too (scoring with a trained run, `data info`).
LABELS_CHOICES = ("required", "optional")


@dataclass(frozen=True)
class ReadOptions:
    """What the user allows a reader to do: unpickle files they trust; set non-finite feature
    values to 0 (`impute`, dataset.FeatureValues)."""
    trust_pickle: bool = False
    impute: str = IMPUTE_DEFAULT


@dataclass(frozen=True)
class Format:
    name: str
    what: str  # how messages describe it
    holder: str  # "folder", "file" or "either": what the user passes
    detect: Callable[[Path], Path | None]
    read: Callable[[Path, ReadOptions], MultimodalDataset]
    corpus: Callable[[Path], Corpus]  # of what `detect` found; cheap, reads no features


FORMATS = (
    Format("table", "a raw-media table (utterances.csv or .jsonl)", "either", table_path,
           lambda p, o: read_raw_table(p), table_corpus),
    Format("mesm", "the released MESM layout (MOSEI_RAW_PROCESSED or IEMOCAP_RAW_PROCESSED)", "folder", mesm_root,
           lambda p, o: read_mesm_folder(p, o.trust_pickle), mesm_corpus),
    Format("mosei", "a processed CMU-MOSEI folder (ey_train.h5, ...)", "folder", mosei_folder,
           lambda p, o: read_mosei_folder(p, o.impute), lambda p: MOSEI),
    Format("mosei-csd", "a CMU SDK folder of computational sequences (CMU_MOSEI_*.csd)", "folder", csd_folder,
           lambda p, o: read_csd_folder(p, impute=o.impute), lambda p: MOSEI),
    Format("iemocap9", "an IEMOCAP 9-class folder (y_train.p, ...)", "folder", iemocap9_folder,
           lambda p, o: read_iemocap9_folder(p, o.trust_pickle, o.impute), lambda p: IEMOCAP),
    Format("cherma", "a CHERMA folder (train.json, ...)", "folder", lambda p: p if is_cherma_folder(p) else None,
           lambda p, o: read_cherma_folder(p, o.impute), lambda p: CHERMA),
    Format("emozsl-h5", "emozsl's HDF5 copy (.h5, from `emozsl data convert`)", "file", safe_h5_file,
           lambda p, o: read_safe_h5(p, o.impute), safe_h5_corpus),
    Format("mult-pickle", "a MulT IEMOCAP pickle (.pkl)", "file", mult_pickle,
           lambda p, o: read_mult_pickle(p, o.trust_pickle, o.impute), lambda p: IEMOCAP),
    Format("clips", "a plain folder of clips (audio or video files, optional STEM.txt transcripts)", "folder",
           clips_folder, lambda p, o: read_clips_folder(p), lambda p: OTHER),
)


def emozsl_file_pointer(path: Path) -> str | None:
    """A file emozsl wrote that is not data (a split manifest, a run's config), passed as data."""
    if path.suffix.lower() != ".json" or path.stat().st_size > (16 << 20):
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(stored, dict) and str(stored.get("format", "")).startswith("emozsl-split"):
        return (f"{path}: is a split manifest, not data; pass it as --split FILE, and the data it was made from as "
                f"--data ({stored.get('dataset', 'its data set')})")
    return None


def default_data_path() -> str:
    """$EMOZSL_DATA, else data/synth-mosei (what `emozsl data synth data/synth-mosei` writes)."""
    return os.environ.get("EMOZSL_DATA", DEFAULT_DATA)


CHILDREN_LOOKED_AT = 500  # a folder's entries `contents_pointer` tries, at most


def _detect_child(child: Path) -> Format | None:
    """The first row of FORMATS that recognises `child`; an HDF5 file counts only when it is
    emozsl's copy (its suffix alone would name every .h5 of a broken MOSEI folder)."""
    for form in FORMATS:
        try:
            if form.detect(child) is None:
                continue
            if form.name == "emozsl-h5":
                with h5py.File(child, "r") as h5:
                    if "emozsl_format" not in h5.attrs:
                        continue
            return form
        except OSError:  # an unreadable entry is not a sign of any format
            continue
    return None


def contents_pointer(folder: Path) -> str | None:
    """For a folder that is no format itself but directly holds entries that are (what `emozsl data
    synth --format iemocap` writes: a pickle and a 9-class folder side by side), the message naming
    them, each with what it is, and saying to pass one; None when it holds none."""
    if not folder.is_dir():
        return None
    found = []
    try:
        children = sorted(c for c in folder.iterdir() if not c.name.startswith("."))[:CHILDREN_LOOKED_AT]
    except OSError:
        return None
    for child in children:
        form = _detect_child(child)
        if form is not None:
            found.append(f"{child.name} ({re.sub(r' [(].*[)]$', '', form.what)})")
    if not found:
        return None
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return f"{folder}: holds {listed}; pass {'it' if len(found) == 1 else 'one of them'}"


def missing_data(path: str | Path) -> str:
    """What to say of a data path that does not exist."""
    return f"no such file or folder (pass --data, or generate data there with `emozsl data synth {path}`)"


def _detected(path: Path) -> tuple[Format, Path]:
    """The first row of FORMATS that recognises `path`, and the path it reads. Errors: EmozslError,
    one line naming the path; a folder that is no format itself but holds entries that are names
    them (contents_pointer)."""
    if not path.exists():
        raise EmozslError(f"{path}: {missing_data(path)}")
    for form in FORMATS:
        found = form.detect(path)
        if found is not None:
            return form, found
    pointer = (explain_csd_file(path) or emozsl_file_pointer(path)) if path.is_file() else contents_pointer(path)
    if pointer:
        raise EmozslError(pointer)
    holder = "folder" if path.is_dir() else "file"
    raise EmozslError(f"{path}: not a data {holder} emozsl reads (expected "
                      + "; ".join(f.what for f in FORMATS if f.holder in (holder, "either")) + ")")


def load_dataset(path: str | Path, trust_pickle: bool = False, impute: str = IMPUTE_DEFAULT,
                 labels: str = "required") -> MultimodalDataset:
    """Read any supported format, detected from what is at `path` (the first row of FORMATS that
    recognises it), its `corpus` set as the format declares it; `impute` "zero" sets non-finite
    feature values to 0 (dataset.FeatureValues); `labels` (LABELS_CHOICES) "required" refuses data
    without emotion labels with a pointer to `emozsl predict`, "optional" returns them (`labelled`
    False). Errors: EmozslError, one line naming the path (_detected)."""
    if labels not in LABELS_CHOICES:
        raise EmozslError(f"labels {labels!r}: choose one of {', '.join(LABELS_CHOICES)}")
    path = Path(path)
    form, found = _detected(path)
    dataset = form.read(found, ReadOptions(trust_pickle, impute))
    if labels == "required" and not dataset.labelled:
        raise EmozslError(f"{path}: holds no emotion labels; to score it with a trained run, use "
                          f"`emozsl predict RUN --data {path}`")
    if dataset.corpus is None:  # a table's reader sets it from the rows it read: no second read
        dataset.corpus = form.corpus(found)
    return dataset


def data_corpus(path: str | Path) -> Corpus:
    """The corpus of the data at `path` as its format declares it, without reading the data (the
    validation metric of a run on them: session.selection_metric). Errors: as load_dataset's."""
    form, found = _detected(Path(path))
    return form.corpus(found)
