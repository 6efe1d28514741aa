"""Rows in consecutive groups (applications by action, register samples by evaluator): the few
array operations that let a month's work on many actions be done in one pass instead of one
action at a time. Every function takes rows sorted by group."""

from __future__ import annotations

import numpy as np


def first_of_group(group: np.ndarray) -> np.ndarray:
    """For each row, the position of its group's first row."""
    starts = np.ones(len(group), dtype=bool)
    np.not_equal(group[1:], group[:-1], out=starts[1:])
    return np.asarray(np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0)))


def rank_in_group(member: np.ndarray, first: np.ndarray) -> np.ndarray:
    """How many ``member`` rows of the same group come before each row (``first``: from
    ``first_of_group``)."""
    before = np.cumsum(member) - member
    return np.asarray(before - before[first])


def expand_ranges(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The positions ``start .. start + length - 1`` of every range, laid end to end."""
    within = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    return np.asarray(np.repeat(start, length) + within)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct ``values``, in increasing order: ``np.unique`` without its hash table,
    which is an order of magnitude slower than a sort for the few thousand integers of a
    month's applications or samples."""
    ordered = np.sort(values)
    return np.asarray(
        ordered[np.concatenate((ordered[:1] == ordered[:1], ordered[1:] != ordered[:-1]))]
    )
