"""The residents' social network: a small world inside each territory, weak ties across borders.

Built directly as a sparse adjacency matrix with numpy (a networkx graph of 260,000 residents takes
seconds and hundreds of megabytes): a ring lattice of ``degree`` neighbours inside each territory,
each tie rewired to a random resident of the same territory with ``rewire_probability``
(Watts-Strogatz), plus ``cross_ties_per_resident`` ties on average to residents of adjacent
territories.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


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
        territory: territory index of each resident, residents grouped by territory.
        adjacency: neighbouring territory indices of each territory.
        degree: ties per resident inside the territory (even; the lattice links degree/2 each way).
        rewire_probability: chance that a lattice tie is replaced by a random one (small world).
        cross_ties_per_resident: mean number of weak ties to adjacent territories per resident.
        rng: the run's ``network`` stream.
    """
    n = len(territory)
    counts = np.bincount(territory, minlength=len(adjacency))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    half = max(1, degree // 2)
    src_parts, dst_parts = [], []
    index = np.arange(n)
    local = index - starts[territory]
    size = counts[territory]
    for offset in range(1, half + 1):
        ok = size > offset
        src = index[ok]
        dst = starts[territory[ok]] + (local[ok] + offset) % size[ok]
        rewire = rng.random(len(src)) < rewire_probability
        random_local = (rng.random(len(src)) * size[ok]).astype(np.int64)
        dst = np.where(rewire, starts[territory[ok]] + random_local, dst)
        src_parts.append(src)
        dst_parts.append(dst)
    cross_src, cross_dst = _cross_territory_ties(
        territory, adjacency, counts, starts, cross_ties_per_resident, rng
    )
    src_parts.append(cross_src)
    dst_parts.append(cross_dst)
    src_all = np.concatenate(src_parts)
    dst_all = np.concatenate(dst_parts)
    keep = src_all != dst_all
    rows = np.concatenate((src_all[keep], dst_all[keep]))
    cols = np.concatenate((dst_all[keep], src_all[keep]))
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


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
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
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
    return src, dst
