"""Reading word vectors from a file. One reader (`read_word_vectors`) takes word vectors in every
form they ship in, told apart by content (magic bytes and the first line: emozsl/embeddings/sniff.py),
never by the file name:

- word2vec text (Mikolov et al.'s word2vec tool with `-binary 0`; fastText's .vec is the same): a
  'COUNT DIM' header line, then one word and DIM numbers per line. Fields are separated by runs of
  spaces and tabs, as the C tools that write and read these files (fscanf) take them;
- GloVe text (Pennington, Socher and Manning): the same lines without the header, DIM read from the
  first line. GloVe 840B has tokens with spaces (and no-break spaces, which never separate), so a
  line's vector is its last DIM fields and its word all before them, inner spaces kept;
- word2vec binary (`-binary 1`; GoogleNews-vectors-negative300.bin): the 'COUNT DIM' header line,
  then per word its UTF-8 bytes, a space and DIM little-endian float32 (the C tool writes a
  newline after each vector, gensim does not);
- any of these gzipped (magic 1f 8b; GoogleNews-vectors-negative300.bin.gz), decompressed as read;
- fastText's native .bin (magic 793712314 as a little-endian int32), read whole by gensim's
  `load_facebook_vectors` (no pickle involved): the vectors of the words in its vocabulary, as
  fastText computes them (subword n-grams included); other words are missing, not synthesised;
- a gensim save of KeyedVectors, Word2Vec or FastText (`.save()`: a pickle, first byte 0x80, with
  large arrays in `NAME.*.npy` files beside it), loaded only when the pickle is trusted; the
  arrays are memory-mapped, so only the rows taken are read.

Text and word2vec binary files are streamed: only the wanted words are kept, and reading stops
once all are found, so a multi-GB source costs the memory of the words asked for. Text is UTF-8; a
leading byte-order mark is skipped. Files emozsl writes are word2vec text (safe to load, readable)
with a JSON provenance file beside them.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import load_facebook_vectors
from gensim.utils import SaveLoad

from emozsl.embeddings.sniff import (
    BOM,
    FORMATS,
    SEPARATOR,
    Layout,
    open_bytes,
    sniff,
    text_fields,
)
from emozsl.errors import EmozslError, first_line
from emozsl.numeric import is_number, largest_beyond_float32

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20  # a text line this long is damage (GloVe 840B's run to 4 kB), not read on
MAX_WORD_BYTES = 1 << 16  # likewise a word of the binary format


@dataclass
class WordVectors:
    """What read_word_vectors kept of a file."""

    format: str  # as detected: a key of FORMATS, with '+gzip' when gzipped
    dim: int
    vectors: dict[str, np.ndarray]  # word -> (dim,) float32, in file order
    vocabulary: list[str]  # with keep_vocabulary, every word read (the whole file's, unless reading stopped early)


def read_word_vectors(path: str | Path, words: Iterable[str] | None = None, *, trust_pickle: bool = False,
                      strict: bool = True, expect: str | None = None, missing_hint: str = "",
                      keep_vocabulary: bool = False) -> WordVectors:
    """The vectors of `words` (all, when None) in a word-vector file of any form in the module
    docstring. Text and word2vec binary files are streamed, and reading stops once every word
    of `words` is found; absent words are simply not in the result.

    Each kept vector must be finite and within float32's range, and each line well formed. With
    `strict` (emotion files), a kept word twice and, when the whole file is read, a header
    count that differs from the words held are errors too; without (big sources, which have
    such flaws), the first occurrence wins. `expect` (a FORMATS key) must be the detected form.
    `keep_vocabulary` keeps every word read, for close-match hints (millions of strings in a big file).
    A gensim save needs `trust_pickle`. Every fault is one EmozslError naming the file (and the
    line or word)."""
    path = Path(path)
    layout = sniff(path, missing_hint)
    if expect and expect != layout.format:
        raise EmozslError(f"{path}: holds {FORMATS[layout.format]}, not {expect}")
    wanted = None if words is None else set(words)
    if wanted == set():  # no words wanted: none read (a gensim save is not even loaded)
        return WordVectors(layout.name, layout.dim or 0, {}, [])
    dim, records = _records(path, layout, trust_pickle, strict)
    kept, first, vocabulary = {}, {}, []
    unit = "line" if layout.format in ("word2vec", "glove") else "word"
    with contextlib.closing(records):  # stopping early closes the file at once
        for n, word, values in records:
            if keep_vocabulary:
                vocabulary.append(word)
            if wanted is not None and word not in wanted:
                continue
            where = f"{path}:{n}" if unit == "line" else f"{path}: word {n}"
            if word in first:
                if strict:
                    raise EmozslError(f"{where}: '{word}' appears twice (first on {unit} {first[word]})")
                continue
            first[word] = n
            kept[word] = _vector(values, f"{where}: vector of '{word}'")
            if wanted is not None and len(kept) == len(wanted):
                break  # all found: nothing after them is read
    return WordVectors(layout.name, dim, kept, vocabulary)


def _records(path: Path, layout: Layout, trust_pickle: bool, strict: bool) -> tuple[int, Iterator]:
    """The vector size and a generator of (line or word number, word, values) over the file."""
    if layout.dim is None:
        kv = _gensim_vectors(path, layout, trust_pickle)
        return kv.vector_size, ((n, w, v) for n, (w, v) in enumerate(zip(kv.index_to_key, kv.vectors), start=1))
    return layout.dim, _streamed_records(path, layout, strict)


def _streamed_records(path: Path, layout: Layout, strict: bool) -> Iterator:
    try:
        with open_bytes(path, layout.gzip) as f:
            if f.read(len(BOM)) != BOM:
                f.seek(0)  # no byte-order mark: nothing to skip (a gzip file rewinds as cheaply)
            if layout.count is not None:
                f.readline()  # the 'COUNT DIM' header, read by sniff
            reader = _binary_records if layout.format == "word2vec-bin" else _text_records
            yield from reader(path, f, layout, strict)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise EmozslError(f"{path}: truncated or damaged gzip data ({first_line(exc)})") from None
    except OSError as exc:
        raise EmozslError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _decode(raw: bytes, strict: bool, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if strict:
            raise EmozslError(f"{where}: not UTF-8 text") from None
        return raw.decode("utf-8", "replace")  # big sources hold a few broken words; they are not asked for


def _text_records(path: Path, f, layout: Layout, strict: bool) -> Iterator[tuple[int, str, list[str]]]:
    dim, held = layout.dim, 0
    lines = iter(lambda: f.readline(MAX_LINE_BYTES), b"")
    for line_no, raw in enumerate(lines, start=1 if layout.count is None else 2):
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise EmozslError(f"{path}:{line_no}: longer than {MAX_LINE_BYTES} bytes (expected a word and {dim} "
                              "numbers)")
        line = _decode(raw, strict, f"{path}:{line_no}").strip(" \t\r\n")
        fields = text_fields(line)
        if fields == [""]:
            continue  # a blank line, such as a last one
        if len(fields) <= dim:
            raise EmozslError(f"{path}:{line_no}: expected a word and {dim} numbers separated by spaces or tabs, "
                              f"found {len(fields)} field(s)")
        # A token with spaces (GloVe 840B): the word is all before the vector, as written.
        word = fields[0] if len(fields) == dim + 1 else line[:[m.start() for m in SEPARATOR.finditer(line)][-dim]]
        held += 1
        yield line_no, word, fields[-dim:]
    if not held:  # whatever `strict`: a build from it would only report every word missing
        raise EmozslError(f"{path}: holds no vectors" + (" (only its 'COUNT DIM' header)" if layout.count is not None
                                                          else ""))
    if strict and layout.count is not None and held != layout.count:
        raise EmozslError(f"{path}: the header announces {layout.count} words, the file holds {held}")


def _binary_records(path: Path, f, layout: Layout, strict: bool) -> Iterator[tuple[int, str, bytes]]:
    size, count = 4 * layout.dim, layout.count
    buffer, pos = b"", 0
    for n in range(1, count + 1):
        space = buffer.find(b" ", pos, pos + MAX_WORD_BYTES)
        while space < 0 or len(buffer) < space + 1 + size:
            if space < 0 and len(buffer) - pos >= MAX_WORD_BYTES:
                raise EmozslError(f"{path}: word {n}: no space within {MAX_WORD_BYTES} bytes (expected a word, "
                                  f"a space and {layout.dim} float32)")
            chunk = f.read(CHUNK_BYTES)
            if not chunk:
                raise EmozslError(f"{path}: ends inside word {n} of the {count} its header announces (truncated?)")
            buffer, pos = buffer[pos:] + chunk, 0
            space = buffer.find(b" ", 0, MAX_WORD_BYTES)
        word = _decode(buffer[pos:space].lstrip(b"\n"), strict, f"{path}: word {n}")
        if not word:
            raise EmozslError(f"{path}: word {n}: empty (expected a word, a space and {layout.dim} float32)")
        yield n, word, buffer[space + 1:space + 1 + size]
        pos = space + 1 + size
    if strict and (buffer[pos:] + f.read(CHUNK_BYTES)).strip():
        raise EmozslError(f"{path}: holds more than the {count} words its header announces")


def _gensim_vectors(path: Path, layout: Layout, trust_pickle: bool) -> KeyedVectors:
    if layout.format == "keyedvectors" and not trust_pickle:
        raise EmozslError(f"{path}: a gensim save is a pickle, which runs code when loaded; pass --trust-pickle "
                          "if you trust it (then `emozsl embeddings build` writes a safe copy of the words you need)")
    try:
        if layout.format == "fasttext-bin":
            loaded = load_facebook_vectors(str(path))
        else:  # any saved class (a model's .wv is taken below); gensim cannot map compressed arrays
            loaded = SaveLoad.load(str(path), mmap=None if layout.gzip else "r")
    except FileNotFoundError as exc:
        raise EmozslError(f"{path}: {exc.filename} is missing (gensim saves large arrays beside the file)") from None
    except Exception as exc:  # unpickling and gensim's readers fail in many ways on a damaged file
        raise EmozslError(f"{path}: cannot load as {FORMATS[layout.format]} ({first_line(exc)})") from None
    kv = loaded if isinstance(loaded, KeyedVectors) else getattr(loaded, "wv", None)
    if not isinstance(kv, KeyedVectors):
        raise EmozslError(f"{path}: a saved {type(loaded).__name__}, not gensim KeyedVectors, Word2Vec or FastText")
    return kv


def _vector(values, where: str) -> np.ndarray:
    """A record's values (number strings, float32 bytes or an array) as a checked float32 vector."""
    if isinstance(values, bytes):
        values = np.frombuffer(values, "<f4")
    try:
        values = np.asarray(values, dtype=np.float64)
    except ValueError:
        bad = next(v for v in values if not is_number(v))
        raise EmozslError(f"{where} is malformed (not all numbers: {bad!r})") from None
    return check_vector(values, where)


def keyed_vectors(dim: int, vectors: dict[str, np.ndarray]) -> KeyedVectors:
    """`vectors` (word -> (dim,) float32) as KeyedVectors of shape (words, dim), in their order."""
    kv = KeyedVectors(vector_size=dim, count=len(vectors))
    for word, vector in vectors.items():
        kv.add_vector(word, vector)  # into the rows allocated above: no copy of the whole matrix
    return kv


def check_vector(vector: np.ndarray, where: str) -> np.ndarray:
    """A word vector as float32: NaN, infinities and values beyond float32's range are errors."""
    vector = np.asarray(vector)
    if not np.isfinite(vector).all():
        raise EmozslError(f"{where} holds NaN or infinite values")
    if largest_beyond_float32(vector) is not None:
        raise EmozslError(f"{where} holds values outside float32's range")
    return vector.astype(np.float32)
