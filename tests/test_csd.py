"""CMU-MOSEI as the CMU Multimodal SDK distributes it (.csd computational sequences): small files
written by the SDK's own writer (PyPI cmu-multimodal-sdk), so the layout is exactly the SDK's.

Importing the writer imports the SDK package, which imports torch (conftest has it loaded already)."""

from __future__ import annotations

import json
import re
from importlib import resources

import h5py
import numpy as np
import pytest
from mmsdk.mmdatasdk.computational_sequence.file_ops import writeCSD
from mmsdk.mmdatasdk.configurations.metadataconfigs import featuresetMetadataTemplate

from emozsl.data.readers.csd import csd_folder, explain_csd_file, mosei_folds, read_csd_folder
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.errors import EmozslError

# Real fold members: 'hh04W3xXa5s', 'GdFP_p4eQX0' and '81406' (numeric-looking) are train videos
# in that fold order, '188343' valid, '7l3BNtSE0xc' test.
NOT_IN_FOLDS = "zzNotInAFold"
ALL_LABEL_COLUMNS = ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]


def emotions(sentiment=0.0, **present) -> list[float]:
    return [sentiment] + [present.get(c, 0.0) for c in ALL_LABEL_COLUMNS[1:]]


def video(n: int, segments, pauses=(), facet_gap=()) -> dict:
    """Word i spans [i, i + 0.5] s, vector i + 1; a pause after word i ("sp", vector -1) spans
    [i + 0.5, i + 0.9]. COVAREP rows are 0.25 s long, row j holds j + 1 (so word i averages rows
    4i and 4i + 1: 4i + 1.5); FACET rows 0.5 s, row m holds m + 1 (word i
    overlaps row 2i alone: 2i + 1)."""
    words, tokens, vectors = [], [], []
    for i in range(n):
        words.append([i, i + 0.5]), tokens.append(f"w{i}".encode()), vectors.append(i + 1)
        if i in pauses:
            words.append([i + 0.5, i + 0.9]), tokens.append(b"sp"), vectors.append(-1)
    words = np.array(words, dtype=np.float64)
    covarep = np.arange(4 * n, dtype=np.float64)
    facet = np.array([m for m in range(2 * n) if m not in facet_gap], dtype=np.float64)
    frames = np.stack([facet / 2, (facet + 1) / 2], 1)
    return {
        "words": {"features": np.array(tokens).reshape(-1, 1), "intervals": words},
        "glove_vectors": {"features": np.repeat(np.array(vectors, float)[:, None], 300, 1), "intervals": words},
        "COVAREP": {"features": np.repeat(covarep[:, None] + 1, 74, 1),
                    "intervals": np.stack([covarep / 4, (covarep + 1) / 4], 1)},
        "FACET 4.2": {"features": np.repeat(facet[:, None] + 1, 35, 1), "intervals": frames},
        "OpenFace_2": {"features": np.repeat(facet[:, None] + 1, 713, 1), "intervals": frames},
        "All Labels": {"features": np.array([row for _, _, row in segments], dtype=np.float64),
                       "intervals": np.array([[s, e] for s, e, _ in segments], dtype=np.float64)},
    }


def sdk_videos() -> dict[str, dict]:
    videos = {
        "81406": video(10, [(0, 2.6, emotions(1.0, fear=2.0)),  # words 0-2 (and a pause)
                            # no word: words 3 and 4 overlap it by 0.5 ms, under the SDK's 1 ms epsilon (it
                            # was (3.3, 3.6), no word's midpoint inside; word 3 now overlaps that by 0.2 s)
                            (3.4995, 4.0005, emotions(happy=1.0)),
                            (3.0, 9.9, emotions(happy=1.0, surprise=10 / 3))],  # words 3-9: the last 4 kept
                       pauses=(0, 5), facet_gap=(4,)),  # word 2 has no FACET row
        "hh04W3xXa5s": video(2, [(0, 2, emotions(sad=1 / 3))]),
        "GdFP_p4eQX0": video(2, [(0, 2, emotions(sad=1.0))]),  # left out of COVAREP below
        "188343": video(3, [(0, 3, emotions(anger=2 / 3, disgust=1.0))]),
        "7l3BNtSE0xc": video(5, [(0, 5, emotions(-1.0, surprise=1.0))]),
        NOT_IN_FOLDS: video(2, [(0, 1, emotions(happy=1.0)), (1, 2, emotions(sad=1.0))]),
    }
    videos["81406"]["COVAREP"]["features"][1, 3] = -np.inf  # the log of silence, as in the real file
    return videos


