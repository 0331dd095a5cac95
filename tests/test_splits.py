import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import write_iemocap9, write_mosei, write_mult

from emozsl.data import load_dataset
from emozsl.errors import EmozslError
from emozsl.splits import (
    apply_split,
    dumps_manifest,
    load_manifest,
    make_split,
    save_manifest,
)


@pytest.fixture
def mosei(mosei_dir):
    return load_dataset(mosei_dir)


@pytest.fixture
def iemocap(tmp_path):
    return (load_dataset(write_mult(tmp_path / "iemocap_data.pkl"), trust_pickle=True),
            load_dataset(write_iemocap9(tmp_path / "nine"), trust_pickle=True))


def test_mosei_zsl_drops_unseen_positives_from_train_and_valid_only(mosei):
    manifest = make_split(mosei, "zsl", 2)
    assert manifest["target"] == "fear" and manifest["unseen"] == ["fear"]
    assert manifest["train_emotions"] == ["anger", "disgust", "happy", "sad", "surprise"]
    task = apply_split(manifest, mosei)
    fear = mosei.emotions.index("fear")
    for split in ("train", "valid"):
        assert task.splits[split].presence[:, fear].sum() == 0
        assert len(task.splits[split]) == (~mosei.splits[split].presence[:, fear]).sum()
    assert len(task.splits["test"]) == len(mosei.splits["test"])
    assert task.splits["test"].presence[:, fear].sum() == mosei.splits["test"].presence[:, fear].sum() > 0


