"""The residents' social network: a small world inside each territory, weak ties to adjacent
territories only, reproducible from its stream."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sim.world.network import build_social_network
from sim.world.rng import Stream, stream
from sim.world.territory import City, generate_city

DEGREE = 6


@pytest.fixture(scope="module")
def city() -> City:
    """8 territories, 8,000 residents."""
    return generate_city(8, 8_000, seed=3)


def _inputs(city: City) -> tuple[np.ndarray, list[list[int]]]:
    sizes = [t.working_age_population for t in city.territories]
    territory = np.repeat(np.arange(city.size), sizes)
    graph = city.graph()
    return territory, [sorted(graph.neighbors(t)) for t in range(city.size)]


def _network(
    city: City, rewire: float = 0.1, cross: float = 0.5, seed: int = 1, degree: int = DEGREE
) -> sp.csr_matrix:
    territory, adjacency = _inputs(city)
    return build_social_network(
        territory, adjacency, degree, rewire, cross, stream(seed, Stream.NETWORK)
    )


def _ties(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    coo = sp.triu(matrix, k=1).tocoo()
    return coo.row, coo.col


def test_network_is_symmetric_without_self_ties_or_weights(city: City) -> None:
    """Ties are mutual, nobody is tied to themselves, and every tie counts once (0/1)."""
    matrix = _network(city)
    assert matrix.shape == (city.population, city.population)
    assert (matrix != matrix.T).nnz == 0
    assert matrix.diagonal().sum() == 0
    assert set(np.unique(matrix.data)) == {1.0}


def test_without_rewiring_every_resident_has_degree_ties_in_a_ring(city: City) -> None:
    """With no rewiring and no cross ties, each resident is tied to exactly ``degree`` residents
    of its territory: the degree/2 next and previous ones on the territory's ring."""
    territory, _ = _inputs(city)
    matrix = _network(city, rewire=0.0, cross=0.0)
    assert np.array_equal(np.diff(matrix.indptr), np.full(city.population, DEGREE))
    sizes = np.bincount(territory)
    src, dst = _ties(matrix)
    assert np.array_equal(territory[src], territory[dst])
    gap = (dst - src) % sizes[territory[src]]
    ring_distance = np.minimum(gap, sizes[territory[src]] - gap)
    assert ring_distance.max() == DEGREE // 2


@pytest.mark.parametrize("rewire", [0.1, 1.0])
def test_rewiring_keeps_ties_inside_the_territory(city: City, rewire: float) -> None:
    """Rewired ties stay inside the resident's territory; the share of ties off the ring is
    about the rewiring probability (a rewired tie lands back on the ring with chance
    degree/size, negligible here), and the mean degree stays about ``degree`` (rewired ties
    that duplicate another are merged)."""
    territory, _ = _inputs(city)
    sizes = np.bincount(territory)
    matrix = _network(city, rewire=rewire, cross=0.0)
    src, dst = _ties(matrix)
    assert np.array_equal(territory[src], territory[dst])
    gap = (dst - src) % sizes[territory[src]]
    off_ring = np.minimum(gap, sizes[territory[src]] - gap) > DEGREE // 2
    lattice_ties = city.population * DEGREE // 2
    # Binomial standard error of the share of rewired lattice ties, 5 of them as tolerance.
    tolerance = 5 * np.sqrt(rewire * (1 - rewire) / lattice_ties) + DEGREE / sizes.min()
    assert off_ring.sum() / lattice_ties == pytest.approx(rewire, abs=tolerance)
    mean_degree = matrix.nnz / city.population
    assert DEGREE * (1 - 2 * DEGREE / sizes.min()) - tolerance <= mean_degree <= DEGREE


