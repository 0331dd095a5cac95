"""HDF5 access shared by the readers: a file opened for reading, and one array out of it, each
failure a one-line error naming the file and key."""

from __future__ import annotations

import contextlib
from pathlib import Path

import h5py
import numpy as np

from emozsl.errors import EmozslError, first_line


@contextlib.contextmanager
def open_h5(file: Path):
    """An HDF5 file for reading; a missing, truncated or corrupt one is a one-line error."""
    if not file.exists():
        raise EmozslError(f"{file}: missing file")
    try:
        with h5py.File(file, "r") as h5:
            yield h5
    except OSError as exc:  # h5py reports unreadable files and failed reads as OSError
        raise EmozslError(f"{file}: not a readable HDF5 file ({first_line(exc)})") from None


def h5_array(h5, key: str, where: str) -> np.ndarray:
    if key not in h5 or not isinstance(h5[key], h5py.Dataset):
        raise EmozslError(f"{where}: no array '{key}' (keys: {sorted(h5.keys())})")
    return h5[key][()]
