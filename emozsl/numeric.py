"""What every reader of numbers shares: float32's range. emozsl trains in float32, so a value
beyond it would become an infinity on the way in; it is refused instead, wherever it comes from
(data files, word vectors, config fields)."""

from __future__ import annotations

import numpy as np

from emozsl.errors import EmozslError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def largest_beyond_float32(array: np.ndarray) -> float | None:
    """The largest magnitude in a finite array when it exceeds float32's range, else None (a
    float32 or integer array never does: only wider floats are scanned)."""
    array = np.asarray(array)
    if array.dtype.kind != "f" or array.dtype.itemsize <= 4 or not array.size:
        return None
    largest = max(abs(float(array.max())), abs(float(array.min())))
    return largest if largest > FLOAT32_MAX else None


def is_number(text: str) -> bool:
    """Whether `text` reads as a float (what a word-vector line or a CSV cell must hold)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def finite_number(value, where: str, kind: str = "number", unit: str = "") -> float:
    """`value` (a table cell) as a finite float, else an EmozslError naming `where`: "... is not a
    {kind}{unit}" or "... is not a finite {kind}"."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EmozslError(f"{where}: {value!r} is not a {kind}{unit}") from None
    if not np.isfinite(number):
        raise EmozslError(f"{where}: {value!r} is not a finite {kind}")
    return number