FILES = {"words": "CMU_MOSEI_TimestampedWords.csd", "glove_vectors": "CMU_MOSEI_TimestampedGloveVectors.csd",
         "COVAREP": "CMU_MOSEI_COVAREP.csd", "FACET 4.2": "CMU_MOSEI_VisualFacet42.csd",
         "OpenFace_2": "CMU_MOSEI_VisualOpenFace2.csd", "All Labels": "CMU_MOSEI_Labels.csd",
         "Emotion Labels": "CMU_MOSEI_LabelsEmotions.csd"}


def write_sequence(folder, root, data):
    metadata = {key: f"emozsl test: {key}" for key in featuresetMetadataTemplate}
    metadata["root name"] = root
    writeCSD(data, metadata, root, str(folder / FILES[root]))


def write_sdk_folder(folder, videos=None, roots=("words", "glove_vectors", "COVAREP", "FACET 4.2", "All Labels")):
    folder.mkdir(exist_ok=True)
    videos = sdk_videos() if videos is None else videos
    for root in roots:
        source = "All Labels" if root == "Emotion Labels" else root
        data = {v: dict(parts[source]) for v, parts in videos.items() if not (root == "COVAREP" and v == "GdFP_p4eQX0")}
        if root == "Emotion Labels":  # the older file: the same emotion columns, no sentiment
            for entry in data.values():
                entry["features"] = entry["features"][:, 1:]
        write_sequence(folder, root, data)
    return folder


@pytest.fixture
def sdk_dir(tmp_path):
    return write_sdk_folder(tmp_path / "sdk")


def test_fold_file_holds_the_sdk_folds_with_their_provenance():
    doc = json.loads(resources.files("emozsl.data").joinpath("mosei_folds.json").read_text())
    assert doc["counts"] == {"train": 2250, "valid": 300, "test": 678}
    assert {s: len(ids) for s, ids in doc["folds"].items()} == doc["counts"]
    assert "cmu_mosei_std_folds.py" in doc["source"]["file"] and "0.0.6" in doc["source"]["copy"]
    assert doc["license"]["name"] == "MIT"
    folds = mosei_folds()
    ids = [v for split in folds.values() for v in split]
    assert len(ids) == len(set(ids)) == 3228  # no id in two folds, none twice in one
    assert all(isinstance(v, str) for v in ids)
    assert "81406" in folds["train"] and folds["train"].index("81406") > folds["train"].index("GdFP_p4eQX0")


