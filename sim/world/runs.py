"""Rows laid out in runs: ranges of positions expanded end to end, and where the values of a
sorted list between consecutive bounds start and how many they are (residents are stored by
territory, so a territory's residents are one run)."""

from __future__ import annotations

import numpy as np


def expand_ranges(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The positions ``start .. start + length - 1`` of every range, laid end to end (in the
    integer type ``start`` and ``length`` promote to)."""
    # Each range's start less the positions laid before it, then every position added.
    positions = np.repeat(start - (np.cumsum(length) - length), length)
    positions += np.arange(len(positions), dtype=positions.dtype)
    return np.asarray(positions)


def runs_between(values: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ``k``, where the run of ``values`` (increasing) in [``bounds[k]``,
    ``bounds[k + 1]``) starts, and how long it is."""
    ends = np.searchsorted(values, bounds)
    return ends[:-1], ends[1:] - ends[:-1]  # np.diff's result, without its checks


def territory_runs(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of ``rows`` (increasing) live in each territory, when territory ``t`` owns the
    residents ``bounds[t]`` to ``bounds[t + 1]`` (``Population.territory_bounds``: residents are
    sorted by territory, so a territory's residents in a list are one run of it)."""
    return runs_between(rows, bounds)[1]