def test_name_and_index_give_the_same_byte_identical_manifest(mosei, tmp_path):
    a = save_manifest(make_split(mosei, "zsl", "fear", seed=3), tmp_path / "a.json")
    b = save_manifest(make_split(mosei, "zsl", 2, seed=3), tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    assert load_manifest(a) == json.loads(a.read_text())


def test_mosei_fsl_keeps_ceil_one_percent_plus_one_positives(mosei):
    manifest = make_split(mosei, "fsl", "happy", seed=0)
    task = apply_split(manifest, mosei)
    happy = mosei.emotions.index("happy")
    for split in ("train", "valid"):
        positives = mosei.splits[split].presence[:, happy].sum()
        assert task.splits[split].presence[:, happy].sum() == math.ceil(0.01 * positives) + 1
        negatives = (~mosei.splits[split].presence[:, happy]).sum()
        assert (~task.splits[split].presence[:, happy]).sum() == negatives
    assert manifest["train_emotions"] == mosei.emotions and manifest["low_resource"] == ["happy"]


def test_fsl_shots_fraction_and_seed(mosei):
    happy = mosei.emotions.index("happy")
    positives = mosei.splits["train"].presence[:, happy].sum()
    count = lambda m: apply_split(m, mosei).splits["train"].presence[:, happy].sum()
    assert count(make_split(mosei, "fsl", "happy", shots=3)) == 3
    assert count(make_split(mosei, "fsl", "happy", fraction=0.5)) == math.ceil(0.5 * positives) + 1
    rows = lambda seed: make_split(mosei, "fsl", "happy", seed=seed)["rows"]["train"]["data"]
    assert rows(0) == rows(0)
    assert rows(0) != rows(1)


@pytest.mark.parametrize("target", [6, -1, "joy", "1.5"])
def test_invalid_target_lists_the_choices(mosei, target):
    with pytest.raises(EmozslError, match="choices: 0 anger, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise"):
        make_split(mosei, "zsl", target)


def test_manifest_refuses_other_data(mosei, tmp_path):
    manifest = make_split(mosei, "zsl", "sad")
    other = load_dataset(write_mosei(tmp_path / "other", seed=1))
    with pytest.raises(EmozslError, match="made from other data"):
        apply_split(manifest, other)


def test_iemocap_zsl_appends_the_extra_emotion_to_test_only(iemocap):
    four, nine = iemocap
    manifest = make_split(four, "zsl", 1, extra=nine)  # 9-class index 1: excited
    assert manifest["emotions"] == ["neutral", "happy", "sad", "angry", "excited"]
    task = apply_split(manifest, four, nine)
    excited = nine.emotions.index("excited")
    assert len(task.splits["train"]) == len(four.splits["train"])
    assert task.splits["train"].labels[:, 4].sum() == 0
    added = nine.splits["test"].presence[:, excited].sum()
    assert len(task.splits["test"]) == len(four.splits["test"]) + added
    appended = task.splits["test"].labels[-added:]
    assert (appended[:, 4] == 1).all() and (appended[:, :4] == 0).all()
    assert task.splits["test"].features["text"].shape[1:] == (20, 300)


def test_iemocap_fsl_adds_a_few_target_rows_and_maps_anger(iemocap):
    four, nine = iemocap
    manifest = make_split(four, "fsl", "frustrated", shots=2, extra=nine)
    task = apply_split(manifest, four, nine)
    assert task.splits["train"].labels[:, 4].sum() == 2
    assert manifest["train_emotions"][-1] == "frustrated"
    # An appended anger utterance would land in the 'angry' column: check the mapping on any row.
    from emozsl.splits import _extra_labels
    anger_rows = np.flatnonzero(nine.splits["train"].presence[:, nine.emotions.index("anger")])
    labels = _extra_labels(nine, manifest["emotions"], anger_rows, "train")
    assert (labels[:, 3] == 1).all()


def test_iemocap_rejects_main_emotions_unaligned_data_and_missing_extra(iemocap, tmp_path):
    four, nine = iemocap
    with pytest.raises(EmozslError, match="already an emotion of the main data"):
        make_split(four, "zsl", "sad", extra=nine)
    unaligned = load_dataset(write_mult(tmp_path / "noalign.pkl", steps=(20, 40, 50)), trust_pickle=True)
    with pytest.raises(EmozslError, match="only the aligned data"):
        make_split(unaligned, "zsl", "excited", extra=nine)
    with pytest.raises(EmozslError, match="pass --extra"):
        apply_split(make_split(four, "zsl", "excited", extra=nine), four)


def test_bad_manifest_files(tmp_path, mosei):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EmozslError, match="not valid JSON"):
        load_manifest(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(EmozslError, match="not an emozsl split manifest"):
        load_manifest(tmp_path / "other.json")
    with pytest.raises(EmozslError, match="protocol=zsx: choose one of"):
        make_split(mosei, "zsx", 1)
    with pytest.raises(EmozslError, match="shots=0: must be at least 1"):
        make_split(mosei, "fsl", 1, shots=0)


def test_manifest_text_is_deterministic_and_records_counts(mosei):
    manifest = make_split(mosei, "zsl", "anger")
    assert dumps_manifest(manifest) == dumps_manifest(json.loads(dumps_manifest(manifest)))
    assert manifest["positives"]["train"]["anger"] == 0
    assert manifest["sources"]["data"]["fingerprint"] == mosei.fingerprint()


def test_a_zero_shot_split_that_would_leave_valid_empty_is_refused_when_made(mosei_dir):
    """`emozsl split` must not write a manifest that training would refuse."""
    import h5py

    with h5py.File(mosei_dir / "ey_valid.h5", "r+") as h5:
        labels = h5["d1"][()]
        labels[:, 2] = 1.0  # every valid sample has fear
        h5["d1"][...] = labels
    data = load_dataset(mosei_dir)
    with pytest.raises(EmozslError, match=r"the valid split would be empty: zero-shot on fear removes all 12 of its "
                                          r"samples \(each has fear\)$"):
        make_split(data, "zsl", "fear")


def test_split_never_replaces_a_manifest_of_other_data(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from emozsl.cli import main

    monkeypatch.chdir(tmp_path)
    first, second = write_mosei(tmp_path / "a", seed=0), write_mosei(tmp_path / "b", seed=1)
    runner = CliRunner()
    assert runner.invoke(main, ["split", "--data", str(first), "--zsl", "fear"]).exit_code == 0
    made = (tmp_path / "splits" / "mosei_zsl_fear_seed0.json").read_text()
    assert runner.invoke(main, ["split", "--data", str(first), "--zsl", "fear"]).exit_code == 0  # the same data: fine
    again = runner.invoke(main, ["split", "--data", str(second), "--zsl", "fear"])
    assert again.exit_code == 1 and again.output.strip().splitlines() == [
        f"Error: {Path('splits/mosei_zsl_fear_seed0.json')}: holds a split of other data (or is no split manifest); "
        "pass --out to write this one elsewhere, or delete the file"], again.output
    assert (tmp_path / "splits" / "mosei_zsl_fear_seed0.json").read_text() == made


def test_split_reads_the_declared_corpus_and_emotions_never_the_data_sets_name(tmp_path):
    """`--dataset` is checked against the corpus the format declares, and the 9-class files are
    needed for IEMOCAP's 4-class label set (its corpus and its emotions), whatever the data set's
    name says."""
    from emozsl.data import write_safe_h5
    from emozsl.data.corpora import MOSEI
    from emozsl.errors import FieldError
    from emozsl.splits import write_split

    iemocap4 = load_dataset(write_mult(tmp_path / "iemocap_data.pkl"), trust_pickle=True)
    iemocap4.name = "my_recordings"  # a name that says nothing: the HDF5 copy records the corpus
    renamed = write_safe_h5(iemocap4, tmp_path / "renamed.h5")
    with pytest.raises(EmozslError, match="pass --extra DIR"):
        write_split(str(renamed), None, "happy", None, None, 0.01, 0, str(tmp_path / "a.json"))
    path, manifest = write_split(str(renamed), None, None, None, None, 0.01, 0, str(tmp_path / "b.json"),
                                 dataset="iemocap")
    assert path.exists() and manifest["protocol"] == "supervised"
    with pytest.raises(FieldError, match="holds iemocap data"):
        write_split(str(renamed), None, None, None, None, 0.01, 0, str(tmp_path / "c.json"), dataset="mosei")

    iemocap4.name, iemocap4.corpus = "iemocap4", MOSEI  # IEMOCAP's name, declared multi-label
    declared = write_safe_h5(iemocap4, tmp_path / "declared.h5")
    _, manifest = write_split(str(declared), None, "happy", None, None, 0.01, 0, str(tmp_path / "d.json"),
                              dataset="mosei")
    assert manifest["unseen"] == ["happy"] and manifest["positives"]["train"]["happy"] == 0


def test_a_table_records_its_corpus_and_is_read_once(tmp_path, monkeypatch):
    """write_raw_table records the corpus load_dataset set; load_dataset reads a table once (its
    corpus with its rows); the corpus column, not the dataset name, is what `split --dataset` reads."""
    from emozsl.data.readers import utterance_table
    from emozsl.data.corpora import IEMOCAP
    from emozsl.data.readers.utterance_table import write_raw_table

    rows = [f"u{i},{split},words {i},u{i}.wav,u{i}/,{emotion},clips,iemocap"
            for i, (split, emotion) in enumerate([(s, e) for s in ("train", "valid", "test")
                                                  for e in ("anger", "happy", "sad", "anger")])]
    table = tmp_path / "utterances.csv"
    table.write_text("id,split,text,audio,frames,labels,dataset,corpus\n" + "\n".join(rows) + "\n")
    reads = []
    real_rows = utterance_table._table_rows
    monkeypatch.setattr(utterance_table, "_table_rows", lambda file: reads.append(file) or real_rows(file))
    dataset = load_dataset(table)
    assert dataset.corpus is IEMOCAP and dataset.name == "clips" and reads == [table]

    copy = write_raw_table(dataset, tmp_path / "copy" / "utterances.csv")
    assert copy.read_text().splitlines()[0].split(",")[8:10] == ["dataset", "corpus"]
    assert load_dataset(copy).corpus is IEMOCAP
    table.write_text(table.read_text().replace(",iemocap\n", ",klingon\n"))
    with pytest.raises(EmozslError, match="corpus 'klingon': expected one of mosei, iemocap, cherma, other"):
        load_dataset(table)