def test_reads_the_sdk_folder_word_aligned(sdk_dir):
    data = read_csd_folder(sdk_dir, words=4)
    assert data.name == "mosei" and data.emotions == MOSEI_EMOTIONS
    assert {s: len(d) for s, d in data.splits.items()} == {"train": 3, "valid": 1, "test": 1}
    train = data.splits["train"]
    # fold order of the videos, then the segment's row in the labels file; ids stay strings
    assert list(train.ids) == ["hh04W3xXa5s[0]", "81406[0]", "81406[2]"]
    assert list(data.splits["valid"].ids) == ["188343[0]"] and list(data.splits["test"].ids) == ["7l3BNtSE0xc[0]"]
    assert data.input_dims() == {"text": 300, "audio": 74, "visual": 35}
    # labels reordered to anger, disgust, fear, happy, sad, surprise; intensities kept (even > 3)
    np.testing.assert_allclose(train.labels[1], [0, 0, 2, 0, 0, 0])
    np.testing.assert_allclose(train.labels[2], [0, 0, 0, 1, 0, 10 / 3], rtol=1e-6)
    np.testing.assert_allclose(data.splits["valid"].labels[0], [2 / 3, 1, 0, 0, 0, 0], rtol=1e-6)
    # text: pauses left out, shorter utterances zero-padded at the front, longer ones keep their last words
    text = train.features["text"][..., 0]
    np.testing.assert_array_equal(text, [[0, 0, 1, 2], [0, 1, 2, 3], [7, 8, 9, 10]])
    np.testing.assert_array_equal(data.splits["test"].features["text"][0, :, 0], [2, 3, 4, 5])
    # audio: the mean of the two 0.25 s rows inside each word (rows touching its ends are out);
    # the -inf (row 1, column 3) makes word 0's mean -inf, then 0, as the SDK and the field's
    # loaders do, and is counted (the old rule set the row to 0 before averaging: 0.5)
    audio = train.features["audio"]
    np.testing.assert_allclose(audio[1, :, 0], [0, 1.5, 5.5, 9.5])
    np.testing.assert_allclose(audio[2, :, 0], [25.5, 29.5, 33.5, 37.5])
    assert audio[1, 1, 3] == 0
    assert data.neg_inf_replaced == {"train/audio": 1}
    # visual: the one FACET row inside each word; word 2 has none, so zeros (and it is counted)
    np.testing.assert_allclose(train.features["visual"][1, :, 0], [0, 1, 3, 0])
    np.testing.assert_allclose(train.features["visual"][2, :, 0], [13, 15, 17, 19])
    assert "words with no overlapping row, set to 0: visual 1" in " ".join(data.notes)
    assert data.dropped == {"segments of videos in no standard fold": 2, "segments of videos missing from COVAREP": 1,
                            "segments with no words": 1}
    assert data.summary()["dropped"] == data.dropped


def test_the_sdk_alignment_rules(tmp_path):
    """The SDK's rules (1 ms epsilon): a word belongs to every segment it overlaps by more than
    1 ms (word 1 straddles both); a word shorter than 1 ms is skipped; a row overlapping a word by
    1 ms or less is ignored; a word's rows are averaged first, so a NaN row makes the cell NaN
    (then 0 with impute="zero") rather than counting as 0 in the mean."""
    videos = sdk_videos()
    entry = videos["188343"] = video(4, [(0, 1.2, emotions(anger=1.0)), (1.2, 4, emotions(fear=1.0))])
    for root in ("words", "glove_vectors"):  # a zero-length word at 2.5 s (vector 99), and word 3 from 2.9995 s
        entry[root]["intervals"] = np.insert(entry[root]["intervals"], 3, [2.5, 2.5], axis=0)
        entry[root]["intervals"][4, 0] = 2.9995
    entry["words"]["features"] = np.insert(entry["words"]["features"], 3, [b"uh"], axis=0)
    entry["glove_vectors"]["features"] = np.insert(entry["glove_vectors"]["features"], 3, 99, axis=0)
    entry["COVAREP"]["features"][4, 0] = np.nan  # word 1: rows 4 and 5
    data = read_csd_folder(write_sdk_folder(tmp_path / "sdk", videos), words=4, impute="zero")
    valid = data.splits["valid"]
    assert list(valid.ids) == ["188343[0]", "188343[1]"]
    np.testing.assert_array_equal(valid.features["text"][..., 0], [[0, 0, 1, 2], [0, 2, 3, 4]])
    # word 3: COVAREP row 11 ([2.75, 3]) and FACET row 5 ([2.5, 3]) overlap it by 0.5 ms: ignored
    np.testing.assert_allclose(valid.features["audio"][1, :, 1], [0, 5.5, 9.5, 13.5])
    np.testing.assert_allclose(valid.features["visual"][1, :, 0], [0, 3, 5, 7])
    np.testing.assert_array_equal(valid.features["audio"][:, :, 0], [[0, 0, 1.5, 0], [0, 0, 9.5, 13.5]])
    assert data.imputed == {"valid/audio": 1}  # one cell: word 1 is read once for both segments
    assert "words shorter than 1 ms left out (as the SDK's alignment does): 1" in data.notes


def test_vectors_alone_keep_every_row(sdk_dir):
    (sdk_dir / FILES["words"]).unlink()
    data = read_csd_folder(sdk_dir, words=4)
    # without the words file the pause rows are words too (the SDK's "_with_SP" vectors hold them)
    np.testing.assert_array_equal(data.splits["train"].features["text"][1, :, 0], [1, -1, 2, 3])
    assert "pause" not in " ".join(data.notes)


