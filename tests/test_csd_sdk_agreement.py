"""emozsl's CMU-MOSEI .csd reader against the CMU Multimodal SDK's own pipeline (PyPI
cmu-multimodal-sdk), on a small folder written with the SDK's writer: the SDK is the expected value.

The SDK pipeline is the one of its CMU-MOSEI example: `mmdataset` of the word vectors, COVAREP and
FACET, `align("glove_vectors")` with an average collapse function, then the labels added and
`align("All Labels")` without one. Its `impute()` (zeros for a word a modality has no row for) fails
on Python 3 (`dict_keys` is not subscriptable), so `sdk_impute` does the same with `list(...)`. After
alignment, as the example's tensor step does: a segment is kept when text, audio and visual hold as
many rows, its last 20 words are kept and shorter ones zero-padded at the front; COVAREP -inf (and,
with --impute zero, NaN) cells are set to 0 as the field's loaders do.

`python tests/test_csd_sdk_agreement.py` prints the agreement figures."""

from __future__ import annotations

import contextlib
import io
import math
import sys
from pathlib import Path

import h5py
import numpy as np
from test_csd import FILES, emotions, write_sequence

from emozsl.data.readers.csd import mosei_folds, read_csd_folder
from emozsl.data.readers.mosei import MOSEI_EMOTIONS, SDK_LABEL_COLUMNS

EPS = 1e-3  # the SDK's epsilon (mmsdk/mmdatasdk/dataset/dataset.py: epsilon=10e-4)
FPS = 29.97  # FACET frames
STEPS = 20
ROOTS = ("glove_vectors", "COVAREP", "FACET 4.2")
DIMS = {"glove_vectors": 300, "COVAREP": 74, "FACET 4.2": 35}
MODALITY = {"glove_vectors": "text", "COVAREP": "audio", "FACET 4.2": "visual"}


def word_times(rng, n: int) -> list[list[float]]:
    """n words of 0.15-0.6 s, adjacent or after a pause; a third start or end within 1.1 ms of a
    FACET frame boundary (either side); a few are zero-length or last 0.5 ms (skipped by the SDK)."""
    def graze(t):
        return math.ceil((t + 0.002) * FPS) / FPS + rng.choice([-1.1e-3, -9e-4, -4e-4, 4e-4, 9e-4, 1.1e-3])

    words, t = [], 0.3
    for _ in range(n):
        if rng.random() < 0.3:
            t += rng.uniform(0.1, 0.7)  # a pause
        start = graze(t) if rng.random() < 0.3 else t
        end = start + rng.uniform(0.15, 0.6)
        end = graze(end) if rng.random() < 0.3 else end
        words.append([start, end])
        if rng.random() < 0.08:  # zero-length or sub-millisecond, at the word's end
            words.append([end, end + rng.choice([0.0, 5e-4])])
        t = words[-1][1]
    return words


def boundary(rng, words, i: int, side: str) -> float:
    """A segment boundary at word i, the segment's first (side "start") or last ("end") word:
    inside it (the word straddles the boundary), 0.5 ms into it (an overlap under the SDK's
    epsilon), or 20 ms outside it."""
    start, end = words[i]
    mode = rng.choice(["straddle", "straddle", "graze", "pause"])
    if mode == "straddle" and end - start >= 0.1:
        return start + rng.uniform(0.05, 0.95) * (end - start)
    if mode == "graze":
        return start + 5e-4 if side == "end" else end - 5e-4
    return end + 0.02 if side == "end" else start - 0.02


