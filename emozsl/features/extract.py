"""`extract_features`: a user's own recordings (any raw data set emozsl reads) -> the feature
layout every feature backbone trains on (emozsl's safe HDF5 copy), offline, with its recipe.

Steps and alignment (settings.alignment in the recipe):
- "word": when every utterance has word timings (align.py), each word is one step of every
  modality: text the word's vector, audio and visual the mean of their frames overlapping the word
  by more than 1 ms (align.overlap_means, the .csd reader's rule; zeros where none does, counted).
  An utterance of more than `max_steps` words keeps its last `max_steps` (the .csd reader's cut),
  counted.
- "none": each modality keeps its own rate, mean-pooled in equal windows down to at most
  `max_steps` steps (align.pool_windows).
`align="auto"` (the default) is "word" when every utterance has timings and "none" when none has;
some but not all is an error naming an utterance without. Sequences are zero-padded at the end to
the longest one of their modality (emozsl.models.sequence reads all-zero steps as padding; an
out-of-vocabulary word's zero vector reads as padding too).
Labels, splits and ids are carried over; a source without labels gives unlabelled data (what
`emozsl predict` scores), which `load_dataset(OUT, labels="optional")` reads back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

import emozsl
from emozsl.data import MultimodalDataset, SplitData, load_dataset, write_safe_h5
from emozsl.data.utterance_table import table_path
from emozsl.errors import EmozslError
from emozsl.features import extractors as impl
from emozsl.features.align import (
    WORDS_SUFFIX,
    overlap_means,
    parse_words_column,
    pool_windows,
    read_words_file,
    table_words,
)
from emozsl.features.recipe import RECIPE_ATTRIBUTE, RECIPE_VERSION, package_version, sha256_of
from emozsl.features.registry import MODALITY_KINDS, parse_spec
from emozsl.fileio import replacing

DEFAULT_MAX_STEPS = 50
ALIGN_CHOICES = ("auto", "word", "none")


@dataclass
class Extraction:
    out: Path
    recipe: dict
    dataset: MultimodalDataset


def _utterances(dataset: MultimodalDataset) -> list[tuple[str, int, impl.Utterance]]:
    found = []
    for split, data in dataset.splits.items():
        columns = data.features
        items = {k: columns[k].items if k in columns else [None] * len(data.ids) for k in MODALITY_KINDS}
        for i, uid in enumerate(data.ids):
            found.append((split, i, impl.Utterance(str(uid), items["text"][i], items["audio"][i], items["visual"][i])))
    return found


def _timings(source: Path, utterances: list[impl.Utterance], words_dir: str | None) -> int:
    """Sets each utterance's `words` from the table's words column or a STEM.words.csv file; returns
    how many have timings."""
    column: dict = {}
    table = table_path(source)
    if table is not None:
        try:
            column = table_words(table)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            column = {}  # load_dataset read it: a column it cannot give is no column
    folder = Path(words_dir) if words_dir else None
    if folder is not None and not folder.is_dir():
        raise EmozslError(f"words_dir {folder}: no such folder of STEM{WORDS_SUFFIX} files")
    count = 0
    for u in utterances:
        if u.uid in column:
            u.words = parse_words_column(column[u.uid], f"{table}: utterance {u.uid}")
        else:
            media = [Path(p) for p in (u.audio.path if u.audio else None,
                                       u.frames.video if u.frames else None) if p]
            stems = [u.uid, *(p.stem for p in media)]
            candidates = ([folder / f"{s}{WORDS_SUFFIX}" for s in stems] if folder is not None
                          else [p.with_name(p.stem + WORDS_SUFFIX) for p in media])
            file = next((c for c in candidates if c.is_file()), None)
            if file is not None:
                u.words = read_words_file(file)
        count += u.words is not None
    return count


def _fit(values: np.ndarray, steps: int, dim: int) -> np.ndarray:
    out = np.zeros((steps, dim), np.float32)
    out[:len(values)] = values[:steps]
    return out


def extract_features(source: str | Path, out: str | Path, text: str | None = None, audio: str | None = None,
                     visual: str | None = None, max_steps: int = DEFAULT_MAX_STEPS, align: str = "auto",
                     words_dir: str | Path | None = None, frame_interval: float = 0.5, device: str = "cpu",
                     progress=None, overwrite: bool = True) -> Extraction:
    """Extract features of the raw data set `source` into the emozsl HDF5 file `out`.

    text / audio / visual: an extractor spec NAME[:ARG] of the registry (registry.EXTRACTORS), or
    None to leave the modality out (at least one is needed). `max_steps`: the most steps per
    modality (words when word-aligned). `align`: auto, word or none (module docstring).
    `words_dir`: a folder of STEM.words.csv timing files. `frame_interval`: seconds between the
    frames an image encoder sees. `progress(modality, done, total)` is called after each utterance.
    `overwrite` False refuses an existing `out` (the command line's default, so training data are
    never replaced by accident). Returns the output path, the recipe (also stored in `out`) and the
    data set written."""
    if align not in ALIGN_CHOICES:
        raise EmozslError(f"align {align!r}: choose one of {', '.join(ALIGN_CHOICES)}")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise EmozslError(f"max_steps {max_steps!r}: give a whole number of steps above 0")
    if frame_interval <= 0:
        raise EmozslError(f"frame_interval {frame_interval!r}: give seconds above 0")
    specs = {m: s for m, s in zip(MODALITY_KINDS, (text, audio, visual)) if s}
    if not specs:
        raise EmozslError("give at least one extractor (--text, --audio or --visual)")
    rows = {m: parse_spec(m, s) for m, s in specs.items()}
    source, out = Path(source), Path(out)
    if out.exists() and not overwrite:
        raise EmozslError(f"{out}: exists; pass --overwrite to replace it")
    dataset = load_dataset(source, labels="optional")
    if dataset.kind != "raw":
        raise EmozslError(f"{source}: holds features already (a {dataset.name} data set); extraction reads raw "
                          "media: an utterance table, a MESM folder or a folder of clips")
    listed = _utterances(dataset)
    utterances = [u for _, _, u in listed]
    timed = _timings(source, utterances, str(words_dir) if words_dir else None)
    if align == "auto":
        if 0 < timed < len(utterances):
            first = next(u.uid for u in utterances if u.words is None)
            raise EmozslError(f"{source}: {timed} of {len(utterances)} utterances have word timings; utterance "
                              f"{first} has none (give every utterance timings, or align='none')")
        align = "word" if timed else "none"
    elif align == "word" and timed < len(utterances):
        first = next(u.uid for u in utterances if u.words is None)
        raise EmozslError(f"{source}: align word needs word timings for every utterance; utterance {first} has none")
    if align == "none":
        for u in utterances:
            u.words = None  # the transcript's words, each modality at its own rate

    if "text" in rows:  # a text extractor reads every utterance's words: a clip without them is named
        silent = [u.uid for u in utterances if not (u.text or "").strip() and not u.words]
        if silent:
            raise EmozslError(f"{source}: utterance {silent[0]} has no transcript ({len(silent)} of {len(utterances)} "
                              f"have none; a clip's is NAME.txt beside it); give them one, or leave out --text")
    settings = impl.Settings(frame_interval=float(frame_interval), words_dir=str(words_dir) if words_dir else None,
                             device=device)
    opened = {m: getattr(impl, row.opener)(arg, settings) for m, (row, arg) in rows.items()}
    counts = {"words_cut": 0, "empty_words": {m: 0 for m in opened}}
    if align == "word":
        cut = sum(max(0, len(u.words) - max_steps) for u in utterances)
        counts["words_cut"] = cut
        for u in utterances:
            u.words = u.words[-max_steps:]
    steps: dict[str, list[np.ndarray]] = {}
    for modality, extractor in opened.items():
        if extractor.prepare is not None:
            extractor.prepare(utterances)
        results = []
        for k, u in enumerate(utterances):
            values, times = extractor(u)
            if align == "word":
                spans = impl.word_times(u)
                if modality != "text":
                    values, taken = overlap_means(times[:, 0], times[:, 1], values, spans[:, 0], spans[:, 1])
                    counts["empty_words"][modality] += int((taken == 0).sum())
            else:
                values, _ = pool_windows(values, times, max_steps)
            results.append(np.asarray(values, np.float32).reshape(len(values), -1))
            if progress is not None:
                progress(modality, k + 1, len(utterances))
        steps[modality] = results
    dims = {m: opened[m].dim if opened[m].dim is not None else results[0].shape[1] for m, results in steps.items()}
    if align == "word":
        longest = max([len(u.words) for u in utterances] + [1])
        lengths = {m: longest for m in steps}
    else:
        lengths = {m: max([len(v) for v in steps[m]] + [1]) for m in steps}

    splits = {}
    for split, data in dataset.splits.items():
        members = [k for k, (s, _, _) in enumerate(listed) if s == split]
        features = {m: np.stack([_fit(steps[m][k], lengths[m], dims[m]) for k in members]) if members
                    else np.zeros((0, lengths[m], dims[m]), np.float32) for m in steps}
        splits[split] = SplitData(features, data.labels, data.ids, dict(data.modality_labels))

    packages = {"emozsl": emozsl.__version__, "numpy": package_version("numpy"), "h5py": package_version("h5py")}
    for extractor in opened.values():
        packages.update({p: package_version(p) for p in extractor.packages})
    recipe = {
        "recipe_version": RECIPE_VERSION,
        "emozsl": emozsl.__version__,
        "source": str(source.resolve()),
        "versions": packages,
        "settings": {"max_steps": max_steps, "alignment": align, "frame_interval": float(frame_interval),
                     "words_dir": str(Path(words_dir).resolve()) if words_dir else None,
                     "timed_utterances": timed, "words_cut": counts["words_cut"]},
        "extractors": {},
    }
    for modality, (row, arg) in rows.items():
        extractor = opened[modality]
        stats = dict(extractor.stats)
        if align == "word" and modality != "text":
            stats["words_without_frames"] = counts["empty_words"][modality]
        recipe["extractors"][modality] = {
            "name": row.name, "arg": arg, "spec": specs[modality], "version": row.version, "dim": dims[modality],
            "steps": lengths[modality], "rate": "word" if align == "word" else row.rate, "stats": stats,
            "files": [{"kind": kind, "path": path, "sha256": sha256_of(kind, path)} for kind, path in extractor.files]}

    notes = list(dataset.notes) + [f"features extracted by emozsl {emozsl.__version__}: "
                                   + ", ".join(f"{m} {specs[m]}" for m in steps) + f"; alignment {align}"]
    oov = recipe["extractors"].get("text", {}).get("stats", {})
    if "oov_words" in oov:
        notes.append(f"out-of-vocabulary words (zero vectors): {oov['oov_words']} of {oov['words']}")
    result = MultimodalDataset(dataset.name, list(dataset.emotions), splits, str(source), notes=notes,
                               dropped=dict(dataset.dropped), labelled=dataset.labelled)
    with replacing(out) as tmp:
        write_safe_h5(result, tmp)
        with h5py.File(tmp, "a") as h5:
            h5.attrs[RECIPE_ATTRIBUTE] = json.dumps(recipe)
    return Extraction(out, recipe, result)
