"""Rows laid out in runs: ranges of positions expanded end to end, and how many of a sorted list
of rows fall in each run of consecutive rows (residents are stored by territory, so a territory's
residents are one run)."""

from __future__ import annotations

import numpy as np


def expand_ranges(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The positions ``start .. start + length - 1`` of every range, laid end to end (in the
    integer type ``start`` and ``length`` promote to)."""
    # Each range's start less the positions laid before it, then every position added.
    positions = np.repeat(start - (np.cumsum(length) - length), length)
    positions += np.arange(len(positions), dtype=positions.dtype)
    return np.asarray(positions)


def territory_runs(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of ``rows`` (increasing) live in each territory, when territory ``t`` owns the
    residents ``bounds[t]`` to ``bounds[t + 1]`` (``Population.territory_bounds``: residents are
    sorted by territory, so a territory's residents in a list are one run of it)."""
    ends = np.searchsorted(rows, bounds)
    return ends[1:] - ends[:-1]  # np.diff's result, without its checks (called a few times a month)
