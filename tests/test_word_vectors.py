"""Word vectors in every form they ship in: each small file below is written by the tool that
writes that form (gensim's writers, fastText's format through gensim) or by hand where the form
has no writer here (GloVe text, the C word2vec tool's binary, gzip copies), and `embeddings build`,
`load_embeddings` and `emozsl embeddings show --file` must give the same vectors from each."""

from __future__ import annotations

import gzip
import json
import pickle
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.corpora import Dictionary
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import save_facebook_model

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.embeddings import (
    build_embeddings,
    detect_format,
    load_embeddings,
    read_word_list,
    read_word_vectors,
)
from emozsl.errors import EmozslError
from emozsl.session import word_vectors

WORDS = ["</s>", "the", "anger", "fear", "joy", "sadness", "surprise"]  # GoogleNews starts with </s>
WANTED = ["fear", "joy"]
SENTENCES = [WORDS[1:] * 3, ["fear", "anger", "surprise", "joy"] * 4] * 20
SPARSE_TAIL = 4 << 30  # bytes of NULs: read whole, a file this size would take minutes and gigabytes


def run(*args):
    return CliRunner().invoke(main, ["-q", *map(str, args)])


def one_line_error(result, fragment):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.output


def gzipped(path: Path, out: Path) -> Path:
    with open(path, "rb") as f, gzip.open(out, "wb") as g:
        shutil.copyfileobj(f, g)
    return out


def write_glove(path: Path, kv: KeyedVectors) -> Path:
    # %.9g keeps every float32 exactly
    path.write_text("".join(w + " " + " ".join(f"{v:.9g}" for v in kv[w]) + "\n" for w in kv.index_to_key))
    return path


def write_c_binary(path: Path, kv: KeyedVectors) -> Path:
    """The original word2vec tool's binary: unlike gensim's, a newline after each vector."""
    with open(path, "wb") as f:
        f.write(f"{len(kv)} {kv.vector_size}\n".encode())
        f.writelines(word.encode() + b" " + kv[word].astype("<f4").tobytes() + b"\n" for word in kv.index_to_key)
    return path


@pytest.fixture(scope="module")
def reference() -> KeyedVectors:
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(WORDS, np.random.default_rng(0).normal(size=(len(WORDS), 8)).astype(np.float32))
    return kv


@pytest.fixture(scope="module")
def forms(tmp_path_factory, reference):
    """form -> (file, the vectors it holds, detected format, whether it is a pickle)."""
    d = tmp_path_factory.mktemp("forms")
    w2v = Word2Vec(SENTENCES, vector_size=6, min_count=1, epochs=2, seed=1, workers=1)
    ft = FastText(SENTENCES, vector_size=5, min_count=1, epochs=2, seed=1, workers=1, bucket=200)
    reference.save_word2vec_format(str(d / "w2v.txt"))
    reference.save_word2vec_format(str(d / "w2v.bin"), binary=True)
    ft.wv.save_word2vec_format(str(d / "ft.vec"))
    save_facebook_model(ft, str(d / "ft.bin"))
    reference.save(str(d / "ref.kv"), sep_limit=0)  # the vectors in ref.kv.vectors.npy beside it
    reference.save(str(d / "ref.kv.gz"))
    w2v.save(str(d / "w2v.model"))
    ft.save(str(d / "ft.model"))
    write_glove(d / "glove.txt", reference)
    write_c_binary(d / "c.bin", reference)
    made = {
        "word2vec text": (d / "w2v.txt", reference, "word2vec", False),
        "word2vec text, gzipped": (gzipped(d / "w2v.txt", d / "w2v.txt.gz"), reference, "word2vec+gzip", False),
        "word2vec binary (gensim)": (d / "w2v.bin", reference, "word2vec-bin", False),
        "word2vec binary (C tool)": (d / "c.bin", reference, "word2vec-bin", False),
        "GoogleNews-style .bin.gz": (gzipped(d / "c.bin", d / "GoogleNews-vectors-negative300.bin.gz"), reference,
                                     "word2vec-bin+gzip", False),
        "word2vec binary named .txt": (Path(shutil.copy(d / "w2v.bin", d / "binary.txt")), reference, "word2vec-bin",
                                       False),
        "GloVe text": (d / "glove.txt", reference, "glove", False),
        "GloVe text, gzipped": (gzipped(d / "glove.txt", d / "glove.txt.gz"), reference, "glove+gzip", False),
        "GloVe text, gzipped, no suffix": (gzipped(d / "glove.txt", d / "glove.data"), reference, "glove+gzip", False),
        "fastText .vec": (d / "ft.vec", ft.wv, "word2vec", False),
        "fastText .bin": (d / "ft.bin", ft.wv, "fasttext-bin", False),
        "KeyedVectors.save": (d / "ref.kv", reference, "keyedvectors", True),
        "KeyedVectors.save, gzipped": (d / "ref.kv.gz", reference, "keyedvectors+gzip", True),
        "Word2Vec.save": (d / "w2v.model", w2v.wv, "keyedvectors", True),
        "FastText.save": (d / "ft.model", ft.wv, "keyedvectors", True),
    }
    assert list(made) == FORMS
    return made


