"""What every reader of numbers shares: float32's range, and the rules a number setting follows. emozsl trains in float32, so a value
beyond it would become an infinity on the way in; it is refused instead, wherever it comes from
(data files, word vectors, config fields)."""

from __future__ import annotations

import math

import numpy as np

from emozsl.errors import EmozslError, FieldError

FLOAT32_MAX = float(np.finfo(np.float32).max)

# What a number setting must be: (reason, test). Declared beside a setting (config.setting's
# `check`, splits.SPLIT_RULES) and applied by `check_number`.
AT_LEAST_0 = ("must be at least 0", lambda v: v >= 0)
AT_LEAST_1 = ("must be at least 1", lambda v: v >= 1)
ABOVE_0 = ("must be a finite number above 0", lambda v: v > 0)
NOT_NEGATIVE = ("must be a finite number, 0 or more", lambda v: v >= 0)
OPEN_UNIT = ("must be within (0, 1)", lambda v: 0 < v < 1)
CLOSED_UNIT = ("must be within [0, 1]", lambda v: 0 <= v <= 1)


def check_number(name: str, value, rule: tuple) -> None:
    """`value` of setting `name` against its `rule` (reason, test), unless it is None: a number must
    also be finite and within float32's range. Else a FieldError giving the rule's reason."""
    reason, test = rule
    if value is None:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ((not number or (math.isfinite(value) and abs(value) <= FLOAT32_MAX)) and test(value)):
        raise FieldError(name, value, reason)


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
