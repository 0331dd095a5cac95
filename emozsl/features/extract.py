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

Bad clips: a clip whose media are missing or undecodable ("media"), whose OpenFace CSV is missing or
of another layout ("openface_csv"), whose word timings end more than TIMING_SLACK s past its audio
or are missing with align "word" ("timings"), or on which an extractor fails otherwise ("extractor") is named in one warning on the
`emozsl` logger and left out of OUT; the others are extracted. `strict=True` stops at the first
(one line); when every clip fails, one line names the first. The summary (recipe["summary"], also
Extraction.summary): {"clips", "extracted", "media_seconds", "seconds" (wall), "failures": {cause:
count}, "failed": [{"id", "error"}], "cached": {modality: clips read from the cache}, and with
OpenFace "frames_face_lost"}.

The per-clip cache (a killed extraction resumes where it stopped; a second one of the same source
reads every clip back; `cache=False` neither reads nor writes it) and the pool of workers for the
per-clip extractors (openSMILE, log-mel, MFCC, OpenFace CSVs; `workers`, default one per core)
are runner.py's. A progress bar per modality shows the clips done.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

import emozsl
from emozsl.data import MultimodalDataset, SplitData, load_dataset, write_safe_h5
from emozsl.data.readers.clips import WORDS_SUFFIX
from emozsl.data.readers.utterance_table import table_path
from emozsl.errors import EmozslError
from emozsl.features import extractors as impl
from emozsl.features.align import (
    overlap_means,
    parse_words_column,
    pool_windows,
    read_words_file,
    table_words,
)
from emozsl.features.recipe import RECIPE_ATTRIBUTE, RECIPE_VERSION, package_version, sha256_of
from emozsl.features.registry import MODALITY_KINDS, parse_spec
from emozsl.features.runner import ClipPool, cache_key, clip_input, count, pool_workers, run_clip
from emozsl.fileio import cache_root, replacing

DEFAULT_MAX_STEPS = 50
ALIGN_CHOICES = ("auto", "word", "none")
TIMING_SLACK = 0.5  # s a clip's last word may end past its audio (aligners overshoot); more is a bad clip
log = logging.getLogger("emozsl")


@contextlib.contextmanager
def _stop_at_clip_end():
    """Ctrl-C (SIGINT) during extraction stops it at the end of a clip, not inside a library (openSMILE
    swallows an interrupt in its callback and returns the clip short of frames, which the cache would
    keep). Yields a list that is non-empty once Ctrl-C came. Outside the main thread: no handler."""
    asked: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return
    previous = signal.signal(signal.SIGINT, lambda number, frame: asked.append(number))
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Extraction:
    out: Path
    recipe: dict
    dataset: MultimodalDataset
    summary: dict = field(default_factory=dict)


def _clip_files(u: impl.Utterance) -> str:
    files = [p for p in (u.audio.path if u.audio else None, u.frames.video if u.frames else None,
                         u.frames.folder if u.frames else None) if p]
    return ", ".join(str(p) for p in files) or "no media file"