def test_cross_territory_ties_join_adjacent_territories_only(city: City) -> None:
    """Ties between territories only join adjacent ones, and residents have about
    ``cross_ties_per_resident`` of them on average (Poisson count: 4 standard errors)."""
    cross = 0.5
    territory, adjacency = _inputs(city)
    matrix = _network(city, rewire=0.1, cross=cross)
    src, dst = _ties(matrix)
    between = territory[src] != territory[dst]
    pairs = set(zip(territory[src][between], territory[dst][between], strict=True))
    assert pairs, "some ties cross borders"
    for a, b in pairs:
        assert b in adjacency[a], (a, b)
    n = city.population
    expected_ties = cross * n / 2
    # Each tie is two residents' contact; the tie count is Poisson.
    per_resident = 2 * between.sum() / n
    assert per_resident == pytest.approx(cross, abs=4 * 2 * np.sqrt(expected_ties) / n)
    # Every border is used, in proportion to how often its territories are picked.
    borders = {tuple(sorted((a, b))) for a in range(city.size) for b in adjacency[a]}
    assert {tuple(sorted((int(a), int(b)))) for a, b in pairs} == borders


def test_isolated_territory_gets_no_cross_ties() -> None:
    """A territory without neighbours keeps all its ties inside."""
    territory = np.repeat(np.arange(3), [500, 400, 300])
    adjacency: list[list[int]] = [[1], [0], []]
    matrix = build_social_network(territory, adjacency, 4, 0.2, 2.0, stream(1, Stream.NETWORK))
    src, dst = _ties(matrix)
    touches_isolated = (territory[src] == 2) | (territory[dst] == 2)
    assert touches_isolated.any()
    assert (territory[src][touches_isolated] == territory[dst][touches_isolated]).all()


def test_same_seed_same_network_and_another_seed_another(city: City) -> None:
    """The network is a function of the run's network stream: the same seed gives an identical
    matrix, another seed a different one."""
    first, again, other = _network(city, seed=4), _network(city, seed=4), _network(city, seed=5)
    assert (first != again).nnz == 0
    assert np.array_equal(first.indices, again.indices)
    assert (first != other).nnz > 0