FORMS = ["word2vec text", "word2vec text, gzipped", "word2vec binary (gensim)", "word2vec binary (C tool)",
         "GoogleNews-style .bin.gz", "word2vec binary named .txt", "GloVe text", "GloVe text, gzipped",
         "GloVe text, gzipped, no suffix", "fastText .vec", "fastText .bin", "KeyedVectors.save",
         "KeyedVectors.save, gzipped", "Word2Vec.save", "FastText.save"]


def same_vectors(kv: KeyedVectors, expected: KeyedVectors, words) -> None:
    assert sorted(kv.index_to_key) == sorted(words)
    for word in words:
        assert np.array_equal(kv[word], expected[word]), word


@pytest.mark.parametrize("form", FORMS)
def test_build_load_and_show_give_the_same_vectors(forms, form, tmp_path):
    path, expected, fmt, pickled = forms[form]
    trust = {"trust_pickle": pickled}
    assert detect_format(str(path)) == fmt

    out = build_embeddings(str(path), WANTED, tmp_path / "e.txt", **trust)
    same_vectors(load_embeddings(out), expected, WANTED)
    assert json.loads((tmp_path / "e.txt.json").read_text())["format"] == fmt

    same_vectors(load_embeddings(path, WANTED, **trust), expected, WANTED)
    whole = load_embeddings(path, **trust)
    same_vectors(whole, expected, expected.index_to_key)
    assert whole.index_to_key == expected.index_to_key  # in the file's order

    shown = run("embeddings", "show", "--file", path, *(["--trust-pickle"] if pickled else []))
    assert shown.exit_code == 0, shown.output
    assert f"{fmt}, {len(expected)} words, {expected.vector_size} dimensions" in shown.output
    near = run("embeddings", "neighbors", "fear", "-k", 2, "--file", path, *(["--trust-pickle"] if pickled else []))
    assert near.exit_code == 0 and len(near.output.strip().splitlines()) == 2, near.output


def test_cli_build_from_the_googlenews_form_and_a_word2vec_model(forms, tmp_path):
    built = run("embeddings", "build", "--source", forms["GoogleNews-style .bin.gz"][0], "--words", "ekman",
                "--out", tmp_path / "e.txt")
    one_line_error(built, "3 word(s) missing")  # GoogleNews-style, but only the test's words
    (tmp_path / "words.txt").write_text("fear\njoy\n")
    for form in ("GoogleNews-style .bin.gz", "Word2Vec.save"):
        path, expected, _, pickled = forms[form]
        built = run("embeddings", "build", "--source", path, "--words", tmp_path / "words.txt",
                    "--out", tmp_path / "e.txt", *(["--trust-pickle"] if pickled else []))
        assert built.exit_code == 0, built.output
        same_vectors(load_embeddings(tmp_path / "e.txt"), expected, WANTED)


