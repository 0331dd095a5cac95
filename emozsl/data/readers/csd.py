"""CMU-MOSEI as the CMU Multimodal SDK distributes it: one HDF5 "computational sequence" (.csd) per
feature set, read into the same data set as the processed folder (name "mosei", emotions anger,
disgust, fear, happy, sad, surprise). How it is aligned, against the SDK: docs/csd_alignment.md.

    <root name>/data/<video id>/features    (n, D) one row per time interval
    <root name>/data/<video id>/intervals   (n, 2) start and end, in seconds
    <root name>/metadata/<key>              one string each

| modality | root name (usual file)                                   | rows        | D   |
|----------|----------------------------------------------------------|-------------|-----|
| (timing) | words (CMU_MOSEI_TimestampedWords.csd)                   | one a word  | 1   |
| text     | glove_vectors (CMU_MOSEI_TimestampedGloveVectors.csd)    | one a word  | 300 |
| audio    | COVAREP (CMU_MOSEI_COVAREP.csd)                          | 100 Hz      | 74  |
| visual   | FACET 4.2 (CMU_MOSEI_VisualFacet42.csd), else            | ~30 Hz      | 35  |
|          | OpenFace_2 (CMU_MOSEI_VisualOpenFace2.csd)               | video rate  | 713 |
| labels   | All Labels (CMU_MOSEI_Labels.csd), else the older        | a segment   | 7   |
|          | Emotion Labels (CMU_MOSEI_LabelsEmotions.csd)            | a segment   | 6   |

From sequences to utterances (the SDK's word-level alignment, then its alignment to the labels,
done here per video; the rules and the deliberate differences: docs/csd_alignment.md). The SDK's
epsilon is 1 ms, and "overlap by more than it" means min(ends) - max(starts) > 1 ms, in float64:
- Pivot: the word-vector rows, in start time order (ties in file order), less those shorter than
  1 ms (the SDK skips them; a note counts them). When the words file is there, the rows of its
  "sp" (pause) tokens, in any case, are left out too (matched by interval, both ends within 1 ms,
  as the words file may hold float32 times: the SDK's plain GloVe file has none, its "_with_SP"
  variant has them); how many is said in `notes`. With the vectors alone every row is a word.
- Alignment: for each word, audio and visual are the mean of their rows that overlap it by more
  than 1 ms (a row touching it, or grazing it by 1 ms or less, is out). A word no row overlaps
  gets zeros (what the SDK's impute() gives); how many is said in the data set's `notes`. The
  mean is taken first, as the SDK does: a COVAREP -inf row (the log of silence) makes its word's
  cell -inf, which is then set to 0, as the field's loaders do, and counted in `neg_inf_replaced`
  ("split/audio"); any other non-finite cell (a NaN row makes its word's cell NaN) follows
  dataset.FeatureValues (an error naming file, video and count, or `impute="zero"`: the cell is
  set to 0). Both rules apply to the values that enter the output only: the vectors of words a
  kept segment holds and the means over them (a pause's vector or a row between words is never
  read into it).
- Segments: each labels row of a video (its interval) is one utterance holding the words that
  overlap it by more than 1 ms (a word straddling two segments is in both), in start order; the
  last `words` are kept (Keras pad_sequences' default cut) and shorter ones are zero-padded at the
  front, as the processed folder is. Id: "{video}[{k}]", k the row in the labels file. Labels are
  reordered from the SDK's columns (sentiment, happy, sad, anger, surprise, disgust, fear: SDK issue
  191; 'Emotion Labels' without sentiment: issue 144) to the processed order (issue 124);
  intensities are kept as they are (a few exceed 3: issue 8), an emotion is present when > 0; a
  negative emotion intensity is an error (sentiment, which may be negative, is not read).
- Splits: the SDK's standard folds (mosei_folds.json); utterances follow their video, ordered by
  the fold's video order, then k. Segments left out are counted by cause in `dropped`.

Memory: one video at a time of each sequence (its feature rows spanning the video's labelled words,
a copy of the rows each word takes, plus a float64 sum per word), and the output arrays
(N, words, D) float32; files are never read whole. Errors: EmozslError, one line naming the
folder or the file, video and field.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import h5py
import numpy as np

from emozsl.data.alignment import EPSILON, mean_of_rows, overlap_rows, overlaps, pairs
from emozsl.data.dataset import (
    IMPUTE_DEFAULT,
    SPLITS,
    FeatureValues,
    MultimodalDataset,
    SplitData,
    check_array,
)
from emozsl.data.readers.mosei import MOSEI_EMOTIONS, SDK_LABEL_COLUMNS
from emozsl.errors import EmozslError, FieldError, first_line

FOLDS_FILE = "mosei_folds.json"
SP_TOKEN = "sp"  # the words file's pause token, matched in any case
# Pause rows are matched by interval across files that may store times as float32 (words) and
# float64 (vectors): float32 is off by at most half its step, 6e-5 s at 1,000 s and 5e-4 s up to
# 16,384 s, while a word lasts far longer than 1 ms, so no other row comes this close at both ends.
PAUSE_TOLERANCE = 1e-3  # seconds
# The SDK's alignment epsilon (alignment.EPSILON, 1 ms): a word shorter than it is skipped too.
SDK_EPSILON = EPSILON


@dataclass(frozen=True)
class Sequence:
    role: str  # "words", "text", "audio", "visual" or "labels"
    root: str  # the SDK's root name
    file: str  # the SDK's usual file name
    columns: tuple[str, ...] = ()  # label sequences: their columns

    def named(self) -> str:
        return f"'{self.root}' (usually {self.file})"


WORDS = Sequence("words", "words", "CMU_MOSEI_TimestampedWords.csd", ("word",))
VECTORS = Sequence("text", "glove_vectors", "CMU_MOSEI_TimestampedGloveVectors.csd")
COVAREP = Sequence("audio", "COVAREP", "CMU_MOSEI_COVAREP.csd")
FACET = Sequence("visual", "FACET 4.2", "CMU_MOSEI_VisualFacet42.csd")
OPENFACE = Sequence("visual", "OpenFace_2", "CMU_MOSEI_VisualOpenFace2.csd")
ALL_LABELS = Sequence("labels", "All Labels", "CMU_MOSEI_Labels.csd", tuple(SDK_LABEL_COLUMNS))
EMOTION_LABELS = Sequence("labels", "Emotion Labels", "CMU_MOSEI_LabelsEmotions.csd", tuple(SDK_LABEL_COLUMNS[1:]))
# In order of preference within a role: FACET 4.2 is what the processed data hold.
KNOWN = (WORDS, VECTORS, COVAREP, FACET, OPENFACE, ALL_LABELS, EMOTION_LABELS)


def _key(root: str) -> str:
    """Root names compared without case, spaces or punctuation ("FACET 4.2" ~ "Facet_42")."""
    return "".join(c for c in root.lower() if c.isalnum())


BY_KEY = {_key(s.root): s for s in KNOWN}


@lru_cache(maxsize=1)
def mosei_folds() -> dict[str, tuple[str, ...]]:
    """The standard folds, split -> video ids (strings, in the SDK's order): the SDK's
    cmu_mosei_std_folds.py, shipped as package data with its provenance (mosei_folds.json)."""
    doc = json.loads(resources.files("emozsl.data").joinpath(FOLDS_FILE).read_text(encoding="utf-8"))
    return {split: tuple(doc["folds"][split]) for split in SPLITS}


def _root_of(h5: h5py.File) -> str | None:
    """The root name when the file has the SDK's layout: one top-level group holding data and metadata."""
    keys = list(h5.keys())
    if len(keys) == 1 and isinstance(h5[keys[0]], h5py.Group) and {"data", "metadata"} <= set(h5[keys[0]].keys()):
        return keys[0]
    return None


def _layout_of(file: Path) -> str:
    """What an HDF5 file that is not a sequence holds at its top level, for messages."""
    if not h5py.is_hdf5(file):
        return "not an HDF5 file"
    with h5py.File(file, "r") as h5:
        top = {k: sorted(h5[k].keys()) if isinstance(h5[k], h5py.Group) else "an array" for k in h5}
    return "top level: " + (", ".join(f"'{k}' ({v if isinstance(v, str) else ', '.join(v) or 'empty'})"
                                      for k, v in top.items()) or "empty")


def _sequence_root(file: Path) -> str | None:
    """`file`'s root name when its content is a computational sequence, else None (headers only).
    Raises OSError for an HDF5 file that cannot be opened."""
    if not h5py.is_hdf5(file):
        return None
    with h5py.File(file, "r") as h5:
        return _root_of(h5)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def csd_folder(path: Path) -> Path | None:
    """`path` when it is a folder holding at least one computational sequence, detected by content
    (an HDF5 file whose single top-level group holds `data` and `metadata`; a .csd suffix alone is
    not enough), else None. Opens headers only, and stops at the first sequence found."""
    path = Path(path)
    if not path.is_dir():
        return None
    for file in _files(path):
        with contextlib.suppress(OSError):  # an unreadable file is not a sign of this format
            if _sequence_root(file) is not None:
                return path
    return None


def explain_csd_file(path: Path) -> str | None:
    """A one-line pointer when `path` is ONE computational sequence file rather than its folder;
    None when it is not one."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        root = _sequence_root(path)
    except OSError:
        return None
    if root is None:
        return None
    others = {"text": VECTORS.file, "audio": COVAREP.file, "visual": f"{FACET.file} (or {OPENFACE.file})",
              "labels": ALL_LABELS.file}
    sequence = BY_KEY.get(_key(root))
    others.pop(sequence.role if sequence else None, None)
    *rest, last = others.values()
    return (f"{path}: one CMU Multimodal SDK computational sequence ('{root}'); pass the folder holding it "
            f"({path.parent}) with the others: {', '.join(rest)} and {last}")


def _read(dataset: h5py.Dataset, where: str, rows=slice(None)) -> np.ndarray:
    try:
        return dataset[rows]
    except OSError as exc:  # h5py reports failed reads (a damaged file) as OSError
        raise EmozslError(f"{where}: cannot be read ({first_line(exc)})") from None


class _Opened:
    """One sequence file, open: its videos' entries, checked as they are read."""

    def __init__(self, sequence: Sequence, file: Path, h5: h5py.File):
        self.sequence, self.file = sequence, file
        root = _root_of(h5)
        self.data = h5[root]["data"]
        if not isinstance(self.data, h5py.Group):
            raise EmozslError(f"{file}: '{root}/data' is not a group of videos")
        self.dim: int | None = None

    def __contains__(self, video: str) -> bool:
        return video in self.data

    def entry(self, video: str) -> tuple[h5py.Dataset, str]:
        """The features dataset of `video` (shapes checked, not read) and how messages name it. Every
        accessor goes through here first, so a malformed entry is one error wherever it is met."""
        where = f"{self.file}: video {video}"
        group = self.data.get(video)
        if not isinstance(group, h5py.Group) or not all(
                isinstance(group.get(name), h5py.Dataset) for name in ("features", "intervals")):
            raise EmozslError(f"{where}: expected a group holding arrays 'features' and 'intervals'")
        features, intervals = group["features"], group["intervals"]
        if intervals.ndim != 2 or intervals.shape[1] != 2:
            raise EmozslError(f"{where}, intervals: expected shape (n, 2), found {intervals.shape}")
        flat = features.ndim == 1 and len(self.sequence.columns) == 1  # one column may be stored as (n,)
        if not (features.ndim == 2 or flat) or features.shape[0] != intervals.shape[0]:
            raise EmozslError(f"{where}, features: expected shape ({intervals.shape[0]}, D) for its "
                              f"{intervals.shape[0]} intervals, found {features.shape}")
        width = 1 if flat else features.shape[1]
        self.dim = width if self.dim is None else self.dim
        if width != self.dim:
            raise EmozslError(f"{where}, features: {width} values a row, the file's first video "
                              f"has {self.dim}")
        if self.sequence.columns and self.dim != len(self.sequence.columns):
            other = EMOTION_LABELS if self.sequence is ALL_LABELS else ALL_LABELS
            hint = (f"; the root name '{other.root}' is the labels file with {len(other.columns)}"
                    if self.dim == len(other.columns) else "")
            raise EmozslError(f"{where}, features: {self.dim} columns, '{self.sequence.root}' has "
                              f"{len(self.sequence.columns)} ({', '.join(self.sequence.columns)}){hint}")
        return features, where

    def rows(self, video: str) -> int:
        return self.entry(video)[0].shape[0]

    def intervals(self, video: str) -> np.ndarray:
        """(n, 2) float64 start and end times, finite, none ending before it starts."""
        where = f"{self.entry(video)[1]}, intervals"
        raw = _read(self.data[video]["intervals"], where)
        if raw.dtype.kind not in "fiu":
            raise EmozslError(f"{where}: expected numbers, found dtype {raw.dtype}")
        intervals = raw.astype(np.float64)
        if not np.isfinite(intervals).all():
            raise EmozslError(f"{where}: holds {int((~np.isfinite(intervals)).sum())} NaN or infinite values")
        backwards = np.flatnonzero(intervals[:, 1] < intervals[:, 0])
        if backwards.size:
            start, end = intervals[backwards[0]]
            raise EmozslError(f"{where}: row {backwards[0]} ends at {end:g}, before it starts at {start:g}")
        return intervals


def _matching(intervals: np.ndarray, targets: np.ndarray, tolerance: float) -> np.ndarray:
    """(n,) which `intervals` rows have a `targets` row within `tolerance` at both ends: the
    targets whose start is close enough are found by searchsorted, then their ends compared."""
    targets = targets[np.argsort(targets[:, 0], kind="stable")]
    low = np.searchsorted(targets[:, 0], intervals[:, 0] - tolerance, side="left")
    count = np.searchsorted(targets[:, 0], intervals[:, 0] + tolerance, side="right") - low
    owner = np.repeat(np.arange(len(intervals)), count)
    candidate = low[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    close = np.abs(targets[candidate, 1] - intervals[owner, 1]) <= tolerance
    found = np.zeros(len(intervals), bool)
    found[owner[close]] = True
    return found


@dataclass
class _Video:
    """What pass 1 decides for one video: its pivot words and its kept segments."""
    video: str
    rows: np.ndarray  # (n,) the pivot words' rows in the vectors file, in start time order
    words: np.ndarray  # (n, 2) their intervals
    segments: np.ndarray  # (S,) row k of each kept segment in the labels file
    members: np.ndarray  # the kept words of every segment (indices into `rows`), segment after segment
    offsets: np.ndarray  # (S + 1,) segment s holds members[offsets[s]:offsets[s + 1]]
    labels: np.ndarray  # (S, 6) in MOSEI_EMOTIONS order


class _Reader:
    def __init__(self, folder: Path, words: int, values: FeatureValues):
        self.folder, self.steps, self.values = folder, words, values
        self.dropped: dict[str, int] = {}
        self.empty_words = {"audio": 0, "visual": 0}
        self.pauses = 0  # vector rows left out as pauses
        self.short = 0  # vector rows left out as shorter than the SDK's epsilon
        self.unknown: dict[str, str] = {}  # file name -> a root name emozsl does not use

    def drop(self, cause: str, count: int) -> None:
        if count:
            self.dropped[cause] = self.dropped.get(cause, 0) + count

    def find(self) -> dict[Sequence, Path]:
        """The known sequences in the folder, by content; a .csd file that is not one is an error."""
        found: dict[Sequence, Path] = {}
        for file in _files(self.folder):
            try:
                root = _sequence_root(file)
            except OSError as exc:
                if file.suffix.lower() != ".csd":
                    continue
                raise EmozslError(f"{file}: not a readable HDF5 file ({first_line(exc)})") from None
            if root is None:
                if file.suffix.lower() == ".csd":
                    raise EmozslError(f"{file}: not a CMU SDK computational sequence ({_layout_of(file)}; expected "
                                      "one top-level group holding 'data' and 'metadata')")
                continue
            sequence = BY_KEY.get(_key(root))
            if sequence is None:  # the SDK's other feature sets (phones, OpenSMILE, ...) are not used
                self.unknown[file.name] = root
                continue
            if sequence in found:
                raise EmozslError(f"{self.folder}: two files hold '{root}': {found[sequence].name} and "
                                  f"{file.name}; keep one")
            found[sequence] = file
        return found

    def choose(self, found: dict[Sequence, Path]) -> tuple[dict[str, Sequence], list[str]]:
        """role -> the sequence read for it, and notes on the choices; a missing one is an error."""
        chosen, notes = {}, []
        missing = [role for role in ("labels", "text", "audio", "visual") if not any(s.role == role for s in found)]
        if missing:  # every missing one at once, not one per attempt
            raise EmozslError(self._missing(missing, found))
        for role in ("labels", "text", "audio", "visual"):
            candidates = [s for s in KNOWN if s.role == role and s in found]
            chosen[role] = candidates[0]
            if len(candidates) > 1:
                reason = " (what the processed data hold)" if role == "visual" else ""
                notes.append(f"{candidates[0].root} used, not {candidates[1].root}{reason}")
        if WORDS in found:
            chosen["words"] = WORDS
        return chosen, notes

    def _missing(self, roles: list[str], found: dict[Sequence, Path]) -> str:
        """Every missing sequence with its root name; a sequence is told by its root name, so the
        message also says which names other files hold."""
        wanted = {"labels": f"{ALL_LABELS.named()} or the older {EMOTION_LABELS.named()}",
                  "text": VECTORS.named(), "audio": COVAREP.named(), "visual": f"{FACET.named()} or {OPENFACE.named()}"}
        parts = []
        for role in roles:
            if role == "text" and WORDS in found:
                parts.append(f"no text sequence: {found[WORDS].name} ('{WORDS.root}') gives word timing but no "
                             f"features; the text modality is the word vectors, {VECTORS.named()}")
            else:
                parts.append(f"no {role} sequence: {wanted[role]}")
        others = ("; other files hold " + ", ".join(f"'{r}' ({f})" for f, r in self.unknown.items())
                  + " (a sequence is told by its root name, not its file name)") if self.unknown else ""
        return f"{self.folder}: {'; '.join(parts)}{others}"

    def pivot(self, video: str, text: _Opened, words: _Opened | None) -> tuple[np.ndarray, np.ndarray]:
        """The vector rows that are words (pauses and words shorter than the SDK's epsilon left out)
        in start time order (ties in file order: the SDK's stable sort), and their intervals."""
        intervals = text.intervals(video)
        keep = ~(np.abs(intervals[:, 0] - intervals[:, 1]) < SDK_EPSILON)  # the SDK's test, as written
        self.short += int((~keep).sum())
        if words is not None and video in words:
            tokens_ds, where = words.entry(video)
            where = f"{where}, features"
            if h5py.check_string_dtype(tokens_ds.dtype) is None:
                raise EmozslError(f"{where}: expected words (strings), found dtype {tokens_ds.dtype}")
            # errors="replace": only "sp" matters, and it is ASCII
            tokens = _read(tokens_ds.asstr(errors="replace"), where).ravel().astype(str)
            pauses = words.intervals(video)[np.char.lower(tokens) == SP_TOKEN]
            pause = _matching(intervals, pauses, PAUSE_TOLERANCE) & keep
            self.pauses += int(pause.sum())
            keep &= ~pause
        rows = np.flatnonzero(keep)
        rows = rows[np.argsort(intervals[rows, 0], kind="stable")]
        return rows, intervals[rows]

    def plan(self, video: str, seqs: dict[str, _Opened]) -> _Video | None:
        """Pass 1: the video's utterances (no feature is read); None when none is kept."""
        labels = seqs["labels"]
        for role in ("text", "audio", "visual"):
            if video not in seqs[role]:
                self.drop(f"segments of videos missing from {seqs[role].sequence.root}", labels.rows(video))
                return None
        seqs["audio"].entry(video)
        seqs["visual"].entry(video)
        rows, intervals = self.pivot(video, seqs["text"], seqs.get("words"))
        segments = labels.intervals(video)
        raw_ds, where = labels.entry(video)
        raw = _read(raw_ds, f"{where}, features")
        if raw.dtype.kind not in "fiu":
            raise EmozslError(f"{where}, features: expected numbers, found dtype {raw.dtype}")
        emotions = raw[:, [labels.sequence.columns.index(e) for e in MOSEI_EMOTIONS]]  # sentiment is not read
        bad = np.argwhere(~np.isfinite(emotions))
        if bad.size:
            k, column = bad[0]
            raise EmozslError(f"{where}, row {k}, {MOSEI_EMOTIONS[column]}: label {emotions[k, column]}")
        negative = np.argwhere(emotions < 0)
        if negative.size:
            k, column = negative[0]
            raise EmozslError(f"{where}, row {k}, {MOSEI_EMOTIONS[column]}: intensity {emotions[k, column]:g} is "
                              f"negative ({len(negative)} such values in this video); emotion intensities run "
                              "from 0 to 3")
        # A segment's words: those overlapping it by more than the SDK's epsilon, in start order.
        # Candidates start before it ends and end after it starts (the running maximum of the ends
        # keeps that a range when words overlap each other); the SDK's test then decides.
        hi = np.searchsorted(intervals[:, 0], segments[:, 1], side="left")
        lo = np.minimum(np.searchsorted(np.maximum.accumulate(intervals[:, 1]), segments[:, 0], side="right"), hi)
        owner, word = pairs(lo, hi)
        inside = overlaps(intervals[word], segments[owner])
        owner, word = owner[inside], word[inside]
        count = np.bincount(owner, minlength=len(segments))
        kept = count > 0
        self.drop("segments with no words", int((~kept).sum()))
        if not kept.any():
            return None
        # keep each segment's last words (pad_sequences' cut): rank from its end below `steps`
        ends = np.cumsum(count)
        cut = (ends[owner] - np.arange(len(owner))) <= self.steps
        count = np.minimum(count, self.steps)[kept]
        emotions = check_array(emotions, f"{where}, features", 2)  # float32's range, before the cast
        return _Video(video, rows, intervals, np.flatnonzero(kept), word[cut], np.concatenate([[0], np.cumsum(count)]),
                      emotions[kept])

    def aligned(self, seq: _Opened, video: str, words: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Pass 2, one modality: (n, D) float32 mean of the rows overlapping each word by more than
        the SDK's epsilon (zeros where none does), and (n,) which words had none. `words` in start
        order. Reads only the rows spanning `words`; averages first, as the SDK does, then applies
        FeatureValues to the means, the values that enter the output (a COVAREP -inf row makes its
        word's cell -inf, then 0)."""
        features, where = seq.entry(video)
        intervals = seq.intervals(video)
        order = None
        if np.any(np.diff(intervals[:, 0]) < 0):
            order = np.argsort(intervals[:, 0], kind="stable")
            intervals = intervals[order]
        late = np.flatnonzero(np.diff(intervals[:, 1]) < 0)
        if late.size:  # contiguous overlap ranges (searchsorted on the ends) need ordered ends
            raise EmozslError(f"{where}, intervals: a row ending at {intervals[late[0], 1]:g} comes before one "
                              f"ending at {intervals[late[0] + 1, 1]:g} though it starts no later; emozsl's "
                              "alignment needs rows in time order")
        owner, row = overlap_rows(intervals, words)
        low, high = (int(row.min()), int(row.max()) + 1) if len(row) else (0, 0)
        if order is None:
            rows = _read(features, f"{where}, features", slice(low, high))
        else:
            rows = _read(features, f"{where}, features")[order][low:high]
        if rows.ndim != 2 or rows.dtype.kind not in "fiub":
            rows = check_array(rows, f"{where}, features", 2)  # the one error for a non-numeric array
        means, count = mean_of_rows(rows, owner, row - low, len(words))
        means = self.values.check(means, f"{where}, features", key, 2, covarep=seq.sequence is COVAREP)
        return means, count == 0

    def fill(self, split: str, videos: list[_Video], seqs: dict[str, _Opened]) -> SplitData:
        """Pass 2: the split's arrays, one video at a time."""
        n = sum(len(v.segments) for v in videos)
        out = {m: np.zeros((n, self.steps, seqs[m].dim), np.float32) for m in ("text", "audio", "visual")}
        labels, ids, row = np.zeros((n, len(MOSEI_EMOTIONS)), np.float32), [], 0
        for v in videos:
            # Only the words a kept segment holds enter the output, so only their values are read and checked.
            used = np.unique(v.members)  # in start order
            at = np.zeros(len(v.rows), int)
            at[used] = np.arange(len(used))
            members = at[v.members]  # positions in `used`
            steps = {}
            rows = v.rows[used]
            vectors_ds, where = seqs["text"].entry(v.video)
            low = int(rows.min())
            vectors = _read(vectors_ds, f"{where}, features", slice(low, int(rows.max()) + 1))[rows - low]
            steps["text"] = self.values.check(vectors, f"{where}, features", f"{split}/text", 2)
            for modality in ("audio", "visual"):
                steps[modality], empty = self.aligned(seqs[modality], v.video, v.words[used], f"{split}/{modality}")
                self.empty_words[modality] += int(empty[members].sum())  # once a segment holding the word
            for k, a, b in zip(v.segments, v.offsets[:-1], v.offsets[1:]):
                for modality, array in steps.items():
                    out[modality][row, self.steps - (b - a):] = array[members[a:b]]
                ids.append(f"{v.video}[{k}]")
                row += 1
            labels[row - len(v.segments):row] = v.labels
        # every value in `out` passed FeatureValues (or is padding) and every label check_array, in plan
        return SplitData(out, labels, np.array(ids, dtype=str))

    def read(self) -> MultimodalDataset:
        found = self.find()
        chosen, notes = self.choose(found)
        folds = mosei_folds()
        with contextlib.ExitStack() as stack:
            seqs = {}
            for role, sequence in chosen.items():
                try:
                    h5 = stack.enter_context(h5py.File(found[sequence], "r"))
                except OSError as exc:
                    raise EmozslError(f"{found[sequence]}: not a readable HDF5 file ({first_line(exc)})") from None
                seqs[role] = _Opened(sequence, found[sequence], h5)
            labels = seqs["labels"]
            in_folds = {v for ids in folds.values() for v in ids}
            self.drop("segments of videos in no standard fold",
                      sum(labels.rows(v) for v in labels.data if v not in in_folds))
            plans = {split: [p for p in (self.plan(v, seqs) for v in folds[split] if v in labels) if p]
                     for split in SPLITS}
            for split, videos in plans.items():
                if not videos:
                    left = "; ".join(f"{c}: {n}" for c, n in self.dropped.items()) or "none"
                    raise EmozslError(f"{self.folder}: no utterance in the {split} split: no video of its standard "
                                      f"fold gave one (segments left out: {left}; the folds are the SDK's YouTube "
                                      f"video ids, in emozsl/data/{FOLDS_FILE})")
            splits = {split: self.fill(split, videos, seqs) for split, videos in plans.items()}
            used = ", ".join(f"{role} {chosen[role].root}" for role in ("text", "audio", "visual", "labels"))
        if self.pauses:
            notes.append(f"'{SP_TOKEN}' pause tokens left out: {self.pauses}")
        if self.short:
            notes.append(f"words shorter than 1 ms left out (as the SDK's alignment does): {self.short}")
        empty = ", ".join(f"{m} {n}" for m, n in self.empty_words.items() if n)
        if empty:
            notes.append(f"words with no overlapping row, set to 0: {empty}")
        notes = [f"CMU SDK sequences: {used}; {self.steps} words an utterance", *notes]
        return MultimodalDataset("mosei", list(MOSEI_EMOTIONS), splits, str(self.folder), self.values.neg_inf_replaced,
                                 dropped=self.dropped, imputed=self.values.imputed, notes=notes)


def read_csd_folder(folder: Path, words: int = 20, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    """CMU-MOSEI from the SDK's computational sequences in `folder` (module docstring): text
    (N, words, 300) GloVe, audio (N, words, 74) COVAREP, visual (N, words, 35) FACET 4.2 or
    (N, words, 713) OpenFace 2, one row a word (front zero padding), labels (N, 6) intensities in
    MOSEI_EMOTIONS order; ids "{video}[{k}]"; standard folds. `impute`: dataset.FeatureValues.

    Errors (EmozslError, one line): a missing sequence (named by root and usual file); a .csd file
    that is unreadable or not a sequence; a malformed entry (in any sequence), a words file that is
    not one column of words, a NaN or negative emotion label or a bad interval (file, video, field,
    value); non-finite features that enter the output (file, video, count; unless impute="zero")."""
    if isinstance(words, bool) or not isinstance(words, int) or words < 1:
        raise FieldError("words", words, "must be a whole number of words, at least 1")
    return _Reader(Path(folder), words, FeatureValues(impute)).read()
