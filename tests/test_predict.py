"""`emozsl predict` and the Predictor API: a finished run scores any data, labelled or not, for any
emotion words; labelled data give eval's table by the same path; bad input is one line."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import write_mult

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.embeddings import default_embeddings_path, load_embeddings
from emozsl.errors import EmozslError
from emozsl.evaluate import evaluate_run
from emozsl.predict import Predictor, parse_emotions
from emozsl.train import train

FAST = {"audio_hidden": 24, "visual_hidden": 12, "layers": 1}
FEATURE_FILES = ("text_{}_emb.h5", "audio_{}.h5", "video_{}.h5")


@pytest.fixture(scope="module")
def fear_run(synth_mosei_dir, tmp_path_factory):
    """A short zero-shot run on generated MOSEI-format data, fear held out."""
    runs = tmp_path_factory.mktemp("runs")
    return train(RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="fear", epochs=3, model_options=FAST,
                           runs_dir=str(runs), seed=0, device="cpu"))


@pytest.fixture(scope="module")
def unlabelled(synth_mosei_dir, tmp_path_factory) -> Path:
    """The same features without their ey_*.h5 label files."""
    folder = tmp_path_factory.mktemp("unlabelled")
    for split in ("train", "valid", "test"):
        for pattern in FEATURE_FILES:
            shutil.copy(synth_mosei_dir / pattern.format(split), folder)
    return folder


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_predict_on_the_runs_test_split_gives_evals_numbers(fear_run, synth_mosei_dir, tmp_path):
    evaluated = evaluate_run(fear_run, device="cpu")
    code, output = invoke("predict", fear_run, "--data", synth_mosei_dir, "--split", "test", "--device", "cpu",
                          "--out", tmp_path / "scores.csv")
    assert code == 0, output
    table = json.loads((tmp_path / "scores.table_test.json").read_text())
    assert table["per_emotion"] == evaluated.to_dict()["per_emotion"]
    assert table["calibrated"]["per_emotion"] == evaluated.calibrated.to_dict()["per_emotion"]
    assert "fear            unseen" in output
    rows = pd.read_csv(tmp_path / "scores.csv")
    assert len(rows) == 600 and (rows["split"] == "test").all()
    assert list(rows.columns[:4]) == ["id", "split", "p_anger", "p_disgust"] and "p_fear_cal" in rows
    assert "p_anger_cal" not in rows  # seen emotions keep their trained scale
    meta = json.loads((tmp_path / "scores.csv.meta.json").read_text())
    assert meta["calibration"]["method"] == "standardize" and "validation" in meta["calibration"]["fitted_on"]
    assert len(meta["sha256"]["checkpoint.pt"]) == 64 and meta["rows"] == 600
    assert {e["emotion"]: e["status"] for e in meta["emotions"]}["fear"] == "unseen"


def test_an_unseen_emotions_calibrated_scores_depend_only_on_the_run_and_the_emotion(fear_run):
    """fear alone is calibrated (it was not), and identically beside sad or happy."""
    tables = [evaluate_run(fear_run, emotions=e, device="cpu") for e in (["fear"], ["fear", "sad"], ["fear", "happy"])]
    calibrated = [t.calibrated.rows()[0] for t in tables]
    assert all(c == calibrated[0] for c in calibrated) and calibrated[0]["emotion"] == "fear"
    full = evaluate_run(fear_run, device="cpu").calibrated.rows()
    assert next(r for r in full if r["emotion"] == "fear") == calibrated[0]
    predictor = Predictor.load(fear_run, "cpu")
    alone = predictor.emotion_set("contempt")
    beside = predictor.emotion_set("happy,contempt,pride")
    a, b = predictor.calibration(alone), predictor.calibration(beside)
    assert a.scale[0] == pytest.approx(b.scale[1]) and a.shift[0] == pytest.approx(b.shift[1])


def test_new_words_on_unlabelled_features_one_row_each_and_the_api_gives_the_same(fear_run, unlabelled, tmp_path):
    out = tmp_path / "new.jsonl"
    code, output = invoke("predict", fear_run, "--data", unlabelled, "--emotions", "contempt,pride", "--device", "cpu",
                          "--out", out)
    assert code == 0, output
    rows = pd.read_json(out, lines=True, dtype={"id": str})
    assert len(rows) == 1600 + 300 + 600 and rows["id"].is_unique
    for column in ("p_contempt", "p_contempt_cal", "p_pride", "p_pride_cal"):
        assert np.isfinite(rows[column]).all() and rows[column].between(0, 1).all()
    assert not list(tmp_path.glob("*.table_*"))  # nothing labels contempt or pride
    frame = Predictor.load(fear_run, "cpu").predict(unlabelled, "contempt,pride")
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), rows[frame.columns], check_dtype=False, atol=1e-6)


def test_api_scores_arrays_and_lists_the_runs_emotions(fear_run, synth_mosei_dir):
    from emozsl.data import load_dataset

    predictor = Predictor.load(fear_run, "cpu")
    assert predictor.emotions == ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    assert predictor.unseen == ["fear"] and "fear" not in predictor.train_emotions
    test = load_dataset(synth_mosei_dir).splits["test"]
    arrays = {m: test.features[m][:10] for m in test.features}
    frame = predictor.predict(arrays, ["fear", "joy=happy+glad"], ids=[f"u{i}" for i in range(10)])
    assert list(frame["id"]) == [f"u{i}" for i in range(10)] and "split" not in frame
    whole = predictor.predict(synth_mosei_dir, ["fear", "joy=happy+glad"], split="test")
    assert np.allclose(frame["p_fear"], whole["p_fear"][:10], atol=1e-6)
    assert frame["top"].str.split(";").map(len).eq(2).all()


def test_a_mosei_run_scores_an_iemocap_pickle_by_name_with_the_table(fear_run, tmp_path):
    pickle = write_mult(tmp_path / "iemocap_data.pkl")
    code, output = invoke("predict", fear_run, "--data", pickle, "--trust-pickle", "--split", "test", "--device", "cpu",
                          "--emotions", "neutral,happy,sad,angry=anger", "--out", tmp_path / "iemocap.csv")
    assert code == 0, output
    statuses = {line.split()[0]: line.split()[1] for line in output.splitlines()
                if line.split() and line.split()[0] in ("neutral", "happy", "sad", "angry")}
    assert statuses == {"neutral": "unseen", "happy": "seen", "sad": "seen", "angry": "seen"}  # angry=anger is trained
    table = json.loads((tmp_path / "iemocap.table_test.json").read_text())
    assert [r["emotion"] for r in table["per_emotion"]] == ["neutral", "happy", "sad", "angry"]
    assert all(r["positives"] > 0 for r in table["per_emotion"])
    assert len(pd.read_csv(tmp_path / "iemocap.csv")) == 12


def test_a_vectors_file_of_the_same_space_gives_words_the_run_lacks(fear_run, tmp_path):
    shipped = load_embeddings(default_embeddings_path())
    words = list(shipped.index_to_key)
    lines = [f"{len(words) + 1} {shipped.vector_size}"] + [w + " " + " ".join(f"{v:.6f}" for v in shipped[w])
                                                            for w in words]
    lines.append("wistfulness " + " ".join(f"{v:.6f}" for v in shipped["sad"] * 0.9))
    (tmp_path / "big.txt").write_text("\n".join(lines) + "\n")
    predictor = Predictor.load(fear_run, "cpu")
    chosen = predictor.emotion_set("wistfulness,fear", vectors=tmp_path / "big.txt")
    assert chosen.status == ["unseen", "unseen"] and chosen.sources[0].startswith("big.txt")
    with pytest.raises(EmozslError, match="no vector for 'wistfulness'.*--vectors"):
        predictor.emotion_set("wistfulness")
    other = ["3 50"] + [w + " " + " ".join(["0.1"] * 50) for w in ("anger", "disgust", "wistfulness")]
    (tmp_path / "other.txt").write_text("\n".join(other) + "\n")
    with pytest.raises(EmozslError, match="cannot give the run's own emotion vectors"):
        predictor.emotion_set("wistfulness", vectors=tmp_path / "other.txt")
    rotated = [f"{len(words)} {shipped.vector_size}"] + [w + " " + " ".join(f"{v:.6f}" for v in np.roll(shipped[w], 1))
                                                         for w in words]
    (tmp_path / "rotated.txt").write_text("\n".join(rotated) + "\n")
    code, output = invoke("predict", fear_run, "--emotions", "contempt", "--vectors", tmp_path / "rotated.txt",
                          "--device", "cpu", "--out", tmp_path / "x.csv")
    assert code == 1 and "--vectors" in output and "another word-vector space" in output
    assert len(output.strip().splitlines()) == 1 and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("args, message", [
    (["--emotions", "xyzzy"], "no vector for 'xyzzy'"),
    (["--emotions", "disgustt"], "close matches: disgust"),
    (["--emotions", "fear,fear"], "given more than once"),
    (["--emotions", " , "], "names no emotion"),
    (["--emotions", "top"], "names an output column"),
    (["--top", "-1"], "must be 0 or more"),
    (["--out", "scores.txt"], "name it .csv, .jsonl, .parquet"),
])
def test_bad_emotions_and_outputs_are_one_line(fear_run, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, output = invoke("predict", fear_run, "--device", "cpu", *args)
    assert code != 0 and message in output and len(output.strip().splitlines()) == 1, output


def test_data_that_do_not_fit_the_run_are_named_on_both_sides(fear_run, tmp_path):
    pickle = write_mult(tmp_path / "iemocap_data.pkl")
    import pickle as pickle_module

    data = pickle_module.loads(pickle.read_bytes())
    for part in data.values():
        part["audio"] = part["audio"][..., :70]
    pickle.write_bytes(pickle_module.dumps(data))
    code, output = invoke("predict", fear_run, "--data", pickle, "--trust-pickle", "--device", "cpu")
    assert code == 1 and "holds text 300, audio 70, visual 35; the run" in output and "reads text 300, audio 74" in output


def test_unlabelled_data_given_to_eval_point_to_predict(fear_run, unlabelled):
    code, output = invoke("eval", fear_run, "--data", unlabelled, "--device", "cpu")
    assert code == 1 and "holds no emotion labels" in output and "emozsl predict" in output


def test_an_existing_output_is_refused_unless_overwrite_and_never_half_written(fear_run, unlabelled, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("keep me\n")
    code, output = invoke("predict", fear_run, "--data", unlabelled, "--split", "valid", "--device", "cpu", "--out", out)
    assert code == 1 and "exists; pass --overwrite" in output and out.read_text() == "keep me\n"
    code, output = invoke("predict", fear_run, "--data", unlabelled, "--split", "valid", "--device", "cpu", "--out", out,
                          "--overwrite", "--emotions", "fear,xyzzy")
    assert code == 1 and out.read_text() == "keep me\n"  # refused before anything was written
    code, output = invoke("predict", fear_run, "--data", unlabelled, "--split", "valid", "--device", "cpu", "--out", out,
                          "--overwrite")
    assert code == 0 and len(pd.read_csv(out)) == 300
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_without_out_rows_go_to_standard_output_as_csv(fear_run, unlabelled):
    result = CliRunner().invoke(main, ["predict", str(fear_run), "--data", str(unlabelled), "--split", "valid",
                                       "--device", "cpu", "--emotions", "fear", "--top", "0"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["id", "split", "p_fear", "p_fear_cal"] and len(rows) == 301


def test_parse_emotions():
    assert parse_emotions("fear, excited=exciting ,joy=happy+glad") == [
        ("fear", None), ("excited", ["exciting"]), ("joy", ["happy", "glad"])]
    with pytest.raises(EmozslError, match="NAME=WORD"):
        parse_emotions("joy=")


@pytest.mark.slow
def test_a_folder_of_clips_is_scored_by_an_fe2e_run_and_a_broken_clip_is_named(tmp_path):
    cv2 = pytest.importorskip("cv2")
    raw = synth_raw(tmp_path / "raw", seed=0, sizes={"train": 24, "valid": 8, "test": 6}).parent
    options = {"width": 2, "d": 8, "layers": 1, "heads": 2, "text_dim": 8, "text_layers": 1, "vocabulary": 64}
    run = train(RunConfig(model="fe2e", data=str(raw), protocol="zsl", target="fear", epochs=1, model_options=options,
                          runs_dir=str(tmp_path / "runs"), device="cpu", batch_size=8))
    clips = tmp_path / "clips"
    clips.mkdir()
    rows = [r for r in csv.DictReader(open(raw / "utterances.csv")) if r["split"] == "test"]
    for row in rows:
        shutil.copy(raw / row["audio"], clips / f"{row['id']}.wav")
        (clips / f"{row['id']}.txt").write_text(row["text"])
        frames = sorted((raw / row["frames"]).iterdir())
        height, width = cv2.imread(str(frames[0])).shape[:2]
        video = cv2.VideoWriter(str(clips / f"{row['id']}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 2.0, (width, height))
        for frame in frames:
            video.write(cv2.imread(str(frame)))
        video.release()
    (clips / "broken.wav").write_bytes(b"RIFF, but no sound")
    shutil.copy(clips / f"{rows[0]['id']}.mp4", clips / "broken.mp4")
    (clips / "broken.txt").write_text("tamuko seni")
    out = tmp_path / "clips.csv"
    result = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--emotions", "fear,happy,contempt",
                                       "--device", "cpu", "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored["id"]) == ["broken"] + [r["id"] for r in rows] and "split" not in scored
    broken, good = scored.iloc[0], scored.iloc[1:]
    assert "broken.wav" in broken["error"] and broken["p_fear"] == ""
    assert (good["error"] == "").all() and good["p_contempt_cal"].astype(float).between(0, 1).all()
    assert "broken.wav" in result.stderr  # said on stderr too
    strict = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--device", "cpu", "--strict",
                                       "--out", str(tmp_path / "strict.csv")])
    assert strict.exit_code == 1 and "broken.wav" in strict.output and not (tmp_path / "strict.csv").exists()


def test_overwrite_removes_the_tables_of_an_earlier_prediction_to_the_same_file(fear_run, synth_mosei_dir, tmp_path):
    out = tmp_path / "scores.csv"
    code, output = invoke("predict", fear_run, "--data", synth_mosei_dir, "--device", "cpu", "--out", out,
                          "--emotions", "fear,excited")
    assert code == 0 and {p.name for p in tmp_path.glob("scores.table_*.json")} == {
        f"scores.table_{s}.json" for s in ("train", "valid", "test")}
    assert "not in the tables (the data do not label them): excited" in output
    code, output = invoke("predict", fear_run, "--data", synth_mosei_dir, "--device", "cpu", "--out", out,
                          "--split", "test")
    assert code == 1 and "scores.csv: exists" in output
    code, output = invoke("predict", fear_run, "--data", synth_mosei_dir, "--device", "cpu", "--out", out,
                          "--split", "test", "--overwrite")
    assert code == 0 and [p.name for p in tmp_path.glob("scores.table_*.json")] == ["scores.table_test.json"]


def test_word_forms_apply_to_the_emotions_asked_or_the_default_ones(fear_run, tmp_path):
    pickle = write_mult(tmp_path / "iemocap_data.pkl")
    code, output = invoke("predict", fear_run, "--data", pickle, "--trust-pickle", "--split", "test", "--device", "cpu",
                          "--word", "angry=anger", "--out", tmp_path / "x.csv")  # the data's own emotions
    assert code == 0, output
    assert re.search(r"^angry +seen ", output, re.M) and re.search(r"^neutral +unseen ", output, re.M)
    code, output = invoke("predict", fear_run, "--emotions", "angry=mad", "--word", "angry=anger", "--device", "cpu")
    assert code == 1 and "in --emotions and in --word" in output
