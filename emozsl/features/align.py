"""Alignment of extracted steps: to words (when word timings are known) or, without timings, mean
pooling in equal windows; and the word timings themselves.

Word timings, per utterance, from (first found):
- the utterance table's `words` column: "word start end;word start end;..." (seconds), or a JSON
  list of [word, start, end] triples or {"word", "start", "end"} objects;
- a file STEM.words.csv (header word,start,end; seconds) in the folder given as `words_dir`
  (STEM the utterance id, or the stem of its audio or video file), else beside its audio or video
  file. (A plain folder of clips holding a .csv is no longer read as clips: keep these files in
  another folder and pass it as `words_dir`.)
Pause tokens ("", "sp", "sil", "<sil>", "<sp>", case-insensitive) are left out, as the CMU SDK's
words files' "sp" rows are.

The overlap rule is the .csd reader's, one implementation (emozsl/data/alignment.py, the CMU SDK's
rule): a row belongs to a word when min(ends) - max(starts) > epsilon (1 ms), in float64; a word is
the mean of its rows, zeros when none overlaps it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from emozsl.data.alignment import EPSILON, overlap_means  # noqa: F401 (the shared rule, re-exported)
from emozsl.errors import EmozslError, first_line
from emozsl.numeric import finite_number

PAUSES = frozenset({"", "sp", "sil", "<sil>", "<sp>"})


def pool_windows(values: np.ndarray, times: np.ndarray | None, max_steps: int
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """At most `max_steps` steps: a longer sequence is cut into `max_steps` equal windows (window i
    holds steps floor(i * T / max_steps) .. floor((i + 1) * T / max_steps) - 1), each the mean of its steps (times: the first step's start,
    the last one's end); a shorter one is kept as it is."""
    steps = len(values)
    if steps <= max_steps:
        return values, times
    edges = np.arange(max_steps + 1) * steps // max_steps
    pooled = np.add.reduceat(values.astype(np.float64), edges[:-1], axis=0) / np.diff(edges)[:, None]
    pooled_times = None if times is None else np.stack([times[edges[:-1], 0], times[edges[1:] - 1, 1]], 1)
    return pooled.astype(np.float32), pooled_times


def _time(value, where: str) -> float:
    return finite_number(value, where, "time", " in seconds")


def _timed(entries, where: str) -> list[tuple[str, float, float]]:
    """Checked (word, start, end) triples in the order given, pauses left out."""
    words = []
    for k, (word, start, end) in enumerate(entries, start=1):
        start, end = _time(start, f"{where}: word {k}"), _time(end, f"{where}: word {k}")
        if end < start:
            raise EmozslError(f"{where}: word {k} ({word!r}) ends at {end:g}, before it starts at {start:g}")
        if str(word).strip().lower() not in PAUSES:
            words.append((str(word).strip(), start, end))
    return words


def parse_words_column(value, where: str) -> list[tuple[str, float, float]] | None:
    """The table's `words` cell (see the module docstring); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise EmozslError(f"{where}: words column is not JSON ({exc.msg})") from None
    if isinstance(value, list):
        entries = []
        for k, item in enumerate(value, start=1):
            if isinstance(item, dict) and {"word", "start", "end"} <= set(item):
                entries.append((item["word"], item["start"], item["end"]))
            elif isinstance(item, (list, tuple)) and len(item) == 3:
                entries.append(tuple(item))
            else:
                raise EmozslError(f"{where}: words entry {k} is not [word, start, end] or "
                                  "{\"word\", \"start\", \"end\"}")
        return _timed(entries, f"{where}: words")
    if not isinstance(value, str):
        raise EmozslError(f"{where}: words must be 'word start end;...' or a JSON list")
    entries = []
    for k, part in enumerate(p for p in value.split(";") if p.strip()):
        fields = part.split()
        if len(fields) != 3:
            raise EmozslError(f"{where}: words entry {k + 1} {part.strip()!r} is not 'word start end'")
        entries.append(tuple(fields))
    return _timed(entries, f"{where}: words")


def read_words_file(file: Path) -> list[tuple[str, float, float]]:
    """A STEM.words.csv file: header word,start,end (any order, other columns ignored)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EmozslError(f"{file}: cannot read ({first_line(exc)})") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in ("word", "start", "end") if c not in fields]
    if missing:
        raise EmozslError(f"{file}: no column {', '.join(missing)} (a words file has the header word,start,end)")
    rows = [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    return _timed([(r["word"], r["start"], r["end"]) for r in rows], str(file))


def table_words(table: Path) -> dict[str, object]:
    """id -> the raw `words` cell of an utterance table (.csv or .jsonl), for the rows that have one."""
    text = table.read_text(encoding="utf-8-sig")
    if table.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {str(r.get("id") or "").strip(): r["words"] for r in rows if r.get("words") not in (None, "")}