def _audio_seconds(u: impl.Utterance) -> float | None:
    """The clip's audio length from its header (or samples); None when it has none."""
    ref = u.audio
    if ref is None:
        return None
    if ref.samples is not None:
        return len(np.asarray(ref.samples)) / float(ref.rate) if ref.rate else None
    if ref.path is None:
        return None
    from emozsl.data.media.decode import audio_info

    try:
        frames, rate = audio_info(Path(ref.path), u.uid, ref.rate)
    except EmozslError as exc:
        raise impl.ClipError(str(exc), "media") from None
    return frames / rate


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
                     overwrite: bool = True, strict: bool = False, cache: bool = True, workers: int | None = None,
                     trust_pickle: bool = False, own_first: bool = False) -> Extraction:
    """Extract features of the raw data set `source` into the emozsl HDF5 file `out`.

    text / audio / visual: an extractor spec NAME[:ARG] of the registry (registry.EXTRACTORS), or
    None to leave the modality out (at least one is needed). `max_steps`: the most steps per
    modality (words when word-aligned). `align`: auto, word or none (module docstring).
    `words_dir`: a folder of STEM.words.csv timing files. `frame_interval`: seconds between the
    frames an image encoder sees. `overwrite` False refuses an existing `out` (the command line's default, so training data are
    never replaced by accident). `strict`: stop at the first bad clip instead of leaving it out
    (module docstring). `cache`: read and write the per-clip cache. `workers`: processes for the
    per-clip extractors (runner.pool_workers; None: the cores, 1: none). `trust_pickle`: a words:FILE
    may be a gensim save (a pickle, which runs code when loaded). `own_first`: a clip's own OpenFace
    CSV (beside it) before the one in openface:DIR (what `emozsl predict` asks for new clips).
    Returns the output path, the recipe (also stored in `out`), the data set written and the summary."""
    started = time.perf_counter()
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
    untimed = [k for k, u in enumerate(utterances) if u.words is None] if align == "word" else []
    if align == "none":
        for u in utterances:
            u.words = None  # the transcript's words, each modality at its own rate

    if "text" in rows:  # a text extractor reads every utterance's words: a clip without them is named
        silent = [u.uid for u in utterances if not (u.text or "").strip() and not u.words]
        if silent:
            raise EmozslError(f"{source}: utterance {silent[0]} has no transcript ({len(silent)} of {len(utterances)} "
                              f"have none; a clip's is NAME.txt beside it); give them one, or leave out --text")
    settings = impl.Settings(frame_interval=float(frame_interval), device=device, trust_pickle=trust_pickle,
                             own_first=own_first)
    opened = {m: getattr(impl, row.opener)(arg, settings) for m, (row, arg) in rows.items()}
    counts = {"words_cut": 0, "empty_words": {m: 0 for m in opened}}
    if align == "word":
        cut = sum(max(0, len(u.words) - max_steps) for u in utterances if u.words is not None)
        counts["words_cut"] = cut
        for u in utterances:
            u.words = u.words[-max_steps:] if u.words is not None else None

    failed: dict[int, tuple[str, str]] = {}  # utterance index -> (cause, line)

    def fail(k: int, cause: str, message: str) -> None:
        u = utterances[k]
        line = f"clip {u.uid} ({_clip_files(u)}): {message}"
        if strict:
            raise EmozslError(f"{line} (strict: stopped at a bad clip)")
        log.warning("left out %s", line)
        failed[k] = (cause, line)

    for k in untimed:  # align word (what a word-aligned run's recipe asks of new clips): a clip without timings
        fail(k, "timings", f"no word timings, which align word needs (give it a STEM{WORDS_SUFFIX} beside it, "
                           "columns word,start,end)")
    seconds: dict[int, float] = {}
    for k, u in enumerate(utterances):
        if k in failed:
            continue
        try:
            length = _audio_seconds(u) if "audio" in rows else None
        except impl.ClipError as exc:
            fail(k, exc.cause, str(exc))
            continue
        if length is not None:
            seconds[k] = length
            if u.words:
                end = max(e for _, _, e in u.words)
                if end > length + TIMING_SLACK:
                    fail(k, "timings", f"word timings run to {end:g} s, past its audio's {length:.3f} s")

    files = {m: [{"kind": kind, "path": path, "sha256": sha256_of(kind, path)} for kind, path in opened[m].files]
             for m in opened}
    folder = cache_root() / "features"
    cached = {m: 0 for m in opened}
    steps: dict[str, dict[int, np.ndarray]] = {}
    pooled = {m: specs[m] for m, (row, _) in rows.items() if row.per_clip and opened[m].prepare is None}
    workers = pool_workers(workers, len(utterances) - len(failed)) if pooled else 1
    tasks: dict[str, list] = {}
    for modality, extractor in opened.items():
        row, arg = rows[modality]
        base = cache_key(modality, specs[modality], row.version, *(f["sha256"] for f in files[modality]),
                         *(f"{p}={package_version(p)}" for p in extractor.packages),
                         settings.frame_interval if modality == "visual" else "", device if row.name == "hf" else "")
        tasks[modality] = []
        for k, u in enumerate(utterances):
            if k not in failed:
                part = clip_input(modality, row.name, arg, u, settings.own_first) if cache else None
                entry = folder / modality / f"{cache_key(base, *part)}.npz" if part is not None else None
                tasks[modality].append((k, u, entry))
    with contextlib.ExitStack() as stack:
        interrupted = stack.enter_context(_stop_at_clip_end())
        pool = stack.enter_context(ClipPool(pooled, settings, workers)) if workers > 1 else None
        # every pooled modality's clips queued at once: the workers start while this process runs the others
        submitted = {m: pool.submit(m, specs[m], tasks[m]) for m in pooled} if pool is not None else {}
        for modality, extractor in opened.items():
            if extractor.prepare is not None:
                extractor.prepare([u for k, u in enumerate(utterances) if k not in failed])
            outcomes = submitted.get(modality) or (
                (k, run_clip(extractor, modality, specs[modality], u, entry)) for k, u, entry in tasks[modality]
                if k not in failed)
            results: dict[int, np.ndarray] = {}
            with tqdm(total=len(tasks[modality]), desc=f"{modality} {specs[modality]}", unit="clip", leave=False,
                      disable=None) as bar:
                for k, outcome in outcomes:
                    if interrupted:
                        raise KeyboardInterrupt
                    bar.update()
                    if k in failed:  # failed in an earlier modality while this one was queued
                        continue
                    if outcome.error is not None:
                        fail(k, outcome.cause, outcome.error)
                        continue
                    count(extractor, outcome)
                    cached[modality] += outcome.cached
                    values, times, u = outcome.values, outcome.times, utterances[k]
                    if times is not None and len(times):
                        seconds.setdefault(k, float(np.max(times[:, 1])))
                    if align == "word":
                        spans = impl.word_times(u)
                        if modality != "text":
                            values, taken = overlap_means(times[:, 0], times[:, 1], values, spans[:, 0], spans[:, 1])
                            counts["empty_words"][modality] += int((taken == 0).sum())
                    else:
                        values, _ = pool_windows(values, times, max_steps)
                    results[k] = np.asarray(values, np.float32).reshape(len(values), -1)
            steps[modality] = results
    if len(failed) == len(utterances):
        cause, line = failed[0]
        raise EmozslError(f"{source}: every clip failed ({len(failed)} of {len(utterances)}); the first: {line}")
    kept = [k for k in range(len(utterances)) if k not in failed]
    dims = {m: opened[m].dim if opened[m].dim is not None else results[kept[0]].shape[1]
            for m, results in steps.items()}
    if align == "word":
        longest = max([len(utterances[k].words) for k in kept] + [1])
        lengths = {m: longest for m in steps}
    else:
        lengths = {m: max([len(v) for k, v in steps[m].items() if k not in failed] + [1]) for m in steps}

    splits = {}
    for split, data in dataset.splits.items():
        members = [(k, i) for k, (s, i, _) in enumerate(listed) if s == split and k not in failed]
        rows_kept = np.array([i for _, i in members], dtype=np.int64)
        features = {m: np.stack([_fit(steps[m][k], lengths[m], dims[m]) for k, _ in members]) if members
                    else np.zeros((0, lengths[m], dims[m]), np.float32) for m in steps}
        splits[split] = SplitData(features, np.asarray(data.labels)[rows_kept], np.asarray(data.ids)[rows_kept],
                                  {m: np.asarray(a)[rows_kept] for m, a in data.modality_labels.items()})

    failures: dict[str, int] = {}
    for cause, _ in failed.values():
        failures[cause] = failures.get(cause, 0) + 1
    summary = {"clips": len(utterances), "extracted": len(kept),
               "media_seconds": round(sum(seconds.get(k, 0.0) for k in kept), 3), "seconds": 0.0,
               "failures": failures,
               "failed": [{"id": utterances[k].uid, "error": line} for k, (_, line) in sorted(failed.items())],
               "cached": cached, "workers": workers}
    if "visual" in rows and rows["visual"][0].name == "openface":
        summary["frames_face_lost"] = int(opened["visual"].stats.get("frames_face_lost", 0))
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
        "summary": summary,
    }
    for modality, (row, arg) in rows.items():
        extractor = opened[modality]
        stats = dict(extractor.stats)
        if align == "word" and modality != "text":
            stats["words_without_frames"] = counts["empty_words"][modality]
        recipe["extractors"][modality] = {
            "name": row.name, "arg": arg, "spec": specs[modality], "version": row.version, "dim": dims[modality],
            "steps": lengths[modality], "rate": "word" if align == "word" else row.rate, "stats": stats,
            "files": files[modality]}

    notes = list(dataset.notes) + [f"features extracted by emozsl {emozsl.__version__}: "
                                   + ", ".join(f"{m} {specs[m]}" for m in steps) + f"; alignment {align}"]
    oov = recipe["extractors"].get("text", {}).get("stats", {})
    if "oov_words" in oov:
        notes.append(f"out-of-vocabulary words (zero vectors): {oov['oov_words']} of {oov['words']}")
    dropped = dict(dataset.dropped)
    if failed:
        dropped["extraction failed"] = len(failed)
        notes.append(f"clips left out (extraction failed): {len(failed)} of {len(utterances)} ("
                     + ", ".join(f"{c} {n}" for c, n in sorted(failures.items())) + ")")
    result = MultimodalDataset(dataset.name, list(dataset.emotions), splits, str(source), notes=notes,
                               dropped=dropped, labelled=dataset.labelled, corpus=dataset.corpus)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    with replacing(out) as tmp:
        write_safe_h5(result, tmp)
        with h5py.File(tmp, "a") as h5:
            h5.attrs[RECIPE_ATTRIBUTE] = json.dumps(recipe)
    if failed:
        log.warning("%s: %d of %d clips left out (%s); extracted %d", out, len(failed), len(utterances),
                    ", ".join(f"{c} {n}" for c, n in sorted(failures.items())), len(kept))
    return Extraction(out, recipe, result, summary)