def test_openface_when_there_is_no_facet_and_facet_when_both(tmp_path):
    openface = write_sdk_folder(tmp_path / "openface", roots=("glove_vectors", "COVAREP", "OpenFace_2", "All Labels"))
    data = read_csd_folder(openface, words=4)
    assert data.input_dims()["visual"] == 713
    np.testing.assert_allclose(data.splits["train"].features["visual"][2, :, 0], [13, 15, 17, 19])
    write_sequence(openface, "FACET 4.2", {v: p["FACET 4.2"] for v, p in sdk_videos().items()})
    data = read_csd_folder(openface, words=4)
    assert data.input_dims()["visual"] == 35
    assert "FACET 4.2 used, not OpenFace_2" in " ".join(data.notes)


def test_older_emotion_labels_give_the_same_labels(tmp_path, sdk_dir):
    older = write_sdk_folder(tmp_path / "older", roots=("words", "glove_vectors", "COVAREP", "FACET 4.2", "Emotion Labels"))
    old, new = read_csd_folder(older, words=4), read_csd_folder(sdk_dir, words=4)
    for split in new.splits:
        np.testing.assert_array_equal(old.splits[split].labels, new.splits[split].labels)
        np.testing.assert_array_equal(old.splits[split].ids, new.splits[split].ids)


def test_detected_by_content_not_by_suffix(tmp_path, sdk_dir):
    assert csd_folder(sdk_dir) == sdk_dir
    assert csd_folder(sdk_dir / FILES["COVAREP"]) is None
    other = tmp_path / "other"
    other.mkdir()
    with h5py.File(other / "looks.csd", "w") as h5:  # HDF5 with a .csd suffix, not the SDK's layout
        h5["d1"] = np.zeros(3)
    assert csd_folder(other) is None
    (sdk_dir / FILES["FACET 4.2"]).rename(sdk_dir / "facet.h5")  # any name: the content decides
    assert read_csd_folder(sdk_dir, words=4).input_dims()["visual"] == 35
    pointer = explain_csd_file(sdk_dir / FILES["COVAREP"])
    assert "'COVAREP'" in pointer and f"pass the folder holding it ({sdk_dir})" in pointer
    assert pointer.endswith(f"with the others: {FILES['glove_vectors']}, {FILES['FACET 4.2']} (or "
                            f"{FILES['OpenFace_2']}) and {FILES['All Labels']}")
    pointer = explain_csd_file(sdk_dir / "facet.h5")  # the visual file: neither visual file among the others
    assert pointer.endswith(f"with the others: {FILES['glove_vectors']}, {FILES['COVAREP']} and {FILES['All Labels']}")
    assert explain_csd_file(other / "looks.csd") is None


@pytest.mark.parametrize("roots, message", [
    (("words", "COVAREP", "FACET 4.2", "All Labels"),
     ("no text sequence: CMU_MOSEI_TimestampedWords.csd \\('words'\\) gives word timing but no features; the text "
      "modality is the word vectors, 'glove_vectors' \\(usually CMU_MOSEI_TimestampedGloveVectors.csd\\)")),
    (("words", "glove_vectors", "COVAREP", "FACET 4.2"),
     "no labels sequence: 'All Labels' \\(usually CMU_MOSEI_Labels.csd\\) or the older 'Emotion Labels'"),
    (("glove_vectors", "FACET 4.2", "All Labels"), "no audio sequence: 'COVAREP' \\(usually CMU_MOSEI_COVAREP.csd\\)"),
    (("glove_vectors", "COVAREP", "All Labels"), "no visual sequence: 'FACET 4.2' .* or 'OpenFace_2'"),
])
def test_a_missing_sequence_is_named(tmp_path, roots, message):
    folder = write_sdk_folder(tmp_path / "sdk", roots=roots)
    with pytest.raises(EmozslError, match=f"^{re.escape(str(folder))}: {message}"):
        read_csd_folder(folder)


def truncate(file):
    file.write_bytes(file.read_bytes()[:1000])


