"""Rows in consecutive groups (applications by action, register samples by evaluator): the few
array operations that let a month's work on many actions be done in one pass instead of one
action at a time. Every function takes rows sorted by group."""

from __future__ import annotations

import numpy as np


def group_starts(group: np.ndarray) -> np.ndarray:
    """Whether each row is the first of its group."""
    starts = np.ones(len(group), dtype=bool)
    np.not_equal(group[1:], group[:-1], out=starts[1:])
    return starts


def first_of_group(group: np.ndarray) -> np.ndarray:
    """For each row, the position of its group's first row."""
    starts = group_starts(group)
    return np.asarray(np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0)))


def rank_in_group(member: np.ndarray, first: np.ndarray) -> np.ndarray:
    """How many ``member`` rows of the same group come before each row (``first``: from
    ``first_of_group``)."""
    before = np.cumsum(member) - member
    return np.asarray(before - before[first])


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct ``values``, in increasing order: ``np.unique`` without its hash table,
    which is an order of magnitude slower than a sort for the few thousand integers of a
    month's applications or samples."""
    ordered = np.sort(values)
    return np.asarray(ordered[group_starts(ordered)])


#: How sparse whole numbers below a bound may be for ``distinct_below`` to sort them rather than
#: mark them: a sort of n numbers costs about as much as marking among 8 n.
SPARSE_BELOW = 8


def distinct_below(values: np.ndarray, bound: int) -> np.ndarray:
    """``distinct(values)`` of whole numbers in [0, ``bound``): when they are dense, by marking
    them in a table of ``bound`` flags and reading the marks in order (cheaper than a sort).
    The same numbers either way, but in ``values``' type when sorted and in numpy's index type
    (int64) when marked."""
    if len(values) * SPARSE_BELOW <= bound:
        return distinct(values)
    marked = np.zeros(bound, dtype=bool)
    marked[values] = True
    return np.flatnonzero(marked)


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, in passes of 16 bits for whole numbers below 2**32
    and for 32-bit floats (by their bits, in the floats' order): numpy sorts 16-bit integers by
    radix, three to four times faster than it sorts wider ones or floats (the order is the
    same: each pass is stable)."""
    if keys.dtype == np.float32 and not np.isnan(keys).any():
        keys = float32_order(keys)
    if len(keys) == 0 or keys.dtype.kind not in "iu" or keys.min() < 0 or keys.max() >= 1 << 32:
        return np.asarray(np.argsort(keys, kind="stable"))
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    if keys.max() >= 1 << 16:
        order = order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]
    return np.asarray(order)


def float32_order(values: np.ndarray) -> np.ndarray:
    """Whole numbers in the order of 32-bit floats (no NaN; -0 and +0 equal, as they compare):
    a negative float's bits reversed, a positive one's above every negative."""
    bits = (values + np.float32(0.0)).view(np.uint32)
    # In 32 bits, widened once: all of a negative float's bits flipped, a positive one's sign.
    flip = (bits.view(np.int32) >> 31).view(np.uint32)
    flip |= np.uint32(1 << 31)
    flip ^= bits
    return np.asarray(flip.astype(np.int64))


def first_in_groups(member: np.ndarray, group: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each row is one of the first ``wanted[g]`` ``member`` rows of its group ``g``
    (rows sorted by group): ``member & (rank_in_group(member, first_of_group(group)) <
    wanted[group])`` in fewer passes. A member row is among its group's first ``w`` when the
    members counted up to it, inclusive, are at most those before its group plus ``w``."""
    if len(group) == 0:
        return np.zeros(0, dtype=bool)
    counted = np.cumsum(member)
    starts = np.minimum(np.searchsorted(group, np.arange(len(wanted))), len(group) - 1)
    before = counted[starts] - member[starts]
    return np.asarray(member & (counted <= (before + wanted)[group]))
