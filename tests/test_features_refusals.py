"""`emozsl features extract` refuses, in one line naming the culprit: a model folder of another kind,
an extractor whose optional package is missing (with the install hint), and a gensim save of word
vectors without --trust-pickle (a pickle runs code when loaded)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import tiny_hf_model

from emozsl.cli import main
from emozsl.data import load_dataset
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.features import extract_features

pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return synth_raw(tmp_path_factory.mktemp("refusals") / "raw", sizes={"train": 4, "valid": 1, "test": 1})


def one_line_error(args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    return lines[0]


@pytest.mark.parametrize("modality, wanted", [("audio", "not a speech encoder"), ("visual", "not an image encoder")])
def test_a_model_folder_of_another_kind_is_named(table, tmp_path, modality, wanted):
    pytest.importorskip("transformers")
    bert = tiny_hf_model(tmp_path / "bert")
    line = one_line_error(["features", "extract", table, tmp_path / "out.h5", f"--{modality}", f"hf:{bert}"])
    assert f"--{modality} hf:{bert}" in line and "holds a text model (BertModel)" in line and wanted in line
    assert not (tmp_path / "out.h5").exists()


def test_an_extractor_whose_package_is_missing_gives_the_install_hint(table, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "opensmile", None)  # what a missing package looks like to `import`
    line = one_line_error(["features", "extract", table, tmp_path / "out.h5", "--audio", "opensmile:egemaps"])
    assert "--audio opensmile:egemaps" in line and "pip install" in line and "opensmile" in line


def test_a_gensim_save_of_word_vectors_needs_trust_pickle(table, tmp_path):
    from gensim.models import KeyedVectors

    data = load_dataset(table, labels="optional")
    words = sorted({w.lower() for part in data.splits.values() for t in part.features["text"].items for w in t.split()})
    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(words, np.random.default_rng(0).normal(size=(len(words), 4)).astype(np.float32))
    saved = tmp_path / "vectors.kv"
    kv.save(str(saved))
    line = one_line_error(["features", "extract", table, tmp_path / "out.h5", "--text", f"words:{saved}"])
    assert str(saved) in line and "--trust-pickle" in line
    assert not (tmp_path / "out.h5").exists()
    done = extract_features(table, tmp_path / "trusted.h5", text=f"words:{saved}", trust_pickle=True, cache=False)
    assert done.recipe["extractors"]["text"]["dim"] == 4
    assert done.recipe["extractors"]["text"]["stats"]["oov_words"] == 0