def set_value(root, video, row, column, value):
    def damage(folder):
        with h5py.File(folder / FILES[root], "r+") as h5:
            h5[f"{root}/data/{video}/features"][row, column] = value
    return damage


@pytest.mark.parametrize("damage, message", [
    (lambda f: truncate(f / FILES["COVAREP"]), "CMU_MOSEI_COVAREP.csd: not a readable HDF5 file"),
    (lambda f: (f / FILES["FACET 4.2"]).write_bytes(b"not hdf5"),
     "CMU_MOSEI_VisualFacet42.csd: not a CMU SDK computational sequence"),
    (set_value("FACET 4.2", "188343", 2, 2, np.nan),  # row 2: word 1
     "CMU_MOSEI_VisualFacet42.csd: video 188343, features: holds 1 NaN; pass --impute zero"),
    (set_value("COVAREP", "81406", 28, 0, np.inf),  # row 28: word 7
     "CMU_MOSEI_COVAREP.csd: video 81406, features: holds 1 \\+inf"),
    (set_value("glove_vectors", "81406", 2, 0, np.nan),  # row 2: word 1 (row 1 is a pause)
     "CMU_MOSEI_TimestampedGloveVectors.csd: video 81406, features: holds 1 NaN"),
    (set_value("All Labels", "81406", 0, 6, np.nan), "CMU_MOSEI_Labels.csd: video 81406, row 0, fear: label nan"),
    (set_value("All Labels", "81406", 1, 6, -2.0),  # row 1 has no words, but its labels are still read
     ("CMU_MOSEI_Labels.csd: video 81406, row 1, fear: intensity -2 is negative \\(1 such values in this video\\); "
      "emotion intensities run from 0 to 3")),
])
def test_bad_input_is_one_line(sdk_dir, damage, message):
    damage(sdk_dir)
    with pytest.raises(EmozslError, match=message) as caught:
        read_csd_folder(sdk_dir, words=4)
    assert "\n" not in str(caught.value)


def replace(folder, root, video, field, value):
    """Replace one dataset of a video's entry (field None: the whole entry); value "group": an empty group."""
    with h5py.File(folder / FILES[root], "r+") as h5:
        group = h5[f"{root}/data"] if field is None else h5[f"{root}/data/{video}"]
        name = video if field is None else field
        if name in group:
            del group[name]
        if isinstance(value, str):
            group.create_group(name)
        elif value is not None:
            group.create_dataset(name, data=value)


ENTRY = "expected a group holding arrays 'features' and 'intervals'"


@pytest.mark.parametrize("root, video, field, value, message", [
    ("All Labels", "188343", "intervals", np.zeros(2),
     "CMU_MOSEI_Labels.csd: video 188343, intervals: expected shape \\(n, 2\\), found \\(2,\\)"),
    ("All Labels", "188343", "intervals", None, f"CMU_MOSEI_Labels.csd: video 188343: {ENTRY}"),
    ("All Labels", "188343", None, np.zeros(3), f"CMU_MOSEI_Labels.csd: video 188343: {ENTRY}"),
    ("All Labels", NOT_IN_FOLDS, "intervals", None, f"CMU_MOSEI_Labels.csd: video {NOT_IN_FOLDS}: {ENTRY}"),
    ("COVAREP", "188343", "features", "group", f"CMU_MOSEI_COVAREP.csd: video 188343: {ENTRY}"),
    ("FACET 4.2", "188343", None, np.zeros(3), f"CMU_MOSEI_VisualFacet42.csd: video 188343: {ENTRY}"),
    ("glove_vectors", "188343", "intervals", np.zeros((3, 3)),
     "CMU_MOSEI_TimestampedGloveVectors.csd: video 188343, intervals: expected shape \\(n, 2\\), found \\(3, 3\\)"),
    ("words", "188343", "intervals", np.zeros(3),
     "CMU_MOSEI_TimestampedWords.csd: video 188343, intervals: expected shape \\(n, 2\\), found \\(3,\\)"),
])
def test_a_malformed_entry_in_any_sequence_is_one_line(sdk_dir, root, video, field, value, message):
    replace(sdk_dir, root, video, field, value)
    with pytest.raises(EmozslError, match=message) as caught:
        read_csd_folder(sdk_dir, words=4)
    assert "\n" not in str(caught.value)


