"""Raw-media data sets (FE2E/MESM inputs) and their readers.

A raw data set is a MultimodalDataset whose modalities are MediaColumns: per utterance, where its
media are (a transcript, an audio file or samples, a frames folder or video), not decoded arrays.
Splits, manifests, fingerprints and `data info` work on it as on feature data; decoding happens
once, into the preprocessing cache (media_cache.py), when a model reads it.

Layouts read (raw_inputs.md):
- the released MESM processed layout: DIR/{MOSEI,IEMOCAP}_RAW_PROCESSED/ (meta.pkl and one folder
  per utterance; IEMOCAP's one level down, in its dialog folder) beside DIR/{MOSEI,IEMOCAP}_SPLIT/
  ({train,valid,test}_split.txt). meta.pkl is a pickle: it needs --trust-pickle.
- a pickle-free table, `utterances.csv` or `utterances.jsonl` (or any .csv / .jsonl file), one row
  per utterance with paths relative to the table:
    id, split (train|valid|test), text, audio (a sound file), frames (a folder of images, or
    FOLDER/PREFIX* for the images whose names start with PREFIX) or video (a video file), labels (emotion names joined by ';', empty for none) or one column label_NAME
    per emotion (a presence or an intensity; > 0 is present), optionally fps (frame rate of a
    frames folder; default 2, i.e. already one frame per 500 ms), sample_rate (the audio's
    stated rate, checked against the file), text_labels / audio_labels / visual_labels
    (uni-modal labels, names joined by ';') and dataset (the data set's name, e.g. iemocap6; default
    raw).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emozsl.data.dataset import SPLITS, MultimodalDataset, SplitData, load_pickle
from emozsl.errors import EmozslError, first_line
from emozsl.fileio import write_text

MEDIA_KINDS = ("text", "audio", "visual")
# The size of one preprocessed step, what `input_dims` reports for a raw modality: audio mel bins,
# visual colour channels, text one token id.
MEDIA_STEP_DIMS = {"text": 1, "audio": 128, "visual": 3}
TABLE_NAMES = ("utterances.csv", "utterances.jsonl")
DEFAULT_FPS = 2.0
MESM_CORPORA = {"MOSEI": "mosei", "IEMOCAP": "iemocap6"}
MOSEI_RAW_EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
IEMOCAP_CODES = {"ang": "anger", "exc": "excited", "fru": "frustrated", "hap": "happy", "neu": "neutral", "sad": "sad"}
IEMOCAP_VIDEO_FPS = 30.0  # the released frames are every video frame unless meta.pkl says otherwise


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


# ---- the pickle-free table ---------------------------------------------------------------------

def table_path(path: Path) -> Path | None:
    """The table at `path` (a .csv/.jsonl file, or a folder holding utterances.csv/.jsonl)."""
    if path.is_file() and path.suffix in (".csv", ".jsonl"):
        return path
    for name in TABLE_NAMES:
        if path.is_dir() and (path / name).is_file():
            return path / name
    return None


def _table_rows(file: Path) -> list[dict]:
    try:
        text = file.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not part of 'id'
    except (OSError, UnicodeDecodeError) as exc:
        raise EmozslError(f"{file}: cannot read ({first_line(exc)})") from None
    if file.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))  # quoted transcripts may span lines
        for number, row in enumerate(rows, start=2):
            if None in row:
                raise EmozslError(f"{file}: line {number} has more values than the header has columns")
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EmozslError(f"{file}: line {number} is not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise EmozslError(f"{file}: line {number} is not a JSON object")
        rows.append(row)
    return rows


def _names(value, where: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip().lower() for v in value.split(";") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip().lower() for v in value]
    raise EmozslError(f"{where}: labels must be emotion names joined by ';' (or a JSON list of names)")


def _number(value, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EmozslError(f"{where}: {value!r} is not a number") from None
    if not np.isfinite(number):
        raise EmozslError(f"{where}: {value!r} is not a finite number")
    return number


def _relative(base: Path, value, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EmozslError(f"{where}: expected a path, found {value!r}")
    return str(base / value) if not os.path.isabs(value) else value


def read_raw_table(file: Path) -> MultimodalDataset:
    """A raw data set from the pickle-free table (see the module docstring)."""
    rows = _table_rows(file)
    if not rows:
        raise EmozslError(f"{file}: no utterances")
    columns = set().union(*(row.keys() for row in rows))
    for needed in ("id", "split", "text", "audio"):
        if needed not in columns:
            raise EmozslError(f"{file}: no '{needed}' column (columns: {', '.join(sorted(columns))})")
    vector_columns = [c for c in rows[0] if c.startswith("label_")]
    if vector_columns:
        emotions = [c[len("label_"):].lower() for c in vector_columns]
    elif "labels" in columns:  # every name any label column uses, in alphabetical order
        label_columns = ["labels"] + [f"{m}_labels" for m in MEDIA_KINDS if f"{m}_labels" in columns]
        emotions = sorted({name for i, row in enumerate(rows) for c in label_columns
                           for name in _names(row.get(c), f"{file}: row {i + 1}")})
    else:
        raise EmozslError(f"{file}: no labels: give a 'labels' column (names joined by ';') or label_NAME columns")
    if not emotions:
        raise EmozslError(f"{file}: no row names an emotion")
    base = file.parent
    parts = {s: {"ids": [], "labels": [], "text": [], "audio": [], "visual": [], "uni": {}} for s in SPLITS}
    seen_ids: set[str] = set()
    uni_modal = [m for m in MEDIA_KINDS if f"{m}_labels" in columns]
    for number, row in enumerate(rows, start=1):
        where = f"{file}: row {number}"
        uid = str(row.get("id") or "").strip()
        if not uid:
            raise EmozslError(f"{where}: empty id")
        where = f"{file}: utterance {uid}"
        if uid in seen_ids:
            raise EmozslError(f"{where}: the id appears twice")
        seen_ids.add(uid)
        split = str(row.get("split") or "").strip().lower()
        if split not in SPLITS:
            raise EmozslError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise EmozslError(f"{where}: empty transcript")
        if vector_columns:
            labels = [_number(row.get(c), f"{where}: {c}") for c in vector_columns]
        else:
            names = _names(row.get("labels"), where)
            labels = [float(e in names) for e in emotions]
        audio = _relative(base, row.get("audio"), f"{where}: audio")
        if audio is None:
            raise EmozslError(f"{where}: no audio path")
        rate = row.get("sample_rate")
        rate = int(_number(rate, f"{where}: sample_rate")) if rate not in (None, "") else None
        frames = _relative(base, row.get("frames"), f"{where}: frames")
        video = _relative(base, row.get("video"), f"{where}: video")
        if (frames is None) == (video is None):
            raise EmozslError(f"{where}: give exactly one of frames (a folder of images) and video")
        fps = row.get("fps")
        fps = _number(fps, f"{where}: fps") if fps not in (None, "") else DEFAULT_FPS
        if fps <= 0:
            raise EmozslError(f"{where}: fps {fps} must be above 0")
        part = parts[split]
        part["ids"].append(uid)
        part["labels"].append(labels)
        part["text"].append(text.strip())
        part["audio"].append(AudioRef(audio, None, rate))
        prefix = ""
        if frames is not None and frames.endswith("*"):  # FOLDER/PREFIX*
            frames, prefix = os.path.dirname(frames), os.path.basename(frames)[:-1]
        part["visual"].append(FramesRef(frames, prefix, fps, video))
        for m in uni_modal:
            names = _names(row.get(f"{m}_labels"), f"{where}: {m}_labels")
            unknown = [n for n in names if n not in emotions]
            if unknown:
                raise EmozslError(f"{where}: {m}_labels name {', '.join(unknown)}, not among {', '.join(emotions)}")
            part["uni"].setdefault(m, []).append([float(e in names) for e in emotions])
    datasets = {str(row.get("dataset") or "raw") for row in rows}
    if len(datasets) > 1:
        raise EmozslError(f"{file}: the dataset column names several data sets ({', '.join(sorted(datasets))})")
    return MultimodalDataset(datasets.pop(), emotions, {s: _split(parts[s], len(emotions)) for s in SPLITS}, str(file))


def _split(part: dict, k: int) -> SplitData:
    features = {"text": MediaColumn("text", part["text"]), "audio": MediaColumn("audio", part["audio"]),
                "visual": MediaColumn("visual", part["visual"])}
    labels = np.asarray(part["labels"], dtype=np.float32).reshape(-1, k)
    uni = {m: np.asarray(v, dtype=np.float32).reshape(-1, k) for m, v in part["uni"].items()}
    return SplitData(features, labels, np.array(part["ids"], dtype=str), uni)


def write_raw_table(dataset: MultimodalDataset, file: str | Path) -> Path:
    """The pickle-free table of a raw data set: paths relative to the table, labels as label_NAME
    columns in the data set's emotion order (exact, even for an emotion without positives)."""
    file = Path(file)
    base = file.parent.resolve()
    columns = ["id", "split", "text", "audio", "sample_rate", "frames", "video", "fps", "dataset",
               *(f"label_{e}" for e in dataset.emotions)]
    lines = [columns]

    def relative(path):
        if path is None:
            return ""
        return os.path.relpath(Path(path).resolve(), base)

    for split in SPLITS:
        data = dataset.splits[split]
        for i, uid in enumerate(data.ids):
            audio, frames = data.features["audio"].items[i], data.features["visual"].items[i]
            if audio.path is None:
                raise EmozslError(f"utterance {uid}: audio held in memory cannot be written to a table")
            folder = relative(frames.folder) + (f"/{frames.prefix}*" if frames.prefix else "")
            lines.append([str(uid), split, data.features["text"].items[i], relative(audio.path), audio.rate or "",
                          folder, relative(frames.video), f"{frames.fps:g}", dataset.name,
                          *(f"{v:g}" for v in data.labels[i])])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return write_text(file, buffer.getvalue())