def make_video(rng, n: int, pushed: bool = False, nan: bool = False, pause_only: bool = False) -> dict:
    """One video's sequences. `pushed`: segment 0 ends 50 ms into a long word that has no FACET
    frame until 40 ms after that (the SDK drops the segment; emozsl keeps it). `nan`: one FACET
    frame inside word 2 holds NaN, and word 3 has none. `pause_only`: a last labelled segment inside a 1.5 s pause."""
    words = word_times(rng, n)
    if pause_only:
        words.append([words[-1][1] + 1.5, words[-1][1] + 1.9])
    words = np.array(words)
    if pushed:
        words[10:] += 0.5
        words[10, 1] = words[10, 0] + 0.5
    # segments over runs of 5-28 words; a boundary shared by neighbours (half the time) or a gap
    segments, i = [], 0
    while i < len(words) - 4:
        j = min(len(words) - 1, i + int(rng.integers(5, 29)))
        start = segments[-1][1] if segments and rng.random() < 0.5 else boundary(rng, words, i, "start")
        end = words[10, 0] + 0.05 if pushed and not segments else boundary(rng, words, j, "end")
        segments.append([start, end])
        i = (10 if pushed and len(segments) == 1 else j) + int(rng.integers(0, 2))
    if pause_only:
        segments.append([words[-1, 0] - 1.3, words[-1, 0] - 0.3])
    length = words[-1, 1] + 0.5
    rows = np.arange(int(length * 100))
    covarep = np.stack([rows / 100, (rows + 1) / 100], 1)
    frames = np.arange(int(length * FPS))
    facet = np.stack([frames / FPS, (frames + 1) / FPS], 1)
    if pushed:  # no frame from 50 ms before word 10 to 40 ms after segment 0's end
        facet = facet[(facet[:, 1] <= words[10, 0] - 0.05) | (facet[:, 0] >= segments[0][1] + 0.04)]
    if nan:  # and no frame at all over word 3 (the SDK's impute gives it zeros)
        facet = facet[(facet[:, 1] <= words[3, 0]) | (facet[:, 0] >= words[3, 1])]
    audio = rng.normal(size=(len(covarep), 74))
    audio[rng.random(len(audio)) < 0.015, 1] = -np.inf  # the log of silence, in scattered frames
    visual = rng.normal(size=(len(facet), 35))
    if nan:
        visual[int(np.argmax(facet[:, 0] > words[2, 0] + 0.05)), 2] = np.nan
    labels = [emotions(float(rng.uniform(-3, 3)), **{c: float(rng.integers(0, 4)) / 3 for c in SDK_LABEL_COLUMNS[1:]})
              for _ in segments]
    return {
        "words": {"features": np.array([[f"w{i}".encode()] for i in range(len(words))]), "intervals": words},
        "glove_vectors": {"features": rng.normal(size=(len(words), 300)), "intervals": words},
        "COVAREP": {"features": audio, "intervals": covarep},
        "FACET 4.2": {"features": visual, "intervals": facet},
        "All Labels": {"features": np.array(labels), "intervals": np.array(segments)},
    }


def agreement_folder(folder: Path, seed: int = 7) -> Path:
    """Five videos of the standard folds (three train, one valid, one test)."""
    rng = np.random.default_rng(seed)
    folds = mosei_folds()
    ids = [*folds["train"][:3], folds["valid"][0], folds["test"][0]]
    videos = {vid: make_video(rng, int(rng.integers(40, 70)), pushed=k == 0, nan=k == 1, pause_only=k == 2)
              for k, vid in enumerate(ids)}
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):  # the SDK's log lines
        for root in ("words", *ROOTS, "All Labels"):
            write_sequence(folder, root, {vid: parts[root] for vid, parts in videos.items()})
    return folder


def average(intervals, features):
    """The collapse function of the SDK's examples."""
    return np.average(features, axis=0)


def sdk_impute(dataset, reference):
    """mmdataset.impute(reference) with `list(...)` where it indexes dict keys: a word a modality
    has no row for gets one row of zeros over the word's interval."""
    for other in [key for key in dataset.keys() if key != reference]:
        dims = list(next(iter(dataset[other].data.values()))["features"].shape[1:])
        for key in list(dataset[reference].keys()):
            if key not in dataset[other].data:
                dataset[other].data[key] = {"intervals": dataset[reference][key]["intervals"],
                                            "features": np.zeros([1] + dims)}


