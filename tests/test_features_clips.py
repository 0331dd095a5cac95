"""A word-aligned feature run scores a plain folder of new clips whose companions (STEM.words.csv
word timings, STEM.csv OpenFace output) sit beside them, from any working folder (the recipe's files
by their recorded absolute paths); a clip openSMILE or OpenFace cannot use is named and left out,
never written as NaN or zeros."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.data import load_dataset
from emozsl.data.generated.raw_synth import WORD_VECTORS, synth_raw
from emozsl.features import extract_features
from emozsl.features.align import parse_words_column
from emozsl.features.extractors import OPENFACE_COLUMNS
from emozsl.features.openface_layout import openface_header, write_openface_csv

pytest.importorskip("soundfile")
pytest.importorskip("opensmile")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return synth_raw(tmp_path_factory.mktemp("clips") / "raw", sizes={"train": 24, "valid": 8, "test": 6})


def clips_with_companions(table, folder, split="test"):
    """The split's clips as a plain folder: NAME.wav, NAME.txt, NAME.words.csv and NAME.csv."""
    folder.mkdir()
    rows = [r for r in csv.DictReader(open(table, encoding="utf-8")) if r["split"] == split]
    for row in rows:
        uid = row["id"]
        shutil.copy(table.parent / row["audio"], folder / f"{uid}.wav")
        (folder / f"{uid}.txt").write_text(row["text"], encoding="utf-8")
        words = parse_words_column(row["words"], uid)
        (folder / f"{uid}.words.csv").write_text("word,start,end\n" + "".join(f"{w},{s},{e}\n" for w, s, e in words))
        shutil.copy(table.parent / "media" / f"{uid}.csv", folder / f"{uid}.csv")
    return [r["id"] for r in rows]


@pytest.mark.slow
def test_a_word_aligned_run_scores_a_folder_of_clips_from_another_working_folder(table, tmp_path, monkeypatch):
    from emozsl.config import RunConfig
    from emozsl.train import train

    monkeypatch.chdir(table.parent)  # the recipe's word-vector file given relative to here
    out = tmp_path / "feats.h5"
    done = extract_features(table.name, out, text=f"words:{WORD_VECTORS}", audio="logmel:8", visual="openface")
    assert done.recipe["settings"]["alignment"] == "word"
    run = train(RunConfig(data=str(out), protocol="zsl", target="fear", epochs=1, device="cpu",
                          runs_dir=str(tmp_path / "runs"), model_options={"audio_hidden": 8, "visual_hidden": 8,
                                                                         "layers": 1}))
    clips = tmp_path / "clips"
    ids = clips_with_companions(table, clips)
    assert load_dataset(clips, labels="optional").kind == "raw"  # the companions are no other format
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / WORD_VECTORS).write_text("1 7\nfoo" + " 0.1" * 7 + "\n")  # a same-named file must not be read
    monkeypatch.chdir(elsewhere)
    scores = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--emotions", "fear,contempt",
                                       "--device", "cpu", "--out", str(scores)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(scores, keep_default_na=False)
    assert sorted(rows["id"]) == sorted(ids) and (rows["error"] == "").all()
    assert rows["p_contempt_cal"].astype(float).between(0, 1).all()


def test_a_clip_too_short_for_opensmile_and_a_face_never_found_are_named_and_left_out(table, tmp_path):
    import soundfile

    clips = tmp_path / "clips"
    ids = clips_with_companions(table, clips)
    soundfile.write(str(clips / f"{ids[0]}.wav"), np.zeros(800, np.float32), 16000)  # 0.05 s
    (clips / f"{ids[1]}.csv").write_text(", ".join(openface_header()) + "\n")  # OpenFace found no face
    done = extract_features(clips, tmp_path / "out.h5", audio="opensmile:egemaps", visual="openface", align="none",
                            cache=False)
    assert done.summary["failures"] == {"media": 1, "openface_csv": 1}
    errors = {f["id"]: f["error"] for f in done.summary["failed"]}
    assert "too short for openSMILE" in errors[ids[0]] and "no frames" in errors[ids[1]]
    data = load_dataset(tmp_path / "out.h5", labels="optional")
    part = data.splits["all"]
    assert sorted(part.ids) == sorted(ids[2:]) and all(np.isfinite(part.features[m]).all() for m in part.features)


def test_a_new_clips_own_openface_csv_comes_before_the_recipes_folder(table, tmp_path):
    """The recipe's OpenFace folder held the training clips' CSVs; a new clip of the same name carries
    its own beside it, which `predict` (own_first) reads first. `features extract` keeps the folder
    the user named first."""
    clips = tmp_path / "clips"
    ids = clips_with_companions(table, clips)
    header = openface_header()
    values = np.zeros((3, len(header)))
    values[:, header.index("timestamp")] = [0.0, 1.0, 2.0]
    values[:, header.index("success")] = 1
    values[:, header.index("AU12_r")] = 4.5
    write_openface_csv(clips / f"{ids[0]}.csv", values)  # the new clip's own CSV differs from the folder's
    folder = f"openface:{table.parent / 'media'}"
    named = extract_features(clips, tmp_path / "named.h5", visual=folder, align="none", cache=False)
    own = extract_features(clips, tmp_path / "own.h5", visual=folder, align="none", cache=False, own_first=True)
    a, b = (load_dataset(r.out, labels="optional").splits["all"] for r in (named, own))
    row = list(a.ids).index(ids[0])
    assert not np.allclose(a.features["visual"][row], b.features["visual"][row])
    assert np.allclose(b.features["visual"][row][0, OPENFACE_COLUMNS.index("AU12_r")], 4.5)
    others = [i for i in range(len(a.ids)) if i != row]
    assert np.array_equal(a.features["visual"][others], b.features["visual"][others])


def test_with_align_word_a_clip_without_timings_is_named_and_left_out(table, tmp_path):
    """What a word-aligned run's recipe asks of new clips: one clip lacking its STEM.words.csv is left
    out, named, not the whole folder refused."""
    clips = tmp_path / "clips"
    ids = clips_with_companions(table, clips)
    (clips / f"{ids[0]}.words.csv").unlink()
    done = extract_features(clips, tmp_path / "out.h5", text=f"words:{table.parent / WORD_VECTORS}", align="word",
                            cache=False)
    assert done.summary["failures"] == {"timings": 1}
    assert ids[0] in done.summary["failed"][0]["error"] and "words.csv" in done.summary["failed"][0]["error"]
    assert sorted(load_dataset(done.out, labels="optional").splits["all"].ids) == sorted(ids[1:])