# ---- the released MESM layout ------------------------------------------------------------------

def mesm_root(path: Path) -> Path | None:
    """The folder holding {MOSEI,IEMOCAP}_RAW_PROCESSED (given it, or the processed folder itself)."""
    candidates = (path, path.parent) if path.name.endswith("_RAW_PROCESSED") else (path,)
    for candidate in candidates:
        if any((candidate / f"{c}_RAW_PROCESSED").is_dir() for c in MESM_CORPORA):
            return candidate
    return None


def iemocap_side(uid: str) -> str:
    """L or R: the speaker's half of the two-speaker dialog recording (raw_inputs.md)."""
    parts = uid.split("_")
    session, speaker = parts[0], parts[-1]
    return "L" if session[-1:] == speaker[:1] else "R"


def read_mesm_folder(root: Path, trust_pickle: bool, corpus: str | None = None) -> MultimodalDataset:
    corpora = [c for c in MESM_CORPORA if (root / f"{c}_RAW_PROCESSED").is_dir()]
    corpus = corpus or corpora[0]
    processed, split_dir = root / f"{corpus}_RAW_PROCESSED", root / f"{corpus}_SPLIT"
    meta = load_pickle(processed / "meta.pkl", trust_pickle)
    if not isinstance(meta, dict):
        raise EmozslError(f"{processed / 'meta.pkl'}: expected a dict of utterance id -> fields")
    iemocap = corpus == "IEMOCAP"
    emotions = list(IEMOCAP_CODES.values()) if iemocap else list(MOSEI_RAW_EMOTIONS)
    folders = ({p.name: p for dialog in processed.iterdir() if dialog.is_dir() for p in dialog.iterdir() if p.is_dir()}
               if iemocap else None)
    splits = {}
    for split in SPLITS:
        list_file = split_dir / f"{split}_split.txt"
        if not list_file.is_file():
            raise EmozslError(f"{list_file}: missing split file")
        ids = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
        part = {"ids": [], "labels": [], "text": [], "audio": [], "visual": [], "uni": {}}
        for uid in ids:
            where = f"{processed / 'meta.pkl'}: utterance {uid}"
            entry = meta.get(uid)
            if not isinstance(entry, dict):
                raise EmozslError(f"{where}: listed in {list_file.name} but not in meta.pkl")
            for key in ("text", "label"):
                if key not in entry:
                    raise EmozslError(f"{where}: no '{key}'")
            folder = folders.get(uid) if iemocap else processed / uid
            if folder is None or not folder.is_dir():
                raise EmozslError(f"utterance {uid}: no folder {uid} in {processed}")
            text = entry["text"]
            if not isinstance(text, str) or not text.strip():
                raise EmozslError(f"{where}: empty transcript")
            if iemocap:
                code = str(entry["label"]).strip().lower()
                if code not in IEMOCAP_CODES:
                    raise EmozslError(f"{where}: label {entry['label']!r} is not one of {', '.join(IEMOCAP_CODES)}")
                labels = [float(IEMOCAP_CODES[code] == e) for e in emotions]
                side = iemocap_side(uid)
                rate = entry.get("sr")
                audio = AudioRef(str(folder / f"audio_{side}.wav"), None, int(rate) if rate else None)
                frames = FramesRef(str(folder), f"image_{side}_", float(entry.get("fps") or IEMOCAP_VIDEO_FPS))
            else:
                vector = np.asarray(entry["label"], dtype=float).ravel()
                if vector.shape != (len(emotions),):
                    raise EmozslError(f"{where}: label has shape {vector.shape}, expected ({len(emotions)},) "
                                      f"({', '.join(emotions)})")
                labels = (vector > 0).astype(float).tolist()
                audio = AudioRef(str(folder / "audio.wav"))
                frames = FramesRef(str(folder), "image_", DEFAULT_FPS)  # released at 2 fps: keep every frame
            part["ids"].append(uid)
            part["labels"].append(labels)
            part["text"].append(text.strip())
            part["audio"].append(audio)
            part["visual"].append(frames)
        splits[split] = _split(part, len(emotions))
    return MultimodalDataset(MESM_CORPORA[corpus], emotions, splits, str(processed))