def sdk_pipeline(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    """segment id -> root -> the SDK's aligned rows (features as the SDK leaves them)."""
    from mmsdk import mmdatasdk

    with contextlib.redirect_stdout(io.StringIO()):  # the SDK's log lines
        dataset = mmdatasdk.mmdataset({root: str(folder / FILES[root]) for root in ROOTS})
        dataset.align("glove_vectors", collapse_functions=[average])
        sdk_impute(dataset, "glove_vectors")
        dataset.add_computational_sequences({"All Labels": str(folder / FILES["All Labels"])}, None)
        dataset.align("All Labels")
    return {key: {root: np.asarray(dataset[root].data[key]["features"])
                  for root in (*ROOTS, "All Labels") if key in dataset[root].data}
            for key in dataset["All Labels"].keys()}


def sdk_tensors(aligned) -> tuple[dict, dict]:
    """The kept segments (id -> modality -> (20, D) array, "labels" -> (6,)), and the dropped ones
    (id -> root -> rows), as the example's tensor step makes them."""
    kept, dropped = {}, {}
    for key, rows in aligned.items():
        counts = {len(rows[root]) if root in rows else 0 for root in ROOTS}
        if len(counts) > 1 or 0 in counts:
            dropped[key] = {root: len(rows.get(root, ())) for root in ROOTS}
            continue
        out = {}
        for root in ROOTS:
            values = rows[root][-STEPS:].astype(np.float64)
            values[np.isneginf(values) | np.isnan(values)] = 0  # the loaders' -inf -> 0; --impute zero
            padded = np.zeros((STEPS, DIMS[root]))
            padded[STEPS - len(values):] = values
            out[MODALITY[root]] = padded
        out["labels"] = rows["All Labels"][0, [SDK_LABEL_COLUMNS.index(e) for e in MOSEI_EMOTIONS]]
        out["words"] = min(len(rows["glove_vectors"]), STEPS)
        kept[key] = out
    return kept, dropped


def emozsl_tensors(data) -> dict:
    out = {}
    for split in data.splits.values():
        for i, key in enumerate(split.ids):
            out[str(key)] = {m: split.features[m][i] for m in ("text", "audio", "visual")}
            out[str(key)]["labels"] = split.labels[i]
    return out


def close(a, b):
    return np.isclose(a, b, rtol=1e-5, atol=1e-6)


def figures(sdk: dict, ours: dict, all_segments: int) -> dict:
    """Segments (the same decision: both keep or both drop), words (the SDK's words, at their
    position, with the same vector) and cells (audio and visual values at the SDK's word positions)."""
    both = sorted(set(sdk) & set(ours))
    words = cells = cells_total = identical = 0
    for key in both:
        n = sdk[key]["words"]
        words += int(np.all(close(ours[key]["text"][-n:], sdk[key]["text"][-n:]), axis=1).sum())
        for m in ("audio", "visual"):
            cells += int(close(ours[key][m][-n:], sdk[key][m][-n:]).sum())
            cells_total += n * sdk[key][m].shape[1]
        identical += all(close(ours[key][m], sdk[key][m]).all() for m in ("text", "audio", "visual"))
    return {"segments": (all_segments - len(set(sdk) ^ set(ours)), all_segments),
            "sdk kept": len(sdk), "emozsl kept": len(ours), "kept by both": len(both),
            "kept by both, every array equal": (identical, len(both)),
            "words": (words, sum(sdk[k]["words"] for k in both)), "cells": (cells, cells_total),
            "labels": (sum(np.allclose(ours[k]["labels"], sdk[k]["labels"], rtol=1e-6) for k in both), len(both))}


def run(folder: Path, reader=read_csd_folder):
    aligned = sdk_pipeline(folder)
    sdk, dropped = sdk_tensors(aligned)
    data = reader(folder, words=STEPS, impute="zero")
    return aligned, sdk, dropped, data, emozsl_tensors(data)


def test_emozsl_agrees_with_the_sdk_pipeline(tmp_path):
    folder = agreement_folder(tmp_path / "sdk")
    aligned, sdk, dropped, data, ours = run(folder)
    pushed, nan_video, pause_video = [mosei_folds()["train"][k] for k in range(3)]
    # the one deliberate difference here: the SDK drops segment 0 of `pushed` only because its last
    # word has no FACET frame inside the segment (a 1-row mismatch); emozsl keeps it
    n = len(aligned[f"{pushed}[0]"]["glove_vectors"])
    assert dropped[f"{pushed}[0]"] == {"glove_vectors": n, "COVAREP": n, "FACET 4.2": n - 1}
    assert set(ours) - set(sdk) == {f"{pushed}[0]"}
    for root in ("glove_vectors", "COVAREP"):  # where the SDK's rows agree in number, emozsl has them
        expected = aligned[f"{pushed}[0]"][root][-STEPS:]
        expected[np.isneginf(expected)] = 0
        got = ours[f"{pushed}[0]"][MODALITY[root]][-len(expected):]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # the segment in a pause: no word vector inside, so neither keeps it
    pause_segment = f"{pause_video}[{sum(k.startswith(f'{pause_video}[') for k in aligned) - 1}]"  # its last
    assert "glove_vectors" not in aligned[pause_segment] and pause_segment not in ours
    assert data.dropped == {"segments with no words": 1}
    assert set(sdk) - set(ours) == set()
    for key, expected in sdk.items():
        for m in ("text", "audio", "visual"):
            np.testing.assert_allclose(ours[key][m], expected[m], rtol=1e-5, atol=1e-6, err_msg=f"{key} {m}")
        np.testing.assert_allclose(ours[key]["labels"], expected["labels"], rtol=1e-6, err_msg=key)
    # -inf cells (any -inf row in a word) set to 0 and counted; the NaN frame's word imputed
    assert sum(data.neg_inf_replaced.values()) > 50
    assert data.imputed == {"train/visual": 1}
    assert f"{nan_video}[0]" in sdk and "words with no overlapping row, set to 0: visual 1" in data.notes


def test_the_folder_exercises_the_four_rules(tmp_path):
    """Guards the comparison's power: the folder holds words straddling a segment boundary with
    their midpoint outside, zero-length and sub-millisecond words inside kept segments, FACET and
    COVAREP rows overlapping a word by under 1 ms, and words averaging a COVAREP -inf row with
    finite ones."""
    folder = agreement_folder(tmp_path / "sdk")
    straddling = short = grazing = mixed = 0
    with h5py.File(folder / FILES["glove_vectors"]) as text, h5py.File(folder / FILES["All Labels"]) as labels, \
            h5py.File(folder / FILES["FACET 4.2"]) as facet, h5py.File(folder / FILES["COVAREP"]) as covarep:
        for vid in labels["All Labels/data"]:
            words = text[f"glove_vectors/data/{vid}/intervals"][()]
            segments = labels[f"All Labels/data/{vid}/intervals"][()]
            mids = words.mean(1)
            for s, e in segments:
                overlap = np.minimum(words[:, 1], e) - np.maximum(words[:, 0], s)
                straddling += int(((overlap > EPS) & ((mids < s) | (mids > e))).sum())
                short += int(((words[:, 1] - words[:, 0] < EPS) & (words[:, 0] > s) & (words[:, 0] < e)).sum())
            for root, f in (("FACET 4.2", facet), ("COVAREP", covarep)):
                rows = f[f"{root}/data/{vid}/intervals"][()]
                for ws, we in words[words[:, 1] - words[:, 0] >= EPS]:
                    overlap = np.minimum(rows[:, 1], we) - np.maximum(rows[:, 0], ws)
                    grazing += int(((overlap > 0) & (overlap <= EPS)).sum())
                    if root == "COVAREP":
                        inside = overlap > EPS
                        col = f[f"{root}/data/{vid}/features"][:, 1][inside]
                        mixed += int(np.isneginf(col).any() and np.isfinite(col).any())
    assert straddling >= 10 and short >= 3 and grazing >= 20 and mixed >= 20, (straddling, short, grazing, mixed)


def main(argv) -> None:
    """Prints the agreement figures; `--reader FILE`: another copy of emozsl/data/readers/csd.py (such as
    `git show HEAD:emozsl/data/readers/csd.py > old_csd.py`), to compare a version before a change."""
    import importlib.util
    import tempfile

    reader = read_csd_folder
    if argv[1:2] == ["--reader"]:
        spec = importlib.util.spec_from_file_location("csd_under_test", argv[2])
        module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        reader = module.read_csd_folder
    with tempfile.TemporaryDirectory() as tmp:
        folder = agreement_folder(Path(tmp) / "sdk")
        aligned, sdk, dropped, data, ours = run(folder, reader)
        for name, value in figures(sdk, ours, len(aligned)).items():
            print(f"{name}: {value[0]}/{value[1]}" if isinstance(value, tuple) else f"{name}: {value}")
        print(f"emozsl dropped: {data.dropped}; the SDK's tensor step drops: {', '.join(sorted(dropped))}")


if __name__ == "__main__":
    main(sys.argv)
