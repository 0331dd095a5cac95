"""Files that no reader ever sees half-written, and the locks that keep two processes apart.

Every file emozsl writes goes through `replacing` (or the helpers built on it): the content goes to a
hidden temporary file beside the target, is flushed to disk, and replaces the target in one rename.
A failed write (disk full, read-only folder, a file where a folder should be) removes the temporary
file and becomes one `EmozslError` naming the target."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from emozsl.errors import EmozslError, first_line

TEMP_SUFFIX = ".tmp"


def cache_root() -> Path:
    """The cache of derived inputs (preprocessed media, encoded label vectors): $EMOZSL_CACHE, else
    ~/.cache/emozsl/media."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emozsl" / "media"
    return Path(os.environ.get("EMOZSL_CACHE", default))


def write_error(path: Path, exc: OSError) -> EmozslError:
    return EmozslError(f"{path}: cannot write ({os.strerror(exc.errno) if exc.errno else first_line(exc)})")


@contextlib.contextmanager
def replacing(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s new content to; on success it replaces `path`
    atomically, on any failure it is removed. OSErrors become one-line errors naming `path`.
    `durable` flushes the content to disk first, so a power cut cannot leave an empty file where
    the old one was (bulk generated data skip it: thousands of syncs cost more than a rerun)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}{TEMP_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    except Exception as exc:
        _remove(tmp)
        cause = _os_error(exc)
        if cause is None:
            raise
        raise write_error(path, cause) from None
    except BaseException:  # an interrupt: still no temporary file left behind
        _remove(tmp)
        raise


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind an exception, if any: a library that failed to write (h5py closing a file
    on a full disk) may raise its own error while handling the OSError that started it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, value) -> Path:
    return write_text(path, dumps_json(value))


def dumps_json(value, indent: int | None = 2) -> str:
    """JSON text ending in a newline (indented, or one line); NaN (an undefined metric) is written
    as null, so every file is standard JSON."""
    return json.dumps(_plain(value), indent=indent, allow_nan=False) + "\n"


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_text(path: str | Path, what: str, missing_hint: str = "") -> str:
    """A UTF-8 text file (a byte-order mark, as editors on Windows write, is no part of the text); a
    missing, unreadable or non-UTF-8 one is a one-line error saying what was expected, with the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EmozslError(f"{path}: missing {what}{missing_hint}") from None
    except IsADirectoryError:
        raise EmozslError(f"{path}: is a folder, expected a {what}") from None
    except OSError as exc:
        raise EmozslError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        body = exc.object  # the bytes after any byte-order mark, which exc.start counts in
        line = body.count(b"\n", 0, exc.start) + 1
        raise EmozslError(f"{path}:{line}: not UTF-8 text (byte 0x{body[exc.start]:02x}); save the {what} "
                          "as UTF-8") from None


def read_json(path: str | Path, what: str = "JSON file"):
    """Parse a JSON file; a missing, unreadable or malformed one is a one-line error."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EmozslError(f"{path}: not valid JSON ({exc})") from None


class Lock:
    """An exclusive lock on a file, taken without waiting. The operating system drops it when its
    process dies, so a lock left by a killed process is free again at once."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def try_take(cls, path: str | Path) -> Lock | None:
        """The lock, or None when another process holds it."""
        path = Path(path)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise write_error(path, exc) from None
            if not _lock_fd(fd):
                os.close(fd)
                return None
            # A holder that finished may have removed the file between our open and our lock: then
            # we locked a file nobody else will ever look at; take the current one instead.
            try:
                current = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                return cls(path, fd)
            os.close(fd)

    def release(self, remove: bool = True) -> None:
        """Unlock (removing the file first while still holding it, when asked)."""
        if self.fd < 0:
            return
        if remove:
            _remove(self.path)
        os.close(self.fd)
        self.fd = -1


def _lock_fd(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: byte-range locks, also dropped when the process ends
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


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
