"""The mission's commands as a researcher reads them (issue 17): an emotion index becomes its name,
settings are declared once (flags, checks, sweeps), inputs are checked up front, paths survive a
change of folder, and a CPU run takes the idle cores."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil

import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.cli.train import TRAIN_SETTINGS
from emozsl.config import SYSTEM_FIELDS, RunConfig
from emozsl.errors import EmozslError
from emozsl.commands.sweep import run_sweep

TINY = ["--option", "audio_hidden=8", "--option", "visual_hidden=8", "--option", "layers=1"]


def run(*args):
    return CliRunner().invoke(main, ["-q", *map(str, args)])


def one_line(result, fragment):
    lines = result.output.strip().splitlines()
    assert result.exit_code in (1, 2) and len(lines) == 1 and fragment in lines[0], result.output


def test_every_flagged_setting_is_a_train_flag_with_its_declared_help():
    command = main.commands["train"]
    by_name = {p.name: p for p in command.params}
    for f in dataclasses.fields(RunConfig):
        if f.metadata["flag"]:
            assert f.metadata["flag"].split("/")[0] in by_name[f.name].opts and f.metadata["help"] in by_name[f.name].help
    assert set(TRAIN_SETTINGS) >= {"weight_decay", "scheduler_patience", "threshold", "select_metric"}
    assert {"label_words", "emotion_words", "model_options"} <= set(SYSTEM_FIELDS)
    assert not {"seed", "device", "runs_dir", "target"} & set(SYSTEM_FIELDS)


def test_an_emotion_index_is_the_emotions_name_in_the_run_and_the_split(synth_mosei_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("split", "--data", synth_mosei_dir, "--zsl", 3).exit_code == 0
    trained = run("train", "--data", synth_mosei_dir, "--zsl", 3, "--epochs", 1, "--device", "cpu", *TINY)
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "splits" / "mosei_zsl_happy_seed0.json").exists()
    config = json.loads((tmp_path / "runs" / "eea_zsl_happy_seed0" / "config.json").read_text())
    assert config["target"] == "happy"


def test_a_misspelled_emotion_word_is_refused_with_the_close_match(synth_mosei_dir, tmp_path):
    result = run("train", "--data", synth_mosei_dir, "--zsl", "fear", "--word", "feer=afraid", "--epochs", 1,
                 "--device", "cpu", "--runs-dir", tmp_path, *TINY)
    one_line(result, "--word feer=afraid: not an emotion of this data (did you mean fear?")
    assert not any(tmp_path.glob("eea*"))


def test_few_shot_splits_keep_fewer_than_all_and_never_share_a_file(synth_mosei_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(run("split", "--data", synth_mosei_dir, "--fsl", "fear", "--shots", 100000),
             "--shots 100000: the train split of fear has only")
    assert run("split", "--data", synth_mosei_dir, "--fsl", "fear", "--shots", 2).exit_code == 0
    assert run("split", "--data", synth_mosei_dir, "--fsl", "fear", "--shots", 3).exit_code == 0
    assert run("split", "--data", synth_mosei_dir, "--fsl", "fear").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "splits").iterdir()) == [
        "mosei_fsl_fear_2shots_seed0.json", "mosei_fsl_fear_3shots_seed0.json", "mosei_fsl_fear_fraction0.01_seed0.json"]


def test_label_encoder_without_label_words_is_a_usage_line():
    one_line(run("embeddings", "show", "--label-encoder", "."), "--label-encoder needs --label-words")


def test_a_sweep_checks_label_words_and_index_targets_before_any_trial(synth_mosei_dir, tmp_path):
    path = tmp_path / "s.toml"
    for grid, message in (('label_words = ["nope"]', "label_words=.*nope: neither a shipped label set"),
                          ("target = [3]", "target=3: a sweep names its emotions")):
        path.write_text(f'[base]\ndata = "{synth_mosei_dir}"\nprotocol = "zsl"\ntarget = "fear"\n'
                        f'runs_dir = "{tmp_path / "runs"}"\n[grid]\n{grid}\n')
        with pytest.raises(EmozslError, match=message):
            run_sweep(path)
        assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_relative_paths_work_from_another_folder_and_from_the_sweep_files_folder(synth_mosei_dir, tmp_path, monkeypatch):
    shutil.copytree(synth_mosei_dir, tmp_path / "project" / "data")
    monkeypatch.chdir(tmp_path / "project")
    trained = run("train", "--data", "data", "--zsl", "fear", "--epochs", 1, "--device", "cpu", *TINY)
    assert trained.exit_code == 0, trained.output
    monkeypatch.chdir(tmp_path)
    evaluated = run("eval", "project/runs/eea_zsl_fear_seed0", "--device", "cpu")
    assert evaluated.exit_code == 0, evaluated.output
    (tmp_path / "project" / "sweeps").mkdir()
    sweep = tmp_path / "project" / "sweeps" / "s.toml"  # paths relative to the file, run from elsewhere
    sweep.write_text('[base]\ndata = "../data"\nmodel = "lf_lstm"\nepochs = 1\ndevice = "cpu"\nprotocol = "zsl"\n'
                     'model_options = { hidden = 8, layers = 1 }\nruns_dir = "../sweep-runs"\n[grid]\ntarget = ["fear"]\n')
    folder, counts = run_sweep(sweep)
    assert counts["done"] == 1 and folder == tmp_path / "project" / "sweeps" / ".." / "sweep-runs"
    assert json.loads((folder / "fear" / "config.json").read_text())["data"] == str(tmp_path / "project" / "data")


@pytest.mark.slow
def test_a_sweep_says_which_trial_it_trains_and_how_it_scored(synth_mosei_dir, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(f'[base]\ndata = "{synth_mosei_dir}"\nmodel = "lf_lstm"\nepochs = 1\ndevice = "cpu"\n'
                    f'protocol = "zsl"\nmodel_options = {{ hidden = 8, layers = 1 }}\nruns_dir = "{tmp_path / "r"}"\n'
                    '[grid]\ntarget = ["fear", "sad"]\n')
    lines, log = [], logging.getLogger("emozsl")
    handler, level = logging.Handler(), log.level
    handler.emit = lambda record: lines.append(record.getMessage())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        run_sweep(path, stack=1)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    text = "\n".join(lines)
    assert "trial 1 of 2: fear" in text and "trial 2 of 2: sad" in text
    assert "trial fear:" in text and "unseen AUC" in text


def test_a_cpu_run_takes_the_idle_cores_only(tmp_path, monkeypatch):
    import torch

    from emozsl import cputhreads

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("EMOZSL_CPU_THREADS", raising=False)
    fake = tmp_path / "loadavg"
    monkeypatch.setattr(cputhreads, "LOADAVG", fake)
    monkeypatch.setattr(cputhreads, "SAMPLE_GAP_S", 0)
    try:
        torch.set_num_threads(4)
        monkeypatch.setattr(cputhreads.os, "sched_getaffinity", lambda pid: set(range(4)))
        for running, threads in (("1/80", 4), ("3/80", 2), ("9/80", 1)):  # 0, 2 and 8 other tasks
            fake.write_text(f"1.00 1.00 1.00 {running} 123\n")
            monkeypatch.setattr(cputhreads, "_chosen", None)
            torch.set_num_threads(4)
            assert cputhreads.use_idle_cores() == threads == torch.get_num_threads()
        monkeypatch.setenv("EMOZSL_CPU_THREADS", "3")
        monkeypatch.setattr(cputhreads, "_chosen", None)
        assert cputhreads.use_idle_cores() == 3
        monkeypatch.setenv("EMOZSL_CPU_THREADS", "many")
        monkeypatch.setattr(cputhreads, "_chosen", None)
        with pytest.raises(EmozslError, match="EMOZSL_CPU_THREADS=many"):
            cputhreads.use_idle_cores()
    finally:
        torch.set_num_threads(before)


def test_shots_outside_few_shot_are_refused_everywhere(synth_mosei_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(run("split", "--data", synth_mosei_dir, "--zsl", "fear", "--shots", 4),
             "--shots 4: applies to the few-shot protocol only (this is zsl)")
    one_line(run("train", "--data", synth_mosei_dir, "--zsl", "fear", "--shots", 4, "--device", "cpu"),
             "--shots 4: applies to the few-shot protocol only (this is zsl)")
    assert not (tmp_path / "splits").exists() and not (tmp_path / "runs").exists()


def test_report_labels_leave_out_what_every_system_shares():
    from emozsl.reports import system_labels

    base = {**RunConfig(model="eea", epochs=1).to_dict(), "dataset": "mosei", "embeddings": "ab" * 32}
    first = {**base, "model_options": {**base["model_options"], "audio_hidden": 16}}
    second = {**base, "model_options": {**base["model_options"], "audio_hidden": 32}}
    assert system_labels([first, second]) == ["eea/audio_hidden=16", "eea/audio_hidden=32"]