@pytest.mark.parametrize("form", ["KeyedVectors.save", "KeyedVectors.save, gzipped", "Word2Vec.save", "FastText.save"])
def test_gensim_saves_are_refused_without_trust(forms, form, tmp_path):
    path = forms[form][0]
    with pytest.raises(EmozslError, match="pickle.*--trust-pickle"):
        build_embeddings(str(path), WANTED, tmp_path / "e.txt")
    with pytest.raises(EmozslError, match="--trust-pickle"):
        load_embeddings(path)
    one_line_error(run("embeddings", "show", "--file", path), "--trust-pickle")
    one_line_error(run("embeddings", "neighbors", "fear", "--file", path), "--trust-pickle")
    one_line_error(run("embeddings", "build", "--source", path, "--words", "ekman", "--out", tmp_path / "e.txt"),
                   "--trust-pickle")
    assert not (tmp_path / "e.txt").exists()


def test_training_takes_a_trusted_gensim_save(forms):
    path, expected, _, _ = forms["Word2Vec.save"]
    with pytest.raises(EmozslError, match="--trust-pickle"):
        word_vectors(RunConfig(), path, WANTED, torch.device("cpu"))
    vectors = word_vectors(RunConfig(), path, WANTED, torch.device("cpu"), trust_pickle=True)
    assert np.array_equal(vectors.numpy(), np.stack([expected[w] for w in WANTED]))


