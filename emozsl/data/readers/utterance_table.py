"""The pickle-free table of raw media: `utterances.csv` or `utterances.jsonl` (or any .csv / .jsonl
file), one row per utterance with paths relative to the table (docs/raw-media.md):
    id, split (train|valid|test), text, audio (a sound file), frames (a folder of images, or
    FOLDER/PREFIX* for the images whose names start with PREFIX) or video (a video file), labels
    (emotion names joined by ';', empty for none) or one column label_NAME per emotion (a presence or
    an intensity; > 0 is present), optionally fps (frame rate of a frames folder; default 2, i.e.
    already one frame per 500 ms), sample_rate (the audio's stated rate, checked against the file),
    text_labels / audio_labels / visual_labels (uni-modal labels, names joined by ';'), dataset
    (the data set's name, e.g. iemocap6; default raw) and corpus (a name of data.corpora.CORPORA, as
    `write_raw_table` records it; without it, the corpus the dataset name stands for:
    data.corpora.corpus_named).
A table without any label column is read unlabelled (data to score): its split column is then
optional, and without it every row is in the one split UNSPLIT.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path


from emozsl.data.corpora import CORPORA, Corpus, corpus_named
from emozsl.data.dataset import SPLITS, UNSPLIT, MultimodalDataset
from emozsl.data.media.refs import DEFAULT_FPS, MEDIA_KINDS, AudioRef, FramesRef, media_split
from emozsl.errors import EmozslError, first_line
from emozsl.numeric import finite_number
from emozsl.fileio import write_text

TABLE_NAMES = ("utterances.csv", "utterances.jsonl")


def table_path(path: Path) -> Path | None:
    """The table at `path` (a .csv/.jsonl file, or a folder holding utterances.csv/.jsonl)."""
    if path.is_file() and path.suffix in (".csv", ".jsonl"):
        return path
    for name in TABLE_NAMES:
        if path.is_dir() and (path / name).is_file():
            return path / name
    return None


def table_corpus(file: Path) -> Corpus:
    """The corpus the table declares (its FORMATS row's declaration; read_raw_table sets the same)."""
    return _declared_corpus(_table_rows(file), file)


def _declared_corpus(rows: list[dict], file: Path) -> Corpus:
    """The first row's corpus column, else the corpus its dataset name stands for; EmozslError
    naming the file for a corpus emozsl does not know."""
    first = rows[0] if rows else {}
    recorded = str(first.get("corpus") or "")
    if not recorded:
        return corpus_named(str(first.get("dataset") or "raw"))
    if recorded not in CORPORA:
        raise EmozslError(f"{file}: corpus {recorded!r}: expected one of {', '.join(CORPORA)}")
    return CORPORA[recorded]


def _table_rows(file: Path) -> list[dict]:
    """The table's rows as dicts. A table must be UTF-8: one in another encoding (a Windows-1252
    CSV, as MELD's and spreadsheets' often are) is an error naming its first foreign line and the fix."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise EmozslError(f"{file}: cannot read ({first_line(exc)})") from None
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of 'id'
    except UnicodeDecodeError as exc:
        body, at = exc.object, exc.start  # the bytes after any byte-order mark
        line, column = body.count(b"\n", 0, at) + 1, at - body.rfind(b"\n", 0, at)
        raise EmozslError(f"{file}: line {line} is not UTF-8 (byte 0x{body[at]:02x} at column {column}); save the "
                          f"table as UTF-8 (for a Windows-1252 table, in Python: p = pathlib.Path({str(file)!r}); "
                          "p.write_text(p.read_text(encoding='cp1252'), encoding='utf-8'))") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # text mode's newlines, in quoted transcripts too
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
    vector_columns = [c for c in rows[0] if c.startswith("label_")]
    uni_modal = [m for m in MEDIA_KINDS if f"{m}_labels" in columns]
    # Uni-modal labels alone count as labelled: they still need the shared 'labels' column (the error below).
    labelled = bool(vector_columns) or "labels" in columns or bool(uni_modal)
    split_column = labelled or "split" in columns
    for needed in ("id", "split", "text", "audio") if split_column else ("id", "text", "audio"):
        if needed not in columns:
            raise EmozslError(f"{file}: no '{needed}' column (columns: {', '.join(sorted(columns))})")
    if not labelled:
        emotions = []
    elif vector_columns:
        emotions = [c[len("label_"):].lower() for c in vector_columns]
    elif "labels" in columns:  # every name any label column uses, in alphabetical order
        label_columns = ["labels"] + [f"{m}_labels" for m in MEDIA_KINDS if f"{m}_labels" in columns]
        emotions = sorted({name for i, row in enumerate(rows) for c in label_columns
                           for name in _names(row.get(c), f"{file}: row {i + 1}")})
    else:
        raise EmozslError(f"{file}: no labels: give a 'labels' column (names joined by ';') or label_NAME columns")
    if labelled and not emotions:
        raise EmozslError(f"{file}: no row names an emotion")
    base = file.parent

    def new_part() -> dict:
        return {"ids": [], "labels": [], "text": [], "audio": [], "visual": [], "uni": {}}

    # A labelled table has the three splits, as before; an unlabelled one the splits its rows name.
    parts = {s: new_part() for s in SPLITS} if labelled else {}
    seen_ids: set[str] = set()
    for number, row in enumerate(rows, start=1):
        where = f"{file}: row {number}"
        uid = str(row.get("id") or "").strip()
        if not uid:
            raise EmozslError(f"{where}: empty id")
        where = f"{file}: utterance {uid}"
        if uid in seen_ids:
            raise EmozslError(f"{where}: the id appears twice")
        seen_ids.add(uid)
        split = str(row.get("split") or "").strip().lower() if split_column else UNSPLIT
        if split_column and split not in SPLITS:
            raise EmozslError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise EmozslError(f"{where}: empty transcript")
        if not labelled:
            labels = []
        elif vector_columns:
            labels = [finite_number(row.get(c), f"{where}: {c}") for c in vector_columns]
        else:
            names = _names(row.get("labels"), where)
            labels = [float(e in names) for e in emotions]
        audio = _relative(base, row.get("audio"), f"{where}: audio")
        if audio is None:
            raise EmozslError(f"{where}: no audio path")
        rate = row.get("sample_rate")
        rate = int(finite_number(rate, f"{where}: sample_rate")) if rate not in (None, "") else None
        frames = _relative(base, row.get("frames"), f"{where}: frames")
        video = _relative(base, row.get("video"), f"{where}: video")
        if (frames is None) == (video is None):
            raise EmozslError(f"{where}: give exactly one of frames (a folder of images) and video")
        fps = row.get("fps")
        fps = finite_number(fps, f"{where}: fps") if fps not in (None, "") else DEFAULT_FPS
        if fps <= 0:
            raise EmozslError(f"{where}: fps {fps} must be above 0")
        if split not in parts:
            parts[split] = new_part()
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
    kept = [s for s in (*SPLITS, UNSPLIT) if s in parts]
    return MultimodalDataset(datasets.pop(), emotions, {s: media_split(parts[s], len(emotions)) for s in kept},
                             str(file), labelled=labelled, corpus=_declared_corpus(rows, file))


def write_raw_table(dataset: MultimodalDataset, file: str | Path, words: dict[str, str] | None = None) -> Path:
    """The pickle-free table of a raw data set: paths relative to the table, labels as label_NAME
    columns in the data set's emotion order (exact, even for an emotion without positives), its
    corpus when it has one (what `load_dataset` set from its format); `words` (id -> "word start
    end;...") adds the word-timings column features/align.py reads."""
    file = Path(file)
    base = file.parent.resolve()
    corpus = [dataset.corpus.name] if dataset.corpus is not None else []
    columns = ["id", "split", "text", "audio", "sample_rate", "frames", "video", "fps", "dataset",
               *(["corpus"] if corpus else []), *(f"label_{e}" for e in dataset.emotions),
               *(["words"] if words is not None else [])]
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
                          folder, relative(frames.video), f"{frames.fps:g}", dataset.name, *corpus,
                          *(f"{v:g}" for v in data.labels[i]), *([words[str(uid)]] if words is not None else [])])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return write_text(file, buffer.getvalue())
