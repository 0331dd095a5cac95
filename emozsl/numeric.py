"""What every reader of numbers shares: float32's range. emozsl trains in float32, so a value
beyond it would become an infinity on the way in; it is refused instead, wherever it comes from
(data files, word vectors, config fields)."""

from __future__ import annotations

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


def largest_beyond_float32(array: np.ndarray) -> float | None:
    """The largest magnitude in a finite array when it exceeds float32's range, else None (a
    float32 or integer array never does: only wider floats are scanned)."""
    array = np.asarray(array)
    if array.dtype.kind != "f" or array.dtype.itemsize <= 4 or not array.size:
        return None
    largest = max(abs(float(array.max())), abs(float(array.min())))
    return largest if largest > FLOAT32_MAX else None