def bad_files(d: Path, forms) -> dict[str, tuple[Path, str]]:
    """name -> (file, a fragment of its one-line error)."""
    d.mkdir()
    (d / "random.bin").write_bytes(b"\x00\x01" + np.random.default_rng(0).bytes(5000))
    (d / "page.txt").write_text("<!DOCTYPE html>\n<html><body>Sign in to download</body></html>\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "two_words.txt").write_text("fear joy\nanger sad\n")
    text_gz = forms["word2vec text, gzipped"][0].read_bytes()
    (d / "cut.txt.gz").write_bytes(text_gz[: len(text_gz) // 2])
    (d / "empty.gz").write_bytes(gzip.compress(b""))
    (d / "not-gzip.gz").write_bytes(b"\x1f\x8b" + b"\xff" * 50)
    binary = forms["word2vec binary (gensim)"][0].read_bytes()
    (d / "cut.bin").write_bytes(binary[: len(binary) - 10])
    (d / "cut.bin.gz").write_bytes(gzip.compress(binary[: len(binary) - 10]))
    (d / "more.bin").write_bytes(binary + b"extra 1234")
    (d / "no_vectors.txt").write_text("0 300\n")
    (d / "dict.pkl").write_bytes(pickle.dumps({"fear": [1.0, 2.0]}, protocol=4))
    Dictionary([WORDS]).save(str(d / "dictionary.model"))
    kv_dir = d / "kv"
    kv_dir.mkdir()
    shutil.copy(forms["KeyedVectors.save"][0], kv_dir / "ref.kv")  # without its ref.kv.vectors.npy
    return {
        "random binary": (d / "random.bin", "binary data without a known magic number"),
        "HTML page": (d / "page.txt", "not a header or a word with numbers (starts '<!DOCTYPE html>')"),
        "empty file": (d / "empty.txt", "empty; expected word2vec text or binary, GloVe text"),
        "words without numbers": (d / "two_words.txt", "not a header or a word with numbers"),
        "truncated gzip": (d / "cut.txt.gz", "truncated or damaged gzip data"),
        "empty gzip": (d / "empty.gz", "empty once decompressed"),
        "damaged gzip": (d / "not-gzip.gz", "truncated or damaged gzip data"),
        "truncated binary": (d / "cut.bin", f"ends inside word {len(WORDS)} of the {len(WORDS)}"),
        "truncated binary, gzipped": (d / "cut.bin.gz", f"ends inside word {len(WORDS)} of the {len(WORDS)}"),
        "binary longer than its header": (d / "more.bin", f"holds more than the {len(WORDS)} words"),
        "header announcing nothing": (d / "no_vectors.txt", "no_vectors.txt:1: the header '0 300' announces no"),
        "a pickle of something else": (d / "dict.pkl", "cannot load as a gensim KeyedVectors, Word2Vec or FastText"),
        "another gensim save": (d / "dictionary.model", "a saved Dictionary, not gensim KeyedVectors"),
        "gensim save without its arrays": (kv_dir / "ref.kv", "ref.kv.vectors.npy is missing"),
        "no file": (d / "absent.txt", "absent.txt: no such file"),
    }


def test_each_bad_file_is_one_line(forms, tmp_path):
    for name, (path, fragment) in bad_files(tmp_path / "bad", forms).items():
        shown = run("embeddings", "show", "--file", path, "--trust-pickle")
        one_line_error(shown, fragment)
        assert str(path) in shown.output, name
        if name != "binary longer than its header":  # a source's words are all there: extra bytes are not read
            with pytest.raises(EmozslError, match="^" + re.escape(str(path))):
                build_embeddings(str(path), WORDS, tmp_path / "e.txt", trust_pickle=True)
    assert not (tmp_path / "e.txt").exists()
    with pytest.raises(EmozslError, match="is a folder; expected word2vec text"):  # the CLI refuses it itself
        load_embeddings(tmp_path)


def test_emotion_files_are_read_strictly(tmp_path):
    cases = {
        "dup.txt": (b"3 2\nanger 0.1 0.2\nfear 0.1 0.2\nfear 0.3 0.4\n",
                    "dup.txt:4: 'fear' appears twice (first on line 3)"),
        "count.txt": (b"5 2\nanger 0.1 0.2\nfear 0.1 0.2\n", "the header announces 5 words, the file holds 2"),
        "short.txt": (b"anger 0.1 0.2\nfear 0.1\n",
                      "short.txt:2: expected a word and 2 numbers separated by spaces or tabs, found 2 field(s)"),
        "letters.txt": (b"anger 0.1 0.2\nfear 0.1 x\n",
                        "letters.txt:2: vector of 'fear' is malformed (not all numbers: 'x')"),
        "latin1.txt": (b"anger 0.1 0.2\ncaf\xe9 0.1 0.2\n", "latin1.txt:2: not UTF-8 text"),
        "nan.bin": (b"2 2\nanger " + np.array([0.1, 0.2], "<f4").tobytes() + b"fear "
                    + np.array([np.nan, 0.2], "<f4").tobytes(), "nan.bin: word 2: vector of 'fear' holds NaN"),
        "dup.bin": (b"2 1\nfear " + np.array([0.5], "<f4").tobytes() + b"\nfear " + np.array([0.5], "<f4").tobytes(),
                    "dup.bin: word 2: 'fear' appears twice (first on word 1)"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        one_line_error(run("embeddings", "show", "--file", tmp_path / name), message)
    # Sources are read leniently: big files hold duplicates, and their first vector is the one.
    out = build_embeddings(str(tmp_path / "dup.txt"), ["fear"], tmp_path / "e.txt")
    assert load_embeddings(out)["fear"].tolist() == pytest.approx([0.1, 0.2])


def test_a_file_without_a_header_is_glove_text(tmp_path):
    (tmp_path / "e.txt").write_text("anger 0.1 0.2\nfear 0.3 0.4\n\n")
    shown = run("embeddings", "show", "--file", tmp_path / "e.txt")
    assert shown.exit_code == 0 and "glove, 2 words, 2 dimensions" in shown.output, shown.output


def test_the_format_asked_for_must_be_the_one_found(forms, tmp_path):
    with pytest.raises(EmozslError, match=r"w2v.txt: holds word2vec text \('COUNT DIM' header; .*\), not glove"):
        build_embeddings(str(forms["word2vec text"][0]), WANTED, tmp_path / "e.txt", fmt="glove")
    assert build_embeddings(str(forms["GloVe text"][0]), WANTED, tmp_path / "e.txt", fmt="glove").exists()


def test_missing_words_are_named_with_close_matches_from_the_stream(forms, tmp_path):
    with pytest.raises(EmozslError, match=r"1 word\(s\) missing: 'fearr' \(close: fear\)"):
        build_embeddings(str(forms["GoogleNews-style .bin.gz"][0]), ["joy", "fearr"], tmp_path / "e.txt")


def sparse_file(path: Path, head: bytes) -> Path:
    """`head` then SPARSE_TAIL bytes of NULs that take no disk space: never read past the head."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + SPARSE_TAIL)
    return path


def test_big_sources_are_streamed_and_reading_stops_once_all_words_are_found(reference, tmp_path):
    lines = [w + " " + " ".join(f"{v:.9g}" for v in reference[w]) + "\n" for w in WORDS]
    glove = sparse_file(tmp_path / "glove.840B.300d.txt", "".join(lines).encode())
    binary = sparse_file(tmp_path / "GoogleNews.bin", b"3000000 8\n" + write_c_binary(
        tmp_path / "c.bin", reference).read_bytes().split(b"\n", 1)[1])
    start = time.monotonic()
    for path in (glove, binary):
        same_vectors(load_embeddings(build_embeddings(str(path), WANTED, tmp_path / "e.txt")), reference, WANTED)
        same_vectors(load_embeddings(path, WANTED), reference, WANTED)
        with pytest.raises(EmozslError, match="expected a word|no space within"):
            load_embeddings(path, ["not-there"])  # the NUL tail is read, a line or a word-sized window at a time
    page = sparse_file(tmp_path / "page.bin", b"<html>\n")
    one_line_error(run("embeddings", "show", "--file", page), "<html>")
    assert time.monotonic() - start < 30


def test_a_truncated_gzip_tail_is_never_reached_when_the_words_come_first(reference, tmp_path):
    rng = np.random.default_rng(1)
    filler = "".join(f"w{i} " + " ".join(f"{v:.6f}" for v in rng.normal(size=8)) + "\n" for i in range(30000))
    content = gzip.compress(write_glove(tmp_path / "glove.txt", reference).read_bytes() + filler.encode(), mtime=0)
    (tmp_path / "cut.txt.gz").write_bytes(content[: len(content) * 3 // 4])  # past the first MiB decompressed
    same_vectors(load_embeddings(tmp_path / "cut.txt.gz", WANTED), reference, WANTED)
    with pytest.raises(EmozslError, match="cut.txt.gz: truncated or damaged gzip data"):
        read_word_vectors(tmp_path / "cut.txt.gz", strict=False)


def test_show_lists_a_thousand_words_of_a_big_file(tmp_path):
    (tmp_path / "e.txt").write_text("".join(f"w{i} {i}.5\n" for i in range(1200)))
    shown = run("embeddings", "show", "--file", tmp_path / "e.txt")
    assert "glove, 1200 words, 1 dimensions" in shown.output
    assert shown.output.strip().endswith("w998, w999, ... (200 more)"), shown.output[-100:]


def test_training_reads_only_the_emotion_words_of_a_large_file(tmp_path):
    """The full GloVe or GoogleNews file given as --embeddings: training keeps its emotions' words
    and stops reading once they are found (the malformed tail below is never reached), while a
    missing word still gets close matches from the whole file."""
    import torch

    from emozsl.config import RunConfig
    from emozsl.session import word_vectors

    rng = np.random.default_rng(0)
    emotions = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    lines = [f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=4)) for w in emotions + ["feared"]]
    path = tmp_path / "big.txt"
    path.write_text("\n".join(lines) + "\nbroken 1.0 oops\n")
    vectors = word_vectors(RunConfig(), path, emotions, torch.device("cpu"))
    assert vectors.shape == (6, 4)
    assert np.allclose(vectors[2].numpy(), [float(v) for v in lines[2].split()[1:]])
    with pytest.raises(EmozslError, match=r"big.txt:8: expected a word and 4 numbers"):  # the whole file: the tail
        load_embeddings(path)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EmozslError, match=r"no vector for 'feer' \(close matches: fear\)"):
        word_vectors(RunConfig(emotion_words={"fear": "feer"}), path, emotions, torch.device("cpu"))


def text_lines(reference: KeyedVectors, words, sep: str = " ") -> str:
    return "".join(w + sep + sep.join(f"{v:.9g}" for v in reference[w]) + "\n" for w in words)


def test_a_word_list_is_utf8_and_its_byte_order_mark_is_no_part_of_a_word(forms, tmp_path):
    source = forms["word2vec text"][0]
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbffear\r\njoy\r\n")  # as Notepad saves it
    assert read_word_list(str(tmp_path / "bom.txt")) == ["fear", "joy"]
    built = run("embeddings", "build", "--source", source, "--words", tmp_path / "bom.txt", "--out", tmp_path / "e.txt")
    assert built.exit_code == 0, built.output
    (tmp_path / "latin1.txt").write_bytes(b"anger\ncaf\xe9\n")
    one_line_error(run("embeddings", "build", "--source", source, "--words", tmp_path / "latin1.txt",
                       "--out", tmp_path / "e.txt"),
                   "latin1.txt:2: not UTF-8 text (byte 0xe9); save the word list as UTF-8")


def test_a_byte_order_mark_before_the_first_line_is_skipped(reference, tmp_path):
    bom = b"\xef\xbb\xbf"
    body = text_lines(reference, WORDS).encode()
    files = {"word2vec": bom + f"{len(WORDS)} 8\n".encode() + body, "glove": bom + body}
    for fmt, content in files.items():
        for path in ((tmp_path / f"{fmt}.txt"), (tmp_path / f"{fmt}.txt.gz")):
            path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
            read = read_word_vectors(path, keep_vocabulary=True)
            assert read.format == fmt + ("+gzip" if path.suffix == ".gz" else "") and read.dim == 8, path
            assert read.vocabulary == WORDS, path  # not '\ufeff</s>', nor the header read as a 1-d word
            same_vectors(load_embeddings(build_embeddings(str(path), WANTED, tmp_path / "e.txt")), reference, WANTED)


@pytest.mark.parametrize("space", ["\u00a0", "\u2009", "\u3000", "\u00ad"])  # no-break, thin, ideographic, soft hyphen
def test_unicode_spaces_in_a_word_are_text_yet_binary_vectors_are_binary(reference, tmp_path, space):
    word = f"a{space}b"  # GloVe 840B holds such tokens; only spaces and tabs separate fields
    path = tmp_path / "e.txt"
    path.write_text(f"{len(WORDS) + 1} 8\n{word} " + " ".join(["0.5"] * 8) + "\n" + text_lines(reference, WORDS),
                    encoding="utf-8")
    assert detect_format(str(path)) == "word2vec"
    assert load_embeddings(path).index_to_key == [word, *WORDS]
    # Realistic float32 (no zeros), as word2vec writes them: never mistaken for text.
    kv = KeyedVectors(vector_size=50)
    kv.add_vectors(WORDS, np.random.default_rng(2).normal(scale=0.3, size=(len(WORDS), 50)).astype(np.float32))
    for writer in (lambda p: kv.save_word2vec_format(str(p), binary=True), lambda p: write_c_binary(p, kv)):
        writer(tmp_path / "v.bin")
        assert detect_format(str(tmp_path / "v.bin")) == "word2vec-bin"


def test_runs_of_spaces_and_tabs_separate_fields(reference, tmp_path):
    files = {
        "double.txt": (f"{len(WORDS)} 8\n" + text_lines(reference, WORDS, "  "), "word2vec"),
        "tabs.txt": (f"{len(WORDS)}\t8\n" + text_lines(reference, WORDS, "\t"), "word2vec"),
        "glove_double.txt": (text_lines(reference, WORDS, "  "), "glove"),
        "glove_tabs.txt": (" " + text_lines(reference, WORDS, " \t").replace("\n", " \t\n"), "glove"),
    }
    for name, (content, fmt) in files.items():
        (tmp_path / name).write_text(content)
        shown = run("embeddings", "show", "--file", tmp_path / name)
        assert f"{fmt}, {len(WORDS)} words, 8 dimensions" in shown.output, shown.output
        same_vectors(load_embeddings(build_embeddings(str(tmp_path / name), WANTED, tmp_path / "e.txt")),
                     reference, WANTED)
    # A token's own spaces stay (GloVe 840B's '. . .'), runs included: only its vector's separators go.
    (tmp_path / "spaced.txt").write_text(text_lines(reference, ["the"]) + "at  name@domain.com\t" +
                                         " ".join(["0.5"] * 8) + "\n")
    assert load_embeddings(tmp_path / "spaced.txt").index_to_key == ["the", "at  name@domain.com"]


def test_a_line_with_too_many_numbers_is_named_not_just_missing(reference, tmp_path):
    lines = text_lines(reference, WORDS).splitlines(keepends=True)
    lines[3] = lines[3].replace("\n", " 0.25\n")  # fear: 9 numbers in an 8-dimensional file
    (tmp_path / "e.txt").write_text("".join(lines))
    built = run("embeddings", "build", "--source", tmp_path / "e.txt", "--words", "ekman", "--out", tmp_path / "o.txt")
    one_line_error(built, "the lines of 'fear' hold more than a word and 8 numbers (malformed)")
    (tmp_path / "short.txt").write_text("anger  0.1  0.2\nfear 0.1\n")
    one_line_error(run("embeddings", "build", "--source", tmp_path / "short.txt", "--words", "ekman", "--out",
                       tmp_path / "o.txt"), "short.txt:2: expected a word and 2 numbers separated by spaces or tabs")


def test_a_header_without_vectors_says_so(tmp_path):
    (tmp_path / "h.txt").write_text("14 5\n")
    (tmp_path / "h.txt.gz").write_bytes(gzip.compress(b"14 5\n\n"))
    for name in ("h.txt", "h.txt.gz"):
        for args in (("show", "--file", tmp_path / name),
                     ("build", "--source", tmp_path / name, "--words", "ekman", "--out", tmp_path / "o.txt")):
            one_line_error(run("embeddings", *args), f"{name}: holds no vectors (only its 'COUNT DIM' header)")


def test_missing_words_present_capitalised_suggest_capitalize(reference, tmp_path):
    cased = KeyedVectors(vector_size=8)
    cased.add_vectors([w.capitalize() for w in WANTED], np.stack([reference[w] for w in WANTED]))
    cased.save_word2vec_format(str(tmp_path / "cased.txt"))
    (tmp_path / "words.txt").write_text("fear\njoy\n")
    args = ("embeddings", "build", "--source", tmp_path / "cased.txt", "--words", tmp_path / "words.txt",
            "--out", tmp_path / "e.txt")
    one_line_error(run(*args), "the file holds 'Fear', 'Joy': pass --capitalize")
    assert run(*args, "--capitalize").exit_code == 0
    same_vectors(load_embeddings(tmp_path / "e.txt"), reference, WANTED)


def test_the_fewer_words_hint_comes_with_a_preset_only(tmp_path):
    """A preset asks for every word form; a word-list file asks for what its author wrote."""
    (tmp_path / "v.txt").write_text("anger 0.1 0.2\nfear 0.3 0.4\n")
    preset = run(*["embeddings", "build", "--source", tmp_path / "v.txt", "--words", "mosei", "--out", tmp_path / "a.txt"])
    assert preset.exit_code == 1 and preset.output.strip().endswith(
        "preset 'mosei' holds every word form: for fewer, list the words you need in a file (one a line) and pass "
        "it as --words"), preset.output
    (tmp_path / "words.txt").write_text("anger\nfaer\n")
    listed = run(*["embeddings", "build", "--source", tmp_path / "v.txt", "--words", tmp_path / "words.txt",
                  "--out", tmp_path / "b.txt"])
    assert listed.exit_code == 1 and "'faer' (close: fear)" in listed.output and "preset" not in listed.output
