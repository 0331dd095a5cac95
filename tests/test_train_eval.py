import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.errors import EmozslError
from emozsl.evaluate import evaluate_run
from emozsl.train import train

FAST = {"audio_hidden": 24, "visual_hidden": 12, "layers": 1}


@pytest.fixture(scope="session")
def zsl_run(synth_mosei_dir, tmp_path_factory):
    """A short zero-shot run on the generated data, held-out emotion 'anger'."""
    runs = tmp_path_factory.mktemp("runs")
    return train(RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="anger", epochs=6,
                           model_options=FAST, runs_dir=str(runs), seed=0))


def test_run_folder_holds_config_metrics_checkpoint_results(zsl_run):
    files = {p.name for p in zsl_run.iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "metadata.json", "results.json", "split.json"} <= files
    config = json.loads((zsl_run / "config.json").read_text())
    assert config["model_options"] == {**FAST, "dropout": 0.15, "pooling": "final-states"}
    epochs = [json.loads(line) for line in (zsl_run / "metrics.jsonl").read_text().splitlines()]
    results = json.loads((zsl_run / "results.json").read_text())
    assert [e["epoch"] for e in epochs] == list(range(1, results["epochs_run"] + 1))
    best = max(epochs, key=lambda e: e["valid_wacc"])
    assert results["best_epoch"] == best["epoch"]
    state = torch.load(zsl_run / "checkpoint.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    metadata = json.loads((zsl_run / "metadata.json").read_text())
    assert metadata["unseen"] == ["anger"] and "anger" not in metadata["train_emotions"]
    assert len(metadata["embeddings"]["sha256"]) == 64
    split = json.loads((zsl_run / "split.json").read_text())
    assert split["positives"]["train"]["anger"] == 0


def test_zero_shot_emotion_is_recognised_above_chance(zsl_run):
    """The unseen emotion is scored through its word vector only, and still ranks its positives."""
    result = evaluate_run(zsl_run, device="cpu")
    row = next(r for r in result.rows() if r["emotion"] == "anger")
    assert row["status"] == "unseen" and row["positives"] > 50
    assert row["auc"] > 0.65
    stored = json.loads((zsl_run / "results.json").read_text())["test"]["per_emotion"]
    assert [r["auc"] for r in stored] == pytest.approx([r["auc"] for r in result.rows()])


def test_eval_command_prints_and_writes_tables(zsl_run, tmp_path):
    out = tmp_path / "tables"
    result = CliRunner().invoke(main, ["-q", "eval", str(zsl_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "unseen average" in result.output and "harmonic mean" in result.output
    assert {p.name for p in out.iterdir()} == {"eval.csv", "eval.md", "eval.json", "eval.scores.csv"}
    table = json.loads((out / "eval.json").read_text())
    scores = (out / "eval.scores.csv").read_text().splitlines()  # per utterance, as `emozsl predict` writes them
    assert scores[0].startswith("id,split,p_anger,p_anger_cal,p_disgust") and len(scores) == 1 + 600
    assert [r["emotion"] for r in table["per_emotion"]] == ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    assert "| anger | unseen |" in (out / "eval.md").read_text()
    unseen = next(r for r in table["calibrated"]["per_emotion"] if r["status"] == "unseen")
    assert table["calibrated"]["calibration"] == "standardize" and "F1+ cal" in result.output
    assert unseen["auc"] == pytest.approx(table["per_emotion"][0]["auc"])
    plain = CliRunner().invoke(main, ["-q", "eval", str(zsl_run), "--out", str(out), "--calibration", "none"])
    assert plain.exit_code == 0 and "cal" not in plain.output
    assert "calibrated" not in json.loads((out / "eval.json").read_text())
    stored = json.loads((zsl_run / "results.json").read_text())["test"]["calibrated"]
    assert stored["per_emotion"] == table["calibrated"]["per_emotion"]  # training scored the same calibration


def test_eval_emotion_subset_and_unknown_emotion(zsl_run):
    result = evaluate_run(zsl_run, emotions=["sad", "anger"], device="cpu")
    assert result.emotions == ["sad", "anger"] and result.unseen == ["anger"]
    full = {r["emotion"]: r["auc"] for r in evaluate_run(zsl_run, device="cpu").rows()}
    assert result.rows()[0]["auc"] == pytest.approx(full["sad"])
    with pytest.raises(EmozslError, match="emotions=joy: not an emotion of this data"):
        evaluate_run(zsl_run, emotions=["joy"], device="cpu")


def test_eval_refuses_other_data_and_changed_embeddings(zsl_run, tmp_path, mosei_dir):
    import shutil

    from emozsl.embeddings import default_embeddings_path

    with pytest.raises(EmozslError, match="made from other data"):
        evaluate_run(zsl_run, data=str(mosei_dir), device="cpu")

    def copy_with_embeddings(name, path, configured):
        copy = tmp_path / name
        shutil.copytree(zsl_run, copy)
        for file, key in (("metadata.json", None), ("config.json", "embeddings")):
            value = json.loads((copy / file).read_text())
            if key is None:
                value["embeddings"]["path"] = str(path)
            elif configured:
                value[key] = str(path)
            (copy / file).write_text(json.dumps(value))
        return copy

    # A run moved to another machine: the recorded path is gone, the shipped file matches its hash.
    moved = copy_with_embeddings("moved", tmp_path / "gone.txt", configured=False)
    assert evaluate_run(moved, device="cpu").emotions[0] == "anger"
    # The run's own embeddings file edited after training.
    own = tmp_path / "own.txt"
    own.write_text(default_embeddings_path().read_text())
    edited = copy_with_embeddings("edited", own, configured=True)
    own.write_text(own.read_text().replace("anger -0.0448", "anger 0.9448", 1))
    with pytest.raises(EmozslError, match="changed since this run was trained"):
        evaluate_run(edited, device="cpu")


def test_training_is_seeded_and_never_overwrites_a_run(synth_mosei_dir, tmp_path):
    config = dict(data=str(synth_mosei_dir), protocol="fsl", target="fear", shots=5, epochs=1,
                  model_options=FAST, runs_dir=str(tmp_path), name="same")
    first, second = train(RunConfig(**config)), train(RunConfig(**config))
    assert first.name == "same" and second.name == "same_2"
    load = lambda run: json.loads((run / "metrics.jsonl").read_text())
    assert load(first)["train_loss"] == pytest.approx(load(second)["train_loss"], rel=1e-5)
    assert json.loads((first / "split.json").read_text())["positives"]["train"]["fear"] == 5


def test_train_without_positives_is_an_error(tmp_path):
    from conftest import write_h5, write_mosei
    folder = write_mosei(tmp_path / "m")
    labels = np.zeros((40, 6), np.float32)
    labels[:, [0, 1, 3, 4, 5]] = 1
    labels[::2] = 0
    write_h5(folder / "ey_train.h5", labels)
    with pytest.raises(EmozslError, match="no positive for: fear"):
        train(RunConfig(data=str(folder), epochs=1, model_options=FAST, runs_dir=str(tmp_path / "runs")))


def test_text_and_audio_only(synth_mosei_dir, tmp_path):
    run_dir = train(RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="fear", epochs=1, model_options=FAST,
                              modalities=["text", "audio"], runs_dir=str(tmp_path)))
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert not any("visual" in key for key in state) and any("audio" in key for key in state)
    assert evaluate_run(run_dir, device="cpu").emotions[2] == "fear"
    with pytest.raises(EmozslError, match="modalities=video: choose one of text, audio, visual"):
        train(RunConfig(data=str(synth_mosei_dir), modalities=["video"], runs_dir=str(tmp_path)))


def test_config_values_are_validated():
    with pytest.raises(EmozslError, match="epochs=0: must be at least 1"):
        RunConfig(epochs=0)
    with pytest.raises(EmozslError, match="threshold=1.5"):
        RunConfig(threshold=1.5)
    with pytest.raises(EmozslError, match="unknown field"):
        RunConfig.from_dict({"epoch": 3})


def test_command_line_zero_overrides_the_config_file(synth_mosei_dir, tmp_path):
    from emozsl.config import config_from_options

    (tmp_path / "c.json").write_text(json.dumps({"data": str(synth_mosei_dir), "seed": 3, "epochs": 1,
                                                 "model_options": FAST, "runs_dir": str(tmp_path)}))
    run_dir = train(config_from_options(str(tmp_path / "c.json"), seed=0))
    assert json.loads((run_dir / "config.json").read_text())["seed"] == 0
