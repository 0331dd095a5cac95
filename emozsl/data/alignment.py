"""Word-level alignment, the one implementation of the rule that the `.csd` reader (csd.py) and
feature extraction (emozsl/features) share: a word's value in a modality is the mean of the rows
(frames) whose interval overlaps the word by more than EPSILON, as the CMU Multimodal SDK aligns
(docs/csd_alignment.md). Sums are each word's own, in float64, so one huge row never spoils the
later words, and a -inf or NaN row makes its word's mean -inf or NaN, as the SDK's average does."""

from __future__ import annotations

import numpy as np

# The SDK's alignment epsilon (mmdatasdk/dataset/dataset.py, `epsilon=10e-4`, 1 ms): a row (or
# word) belongs to a word (or segment) only when min(ends) - max(starts) exceeds it, in float64.
EPSILON = 10e-4  # seconds


def pairs(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with start[i] <= j < stop[i], as two flat arrays, grouped by i in order."""
    count = np.maximum(stop - start, 0)
    owner = np.repeat(np.arange(len(start)), count)
    return owner, start[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)


def overlaps(intervals: np.ndarray, targets: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Which (interval, target) pairs, (N, 2) each, overlap by more than `epsilon`, computed as the
    SDK does: the interval clipped to the target, its length compared with `> epsilon`."""
    return (np.minimum(intervals[:, 1], targets[:, 1]) - np.maximum(intervals[:, 0], targets[:, 0])) > epsilon


def overlap_rows(intervals: np.ndarray, words: np.ndarray, epsilon: float = EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """(word, row) pairs, grouped by word, of the rows overlapping each word by more than `epsilon`.
    intervals (R, 2): the rows' times, in start order with their ends in order too (the caller
    checks); words (W, 2). Candidates come from binary searches, so the cost follows the pairs,
    not W x R."""
    stop = np.searchsorted(intervals[:, 0], words[:, 1], side="left")  # rows starting before the word ends
    start = np.minimum(np.searchsorted(intervals[:, 1], words[:, 0], side="right"), stop)  # ... and ending after it starts
    owner, row = pairs(start, stop)
    inside = overlaps(intervals[row], words[owner], epsilon)
    return owner[inside], row[inside]


def mean_of_rows(values: np.ndarray, owner: np.ndarray, row: np.ndarray, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_words, D) float64 means of `values` rows (R, D) per word from overlap_rows' pairs (zeros
    where a word took none), and (n_words,) how many rows each took."""
    count = np.bincount(owner, minlength=n_words)
    # a zero row past the end lets an empty word's range point somewhere (its sum is not used)
    taken = np.concatenate([np.asarray(values)[row], np.zeros((1, values.shape[1]), values.dtype)])
    first = np.cumsum(count) - count
    with np.errstate(invalid="ignore", over="ignore"):  # -inf + inf is NaN, as in the SDK's mean
        sums = np.add.reduceat(taken, np.stack([first, first + count], 1).ravel(), axis=0, dtype=np.float64)[::2]
        means = np.where(count[:, None] > 0, sums / np.maximum(count, 1)[:, None], 0)
    return means, count


def overlap_means(row_starts, row_ends, values, word_starts, word_ends, epsilon: float = EPSILON
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(W, D) float32: each word's mean of the `values` rows (R, D) overlapping it by more than
    `epsilon` (zeros where none does), and (W,) int64 how many rows it took. Rows in any order; rows
    whose ends are not in start order (overlapping frames of unequal lengths) are handled too.
    Errors: ValueError when the shapes disagree."""
    values = np.asarray(values)
    intervals = np.stack([np.asarray(row_starts, np.float64), np.asarray(row_ends, np.float64)], 1) \
        if len(values) else np.zeros((0, 2))
    words = np.stack([np.asarray(word_starts, np.float64), np.asarray(word_ends, np.float64)], 1) \
        if len(word_starts) else np.zeros((0, 2))
    if values.ndim != 2 or len(values) != len(intervals):
        raise ValueError(f"values {values.shape} and row times ({len(intervals)}) disagree")
    order = np.argsort(intervals[:, 0], kind="stable")
    intervals, values = intervals[order], values[order]
    if np.any(np.diff(intervals[:, 1]) < 0):  # binary search on the ends needs them in order: test all pairs
        inside = overlaps(np.repeat(intervals, len(words), 0), np.tile(words, (len(intervals), 1)), epsilon)
        row, owner = np.divmod(np.flatnonzero(inside), len(words))
        by_word = np.argsort(owner, kind="stable")
        owner, row = owner[by_word], row[by_word]
    else:
        owner, row = overlap_rows(intervals, words, epsilon)
    means, count = mean_of_rows(values, owner, row, len(words))
    return means.astype(np.float32), count.astype(np.int64)
