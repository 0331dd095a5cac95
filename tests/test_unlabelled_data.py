"""Data without emotion labels (what `emozsl predict` scores): MOSEI folders without ey files,
tables without label columns, plain folders of clips; training's loader refuses them with a pointer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from conftest import N_MOSEI, write_h5, write_mosei
from emozsl.data import load_dataset
from emozsl.data.dataset import UNSPLIT, MultimodalDataset, SplitData
from emozsl.data.info import describe_path, summary_of
from emozsl.data.media.refs import AudioRef, FramesRef
from emozsl.errors import EmozslError

RATE = 16000


def write_wav(path, seconds=0.5, freq=440.0):
    t = np.arange(int(seconds * RATE)) / RATE
    soundfile.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)


def write_mosei_features(folder, splits=N_MOSEI, steps=4):
    """The three feature files per split, no ey file."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        n = N_MOSEI[split]
        write_h5(folder / f"text_{split}_emb.h5", rng.normal(size=(n, steps, 300)).astype(np.float32))
        write_h5(folder / f"audio_{split}.h5", rng.normal(size=(n, steps, 74)).astype(np.float32))
        write_h5(folder / f"video_{split}.h5", rng.normal(size=(n, steps, 35)).astype(np.float32))
    return folder


def test_mosei_folder_without_ey_files_is_read_unlabelled(tmp_path):
    folder = write_mosei_features(tmp_path / "m")
    data = load_dataset(folder, labels="optional")
    assert not data.labelled and data.has_splits and data.emotions == []
    assert list(data.splits) == ["train", "valid", "test"]
    for split, n in N_MOSEI.items():
        part = data.splits[split]
        assert part.labels.shape == (n, 0)
        assert part.features["text"].shape == (n, 4, 300)
        assert part.features["visual"].shape == (n, 4, 35)
        assert part.ids[1] == f"{split}/1"
    assert data.input_dims() == {"text": 300, "audio": 74, "visual": 35}
    summary = data.summary()
    assert summary["labelled"] is False and summary["splits"]["test"]["positives"] == {}


def test_mosei_folder_with_some_splits_reads_those(tmp_path):
    folder = write_mosei_features(tmp_path / "m", splits=["test"])
    data = load_dataset(folder, labels="optional")
    assert list(data.splits) == ["test"] and data.modalities == ("text", "audio", "visual")


def test_labels_required_points_to_predict(tmp_path):
    folder = write_mosei_features(tmp_path / "m")
    with pytest.raises(EmozslError) as error:
        load_dataset(folder)
    message = str(error.value)
    assert "\n" not in message
    assert message == (f"{folder}: holds no emotion labels; to score it with a trained run, use "
                       f"`emozsl predict RUN --data {folder}`")
    with pytest.raises(EmozslError, match="labels 'maybe': choose one of required, optional"):
        load_dataset(folder, labels="maybe")


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "audio_valid.h5").unlink(), "audio_valid.h5: missing file"),
    (lambda f: write_h5(f / "ey_train.h5", np.zeros((N_MOSEI["train"], 6), np.float32)), "ey_valid.h5: missing file"),
])
def test_mosei_folder_half_there_is_one_error_naming_the_file(tmp_path, damage, message):
    folder = write_mosei_features(tmp_path / "m")
    damage(folder)
    with pytest.raises(EmozslError, match=message):
        load_dataset(folder, labels="optional")


def test_labelled_mosei_folder_is_unchanged(mosei_dir):
    for labels in ("required", "optional"):
        data = load_dataset(mosei_dir, labels=labels)
        assert data.labelled and data.has_splits and len(data.emotions) == 6
        assert data.splits["valid"].labels.shape == (N_MOSEI["valid"], 6)
    assert load_dataset(mosei_dir).summary()["labelled"] is True