# ---------------------------------------------------------------- the same matrix as before
def _reference_network(
    territory: np.ndarray,
    adjacency: list[list[int]],
    degree: int,
    rewire_probability: float,
    cross_ties_per_resident: float,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """The builder as it was before it was made lean (whole edge lists, COO to CSR, duplicates
    summed): the matrix it gives is the model's, draw for draw."""
    n = len(territory)
    counts = np.bincount(territory, minlength=len(adjacency))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    src_parts, dst_parts = [], []
    index = np.arange(n)
    local = index - starts[territory]
    size = counts[territory]
    for offset in range(1, max(1, degree // 2) + 1):
        ok = size > offset
        src = index[ok]
        dst = starts[territory[ok]] + (local[ok] + offset) % size[ok]
        rewire = rng.random(len(src)) < rewire_probability
        random_local = (rng.random(len(src)) * size[ok]).astype(np.int64)
        src_parts.append(src)
        dst_parts.append(np.where(rewire, starts[territory[ok]] + random_local, dst))
    n_ties = rng.poisson(cross_ties_per_resident * n / 2)
    if n_ties > 0:
        src = rng.integers(0, n, n_ties)
        ties = np.array([len(a) for a in adjacency])
        src = src[ties[territory[src]] > 0]
        pick = (rng.random(len(src)) * ties[territory[src]]).astype(np.int64)
        flat = np.concatenate(
            [np.asarray(a, dtype=np.int64) for a in adjacency if a] or [np.empty(0, np.int64)]
        )
        first_tie = np.concatenate(([0], np.cumsum(ties)[:-1]))
        target = flat[first_tie[territory[src]] + pick]
        dst = starts[target] + (rng.random(len(src)) * counts[target]).astype(np.int64)
        src_parts.append(src)
        dst_parts.append(dst)
    src_all, dst_all = np.concatenate(src_parts), np.concatenate(dst_parts)
    keep = src_all != dst_all
    rows = np.concatenate((src_all[keep], dst_all[keep]))
    cols = np.concatenate((dst_all[keep], src_all[keep]))
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _assert_identical(built: sp.csr_matrix, reference: sp.csr_matrix) -> None:
    """Same shape, same arrays of the same types, and canonical (sorted, no duplicates)."""
    assert isinstance(built, sp.csr_matrix)
    assert built.shape == reference.shape
    for name in ("indptr", "indices", "data"):
        mine, theirs = getattr(built, name), getattr(reference, name)
        assert mine.dtype == theirs.dtype, name
        assert np.array_equal(mine, theirs), name
    assert built.has_canonical_format
    assert built.has_sorted_indices


#: Territory sizes (residents grouped by territory) and each territory's neighbours.
ODD_CITIES: dict[str, tuple[list[int], list[list[int]]]] = {
    "one resident": ([1], [[]]),
    "two residents": ([2], [[]]),
    "tiny territories": ([1, 2, 3, 1, 5], [[1], [0, 2], [1, 3], [2, 4], [3]]),
    "one large, one tiny": ([2_000, 1], [[1], [0]]),
    "isolated territory": ([500, 400, 300], [[1], [0], []]),
    "no borders": ([40, 60], [[], []]),
}


def _odd_city(name: str) -> tuple[np.ndarray, list[list[int]]]:
    sizes, adjacency = ODD_CITIES[name]
    return np.repeat(np.arange(len(sizes), dtype=np.int32), sizes), adjacency


@pytest.mark.parametrize("name", sorted(ODD_CITIES))
@pytest.mark.parametrize(
    ("degree", "rewire", "cross"),
    [(6, 0.1, 0.5), (6, 0.1, 0.0), (2, 0.0, 2.0), (7, 1.0, 0.5), (0, 0.5, 1.0), (12, 0.3, 3.0)],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_network_is_the_reference_matrix_for_odd_cities(
    name: str, degree: int, rewire: float, cross: float, seed: int
) -> None:
    """Territories of one or two residents, degrees larger than a territory, odd or zero
    degrees, no cross ties or many, territories without neighbours: the same matrix as the
    reference builder, for every seed."""
    territory, adjacency = _odd_city(name)
    built, reference = (
        builder(territory, adjacency, degree, rewire, cross, stream(seed, Stream.NETWORK))
        for builder in (build_social_network, _reference_network)
    )
    _assert_identical(built, reference)


@pytest.mark.parametrize("seed", [1, 7])
@pytest.mark.parametrize("chunk", [1, 5, 1_000, 1 << 18])
def test_network_is_the_reference_matrix_whatever_the_chunks(
    city: City, seed: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of draws, groups of rows and chunks of sorted entries change the memory, never
    the matrix: down to a resident or an entry at a time, it is the reference builder's."""
    monkeypatch.setattr("sim.world.network.DRAW_CHUNK", chunk)
    monkeypatch.setattr("sim.world.network.ROW_GROUP", chunk)
    monkeypatch.setattr("sim.world.network.KEY_CHUNK", chunk)
    territory, adjacency = _inputs(city)
    built, reference = (
        builder(territory, adjacency, DEGREE, 0.1, 0.5, stream(seed, Stream.NETWORK))
        for builder in (build_social_network, _reference_network)
    )
    _assert_identical(built, reference)


def test_network_of_the_demo_city_is_the_reference_matrix() -> None:
    """The demo city's network with the model's parameters is the reference builder's."""
    from sim.world.params import ModelParams
    from sim.world.territory import load_city

    demo, p = load_city("demo"), ModelParams()
    territory, adjacency = _inputs(demo)
    built, reference = (
        builder(
            territory,
            adjacency,
            p.network_degree,
            p.network_rewire_probability,
            p.cross_territory_ties_per_resident,
            stream(3, Stream.NETWORK),
        )
        for builder in (build_social_network, _reference_network)
    )
    _assert_identical(built, reference)


def test_residents_out_of_territory_order_are_refused() -> None:
    """The builder relies on residents grouped in the territories' order: anything else is an
    error rather than a wrong network."""
    territory = np.array([1, 1, 0, 0], dtype=np.int32)
    with pytest.raises(ValueError, match="grouped by territory"):
        build_social_network(territory, [[1], [0]], 2, 0.1, 0.5, stream(1, Stream.NETWORK))