def test_words_are_one_column_of_strings(tmp_path, sdk_dir):
    videos = sdk_videos()
    flat = write_sdk_folder(tmp_path / "flat", videos)
    for vid, entry in videos.items():  # (n,) holds the same words as (n, 1); the SDK's writer refuses it
        replace(flat, "words", vid, "features", entry["words"]["features"].ravel())
    assert read_csd_folder(flat, words=4).fingerprint() == read_csd_folder(sdk_dir, words=4).fingerprint()
    for entry in videos.values():
        entry["words"]["features"] = np.repeat(entry["words"]["features"], 2, 1)
    write_sdk_folder(flat, videos, roots=("words",))
    with pytest.raises(EmozslError, match="CMU_MOSEI_TimestampedWords.csd: video hh04W3xXa5s, features: 2 columns, "
                                          "'words' has 1 \\(word\\)$"):
        read_csd_folder(flat, words=4)
    replace(sdk_dir, "words", "81406", "features", np.zeros((12, 1)))
    with pytest.raises(EmozslError, match="CMU_MOSEI_TimestampedWords.csd: video 81406, features: expected words "
                                          "\\(strings\\), found dtype float64$"):
        read_csd_folder(sdk_dir, words=4)


def test_one_huge_row_leaves_the_other_words_means_exact(sdk_dir):
    set_value("COVAREP", "81406", 0, 0, 1e17)(sdk_dir)  # word 0: rows 0 and 1; within float32's range
    audio = read_csd_folder(sdk_dir, words=4).splits["train"].features["audio"][..., 0]
    np.testing.assert_array_equal(audio[1], np.float32([0, (1e17 + 2) / 2, 5.5, 9.5]))
    np.testing.assert_array_equal(audio[2], [25.5, 29.5, 33.5, 37.5])


def test_pauses_match_float32_times_in_any_case_and_are_counted(tmp_path, sdk_dir):
    videos = sdk_videos()
    for entry in videos.values():
        for root in entry:  # late times, where float32 and float64 copies of an interval differ by ~1e-5 s
            entry[root]["intervals"] = entry[root]["intervals"] + 1234.56789
        entry["words"]["intervals"] = entry["words"]["intervals"].astype(np.float32)
    tokens = videos["81406"]["words"]["features"]
    tokens[tokens == b"sp"] = [b"SP", b"sp"]
    data = read_csd_folder(write_sdk_folder(tmp_path / "late", videos), words=4)
    np.testing.assert_array_equal(data.splits["train"].features["text"][..., 0], [[0, 0, 1, 2], [0, 1, 2, 3], [7, 8, 9, 10]])
    assert "'sp' pause tokens left out: 2" in data.notes
    assert "'sp' pause tokens left out: 2" in read_csd_folder(sdk_dir, words=4).notes
    tokens[np.isin(tokens, [b"SP", b"sp"])] = b"uh"  # no pause: no note
    data = read_csd_folder(write_sdk_folder(tmp_path / "late", videos, roots=("words",)), words=4)
    assert "pause" not in " ".join(data.notes)
    np.testing.assert_array_equal(data.splits["train"].features["text"][1, :, 0], [1, -1, 2, 3])


@pytest.mark.parametrize("root, row", [
    ("glove_vectors", 1),  # a pause's vector (81406: w0, sp, w1, ...)
    ("COVAREP", 2),  # [0.5, 0.75] s: between words 0 and 1
    ("COVAREP", 16),  # word 4, which no kept segment holds (81406 keeps words 0-2 and 6-9)
    ("FACET 4.2", 7),  # [4, 4.5] s after FACET's gap at 2 s: word 4 again
])
def test_values_no_utterance_uses_are_neither_refused_nor_imputed(sdk_dir, root, row):
    clean = read_csd_folder(sdk_dir, words=4)
    set_value(root, "81406", row, 0, np.nan)(sdk_dir)
    for impute in ("none", "zero"):
        data = read_csd_folder(sdk_dir, words=4, impute=impute)
        assert data.imputed == {} and data.fingerprint() == clean.fingerprint()


