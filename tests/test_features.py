"""emozsl.features: raw recordings -> the feature layout, on a tiny generated raw data set with
tiny random models and files written here in their real layouts."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emozsl.data import load_dataset
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.errors import EmozslError
from emozsl.features import (
    EXTRACTORS,
    check_recipe,
    extract_features,
    overlap_means,
    parse_spec,
    pool_windows,
    read_recipe,
)
from emozsl.features.extractors import OPENFACE_COLUMNS, read_openface
from emozsl.features.openface_layout import openface_header, write_openface_csv

pytest.importorskip("soundfile")
SIZES = {"train": 24, "valid": 4, "test": 4}  # 24: every emotion has a positive in train


# ---- files in their real layouts -----------------------------------------------------------------

def write_openface(file: Path, frames: int, rng, fail=(), drop: str | None = None) -> np.ndarray:
    """An OpenFace CSV at 30 fps (", " separators, as OpenFace writes); returns its 49 kept columns."""
    header = [h for h in openface_header() if h != drop]
    values = rng.normal(size=(frames, len(header))).round(3)
    values[:, header.index("frame")] = np.arange(1, frames + 1)
    values[:, header.index("face_id")] = 0
    values[:, header.index("timestamp")] = np.arange(frames) / 30
    values[:, header.index("success")] = [0 if i in fail else 1 for i in range(frames)]
    write_openface_csv(file, values, header)
    if drop:
        return values
    kept = values[:, [header.index(c) for c in OPENFACE_COLUMNS]]
    kept[list(fail)] = 0
    return kept


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """The generated raw data set, OpenFace CSVs for its utterances, a word2vec text file holding half
    of its vocabulary, and tiny random BERT, Wav2Vec2 and ViT folders."""
    root = tmp_path_factory.mktemp("features")
    table = synth_raw(root / "raw", sizes=SIZES)
    data = load_dataset(table, labels="optional")
    rng = np.random.default_rng(0)
    openface = root / "openface"
    openface.mkdir()
    for split in data.splits.values():
        for uid in split.ids:
            write_openface(openface / f"{uid}.csv", 40, rng, fail=(3,))
    vocabulary = sorted({w for s in data.splits.values() for t in s.features["text"].items for w in t.split()})
    known = vocabulary[::2]
    vectors = root / "vectors.txt"
    vectors.write_text(f"{len(known)} 5\n" + "".join(f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=5)) + "\n"
                                                      for w in known))
    return {"root": root, "table": table, "data": data, "openface": openface, "vectors": vectors,
            "vocabulary": vocabulary, "known": set(known)}


@pytest.fixture(scope="module")
def models(raw):
    transformers = pytest.importorskip("transformers")
    import torch
    from conftest import tiny_hf_model

    root = raw["root"]
    bert = tiny_hf_model(root / "bert", words=raw["vocabulary"][:40])
    torch.manual_seed(0)
    wav2vec = root / "wav2vec"
    config = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=32, conv_dim=(8,) * 7, num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=2, vocab_size=8)
    transformers.Wav2Vec2Model(config).save_pretrained(wav2vec)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(wav2vec)
    vit = root / "vit"
    config = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1,
                                    num_attention_heads=2, intermediate_size=32)
    transformers.ViTModel(config).save_pretrained(vit)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(vit)
    return {"bert": bert, "wav2vec": wav2vec, "vit": vit}


def check_like_source(out: Path, source, dims: dict):
    data = load_dataset(out)
    assert data.emotions == source.emotions
    assert data.labelled
    for split, part in source.splits.items():
        assert list(data.splits[split].ids) == list(part.ids)
        assert np.array_equal(data.splits[split].labels, part.labels)
    assert data.input_dims() == dims
    return data


# ---- the table and alignment rules ---------------------------------------------------------------

def test_the_table_names_every_extractor_once_per_modality():
    keys = [(e.modality, e.name) for e in EXTRACTORS]
    assert len(keys) == len(set(keys))
    assert set(keys) == {("text", "words"), ("text", "hf"), ("audio", "logmel"), ("audio", "mfcc"),
                         ("audio", "opensmile"), ("audio", "hf"), ("visual", "openface"), ("visual", "hf")}
    assert parse_spec("text", "words:/x/y.txt")[1] == "/x/y.txt"
    assert parse_spec("audio", "logmel")[1] is None
    with pytest.raises(EmozslError, match="give words:FILE"):
        parse_spec("text", "words")
    with pytest.raises(EmozslError, match="no such audio extractor .*logmel"):
        parse_spec("audio", "fbank")


def test_overlap_means_follows_the_sdk_rule_on_a_hand_computed_case():
    starts, ends = np.array([0.0, 0.1, 0.2, 0.3]), np.array([0.1, 0.2, 0.3, 0.4])
    values = np.array([[1.0], [2.0], [4.0], [8.0]])
    # word 1 [0.05, 0.25]: rows 0, 1, 2 overlap by 50, 100, 50 ms; word 2 [0.2995, 0.35]: row 2 only
    # grazes it (0.5 ms, out), row 3 is in; word 3 [0.5, 0.6]: no row, zeros
    means, count = overlap_means(starts, ends, values, [0.05, 0.2995, 0.5], [0.25, 0.35, 0.6])
    assert means[:, 0].tolist() == pytest.approx([7 / 3, 8.0, 0.0])
    assert count.tolist() == [3, 1, 0]
    pooled, times = pool_windows(np.arange(10, dtype=np.float32)[:, None], np.stack([np.arange(10), np.arange(1, 11)], 1), 4)
    assert pooled[:, 0].tolist() == pytest.approx([0.5, 3.0, 5.5, 8.0])  # windows 0-1, 2-4, 5-6, 7-9
    assert times.tolist() == [[0, 2], [2, 5], [5, 7], [7, 10]]


def test_openface_columns_and_header_errors(tmp_path):
    rng = np.random.default_rng(1)
    expected = write_openface(tmp_path / "a.csv", 5, rng, fail=(1,))
    values, times = read_openface(tmp_path / "a.csv")
    assert values.shape == (5, 49) and np.allclose(values, expected, atol=1e-6)
    assert not values[1].any()
    assert times[:, 0] == pytest.approx(np.arange(5) / 30, abs=1e-5) and times[-1, 1] == pytest.approx(5 / 30, abs=1e-5)
    write_openface(tmp_path / "b.csv", 3, rng, drop="AU12_r")
    with pytest.raises(EmozslError) as error:
        read_openface(tmp_path / "b.csv")
    assert str(tmp_path / "b.csv") in str(error.value) and "AU12_r" in str(error.value)
    assert "\n" not in str(error.value)


# ---- extraction ----------------------------------------------------------------------------------

def test_words_logmel_openface_keep_labels_splits_and_record_the_recipe(raw, tmp_path):
    out = tmp_path / "out.h5"
    done = extract_features(raw["table"].parent, out, text=f"words:{raw['vectors']}", audio="logmel",
                            visual=f"openface:{raw['openface']}", max_steps=12, align="none")  # the table has timings
    data = check_like_source(out, raw["data"], {"text": 5, "audio": 80, "visual": 49})
    train = data.splits["train"].features
    assert train["audio"].shape[1] == 12 and train["visual"].shape[1] == 12  # 40 OpenFace rows pooled to 12
    # OOV: every transcript word without a vector is counted, none dropped
    words = [w for s in raw["data"].splits.values() for t in s.features["text"].items for w in t.split()]
    stats = done.recipe["extractors"]["text"]["stats"]
    assert stats["words"] == len(words)
    assert stats["oov_words"] == sum(w not in raw["known"] for w in words) > 0
    recipe = read_recipe(out)
    assert recipe == json.loads(json.dumps(done.recipe))
    assert recipe["settings"]["alignment"] == "none" and recipe["settings"]["max_steps"] == 12
    assert recipe["versions"]["emozsl"]
    assert recipe["extractors"]["text"]["files"][0]["path"] == str(raw["vectors"].resolve())
    assert recipe["extractors"]["audio"]["name"] == "logmel"
    check_recipe(recipe)
    copy = tmp_path / "vectors.txt"  # a word-vector file changed: one line naming it
    shutil.copy(raw["vectors"], copy)
    recipe["extractors"]["text"]["files"][0]["path"] = str(copy)
    check_recipe(recipe)
    copy.write_text(copy.read_text().replace(" 0.", " 1.", 1))
    with pytest.raises(EmozslError, match=r"--text words: word-vector file .*vectors.txt changed since extraction"):
        check_recipe(recipe)
    # every feature backbone trains on it unchanged: the default one, one epoch
    from emozsl.config import RunConfig
    from emozsl.train import train

    run = train(RunConfig(data=str(out), epochs=1, device="cpu", runs_dir=str(tmp_path / "runs"),
                          model_options={"audio_hidden": 8, "visual_hidden": 8, "layers": 1}))
    assert (Path(run) / "config.json").exists() or any(Path(run).iterdir())


def test_word_timings_align_every_modality_to_the_words(raw, tmp_path):
    from emozsl.features.extractors import Utterance, logmel

    table = raw["table"]
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    timed = table.parent / "timed.csv"
    for row in rows:  # each transcript word 0.1 s long; the last one ends past the audio on purpose
        row["words"] = ";".join(f"{w} {0.1 * k:.1f} {0.1 * (k + 1):.1f}" for k, w in enumerate(row["text"].split()))
    with timed.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "aligned.h5"
    done = extract_features(timed, out, text=f"words:{raw['vectors']}", audio="mfcc",
                            visual=f"openface:{raw['openface']}", max_steps=50)
    assert done.recipe["settings"]["alignment"] == "word"
    data = load_dataset(out)
    longest = max(len(r["text"].split()) for r in rows)
    assert {m: a.shape[1] for m, a in data.splits["train"].features.items()} == {m: longest for m in data.modalities}
    assert data.input_dims() == {"text": 5, "audio": 13, "visual": 49}
    # by hand: the first train utterance's word 2 [0.1, 0.2] s takes the MFCC frames centred at
    # 0.09 .. 0.21 s (i = 9..21: each spans its centre -/+ 12.5 ms and overlaps by more than 1 ms)
    first = raw["data"].splits["train"]
    opened = logmel("40", None)
    utterance = Utterance(first.ids[0], None, first.features["audio"].items[0], None)
    from scipy.fft import dct
    frames = dct(opened(utterance)[0], type=2, norm="ortho", axis=1)[:, :13]
    assert data.splits["train"].features["audio"][0, 1] == pytest.approx(frames[9:22].mean(0), abs=1e-4)
    # visual, 30 fps rows at k / 30 s spanning 1/30 s: word 1 [0, 0.1] takes rows 0, 1, 2 (row 3
    # starts at 0.1): row 3 failed (zeros) and is not among them
    visual = data.splits["train"].features["visual"][0, 0]
    rows_of = read_openface(raw["openface"] / f"{first.ids[0]}.csv")[0]
    assert visual == pytest.approx(rows_of[0:3].mean(0), abs=1e-5)
    # and the text steps are the words in order: a known word's vector, an unknown one zeros
    words = rows[0]["text"].split() if rows[0]["split"] == "train" else None
    if words is not None:
        for k, word in enumerate(words):
            assert data.splits["train"].features["text"][0, k].any() == (word in raw["known"])


def test_hf_text_audio_visual_encoders(raw, models, tmp_path):
    out = tmp_path / "hf.h5"
    done = extract_features(raw["table"].parent, out, text=f"hf:{models['bert']}", audio=f"hf:{models['wav2vec']}",
                            visual=f"hf:{models['vit']}", max_steps=8)
    data = check_like_source(out, raw["data"], {"text": 16, "audio": 16, "visual": 16})
    assert data.splits["train"].features["audio"].shape[1] == 8  # 2 s at 20 ms pooled to 8
    assert done.recipe["versions"]["transformers"]
    files = {m: e["files"] for m, e in done.recipe["extractors"].items()}
    assert all(f[0]["kind"] == "folder" and len(f[0]["sha256"]) == 64 for f in files.values())
    check_recipe(read_recipe(out))
    # a model file changed, or the folder gone: one line naming it
    moved = tmp_path / "vit"
    shutil.copytree(models["vit"], moved)
    recipe = read_recipe(out)
    recipe["extractors"]["visual"]["files"][0]["path"] = str(moved)
    check_recipe(recipe)
    (moved / "config.json").write_text((moved / "config.json").read_text() + " ")
    with pytest.raises(EmozslError, match=r"--visual hf: model folder .*vit changed since extraction") as error:
        check_recipe(recipe)
    assert "\n" not in str(error.value)
    shutil.rmtree(moved)
    with pytest.raises(EmozslError, match="is missing"):
        check_recipe(recipe)


def test_opensmile_low_level_descriptors(raw, tmp_path):
    pytest.importorskip("opensmile")
    out = tmp_path / "smile.h5"
    extract_features(raw["table"].parent, out, audio="opensmile:egemaps", max_steps=10)
    assert load_dataset(out).input_dims() == {"audio": 25}
    extract_features(raw["table"].parent, out, audio="opensmile:compare", max_steps=10)
    assert load_dataset(out).input_dims() == {"audio": 65}


def test_a_folder_of_clips_gives_unlabelled_features(raw, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for uid in raw["data"].splits["test"].ids:
        shutil.copy(raw["table"].parent / "media" / f"{uid}.wav", clips / f"{uid}.wav")
        (clips / f"{uid}.txt").write_text("Hello, hello world!")
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 3\nhello 1 0 0\nworld 0 1 0\n")
    out = tmp_path / "clips.h5"
    done = extract_features(clips, out, text=f"words:{vectors}", audio="logmel:40", max_steps=5)
    assert done.recipe["extractors"]["text"]["stats"]["oov_words"] == 0
    with pytest.raises(EmozslError, match="no emotion labels"):
        load_dataset(out)
    data = load_dataset(out, labels="optional")
    assert not data.labelled and list(data.splits) == ["all"]
    assert data.splits["all"].features["text"].shape == (4, 3, 3)
    assert data.splits["all"].features["text"][0, :, :2].tolist() == [[1, 0], [1, 0], [0, 1]]
    assert data.input_dims() == {"text": 3, "audio": 40}


def test_refusals_are_one_line(raw, tmp_path):
    with pytest.raises(EmozslError, match="at least one extractor"):
        extract_features(raw["table"].parent, tmp_path / "x.h5")
    with pytest.raises(EmozslError, match="no such word-vector file"):
        extract_features(raw["table"].parent, tmp_path / "x.h5", text="words:/nonexistent.txt")
    clips = tmp_path / "clips"  # clips without OpenFace CSVs, beside them or in the folder named
    clips_folder(raw, clips)
    for csv_file in clips.glob("*.csv"):
        csv_file.unlink()
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmozslError, match="no OpenFace CSV"):
        extract_features(clips, tmp_path / "x.h5", visual=f"openface:{tmp_path / 'empty'}")
    assert not (tmp_path / "x.h5").exists()


def test_a_run_trained_on_extracted_features_extracts_new_clips_with_its_recipe(raw, tmp_path):
    """The recipe travels: the run keeps it, `emozsl predict` applies it to a folder of clips, and
    refuses in one line once a file it names has changed."""
    from click.testing import CliRunner

    from emozsl.cli import main
    from emozsl.config import RunConfig
    from emozsl.train import train

    vectors = tmp_path / "vectors.txt"
    shutil.copy(raw["vectors"], vectors)
    out = tmp_path / "features.h5"
    extract_features(raw["table"].parent, out, text=f"words:{vectors}", audio="logmel:40",
                     visual=f"openface:{raw['openface']}", max_steps=8, align="none")  # the clips have no timings
    run = train(RunConfig(data=str(out), protocol="zsl", target="fear", epochs=1, device="cpu",
                          runs_dir=str(tmp_path / "runs"), model_options={"audio_hidden": 8, "visual_hidden": 8,
                                                                         "layers": 1}))
    assert json.loads((run / "metadata.json").read_text())["features"]["extractors"]["audio"]["spec"] == "logmel:40"
    clips = tmp_path / "clips"
    clips.mkdir()
    test = raw["data"].splits["test"]
    for uid, text in zip(test.ids, test.features["text"].items):
        shutil.copy(raw["table"].parent / "media" / f"{uid}.wav", clips / f"{uid}.wav")
        (clips / f"{uid}.txt").write_text(text)
    scores = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--device", "cpu",
                                       "--emotions", "fear,contempt", "--out", str(scores)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    rows = pd.read_csv(scores, keep_default_na=False)
    assert list(rows["id"]) == sorted(test.ids) and rows["p_contempt_cal"].astype(float).between(0, 1).all()
    assert (rows["error"] == "").all()
    (clips / "broken.wav").write_bytes(b"RIFF, but no sound")  # named in the error column, the rest scored
    (clips / "broken.txt").write_text("hello")
    result = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--device", "cpu",
                                       "--emotions", "fear", "--out", str(scores), "--overwrite"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(scores, keep_default_na=False)
    assert list(rows["id"]) == sorted(test.ids) + ["broken"] and "broken.wav" in rows["error"].iloc[-1]
    assert rows["p_fear"].iloc[-1] == "" and "1 could not be" in result.output
    strict = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--device", "cpu", "--strict"])
    assert strict.exit_code == 1 and "broken.wav" in strict.output
    (clips / "broken.wav").unlink()
    vectors.write_text(vectors.read_text().replace(" 0.", " 1.", 1))
    result = CliRunner().invoke(main, ["predict", str(run), "--data", str(clips), "--device", "cpu"])
    assert result.exit_code == 1 and "vectors.txt changed since extraction" in result.output


def test_a_clip_without_a_transcript_and_an_existing_output_are_one_line(raw, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for uid in raw["data"].splits["test"].ids[:2]:
        shutil.copy(raw["table"].parent / "media" / f"{uid}.wav", clips / f"{uid}.wav")
    (clips / f"{raw['data'].splits['test'].ids[0]}.txt").write_text("hello")
    with pytest.raises(EmozslError, match=r"has no transcript \(1 of 2 have none; a clip's is NAME.txt"):
        extract_features(clips, tmp_path / "x.h5", text=f"words:{raw['vectors']}", audio="logmel")
    out = tmp_path / "audio.h5"
    extract_features(clips, out, audio="logmel:8")  # without --text, transcripts are not needed
    with pytest.raises(EmozslError, match="exists; pass --overwrite"):
        extract_features(clips, out, audio="logmel:8", overwrite=False)


# ---- bad clips, the summary and the cache ----------------------------------------------------------

def clips_folder(raw, folder: Path, count: int = 4) -> list[str]:
    """`count` clips (wav + transcript) in `folder`, their OpenFace CSVs in folder/../openface."""
    folder.mkdir()
    (folder.parent / "openface").mkdir(exist_ok=True)
    ids = list(raw["data"].splits["train"].ids[:count])
    for uid in ids:
        shutil.copy(raw["table"].parent / "media" / f"{uid}.wav", folder / f"{uid}.wav")
        (folder / f"{uid}.txt").write_text("hello world")
        shutil.copy(raw["openface"] / f"{uid}.csv", folder.parent / "openface" / f"{uid}.csv")
    return ids


def test_a_garbage_wav_is_named_counted_and_left_out(raw, tmp_path, caplog):
    clips = tmp_path / "clips"
    ids = clips_folder(raw, clips)
    (clips / f"{ids[1]}.wav").write_bytes(b"RIFF not a wav at all" * 20)
    write_openface(tmp_path / "openface" / f"{ids[2]}.csv", 5, np.random.default_rng(2), drop="AU12_r")
    out = tmp_path / "out.h5"
    with caplog.at_level("WARNING", logger="emozsl"):
        done = extract_features(clips, out, audio="logmel:8", visual=f"openface:{tmp_path / 'openface'}",
                                max_steps=4)
    summary = done.summary
    assert summary == read_recipe(out)["summary"]
    assert summary["clips"] == 4 and summary["extracted"] == 2
    assert summary["failures"] == {"media": 1, "openface_csv": 1}
    assert [f["id"] for f in summary["failed"]] == [ids[1], ids[2]]
    assert all("\n" not in f["error"] and f["id"] in f["error"] for f in summary["failed"])
    assert str(clips / f"{ids[1]}.wav") in summary["failed"][0]["error"]
    assert summary["media_seconds"] > 2 and summary["frames_face_lost"] == 2  # row 3 of each good CSV
    assert done.recipe["extractors"]["visual"]["stats"] == {"frames": 80, "frames_face_lost": 2}
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(ids[1] in m and f"{ids[1]}.wav" in m for m in warned)
    assert sorted(load_dataset(out, labels="optional").splits["all"].ids) == [ids[0], ids[3]]
    with pytest.raises(EmozslError, match=f"clip {ids[1]} .*cannot read audio.*strict") as error:
        extract_features(clips, tmp_path / "strict.h5", audio="logmel:8", strict=True)
    assert "\n" not in str(error.value) and not (tmp_path / "strict.h5").exists()


def test_every_clip_failing_and_timings_past_the_audio_are_one_line(raw, tmp_path):
    clips = tmp_path / "clips"
    ids = clips_folder(raw, clips, 2)
    for uid in ids:
        (clips / f"{uid}.wav").write_bytes(b"garbage")
    with pytest.raises(EmozslError, match=r"every clip failed \(2 of 2\); the first: clip .*garbage|cannot read") as e:
        extract_features(clips, tmp_path / "x.h5", audio="mfcc")
    assert "\n" not in str(e.value) and not (tmp_path / "x.h5").exists()
    timed, words = tmp_path / "timed", tmp_path / "words"
    ids = clips_folder(raw, timed, 2)
    words.mkdir()
    (words / f"{ids[0]}.words.csv").write_text("word,start,end\nhello,0.1,0.5\nworld,0.5,0.9\n")
    (words / f"{ids[1]}.words.csv").write_text("word,start,end\nhello,0.1,0.5\nworld,30,31\n")
    done = extract_features(timed, tmp_path / "t.h5", audio="logmel:8", words_dir=words)
    assert done.summary["failures"] == {"timings": 1} and done.summary["failed"][0]["id"] == ids[1]
    assert "past its audio" in done.summary["failed"][0]["error"]


def test_a_second_extraction_resumes_from_the_cache(raw, tmp_path, monkeypatch):
    from emozsl.features import extractors

    clips = tmp_path / "clips"
    clips_folder(raw, clips)
    kwargs = {"text": f"words:{raw['vectors']}", "audio": "logmel:8", "visual": f"openface:{tmp_path / 'openface'}",
              "max_steps": 6}
    first = extract_features(clips, tmp_path / "a.h5", **kwargs)
    assert first.summary["cached"] == {"text": 3, "audio": 0, "visual": 0}  # text: one transcript, four clips

    def boom(self, utterance):
        raise AssertionError("an extractor ran on a cached clip")

    monkeypatch.setattr(extractors.Opened, "__call__", boom)
    second = extract_features(clips, tmp_path / "b.h5", **kwargs)
    assert second.summary["cached"] == {"text": 4, "audio": 4, "visual": 4}
    a, b = (load_dataset(tmp_path / f, labels="optional").splits["all"] for f in ("a.h5", "b.h5"))
    assert list(a.ids) == list(b.ids)
    for modality in a.features:
        assert np.array_equal(a.features[modality], b.features[modality])
    assert first.recipe["extractors"] == second.recipe["extractors"]  # OOV and face-lost counts restored
    touched = clips / next(iter(sorted(clips.glob("*.wav")))).name  # a changed clip is extracted again
    touched.write_bytes(touched.read_bytes())
    import os
    os.utime(touched, ns=(1, 1))
    with pytest.raises(EmozslError, match="every clip failed|an extractor ran"):
        extract_features(clips, tmp_path / "c.h5", audio="logmel:8", strict=True)
