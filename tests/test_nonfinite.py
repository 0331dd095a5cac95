"""Non-finite feature values, one rule in every format: NaN, +inf and -inf are refused in one message
naming file, field, count and sign; COVAREP audio -inf is set to 0 as the field's loaders do;
`--impute zero` sets the rest to 0, counts them, and the data's fingerprint and run config record it."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_cherma, write_h5, write_iemocap9, write_mosei, write_mult

from emozsl.cli import main
from emozsl.data import load_dataset, write_safe_h5
from emozsl.errors import EmozslError

FORM = re.compile(r": holds 3 (NaN|\+inf|-inf); pass --impute zero to set them to 0, as the field's loaders do$")


def damage_mosei(tmp_path, value):
    folder = write_mosei(tmp_path / "mosei")
    video = np.zeros((12, 20, 35), np.float32)
    video[1, 2, :3] = value
    write_h5(folder / "video_valid.h5", video)
    return folder, "video_valid.h5:d1"


def damage_mult(tmp_path, value):
    path = write_mult(tmp_path / "iemocap_data.pkl")
    data = pickle.loads(path.read_bytes())
    data["test"]["vision"][1, 2, :3] = value
    path.write_bytes(pickle.dumps(data))
    return path, "test/vision"


def damage_iemocap9(tmp_path, value):
    folder = write_iemocap9(tmp_path / "iemocap9")
    text = pickle.loads((folder / "text_train.p").read_bytes())
    text[1, 2, :3] = value
    (folder / "text_train.p").write_bytes(pickle.dumps(text, protocol=2))
    return folder, "text_train.p"


def damage_cherma(tmp_path, value):
    folder = write_cherma(tmp_path / "cherma")
    path = folder / "visual" / "test" / "test_004.mp4.npy"
    array = np.load(path)
    array[0, :3] = value
    np.save(path, array)
    return folder, "test_004.mp4.npy"


def damage_safe_h5(tmp_path, value):
    folder = write_mosei(tmp_path / "mosei")
    file = write_safe_h5(load_dataset(folder), tmp_path / "copy.h5")
    import h5py

    with h5py.File(file, "a") as h5:
        text = h5["train/text"][()]
        text[1, 2, :3] = value
        h5["train/text"][...] = text
    return file, "train/text"


FORMATS = {"mosei": damage_mosei, "mult": damage_mult, "iemocap9": damage_iemocap9, "cherma": damage_cherma,
           "safe_h5": damage_safe_h5}
SIGNS = {"NaN": np.nan, "+inf": np.inf, "-inf": -np.inf}


@pytest.mark.parametrize("sign", SIGNS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_refuses_nonfinite_features_in_one_form(tmp_path, fmt, sign):
    path, field = FORMATS[fmt](tmp_path, SIGNS[sign])
    with pytest.raises(EmozslError) as error:
        load_dataset(path, trust_pickle=True)
    message = str(error.value)
    assert "\n" not in message and field in message and f"holds 3 {sign};" in message, message
    assert message.startswith(str(tmp_path)) and FORM.search(message), message


@pytest.mark.parametrize("fmt", FORMATS)
def test_impute_zero_sets_them_to_zero_counts_them_and_changes_the_fingerprint(tmp_path, fmt):
    path, _ = FORMATS[fmt](tmp_path, np.nan)
    data = load_dataset(path, trust_pickle=True, impute="zero")
    assert sum(data.imputed.values()) == 3 and len(data.imputed) == 1
    key = next(iter(data.imputed))
    split, modality = key.split("/")
    features = data.splits[split].features[modality]
    assert np.isfinite(features).all()
    # the same arrays without the record of imputation are a different data set for splits
    clean = load_dataset(path, trust_pickle=True, impute="zero")
    assert clean.fingerprint() == data.fingerprint()
    clean.imputed = {}
    assert clean.fingerprint() != data.fingerprint()


def test_covarep_audio_neg_inf_stays_zero_by_default_but_audio_nan_and_pos_inf_are_refused(tmp_path):
    folder = write_mosei(tmp_path / "mosei")  # one COVAREP -inf per split
    assert load_dataset(folder).neg_inf_replaced == {"train/audio": 1, "valid/audio": 1, "test/audio": 1}
    assert load_dataset(folder).imputed == {}
    audio = np.zeros((40, 20, 74), np.float32)
    audio[0, 0, 0], audio[1, 1, 1], audio[2, 2, 2] = -np.inf, np.nan, np.inf
    write_h5(folder / "audio_train.h5", audio)
    with pytest.raises(EmozslError, match=r"audio_train.h5:d1: holds 1 NaN, 1 \+inf; pass --impute zero"):
        load_dataset(folder)
    data = load_dataset(folder, impute="zero")
    assert data.neg_inf_replaced["train/audio"] == 1 and data.imputed == {"train/audio": 2}


def test_labels_are_never_imputed(tmp_path):
    folder = write_mosei(tmp_path / "mosei")
    labels = np.ones((16, 6), np.float32)
    labels[3, 2] = np.nan
    write_h5(folder / "ey_test.h5", labels)
    for impute in ("none", "zero"):
        with pytest.raises(EmozslError, match=r"ey_test.h5:d1: holds 1 NaN \(labels are never imputed: fix the file\)$"):
            load_dataset(folder, impute=impute)


def test_convert_keeps_the_imputed_record_and_fingerprint(tmp_path):
    path, _ = damage_mosei(tmp_path, np.inf)
    data = load_dataset(path, impute="zero")
    copy = load_dataset(write_safe_h5(data, tmp_path / "copy.h5"))
    assert copy.imputed == data.imputed and copy.fingerprint() == data.fingerprint()


def test_cli_refuses_then_imputes_and_train_records_it(tmp_path):
    path, _ = damage_mosei(tmp_path, np.nan)
    runner = CliRunner()
    refused = runner.invoke(main, ["data", "info", str(path)])
    lines = refused.output.strip().splitlines()
    assert refused.exit_code != 0 and len(lines) == 1 and "--impute zero" in lines[0], refused.output
    shown = runner.invoke(main, ["data", "info", str(path), "--impute", "zero"])
    assert shown.exit_code == 0 and "set to 0 (--impute zero): valid/visual 3" in shown.output, shown.output
    split = runner.invoke(main, ["split", "--data", str(path), "--zsl", "fear", "--impute", "zero",
                                 "--out", str(tmp_path / "s.json")])
    assert split.exit_code == 0, split.output
    trained = runner.invoke(main, ["train", "--data", str(path), "--split", str(tmp_path / "s.json"), "--impute", "zero",
                                   "--epochs", "1", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"), "--name", "r"])
    assert trained.exit_code == 0, trained.output
    assert json.loads((tmp_path / "runs" / "r" / "config.json").read_text())["impute"] == "zero"
    # a split made without imputing is tied to other data
    plain = runner.invoke(main, ["train", "--data", str(path), "--split", str(tmp_path / "s.json"),
                                 "--epochs", "1", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"), "--name", "p"])
    assert plain.exit_code != 0 and "--impute zero" in plain.output, plain.output


def test_a_split_of_the_clean_data_says_why_imputed_data_differ(tmp_path):
    folder = write_mosei(tmp_path / "mosei")
    runner = CliRunner()
    assert runner.invoke(main, ["split", "--data", str(folder), "--zsl", "fear", "--out", str(tmp_path / "s.json")]).exit_code == 0
    damage = np.zeros((12, 20, 35), np.float32)
    damage[0, 0, 0] = np.nan
    write_h5(folder / "video_valid.h5", damage)
    result = runner.invoke(main, ["-q", "train", "--data", str(folder), "--split", str(tmp_path / "s.json"), "--impute", "zero",
                                  "--epochs", "1", "--device", "cpu", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and result.output.strip().endswith(
        "--impute zero set 1 values of this data to 0, which the fingerprint records: make the split from this "
        "data, with --impute zero"), result.output
