"""The residents' social network: a small world inside each territory, weak ties across borders.

Built directly as a sparse adjacency matrix with numpy (a networkx graph of 260,000 residents takes
seconds and hundreds of megabytes): a ring lattice of ``degree`` neighbours inside each territory,
each tie rewired to a random resident of the same territory with ``rewire_probability``
(Watts-Strogatz), plus ``cross_ties_per_resident`` ties on average to residents of adjacent
territories.

A metropolis has millions of residents and tens of millions of ties, so the matrix is built
without any array of the size of the full edge list beyond the result itself: each ring offset
keeps one int32 tie target per resident, its random numbers are drawn in fixed-size chunks (the
same numbers, in the same order, as one draw of the whole array), and the rows of the matrix are
written into preallocated int32 CSR arrays a group of territories at a time (a tie inside a
territory joins two of its residents, so a group's rows need only its own ties and the few ties
across borders).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

#: Residents per chunk of random draws (the draws do not depend on it, only the memory does).
DRAW_CHUNK = 1 << 18
#: Residents per group of territories whose rows are sorted together (a territory larger than
#: this is a group of its own).
ROW_GROUP = 1 << 18
#: Sorted entries turned into columns at a time (a territory's rows are sorted together).
KEY_CHUNK = 1 << 20
#: The matrix's indices are int32: column indices and the row's place in a sort key fit in 31 bits.
MAX_RESIDENTS = (1 << 31) - 1


def build_social_network(
    territory: np.ndarray,
    adjacency: list[list[int]],
    degree: int,
    rewire_probability: float,
    cross_ties_per_resident: float,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency (CSR, float32) of the residents' social network.

    Args:
        territory: territory index of each resident, residents grouped by territory in the
            order of the territories (as ``Population.territory``).
        adjacency: neighbouring territory indices of each territory.
        degree: ties per resident inside the territory (even; the lattice links degree/2 each way).
        rewire_probability: chance that a lattice tie is replaced by a random one (small world).
        cross_ties_per_resident: mean number of weak ties to adjacent territories per resident.
        rng: the run's ``network`` stream.
    """
    n = len(territory)
    if n > MAX_RESIDENTS:
        raise ValueError(f"at most {MAX_RESIDENTS} residents, got {n}")
    if n > 1 and bool(np.any(territory[1:] < territory[:-1])):
        raise ValueError("residents must be grouped by territory, in the territories' order")
    counts = np.bincount(territory, minlength=len(adjacency))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    half = max(1, degree // 2)
    ring_targets = [
        _ring_tie_targets(territory, counts, starts, offset, rewire_probability, rng)
        for offset in range(1, half + 1)
    ]
    cross_src, cross_dst = _cross_territory_ties(
        territory, adjacency, counts, starts, cross_ties_per_resident, rng
    )
    return _symmetric_matrix(counts, starts, ring_targets, cross_src, cross_dst)


def _ring_tie_targets(
    territory: np.ndarray,
    counts: np.ndarray,
    starts: np.ndarray,
    offset: int,
    rewire_probability: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each resident's tie of one ring offset: the resident ``offset`` places further on the
    territory's ring, or a random resident of the territory if the tie is rewired. A resident of
    a territory too small for the offset has no such tie: her target is herself (a self tie,
    dropped like every other).

    Draws, over the residents of the territories larger than ``offset`` in order, first whether
    each tie is rewired, then where a rewired tie goes (drawn for every tie, used by the rewired).
    """
    n = len(territory)
    spans = list(_chunks(_large_territory_spans(counts, starts, offset), DRAW_CHUNK))
    buffer = np.empty(min(n, DRAW_CHUNK), dtype=np.float64)
    rewired = _draw_rewired(spans, rewire_probability, rng, buffer)
    targets = np.arange(n, dtype=np.int32)
    done = 0
    for first, stop in spans:
        draws = rng.random(out=buffer[: stop - first])
        where = territory[first:stop]
        size, start = counts[where], starts[where]
        # A float scaled and floored (not rng.integers): the draws and targets of the model.
        random_local = (draws * size).astype(np.int64)
        # (local + offset) % size, without a division: local < size and offset < size.
        ring_local = np.arange(first, stop) - start + offset
        ring_local -= size * (ring_local >= size)
        targets[first:stop] = start + np.where(
            rewired[done : done + stop - first], random_local, ring_local
        )
        done += stop - first
    return targets


def _draw_rewired(
    spans: list[tuple[int, int]], probability: float, rng: np.random.Generator, buffer: np.ndarray
) -> np.ndarray:
    """Whether each tie of the residents of ``spans`` is rewired, drawn a chunk at a time into
    ``buffer`` (the same numbers as one draw of them all)."""
    rewired = np.empty(sum(stop - first for first, stop in spans), dtype=bool)
    done = 0
    for first, stop in spans:
        draws = rng.random(out=buffer[: stop - first])
        np.less(draws, probability, out=rewired[done : done + stop - first])
        done += stop - first
    return rewired


def _large_territory_spans(
    counts: np.ndarray, starts: np.ndarray, offset: int
) -> Iterator[tuple[int, int]]:
    """Resident ranges of the territories of more than ``offset`` residents (neighbouring ones
    merged), in order."""
    first = stop = 0
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        if count <= offset:
            continue
        if start != stop:
            if stop > first:
                yield first, stop
            first = start
        stop = start + count
    if stop > first:
        yield first, stop


def _chunks(spans: Iterator[tuple[int, int]], size: int) -> Iterator[tuple[int, int]]:
    """The ranges cut into pieces of at most ``size``."""
    for first, stop in spans:
        for piece in range(first, stop, size):
            yield piece, min(piece + size, stop)


def _cross_territory_ties(
    territory: np.ndarray,
    adjacency: list[list[int]],
    counts: np.ndarray,
    starts: np.ndarray,
    ties_per_resident: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(territory)
    n_ties = rng.poisson(ties_per_resident * n / 2)
    if n_ties == 0:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32)
    src = rng.integers(0, n, n_ties)
    degree = np.array([len(a) for a in adjacency])
    has_neighbour = degree[territory[src]] > 0
    src = src[has_neighbour]
    neighbour_pick = (rng.random(len(src)) * degree[territory[src]]).astype(np.int64)
    flat = np.concatenate(
        [np.asarray(a, dtype=np.int64) for a in adjacency if a] or [np.empty(0, dtype=np.int64)]
    )
    offsets = np.concatenate(([0], np.cumsum(degree)[:-1]))
    target_territory = flat[offsets[territory[src]] + neighbour_pick]
    dst = starts[target_territory] + (rng.random(len(src)) * counts[target_territory]).astype(
        np.int64
    )
    return src.astype(np.int32), dst.astype(np.int32)


def _symmetric_matrix(
    counts: np.ndarray,
    starts: np.ndarray,
    ring_targets: list[np.ndarray],
    cross_src: np.ndarray,
    cross_dst: np.ndarray,
) -> sp.csr_matrix:
    """The CSR matrix of the ties, each in both directions, without self ties, duplicates
    merged, columns sorted in each row and every entry 1.0: filled a group of territories at a
    time into arrays sized for every tie (shrunk at the end to the distinct ones)."""
    n = int(counts.sum())
    cross_keys = _cross_entry_keys(cross_src, cross_dst)
    most = 2 * len(ring_targets) * n + len(cross_keys)
    indices = np.empty(most, dtype=np.int32)
    indptr = np.zeros(n + 1, dtype=np.int32 if most <= MAX_RESIDENTS else np.int64)
    filled = 0
    for first, stop in _territory_groups(counts, starts, ROW_GROUP):
        low, high = np.searchsorted(cross_keys, (first << 32, stop << 32))
        keys = _row_keys(first, stop, ring_targets, cross_keys[low:high])
        per_row = _write_distinct_columns(keys, stop - first, indices[filled:])
        indptr[first + 1 : stop + 1] = filled + np.cumsum(per_row)
        filled += int(per_row.sum())
    # Shrinks in place (no copy of tens of megabytes); nothing else refers to the array.
    indices.resize(filled, refcheck=False)
    matrix = sp.csr_matrix(
        (np.ones(filled, dtype=np.float32), indices, indptr), shape=(n, n), copy=False
    )
    matrix.has_canonical_format = True  # sorted, no duplicates: as sum_duplicates leaves it
    return matrix


def _cross_entry_keys(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Sorted keys (see ``_write_keys``) of both directions of the ties across borders, self
    ties dropped: a group of rows finds its entries with a binary search."""
    keep = src != dst
    src, dst = src[keep], dst[keep]
    keys = np.empty(2 * len(src), dtype=np.int64)
    _write_keys(keys[: len(src)], src, dst)
    _write_keys(keys[len(src) :], dst, src)
    keys.sort()
    return keys


def _territory_groups(
    counts: np.ndarray, starts: np.ndarray, residents: int
) -> Iterator[tuple[int, int]]:
    """Resident ranges of consecutive whole territories of about ``residents`` residents."""
    first = 0
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        stop = start + count
        if stop - first >= residents:
            yield first, stop
            first = stop
    total = int(counts.sum())
    if total > first:
        yield first, total


def _row_keys(
    first: int, stop: int, ring_targets: list[np.ndarray], cross_keys: np.ndarray
) -> np.ndarray:
    """The keys (see ``_write_keys``, rows counted from ``first``) of the entries of rows
    ``first`` to ``stop``, written into one array. A ring tie joins two residents of one
    territory, so both its directions are in the range of whole territories that holds its
    source."""
    residents = np.arange(first, stop, dtype=np.int32)
    ties = []
    for targets in ring_targets:
        target = targets[first:stop]
        tied = target != residents
        ties.append((residents[tied], target[tied]))
    keys = np.empty(len(cross_keys) + 2 * sum(len(source) for source, _ in ties), dtype=np.int64)
    np.subtract(cross_keys, first << 32, out=keys[: len(cross_keys)])
    filled = len(cross_keys)
    for source, target in ties:
        for rows, cols in ((source, target), (target, source)):
            _write_keys(keys[filled : filled + len(rows)], rows - first, cols)
            filled += len(rows)
    return keys


def _write_keys(out: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Writes one int64 key per entry into ``out``, the row in the high 32 bits and the column
    in the low ones (sorting the keys sorts the entries by row, then column), in place."""
    out[:] = rows
    out <<= 32
    out |= cols


def _write_distinct_columns(keys: np.ndarray, rows: int, out: np.ndarray) -> np.ndarray:
    """Sorts the keys of ``rows`` rows, writes the column of each distinct entry into ``out``
    (by row, then column) a chunk at a time, and returns the number of each row's entries."""
    keys.sort()
    first_of_run = np.empty(len(keys), dtype=bool)
    first_of_run[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first_of_run[1:])
    per_row = np.zeros(rows, dtype=np.int64)
    filled = 0
    for low in range(0, len(keys), KEY_CHUNK):
        distinct = keys[low : low + KEY_CHUNK][first_of_run[low : low + KEY_CHUNK]]
        out[filled : filled + len(distinct)] = distinct & 0xFFFFFFFF
        filled += len(distinct)
        row = distinct >> 32
        if len(row):
            # Sorted rows: count them from the chunk's first.
            per_row[row[0] : row[-1] + 1] += np.bincount(row - row[0])
    return per_row
