"""Emotions as more than one word: the shipped label-word sets, the combination rule, descriptions,
sentence-encoder vectors (a tiny saved model), and runs trained with them."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import tiny_hf_model

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.data.readers.cherma import CHERMA_EMOTIONS
from emozsl.data.readers.iemocap import IEMOCAP4_EMOTIONS, IEMOCAP9_EMOTIONS
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.embeddings import load_embeddings
from emozsl.errors import EmozslError
from emozsl.evaluate import evaluate_run
from emozsl.label_encoder import encode_texts
from emozsl.label_words import LABEL_SETS, combine, label_vectors, load_label_words
from emozsl.models.head import EmotionEmbeddingHead
from emozsl.runs import RunDir
from emozsl.session import build_session
from emozsl.train import train

FAST = {"audio_hidden": 24, "visual_hidden": 12, "layers": 1}
DATASET_EMOTIONS = {"mosei": MOSEI_EMOTIONS, "iemocap": IEMOCAP4_EMOTIONS + IEMOCAP9_EMOTIONS,
                    "cherma": CHERMA_EMOTIONS}


def unit(v):
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("name", LABEL_SETS)
def test_shipped_sets_cover_their_data_and_every_word_has_a_shipped_vector(name):
    kv = load_embeddings()
    label_words = load_label_words(name)
    assert set(DATASET_EMOTIONS[name]) <= set(label_words.words)
    assert label_words.provenance
    for emotion, words in label_words.words.items():
        assert words[0] == emotion or emotion in words and len(words) > 2
        assert all(w in kv.key_to_index for w in words) and label_words.descriptions[emotion]
    vectors = label_vectors(kv, DATASET_EMOTIONS[name], None, label_words)
    assert vectors.shape == (len(DATASET_EMOTIONS[name]), 50) and np.isfinite(vectors).all()


def test_combination_is_the_mean_direction_of_unit_vectors_at_the_mean_norm():
    kv = load_embeddings()
    assert np.array_equal(combine(kv, ["fear"], "x"), kv["fear"])  # one word keeps its vector exactly
    made = combine(kv, ["fear", "afraid", "scared"], "x")
    words = [kv[w] for w in ("fear", "afraid", "scared")]
    assert unit(made) @ unit(sum(unit(w) for w in words)) == pytest.approx(1, abs=1e-6)
    assert np.linalg.norm(made) == pytest.approx(np.mean([np.linalg.norm(w) for w in words]), rel=1e-5)
    phrase = combine(kv, ["fear anxiety"], "x")  # a phrase: the mean of its words
    assert unit(phrase) @ unit(unit(kv["fear"]) + unit(kv["anxiety"])) == pytest.approx(1, abs=1e-6)


def test_an_emotion_defined_only_by_a_description_is_scorable(tmp_path):
    kv = load_embeddings()
    path = tmp_path / "words.json"
    path.write_text(json.dumps({"emotions": {"dread": {"description": "Fear and anxiety about what comes."},
                                             "fear": {"words": ["fear"]}}}))
    label_words = load_label_words(str(path))
    vectors = label_vectors(kv, ["dread", "fear", "joy"], None, label_words)
    assert np.allclose(vectors[0], combine(kv, ["fear", "anxiety"], "x"))  # the words the embeddings hold
    assert np.array_equal(vectors[1], kv["fear"]) and np.array_equal(vectors[2], kv["joy"])  # joy: its own word
    head = EmotionEmbeddingHead({"text": 50, "audio": 8}, 50, ("text", "audio"))
    logits = head({"text": torch.randn(3, 50), "audio": torch.randn(3, 8)}, torch.from_numpy(vectors))
    assert logits.shape == (3, 3) and torch.isfinite(logits).all()


@pytest.mark.parametrize("content, message", [
    ({"emotions": {}}, "expected"),
    ({"emotions": {"fear": {}}}, "emotions.fear: give words or a description"),
    ({"emotions": {"fear": {"words": "fear"}}}, "emotions.fear.words: must be a list"),
    ({"emotions": {"fear": {"words": ["fear"], "colour": "red"}}}, "emotions.fear: expected a table"),
    ({"emotions": {"fear": {"words": ["feer"]}}}, "emotion 'fear'.*no vector for 'feer'"),
    ({"emotions": {"fear": {"description": "zzz qqq"}}}, "no word of the description of 'fear'"),
])
def test_bad_label_word_files_name_the_file_and_the_emotion(tmp_path, content, message):
    path = tmp_path / "words.json"
    path.write_text(json.dumps(content))
    with pytest.raises(EmozslError, match=message):
        label_vectors(load_embeddings(), ["fear"], None, load_label_words(str(path)), None, "shipped")
    with pytest.raises(EmozslError, match="label_words=nope: neither a shipped label set"):
        load_label_words("nope")


def test_embeddings_show_and_neighbors_tell_what_each_emotion_became():
    shown = CliRunner().invoke(main, ["embeddings", "show", "--label-words", "mosei"])
    assert shown.exit_code == 0, shown.output
    assert "fear: fear, afraid, fearful, scared, frightened, terror" in shown.output
    assert "cosine with 'fear' alone" in shown.output
    near = CliRunner().invoke(main, ["embeddings", "neighbors", "fear", "--label-words", "mosei", "-k", "3"])
    assert near.exit_code == 0 and len(near.output.splitlines()) == 3
    bad = CliRunner().invoke(main, ["embeddings", "neighbors", "dread", "--label-words", "mosei"])
    assert bad.exit_code != 0 and "not in label words mosei" in bad.output


def test_sentence_encoder_vectors_are_encoded_once_and_cached(tmp_path, monkeypatch):
    folder = tiny_hf_model(tmp_path / "encoder", words=["la", "ba", "do"])
    vectors = encode_texts(str(folder), ["la ba", "do do la"])
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    monkeypatch.setattr("emozsl.label_encoder._encode", lambda *a: pytest.fail("not read from the cache"))
    assert np.array_equal(encode_texts(str(folder), ["la ba", "do do la"]), vectors)
    monkeypatch.undo()
    (folder / "modules.json").write_text(json.dumps([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    first_token = encode_texts(str(folder), ["la ba", "do do la"])  # a changed folder is encoded anew
    assert not np.allclose(first_token, vectors)
    with pytest.raises(EmozslError, match="label_encoder=.*no config.json"):
        encode_texts(str(tmp_path), ["la"])


@pytest.mark.slow
def test_training_with_label_words_and_an_encoder(synth_mosei_dir, tmp_path):
    folder = tiny_hf_model(tmp_path / "encoder", words=["fear", "threatened", "sad", "low", "happy", "pleased"])
    base = {"data": str(synth_mosei_dir), "protocol": "zsl", "target": "fear", "epochs": 2, "model_options": FAST,
            "runs_dir": str(tmp_path / "runs"), "device": "cpu"}
    encoded = train(RunConfig(**base, label_words="mosei", label_encoder=str(folder), name="encoded"))
    assert evaluate_run(encoded, device="cpu").rows()[2]["status"] == "unseen"
    from emozsl.predict import Predictor  # a new emotion through the run's own encoder (its description's words)

    predictor = Predictor.load(encoded, "cpu")
    chosen = predictor.emotion_set("low=sad+low,fear")
    assert chosen.sources[0] == f"sentence encoder {folder}" and chosen.status == ["unseen", "unseen"]
    assert chosen.vectors.shape == (2, 16) and np.allclose(chosen.vectors[0].norm(), 1, atol=1e-5)
    assert np.isfinite(predictor.predict(synth_mosei_dir, "low=sad+low", split="valid")
                       ["p_low_cal"]).all()
    assert build_session(RunConfig(**base, label_words="mosei", label_encoder=str(folder))).vectors.shape == (6, 16)
    run = train(RunConfig(**base, label_words="mosei", name="words"))
    assert RunDir.open(run).read_results().test.calibrated.calibration == RunConfig().calibration
    metadata = json.loads((run / "metadata.json").read_text())
    metadata["embeddings"]["vectors"] = (np.array(metadata["embeddings"]["vectors"]) * (1 + 1e-7)).tolist()
    (run / "metadata.json").write_text(json.dumps(metadata))  # another machine's last bits: still the same vectors
    assert evaluate_run(run, device="cpu").rows()[2]["emotion"] == "fear"
    words = tmp_path / "words.json"  # a label-word file edited after training: refused, not silently used
    words.write_text(json.dumps({"emotions": {"fear": {"words": ["fear", "afraid"]}}}))
    run = train(RunConfig(**base, label_words=str(words), name="own"))
    words.write_text(json.dumps({"emotions": {"fear": {"words": ["fear", "scared"]}}}))
    with pytest.raises(EmozslError, match="emotion vectors differ from those this run was trained with"):
        evaluate_run(run, device="cpu")


@pytest.mark.parametrize("fields, message", [
    ({"calibration": "platt"}, "calibration=platt"),
    ({"label_words": ""}, "label_words='?': must not be empty"),
])
def test_bad_option_values_are_named(fields, message):
    with pytest.raises(EmozslError, match=message):
        RunConfig(**fields)
