"""`emozsl embeddings build`, `show` and `neighbors`: word-vector files made and inspected."""

from __future__ import annotations

from pathlib import Path

from emozsl.embeddings import PRESETS, build_embeddings, read_word_list


def build_and_report(source: str, words: str, out: str | Path, fmt: str | None = None, capitalize: bool = False,
                     trust_pickle: bool = False, provenance: str | None = None) -> str:
    """`emozsl embeddings build`: the vectors of the word list `words` (a file or a preset) from
    `source` (embeddings.build_embeddings); a word the source lacks is refused, for a preset with
    how to ask for fewer words."""
    # a preset holds every word form the protocols use: a source may lack some
    hint = (f"; preset '{words}' holds every word form: for fewer, list the words you need in a file (one a "
            "line) and pass it as --words") if words in PRESETS else ""
    path = build_embeddings(source, read_word_list(words), out, fmt, capitalize, trust_pickle, provenance, hint)
    return f"wrote {path} and {path}.json"


def show_embeddings(path: str | None = None, label_words: str | None = None, label_encoder: str | None = None,
                    trust_pickle: bool = False) -> str:
    """`emozsl embeddings show`: the words, dimension and provenance of the file at `path` (default
    the shipped one), or with `label_words` the vector each emotion of that set becomes (with
    `label_encoder`, encoded by that local sentence encoder; ignored without `label_words`)."""
    from emozsl.embeddings import default_embeddings_path, describe, load_embeddings

    if not label_words:
        return describe(path, trust_pickle)
    from emozsl.label_words import describe_label_words  # gensim: only when label words are asked for

    path = path or default_embeddings_path()
    return describe_label_words(label_words, load_embeddings(path, trust_pickle=trust_pickle), path, label_encoder)


def neighbor_lines(word: str, path: str | None = None, label_words: str | None = None, k: int = 10,
                   trust_pickle: bool = False) -> str:
    """`emozsl embeddings neighbors`: the `k` emotion words closest (cosine) to `word`, or to the
    emotion `word` of the set `label_words`, one "word similarity" line each."""
    from emozsl.embeddings import load_embeddings, neighbors
    from emozsl.label_words import emotion_neighbors

    kv = load_embeddings(path, trust_pickle=trust_pickle)
    near = emotion_neighbors(kv, word, label_words, k, path) if label_words else neighbors(kv, word, k, path or "embeddings")
    return "\n".join(f"{other:<16} {similarity:.3f}" for other, similarity in near)
