"""A data set's corpus (the protocol its labels follow, the validation metric that picks a run's
best epoch) is declared with its format, never read off the data set's name."""

from __future__ import annotations

import dataclasses

import h5py
import pytest
from conftest import write_cherma, write_iemocap9, write_mosei, write_mult

from emozsl.config import RunConfig
from emozsl.data import load_dataset, write_safe_h5
from emozsl.data.corpora import CHERMA, IEMOCAP, MOSEI, OTHER
from emozsl.data.formats import data_corpus
from emozsl.errors import EmozslError
from emozsl.metrics import METRICS
from emozsl.runs import RunDir
from emozsl.session import selection_metric
from emozsl.train import train


def renamed_copy(path, name: str, out):
    """An emozsl HDF5 copy of the data at `path` whose data set is called `name`."""
    data = load_dataset(path, trust_pickle=True)
    return write_safe_h5(dataclasses.replace(data, name=name), out)


def test_each_format_declares_its_corpus(tmp_path):
    assert data_corpus(write_mosei(tmp_path / "mosei")) == MOSEI
    assert data_corpus(write_iemocap9(tmp_path / "iemocap9")) == IEMOCAP
    assert data_corpus(write_mult(tmp_path / "iemocap4.pkl")) == IEMOCAP
    assert data_corpus(write_cherma(tmp_path / "cherma")) == CHERMA
    assert load_dataset(tmp_path / "iemocap9", trust_pickle=True).corpus == IEMOCAP
    assert {corpus.select_metric for corpus in (MOSEI, IEMOCAP, CHERMA, OTHER)} <= set(METRICS)


def test_formats_holding_several_corpora_tell_them_apart_by_what_the_files_say(tmp_path):
    for name, corpus in (("iemocap6", IEMOCAP), ("cherma", CHERMA), ("", OTHER)):
        table = tmp_path / f"table{name}.csv"
        table.write_text(f"id,split,text,audio,dataset\nu1,train,hello,u1.wav,{name}\n")
        assert data_corpus(table) == corpus
    for folder, corpus in (("IEMOCAP", IEMOCAP), ("MOSEI", MOSEI)):
        (tmp_path / folder / f"{folder}_RAW_PROCESSED").mkdir(parents=True)
        assert data_corpus(tmp_path / folder) == corpus


def test_the_validation_metric_follows_the_declared_corpus_not_the_name(tmp_path):
    iemocap = renamed_copy(write_iemocap9(tmp_path / "iemocap9"), "mosei", tmp_path / "iemocap_named_mosei.h5")
    mosei = renamed_copy(write_mosei(tmp_path / "mosei"), "iemocap4", tmp_path / "mosei_named_iemocap.h5")
    assert load_dataset(iemocap).name == "mosei" and load_dataset(mosei).name == "iemocap4"
    assert selection_metric(RunConfig(data=str(iemocap))) == "acc"
    assert selection_metric(RunConfig(data=str(mosei))) == "wacc"
    assert selection_metric(RunConfig(data=str(iemocap), select_metric="auc")) == "auc"


def test_a_run_keeps_the_epoch_its_corpus_chooses_by(tmp_path):
    data = renamed_copy(write_iemocap9(tmp_path / "iemocap9"), "mosei", tmp_path / "iemocap_named_mosei.h5")
    run = train(RunConfig(data=str(data), protocol="supervised", epochs=1, device="cpu", runs_dir=str(tmp_path / "runs"),
                          model_options={"audio_hidden": 8, "visual_hidden": 8, "layers": 1}))
    assert RunDir(run).read_metadata().selection_metric == "acc"


def test_a_copy_recording_no_corpus_follows_its_name_as_it_did_when_written(tmp_path):
    data = dataclasses.replace(load_dataset(write_iemocap9(tmp_path / "iemocap9"), trust_pickle=True), corpus=None)
    for name, corpus in (("iemocap9", IEMOCAP), ("mosei", MOSEI), ("mine", OTHER)):
        copy = write_safe_h5(dataclasses.replace(data, name=name), tmp_path / f"{name}.h5")
        with h5py.File(copy, "r") as h5:
            assert "corpus" not in h5.attrs
        assert data_corpus(copy) == corpus and load_dataset(copy).corpus == corpus


def test_a_copy_recording_an_unknown_corpus_is_refused(tmp_path):
    copy = renamed_copy(write_mosei(tmp_path / "mosei"), "mosei", tmp_path / "copy.h5")
    with h5py.File(copy, "a") as h5:
        h5.attrs["corpus"] = "meld"
    with pytest.raises(EmozslError, match=r"copy.h5: attribute corpus 'meld': expected one of mosei, iemocap"):
        data_corpus(copy)