def write_unlabelled_table(root, with_split: bool, fmt="csv"):
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, split in enumerate(["train", "test", "test"]):
        write_wav(root / f"u{i}.wav")
        row = {"id": f"u{i}", "text": f"words {i}", "audio": f"u{i}.wav", "video": f"u{i}.mp4"}
        if with_split:
            row["split"] = split
        rows.append(row)
    if fmt == "jsonl":
        (root / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        header = list(rows[0])
        (root / "utterances.csv").write_text("\n".join([",".join(header)] + [",".join(r[c] for c in header)
                                                                                for r in rows]) + "\n")
    return root


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_table_without_label_or_split_columns_is_one_unsplit_split(tmp_path, fmt):
    root = write_unlabelled_table(tmp_path / "t", with_split=False, fmt=fmt)
    data = load_dataset(root, labels="optional")
    assert not data.labelled and not data.has_splits and data.kind == "raw"
    assert list(data.splits) == [UNSPLIT]
    part = data.splits[UNSPLIT]
    assert list(part.ids) == ["u0", "u1", "u2"] and part.labels.shape == (3, 0)
    assert part.features["audio"].items[0].path == str(root / "u0.wav")
    assert part.features["visual"].items[2].video == str(root / "u2.mp4")
    with pytest.raises(EmozslError, match="holds no emotion labels; .*emozsl predict"):
        load_dataset(root)


def test_table_without_labels_keeps_the_splits_it_names(tmp_path):
    data = load_dataset(write_unlabelled_table(tmp_path / "t", with_split=True), labels="optional")
    assert list(data.splits) == ["train", "test"] and data.has_splits
    assert list(data.splits["test"].ids) == ["u1", "u2"]
    table = tmp_path / "t" / "utterances.csv"
    table.write_text(table.read_text().replace(",train\n", ",dev\n"))
    with pytest.raises(EmozslError, match="utterance u0: split 'dev' is not one of train, valid, test"):
        load_dataset(table, labels="optional")


def test_labelled_table_still_needs_its_split_column(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "utterances.csv").write_text("id,text,audio,video,labels\nu0,hi,u0.wav,u0.mp4,happy\n")
    with pytest.raises(EmozslError, match="no 'split' column"):
        load_dataset(root, labels="optional")


def write_clips(folder):
    folder.mkdir()
    for stem in ("b", "a", "c"):
        write_wav(folder / f"{stem}.wav")
    (folder / "a.txt").write_text("hello there\n", encoding="utf-8")
    (folder / "b.txt").write_text("ça va", encoding="utf-8")
    (folder / "c.mp4").write_bytes(b"not decoded by the reader")
    (folder / "d.mp4").write_bytes(b"video only")
    (folder / ".hidden.wav").write_bytes(b"")
    (folder / "notes.txt").write_text("a transcript without a clip")
    (folder / "sub").mkdir()
    write_wav(folder / "sub" / "deeper.wav")
    return folder


def test_clips_folder(tmp_path):
    folder = write_clips(tmp_path / "clips")
    data = load_dataset(folder, labels="optional")
    assert data.name == "clips" and not data.labelled and not data.has_splits and data.kind == "raw"
    part = data.splits[UNSPLIT]
    assert list(part.ids) == ["a", "b", "c", "d"] and part.labels.shape == (4, 0)
    assert data.modalities == ("text", "audio", "visual")
    assert list(part.features["text"].items) == ["hello there", "ça va", "", ""]
    assert part.features["audio"].items[0] == AudioRef(str(folder / "a.wav"))
    assert part.features["audio"].items[3] == AudioRef()
    assert part.features["visual"].items[2] == FramesRef(video=str(folder / "c.mp4"))
    assert part.features["visual"].items[0] == FramesRef()
    assert data.notes == ["4 clips: 3 with audio, 2 with video, 2 with a transcript"]
    assert data.dropped == {"transcript without audio or video": 1}
    with pytest.raises(EmozslError, match="holds no emotion labels"):
        load_dataset(folder)


def test_clips_folder_holds_only_the_modalities_it_has(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_wav(folder / "x.wav")
    data = load_dataset(folder, labels="optional")
    assert data.modalities == ("audio",) and data.input_dims() == {"audio": 128}


def test_clips_stem_with_two_audio_files_is_an_error(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_wav(folder / "x.wav")
    write_wav(folder / "x.flac")
    with pytest.raises(EmozslError, match="clip x has two audio files, x.flac and x.wav"):
        load_dataset(folder, labels="optional")


def test_folder_of_another_format_is_not_clips(tmp_path):
    folder = write_mosei(tmp_path / "m")
    for split in N_MOSEI:
        for name in (f"text_{split}_emb.h5", f"ey_{split}.h5"):
            (folder / name).unlink()
    write_wav(folder / "x.wav")
    with pytest.raises(EmozslError, match="not a data folder emozsl reads"):
        load_dataset(folder, labels="optional")


def test_unlabelled_dataset_contract():
    part = SplitData({"text": np.zeros((2, 3, 4), np.float32)}, np.zeros((2, 0), np.float32), np.array(["a", "b"]))
    assert MultimodalDataset("x", [], {UNSPLIT: part}, labelled=False).input_dims() == {"text": 4}
    with pytest.raises(EmozslError, match="splits all, test: expected some of train, valid, test, or all alone"):
        MultimodalDataset("x", [], {UNSPLIT: part, "test": part}, labelled=False)
    with pytest.raises(EmozslError, match="no valid split"):
        MultimodalDataset("x", [], {"train": part, "test": part})
    other = SplitData({"text": np.zeros((1, 3, 5), np.float32)}, np.zeros((1, 0), np.float32), np.array(["c"]))
    with pytest.raises(EmozslError, match="text has 5 features per step in the test split but 4 in the train split"):
        MultimodalDataset("x", [], {"test": other, "train": part}, labelled=False)


def test_data_info_describes_unlabelled_data(tmp_path):
    folder = write_clips(tmp_path / "clips")
    summary = summary_of(folder)
    assert summary["labelled"] is False and summary["splits"][UNSPLIT]["n"] == 4
    text = describe_path(folder)
    assert "no labels" in text and "emozsl predict" in text and "4 clips" in text
    mosei = describe_path(write_mosei_features(tmp_path / "m"))
    assert "no labels" in mosei and "steps=4 dim=300" in mosei