def test_impute_zero_sets_non_finite_features_to_zero(sdk_dir):
    set_value("FACET 4.2", "188343", 2, 2, np.nan)(sdk_dir)
    data = read_csd_folder(sdk_dir, words=4, impute="zero")
    assert data.imputed == {"valid/visual": 1}
    assert data.splits["valid"].features["visual"][0, 2, 2] == 0  # word 1 is FACET row 2 alone


def test_words_must_be_a_positive_count(sdk_dir):
    with pytest.raises(EmozslError, match="words=0: must be a whole number"):
        read_csd_folder(sdk_dir, words=0)


def test_rows_in_any_order_align_the_same(tmp_path, sdk_dir):
    videos = sdk_videos()
    covarep = videos["81406"]["COVAREP"]
    shuffled = np.random.default_rng(0).permutation(len(covarep["intervals"]))
    covarep["features"], covarep["intervals"] = covarep["features"][shuffled], covarep["intervals"][shuffled]
    mixed = write_sdk_folder(tmp_path / "mixed", videos)
    np.testing.assert_array_equal(read_csd_folder(mixed, words=4).splits["train"].features["audio"],
                                  read_csd_folder(sdk_dir, words=4).splits["train"].features["audio"])
    covarep["intervals"][np.argmax(covarep["intervals"][:, 0] == 1.75), 1] = 2.3  # ends after the next row
    write_sdk_folder(mixed, videos, roots=("COVAREP",))
    with pytest.raises(EmozslError, match="COVAREP.csd: video 81406, intervals: a row ending at 2.3 comes before "
                                          "one ending at 2.25 .* needs rows in time order"):
        read_csd_folder(mixed, words=4)
    covarep["intervals"][np.argmax(covarep["intervals"][:, 0] == 1.75), 1] = 0.1  # ends before it starts
    write_sdk_folder(mixed, videos, roots=("COVAREP",))
    with pytest.raises(EmozslError, match="COVAREP.csd: video 81406, intervals: row .* ends at 0.1, before it starts at 1.75"):
        read_csd_folder(mixed, words=4)


def random_sdk_folder(folder, per_split=(24, 8, 10), seed=0):
    """Videos of the real folds, each with 2-3 labelled segments of 3-8 words and random features
    and labels, every emotion present in every split."""
    rng = np.random.default_rng(seed)
    videos = {}
    for split, count in zip(("train", "valid", "test"), per_split):
        for j, vid in enumerate(mosei_folds()[split][:count]):
            n = int(rng.integers(8, 20))
            segments, start = [], 0.0
            for k in range(int(rng.integers(2, 4))):
                end = min(n, start + rng.integers(3, 9))
                row = emotions(**{ALL_LABEL_COLUMNS[1 + (j + k) % 6]: float(rng.choice([1 / 3, 1.0, 3.0]))})
                segments.append((start, end, row))
                start = end
            entry = video(n, segments)
            for root in ("glove_vectors", "COVAREP", "FACET 4.2"):
                entry[root]["features"] = rng.normal(size=entry[root]["features"].shape)
            videos[vid] = entry
    return write_sdk_folder(folder, videos)


def test_the_commands_work_on_an_sdk_folder_directly_or_converted_with_one_fingerprint(tmp_path):
    from click.testing import CliRunner

    from emozsl.cli import main
    from emozsl.data import load_dataset

    folder = random_sdk_folder(tmp_path / "sdk")
    data = load_dataset(folder)
    assert data.name == "mosei" and data.emotions == MOSEI_EMOTIONS and data.input_dims() == {
        "text": 300, "audio": 74, "visual": 35}
    runner = CliRunner()
    info = runner.invoke(main, ["data", "info", str(folder)])
    assert info.exit_code == 0 and "note: CMU SDK sequences: text glove_vectors" in info.output, info.output
    converted = runner.invoke(main, ["data", "convert", str(folder), str(tmp_path / "mosei.h5")])
    assert converted.exit_code == 0, converted.output
    copy = load_dataset(tmp_path / "mosei.h5")
    assert copy.fingerprint() == data.fingerprint() and copy.notes == data.notes
    made = runner.invoke(main, ["split", "--data", str(tmp_path / "mosei.h5"), "--zsl", "fear",
                                "--out", str(tmp_path / "fear.json")])
    assert made.exit_code == 0, made.output
    trained = runner.invoke(main, ["train", "--data", str(folder), "--split", str(tmp_path / "fear.json"),
                                   "--epochs", "1", "--device", "cpu", "--runs-dir", str(tmp_path / "runs")])
    assert trained.exit_code == 0 and "fear" in trained.output, trained.output


