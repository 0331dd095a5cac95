"""An emotion-vectors file in use: loaded as gensim KeyedVectors (training, prediction, generated
data), a word's neighbours and the file's description (`emozsl embeddings neighbors` and `show`),
and the close-match hints every missing word gets."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from gensim.models import KeyedVectors

from emozsl.embeddings.read import keyed_vectors, read_word_vectors
from emozsl.embeddings.shipped import default_embeddings_path
from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import read_json

BUILD_HINT = " (build one with `emozsl embeddings build`)"
SHOWN_WORDS = 1000  # `embeddings show` lists at most this many (GoogleNews holds 3 million)


def close_matches(word: str, vocabulary, n: int = 5, cutoff: float = 0.75) -> list[str]:
    """Up to `n` words of `vocabulary` like `word` (difflib ratio at least `cutoff`), best first: the
    hint of every message about a missing word."""
    return difflib.get_close_matches(word, list(vocabulary), n=n, cutoff=cutoff)


def load_embeddings(path: str | Path | None = None, words: Iterable[str] | None = None,
                    trust_pickle: bool = False) -> KeyedVectors:
    """An embeddings file (default: the shipped one) as KeyedVectors of shape (words, dim), read
    strictly (read_word_vectors): any form it takes, a gensim save only with `trust_pickle`.

    Without `words`, every vector is kept: what listing a file or searching its neighbours needs.
    With `words`, only those are kept (absent ones are simply missing) and reading stops once all
    are found, so the full GloVe or GoogleNews file given for a few emotion words costs the memory
    of those words, not of its millions."""
    path = Path(path) if path else default_embeddings_path()
    read = read_word_vectors(path, words, trust_pickle=trust_pickle, missing_hint=BUILD_HINT)
    return keyed_vectors(read.dim, read.vectors)


def neighbors(kv: KeyedVectors, word: str, k: int = 10, path: str | Path = "embeddings") -> list[tuple[str, float]]:
    if k < 1:
        raise FieldError("k", k, "must be at least 1")
    if word not in kv.key_to_index:
        hint = ", ".join(close_matches(word, kv.index_to_key)) or "none"
        raise EmozslError(f"{path}: no vector for '{word}' (close matches: {hint})")
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=k)]


def describe(path: str | Path | None = None, trust_pickle: bool = False) -> str:
    """Format, words, dimension and provenance of an embeddings file (`emozsl embeddings show`);
    every vector is read and checked, at most SHOWN_WORDS words are listed."""
    path = Path(path) if path else default_embeddings_path()
    read = read_word_vectors(path, trust_pickle=trust_pickle, missing_hint=BUILD_HINT)
    meta_file = Path(f"{path}.json")
    provenance = (read_json(meta_file, "provenance file").get("provenance") or "(none given)") if meta_file.exists() \
        else "(no provenance file)"
    words = list(read.vectors)
    more = f", ... ({len(words) - SHOWN_WORDS} more)" if len(words) > SHOWN_WORDS else ""
    return (f"{path}: {read.format}, {len(words)} words, {read.dim} dimensions\nprovenance: {provenance}\n"
            f"words: {', '.join(words[:SHOWN_WORDS])}{more}")
