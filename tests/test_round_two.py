"""Cases a new user found: each said in one line, before work is done, and never silently wrong."""

from __future__ import annotations

import json
import logging
import re

import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.train import train

FAST = {"audio_hidden": 8, "visual_hidden": 8, "layers": 1}


@pytest.fixture(scope="module")
def fsl_run(synth_mosei_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    return train(RunConfig(data=str(synth_mosei_dir), protocol="fsl", target="fear", shots=3, epochs=1,
                           model_options=FAST, runs_dir=str(runs), device="cpu"))


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_few_shot_run_says_how_many_it_kept_and_lists_its_emotion_as_low_resource(synth_mosei_dir, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="emozsl"):
        run = train(RunConfig(data=str(synth_mosei_dir), protocol="fsl", target="fear", shots=3, epochs=1,
                              model_options=FAST, runs_dir=str(tmp_path), device="cpu"))
    manifest = json.loads((run / "split.json").read_text())
    kept = manifest["positives"]
    assert f"few-shot on fear: 3 train and {kept['valid']['fear']} valid positives kept" in caplog.text
    assert manifest["low_resource"] == ["fear"] and "fear" not in manifest["seen"] and "fear" in manifest["train_emotions"]
    assert "(50-d word vectors)" in caplog.text  # the size the count is at, beside the count


def test_models_says_the_word_dimension_beside_every_count():
    code, output = invoke("models", "--model", "eea", "--model", "lmr_cbt")
    counts = output.split("\n\n")[0].splitlines()[1:]  # the first table: one row per backbone
    assert code == 0 and len(counts) == 2 and all("(300-d words)" in row for row in counts)


def test_eval_emotions_are_checked_before_the_data_and_named_as_the_run_names_them(fsl_run, tmp_path):
    code, output = invoke("eval", fsl_run, "--emotions", "joy", "--data", tmp_path / "nowhere", "--device", "cpu")
    assert code == 1 and "--emotions joy: not an emotion" in output  # not the missing data: the run's files first
    code, output = invoke("eval", fsl_run, "--emotions", "Fear", "--device", "cpu", "--out", tmp_path / "t")
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "eval_fear.csv", "eval_fear.json", "eval_fear.md", "eval_fear.scores.csv"]
    assert re.search(r"^fear +low-resource ", output, re.M)


def test_a_split_file_as_data_and_a_folder_of_runs_as_a_run_get_pointers(fsl_run, tmp_path):
    manifest = fsl_run / "split.json"
    code, output = invoke("train", "--data", manifest, "--zsl", "fear")
    assert code == 1 and "is a split manifest, not data; pass it as --split FILE" in output
    code, output = invoke("eval", fsl_run.parent, "--device", "cpu")
    assert code == 1 and "holds 1 finished runs, not one" in output and f"emozsl report {fsl_run.parent}" in output