def test_one_sequence_file_passed_alone_points_at_its_folder(sdk_dir):
    from emozsl.data import load_dataset

    with pytest.raises(EmozslError, match=r"CMU_MOSEI_COVAREP.csd: one CMU Multimodal SDK computational sequence "
                                          r"\('COVAREP'\); pass the folder holding it"):
        load_dataset(sdk_dir / "CMU_MOSEI_COVAREP.csd")


def test_messages_name_what_was_found_and_where_the_folds_are(tmp_path):
    """A sequence under another root name, old labels under the new name, a .csd that is not a
    sequence, and a folder whose videos are in no standard fold: each message says what it found."""
    folder = write_sdk_folder(tmp_path / "renamed")
    with h5py.File(folder / FILES["COVAREP"], "r+") as h5:
        h5.move("COVAREP", "covarep_feats")
    with pytest.raises(EmozslError, match=r"no audio sequence: 'COVAREP' \(usually CMU_MOSEI_COVAREP.csd\); other files "
                                          r"hold 'covarep_feats' \(CMU_MOSEI_COVAREP.csd\) \(a sequence is told by its root"):
        read_csd_folder(folder)
    old = write_sdk_folder(tmp_path / "old")
    with h5py.File(old / FILES["All Labels"], "r+") as h5:
        for video in list(h5["All Labels/data"]):
            features = h5[f"All Labels/data/{video}/features"][()][:, 1:]
            del h5[f"All Labels/data/{video}/features"]
            h5[f"All Labels/data/{video}/features"] = features
    with pytest.raises(EmozslError, match=r"6 columns, 'All Labels' has 7 .*; the root name 'Emotion Labels' is the "
                                          r"labels file with 6$"):
        read_csd_folder(old)
    bad = write_sdk_folder(tmp_path / "bad")
    with h5py.File(bad / "extra.csd", "w") as h5:
        h5.create_group("data")
        h5.create_group("metadata")
    with pytest.raises(EmozslError, match=r"extra.csd: not a CMU SDK computational sequence \(top level: 'data' \(empty\), "
                                          r"'metadata' \(empty\); expected one top-level group"):
        read_csd_folder(bad)
    (bad / "extra.csd").write_text("not hdf5")
    with pytest.raises(EmozslError, match=r"extra.csd: not a CMU SDK computational sequence \(not an HDF5 file;"):
        read_csd_folder(bad)
    stray = sdk_videos()
    stray = {f"x{i}": entry for i, entry in enumerate(stray.values())}
    with pytest.raises(EmozslError, match=r"the folds are the SDK's YouTube video ids, in emozsl/data/mosei_folds.json\)$"):
        read_csd_folder(write_sdk_folder(tmp_path / "stray", stray))


def test_every_missing_sequence_is_named_at_once(tmp_path):
    folder = write_sdk_folder(tmp_path / "sdk", roots=("COVAREP",))
    with pytest.raises(EmozslError, match=r"sdk: no labels sequence: .*; no text sequence: 'glove_vectors' .*; "
                                          r"no visual sequence: 'FACET 4.2' .* or 'OpenFace_2' [^;]*$"):
        read_csd_folder(folder)


def test_a_label_beyond_float32_is_named_as_such(tmp_path):
    videos = sdk_videos()
    videos["81406"]["All Labels"]["features"][0, 3] = 1e39  # anger
    with pytest.raises(EmozslError, match=r"CMU_MOSEI_Labels.csd: video 81406, features: holds values outside "
                                          r"float32's range \(largest magnitude 1e\+39\)$"):
        read_csd_folder(write_sdk_folder(tmp_path / "sdk", videos))
