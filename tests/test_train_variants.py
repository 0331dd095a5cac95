"""Training beyond the default: other heads, uni-modal labels, repeated runs and cross-validation."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.commands.crossval import SUMMARY_FILE
from emozsl.data import load_dataset
from emozsl.data.generated.synth import write_synth
from emozsl.errors import EmozslError
from emozsl.evaluate import evaluate_run
from emozsl.reports import aggregate_results
from emozsl.splits import fold_dataset
from emozsl.train import train

TINY_LF = {"hidden": 8, "layers": 1}


def test_linear_head_refuses_zero_shot_before_training(synth_mosei_dir, tmp_path):
    with pytest.raises(EmozslError, match="head=linear: cannot score the unseen emotion.*anger"):
        train(RunConfig(model="lf_lstm", model_options=TINY_LF, head="linear", data=str(synth_mosei_dir),
                        protocol="zsl", target="anger", runs_dir=str(tmp_path)))
    assert not any(tmp_path.iterdir())  # no half-made run folder


def test_linear_head_trains_supervised_and_reloads_for_eval(synth_mosei_dir, tmp_path):
    run = train(RunConfig(model="lf_lstm", model_options=TINY_LF, head="linear", data=str(synth_mosei_dir),
                          epochs=2, runs_dir=str(tmp_path)))
    stored = json.loads((run / "results.json").read_text())["test"]["per_emotion"]
    again = evaluate_run(run, device="cpu").rows()
    assert [r["auc"] for r in again] == pytest.approx([r["auc"] for r in stored])
    with pytest.raises(EmozslError, match="emotions=joy: not an emotion of this data"):
        evaluate_run(run, emotions=["joy"], device="cpu")


@pytest.mark.parametrize("similarity, emotion_map", [("cosine", "mlp"), ("neg-sq-distance", "linear")])
def test_other_similarities_train_and_score_the_unseen_emotion(synth_mosei_dir, tmp_path, similarity, emotion_map):
    run = train(RunConfig(model="lf_lstm", model_options=TINY_LF, similarity=similarity, emotion_map=emotion_map,
                          data=str(synth_mosei_dir), protocol="zsl", target="anger", epochs=2, runs_dir=str(tmp_path)))
    result = evaluate_run(run, device="cpu")
    assert result.unseen == ["anger"] and np.isfinite(result.per_emotion["auc"]).all()
    assert json.loads((run / "config.json").read_text())["similarity"] == similarity


def test_lfmim_trains_on_unimodal_labels(tmp_path):
    write_synth("cherma", tmp_path / "cherma")
    run = train(RunConfig(model="lfmim", model_options={"width": 16, "stages": 1, "heads": 2},
                          data=str(tmp_path / "cherma"), protocol="zsl", target="fear", epochs=2,
                          runs_dir=str(tmp_path / "runs")))
    test = json.loads((run / "results.json").read_text())["test"]
    assert test["unseen"] == ["fear"] and len(test["emotions"]) == 7


def test_folds_partition_all_rows_the_same_way_for_every_call(synth_mosei_dir):
    data = load_dataset(synth_mosei_dir)
    everything = sorted(i for s in data.splits.values() for i in s.ids)
    tests = []
    for fold in range(4):
        folded = fold_dataset(data, 4, fold, seed=0)
        ids = {s: set(p.ids) for s, p in folded.splits.items()}
        assert sorted(i for s in ids.values() for i in s) == everything  # disjoint and complete
        tests.append(ids["test"])
        assert ids["valid"] == set(fold_dataset(data, 4, (fold + 1) % 4, seed=0).splits["test"].ids)
    assert sorted(i for t in tests for i in t) == everything  # every row is tested exactly once
    assert tests[0] != set(fold_dataset(data, 4, 0, seed=1).splits["test"].ids)


def test_cross_validation_over_seeds_writes_runs_and_a_mean_std_summary(synth_mosei_dir, tmp_path):
    result = CliRunner().invoke(main, [
        "-q", "train", "--model", "lf_lstm", "--option", "hidden=8", "--option", "layers=1",
        "--data", str(synth_mosei_dir), "--zsl", "anger", "--epochs", "1", "--folds", "3", "--seeds", "2",
        "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    parent = tmp_path / "lf_lstm_zsl_anger_cv3x2"
    summary = json.loads((parent / SUMMARY_FILE).read_text())
    assert summary["seeds"] == [0, 1] and sorted(summary["runs"]) == sorted(
        f"fold{f}_seed{s}" for f in range(3) for s in range(2))
    results = [json.loads((parent / r / "results.json").read_text())["test"] for r in summary["runs"]]
    aucs = [r["per_emotion"][0]["auc"] for r in results]
    assert summary["per_emotion"]["anger"]["auc"]["mean"] == pytest.approx(np.mean(aucs))
    assert summary["per_emotion"]["anger"]["auc"]["std"] == pytest.approx(np.std(aucs, ddof=1))
    assert "mean +- std over 3 folds x seeds 0, 1 (6 runs)" in result.output
    anger = next(line for line in result.output.splitlines() if line.startswith("anger"))
    assert anger.split()[1] == "unseen" and f"{np.mean(aucs):.3f} +- {np.std(aucs, ddof=1):.3f}" in anger
    configs = [json.loads((parent / r / "config.json").read_text()) for r in summary["runs"]]
    assert {(c["fold"], c["seed"], c["folds"]) for c in configs} == {(f, s, 3) for f in range(3) for s in range(2)}


def test_aggregating_runs_of_different_emotions_is_an_error():
    one = {"emotions": ["a"], "unseen": [], "per_emotion": [{}], "summary": {}}
    with pytest.raises(EmozslError, match="different emotion lists"):
        aggregate_results([one, {**one, "emotions": ["b"]}])


@pytest.mark.parametrize("values, message", [
    ({"folds": 2, "fold": 0}, "folds=2: need at least 3"),
    ({"folds": 3}, "give folds and fold together, or neither"),
    ({"folds": 3, "fold": 3}, "fold=3: must be within 0..2"),
    ({"folds": 3, "fold": 0, "split": "s.json"}, "split=/.*s.json: cross-validation makes its own splits"),
])
def test_bad_fold_settings_are_errors(values, message):
    with pytest.raises(EmozslError, match=message):
        RunConfig(**values)


def test_cpu_training_keeps_freed_host_memory_unless_told_not_to():
    """glibc on Linux: a CPU session serves large blocks from the heap (hostmemory.py); the
    environment variable turns it off. Run in fresh processes: the setting is process-wide."""
    import os
    import platform
    import subprocess
    import sys

    script = ("from emozsl.hostmemory import keep_freed_memory; import sys; "
              "sys.stdout.write(str(keep_freed_memory()))")
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    default = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert default.stdout == str(on_glibc)
    off = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "EMOZSL_KEEP_HOST_MEMORY": "0"})
    assert off.stdout == "False"


def test_a_group_of_seeds_resumes_whatever_the_step_capture(synth_mosei_dir, tmp_path):
    """cuda_graphs is how steps run, not what is trained: turning it off resumes the same group
    (as group.json files made before the field existed do)."""
    args = ["-q", "train", "--model", "lf_lstm", "--option", "hidden=8", "--option", "layers=1", "--data",
            str(synth_mosei_dir), "--zsl", "anger", "--epochs", "1", "--seeds", "2", "--runs-dir", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    stamp = (tmp_path / "lf_lstm_zsl_anger_2seeds" / "seed0" / "results.json").stat().st_mtime_ns
    result = CliRunner().invoke(main, [*args, "--no-cuda-graphs"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lf_lstm_zsl_anger_2seeds"]
    assert (tmp_path / "lf_lstm_zsl_anger_2seeds" / "seed0" / "results.json").stat().st_mtime_ns == stamp
