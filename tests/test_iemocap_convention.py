"""IEMOCAP's label conventions: the MulT pickle's (N, 4, 2) labels read either way round, detected
from the data; rows without exactly one class counted, never trained on silently; and a folder that
holds data sets (what `emozsl data synth --format iemocap` writes) names them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import write_iemocap9, write_mult

from emozsl.data.formats import load_dataset
from emozsl.data.info import describe_path
from emozsl.errors import EmozslError


def rewrite(path, change):
    data = pickle.loads(path.read_bytes())
    change(data)
    path.write_bytes(pickle.dumps(data))
    return path


def flip(data):
    for part in data.values():
        part["labels"] = part["labels"][..., ::-1].copy()


def test_both_mult_conventions_read_to_the_same_labels(tmp_path):
    plain = load_dataset(write_mult(tmp_path / "plain.pkl"), trust_pickle=True)
    flipped = load_dataset(rewrite(write_mult(tmp_path / "flipped.pkl"), flip), trust_pickle=True)
    for split, part in plain.splits.items():
        assert part.labels.sum(1).tolist() == [1.0] * len(part)
        assert np.array_equal(flipped.splits[split].labels, part.labels)
        assert list(flipped.splits[split].ids) == list(part.ids)
    assert plain.dropped == flipped.dropped == {}


def test_the_note_says_which_convention(tmp_path):
    plain = load_dataset(write_mult(tmp_path / "plain.pkl"), trust_pickle=True)
    flipped_path = rewrite(write_mult(tmp_path / "flipped.pkl"), flip)
    flipped = load_dataset(flipped_path, trust_pickle=True)
    assert plain.notes == ["labels: [..., 1] == 1 marks an emotion present (MulT's convention)"]
    assert flipped.notes == ["labels: [..., 0] == 1 marks an emotion present "
                             "(the flipped convention of some LMF/MulT loaders)"]
    assert "note: labels: [..., 0] == 1 marks an emotion present" in describe_path(flipped_path, trust_pickle=True)


def test_ambiguous_labels_are_one_line_with_the_counts(tmp_path):
    def half_flipped(data):  # train read one way, valid and test the other: 30 rows against 22
        data["train"]["labels"] = data["train"]["labels"][..., ::-1].copy()

    path = rewrite(write_mult(tmp_path / "mixed.pkl"), half_flipped)
    with pytest.raises(EmozslError) as caught:
        load_dataset(path, trust_pickle=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:labels: neither reading")
    assert "[..., 1] == 1 marks presence: 0: 0, 1: 22, 2+: 30 rows" in message
    assert "[..., 0] == 1 does: 0: 0, 1: 30, 2+: 22 rows" in message


def test_a_few_mult_rows_without_one_emotion_are_left_out_and_counted(tmp_path):
    def damage(data):
        data["train"]["labels"][0, :, :] = [0, 1]  # all four present
        data["test"]["labels"][3, :, :] = [1, 0]  # none present

    data = load_dataset(rewrite(write_mult(tmp_path / "x.pkl"), damage), trust_pickle=True)
    assert data.dropped == {"several emotions in labels": 1, "no emotion in labels": 1}
    assert len(data.splits["train"]) == 29 and len(data.splits["test"]) == 11
    assert "Ses01F_train_0_x" not in data.splits["train"].ids
    assert "Ses01F_test_3_x" not in data.splits["test"].ids
    assert (data.splits["train"].labels.sum(1) == 1).all()


def write_y(folder, split, y):
    (folder / f"y_{split}.p").write_bytes(pickle.dumps(y.astype(np.float32), protocol=2))


def test_iemocap9_rows_with_two_classes_or_none_are_left_out_and_counted(tmp_path):
    folder = write_iemocap9(tmp_path / "nine")
    y = pickle.loads((folder / "y_train.p").read_bytes(), encoding="latin1")
    y[4, 2] = y[7, 5] = 1  # two classes each (each row already has one)
    y[9] = 0  # no class
    write_y(folder, "train", y)
    data = load_dataset(folder, trust_pickle=True)
    assert data.dropped == {"no class in y": 1, "several classes in y": 2}
    train = data.splits["train"]
    assert len(train) == 42 and train.features["text"].shape[0] == 42
    assert not {"train/4", "train/7", "train/9"} & set(train.ids)
    assert (train.labels.sum(1) == 1).all()
    assert "left out: 3 samples: no class in y: 1, several classes in y: 2" in describe_path(folder, trust_pickle=True)


def test_iemocap9_labels_not_one_class_a_row_are_one_line_with_the_counts(tmp_path):
    folder = write_iemocap9(tmp_path / "nine")
    y = pickle.loads((folder / "y_valid.p").read_bytes(), encoding="latin1")
    write_y(folder, "valid", 1 - y)  # flipped: ten classes a row
    with pytest.raises(EmozslError) as caught:
        load_dataset(folder, trust_pickle=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message == (f"{folder}: the labels are not one class per row, as IEMOCAP's 9 classes need (classes "
                       "a row carries: y_train.p 0: 0, 1: 45, 2+: 0 rows; y_valid.p 0: 0, 1: 0, 2+: 15 rows; "
                       "y_test.p 0: 0, 1: 18, 2+: 0 rows)")


def test_iemocap9_other_and_unknown_rows_are_kept_and_noted(tmp_path):
    folder = write_iemocap9(tmp_path / "nine")
    y = pickle.loads((folder / "y_test.p").read_bytes(), encoding="latin1")
    y[0], y[1] = np.eye(11)[0], np.eye(11)[10]
    write_y(folder, "test", y)
    data = load_dataset(folder, trust_pickle=True)
    assert len(data.splits["test"]) == 18 and data.splits["test"].labels[:2].sum() == 0
    assert data.notes == ["rows of class 'other' or 'unknown', kept with no emotion: 2"]
    assert data.dropped == {}


def test_a_folder_holding_data_sets_names_them(tmp_path):
    from emozsl.data.generated.synth import write_synth

    write_synth("iemocap", tmp_path / "iemocap", size="small")
    (tmp_path / "iemocap" / "notes.csv.bak").write_text("x")
    with pytest.raises(EmozslError) as caught:
        load_dataset(tmp_path / "iemocap", labels="optional")
    assert str(caught.value) == (f"{tmp_path / 'iemocap'}: holds iemocap9 (an IEMOCAP 9-class folder) and "
                                 "iemocap_data.pkl (a MulT IEMOCAP pickle); pass one of them")
    (tmp_path / "one").mkdir()
    (tmp_path / "iemocap" / "iemocap9").rename(tmp_path / "one" / "iemocap9")
    with pytest.raises(EmozslError, match="one: holds iemocap9 .an IEMOCAP 9-class folder.; pass it$"):
        load_dataset(tmp_path / "one")


def test_a_folder_of_plain_hdf5_files_keeps_the_usual_message(tmp_path):
    import h5py

    folder = tmp_path / "stuff"
    folder.mkdir()
    with h5py.File(folder / "audio_x.h5", "w") as h5:
        h5.create_dataset("d1", data=np.zeros(3))
    with pytest.raises(EmozslError, match="stuff: not a data folder emozsl reads .expected a raw-media table"):
        load_dataset(folder)


@pytest.mark.parametrize("fmt", ["mosei", "iemocap", "cherma", "raw"])
def test_data_synth_prints_commands_that_read_back_what_it_wrote(tmp_path, fmt):
    """Every generated layout reads back with the `data info` command that `data synth` prints."""
    import shlex

    from click.testing import CliRunner

    from emozsl.cli import main

    written = CliRunner().invoke(main, ["data", "synth", "--format", fmt, str(tmp_path / fmt)])
    assert written.exit_code == 0, written.output
    info = next(line for line in written.output.splitlines() if "emozsl data info" in line)
    result = CliRunner().invoke(main, shlex.split(info.split("emozsl ", 1)[1]))
    assert result.exit_code == 0 and "train" in result.output, result.output
    assert "emozsl train --data" in written.output
