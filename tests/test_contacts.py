"""Aware contacts counted on the network's CSR arrays equal scipy's row product exactly."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.world.contacts import AwareContactCounts, aware_contacts, ties_at_most
from sim.world.network import build_social_network
from sim.world.rng import Stream, stream
from sim.world.territory import generate_city


def _symmetric_network(n: int, ties: list[tuple[int, int]]) -> sp.csr_matrix:
    """A 0/1 symmetric CSR matrix of ``n`` residents (some possibly without a tie), as
    ``build_social_network`` makes it: both directions, no self-tie, repeats merged."""
    pairs = [(a % n, b % n) for a, b in ties if a % n != b % n] if n else []
    rows = np.array([a for a, b in pairs] + [b for a, b in pairs], dtype=np.int64)
    cols = np.array([b for a, b in pairs] + [a for a, b in pairs], dtype=np.int64)
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n), dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _plain(network: sp.csr_matrix, rows: np.ndarray, aware: np.ndarray) -> np.ndarray:
    return np.asarray(network[rows] @ aware.astype(np.float32))


NETWORKS = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4 * n),
    )
)


@settings(max_examples=300, deadline=None)
@given(network=NETWORKS, data=st.data())
def test_aware_contacts_equal_the_row_product(
    network: tuple[int, list[tuple[int, int]]], data: st.DataObject
) -> None:
    """Random graphs with isolated residents, any selection (empty, repeated, unsorted rows),
    any share of aware residents: both ways of counting give scipy's float32 counts."""
    n, ties = network
    matrix = _symmetric_network(n, ties)
    aware = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n)), dtype=np.int64)
    expected = _plain(matrix, rows, aware)
    got = aware_contacts(matrix, rows, aware)
    assert got.dtype == expected.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(AwareContactCounts(matrix).of(rows, aware), expected)


@settings(max_examples=150, deadline=None)
@given(network=NETWORKS, data=st.data())
def test_kept_counts_follow_awareness_month_after_month(
    network: tuple[int, list[tuple[int, int]]], data: st.DataObject
) -> None:
    """A sequence of awareness states (growing, and for robustness also shrinking): each call
    gives the row product of that month's state."""
    n, ties = network
    matrix = _symmetric_network(n, ties)
    counts = AwareContactCounts(matrix)
    for _ in range(data.draw(st.integers(1, 5))):
        aware = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=n)), dtype=np.int64)
        np.testing.assert_array_equal(counts.of(rows, aware), _plain(matrix, rows, aware))


@settings(max_examples=150, deadline=None)
@given(network=NETWORKS, data=st.data())
def test_counts_told_who_became_aware_follow_awareness(
    network: tuple[int, list[tuple[int, int]]], data: st.DataObject
) -> None:
    """Awareness growing month after month: told who was made aware (each once, some
    already aware), and sometimes not told of others (found by their number): each call still
    gives the row product, as float32 counts or as whole numbers."""
    n, ties = network
    matrix = _symmetric_network(n, ties)
    counts = AwareContactCounts(matrix)
    aware = np.zeros(n, dtype=bool)
    for _ in range(data.draw(st.integers(1, 6))):
        told = np.array(
            data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)), dtype=np.int64
        )
        aware[told] = True
        aware[data.draw(st.lists(st.integers(0, n - 1), max_size=2))] = True
        rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=n)), dtype=np.int64)
        if data.draw(st.booleans()):
            got = counts.of(rows, aware, told)
        else:
            counts.of(rows[:0], aware, told)  # caught up, then read as whole numbers
            whole = counts.kept_counts(0, rows)
            assert whole.dtype.kind == "i"
            assert len(whole) == 0 or whole.max() <= counts.most_ties
            got = whole.astype(np.float32)
        np.testing.assert_array_equal(got, _plain(matrix, rows, aware))


@settings(max_examples=150, deadline=None)
@given(network=NETWORKS, offers=st.integers(1, 3), data=st.data())
def test_offers_caught_up_together_follow_each_offers_awareness(
    network: tuple[int, list[tuple[int, int]]], offers: int, data: st.DataObject
) -> None:
    """Several offers counted together, month after month: awareness growing with who was told
    (each once, some already aware, sometimes others untold, or all told and vouched for), or
    any awareness with nobody told (also shrinking); the single-offer calls mixed in. Each
    offer's kept counts are the row product of its own awareness."""
    n, ties = network
    matrix = _symmetric_network(n, ties)
    counts = AwareContactCounts(matrix, offers=offers)
    aware = np.zeros((offers, n), dtype=bool)
    for _ in range(data.draw(st.integers(1, 6))):
        how = data.draw(st.sampled_from(["told", "untold", "one offer"]))
        if how == "untold":
            aware = np.array(
                data.draw(st.lists(st.booleans(), min_size=offers * n, max_size=offers * n)),
                dtype=bool,
            ).reshape(offers, n)
            counts.catch_up(aware)
        else:
            told = [
                np.array(
                    data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)),
                    dtype=np.int64,
                )
                for _ in range(offers)
            ]
            for offer in range(offers):
                aware[offer, told[offer]] = True
                aware[offer, data.draw(st.lists(st.integers(0, n - 1), max_size=2))] = True
            if how == "told":
                counts.catch_up(aware, told)
            else:
                offer = data.draw(st.integers(0, offers - 1))
                rows = np.arange(n)
                got = counts.of(rows, aware[offer], told[offer], offer)
                np.testing.assert_array_equal(got, _plain(matrix, rows, aware[offer]))
                # The others are brought up to date, each told what it was not told yet.
                counts.catch_up(aware, [t if o != offer else t[:0] for o, t in enumerate(told)])
        rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=n)), dtype=np.int64)
        for offer in range(offers):
            got = counts.kept_counts(offer, rows)
            assert got.dtype.kind == "i"
            np.testing.assert_array_equal(got, _plain(matrix, rows, aware[offer]))


def test_both_sides_on_a_residents_network() -> None:
    """The model's network: few aware (counted from the aware side) and many aware (the listed
    side), and the kept counts as awareness spreads."""
    city = generate_city(6, 12_000, seed=8)
    sizes = [t.working_age_population for t in city.territories]
    territory = np.repeat(np.arange(city.size), sizes)
    graph = city.graph()
    adjacency = [sorted(graph.neighbors(t)) for t in range(city.size)]
    network = build_social_network(territory, adjacency, 6, 0.1, 0.5, stream(3, Stream.NETWORK))
    rng = np.random.default_rng(5)
    counts = AwareContactCounts(network)
    aware = np.zeros(len(territory), dtype=bool)
    for share in (0.001, 0.01, 0.1, 0.4, 0.8):
        aware |= rng.random(len(territory)) < share
        rows = np.flatnonzero(~aware & (rng.random(len(territory)) < 0.3))
        expected = _plain(network, rows, aware)
        np.testing.assert_array_equal(aware_contacts(network, rows, aware), expected)
        np.testing.assert_array_equal(counts.of(rows, aware), expected)


def test_docstring_example_runs() -> None:
    import doctest

    import sim.world.contacts

    assert doctest.testmod(sim.world.contacts, raise_on_error=True).attempted >= 1


def test_counts_are_kept_in_integers_that_hold_the_most_ties() -> None:
    """8 bits while every resident has fewer than 2**7 ties, wider beyond."""
    from sim.world.contacts import _count_type

    assert _count_type(0) == np.int8
    assert _count_type(2**7 - 1) == np.int8
    assert _count_type(2**7) == np.int16
    assert _count_type(2**15 - 1) == np.int16
    assert _count_type(2**15) == np.int32
    assert _count_type(2**31) == np.int64


def test_a_hub_with_more_ties_than_8_bits_hold_is_counted_exactly() -> None:
    """A resident with 300 ties: its counts need 16 bits, and reach 300 as everyone hears."""
    star = _symmetric_network(301, [(0, leaf) for leaf in range(1, 301)])
    counts = AwareContactCounts(star, offers=2)
    aware = np.zeros((2, 301), dtype=bool)
    aware[1, 1:] = True
    counts.catch_up(aware, [np.empty(0, dtype=np.int64), np.arange(1, 301)])
    assert counts.kept_counts(0, np.array([0])).tolist() == [0]
    assert counts.kept_counts(1, np.array([0, 5])).tolist() == [300, 0]


def test_the_most_ties_are_counted_at_both_ends() -> None:
    """Counts are taken at the other end of each tie: the widest count is the longest column
    as well as the longest row (the same for a symmetric network)."""
    # Resident 0 is named by three others but names one: its count can reach 3.
    one_way = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), ([0, 1, 2, 3], [1, 0, 0, 0])), shape=(4, 4)
    )
    assert ties_at_most(one_way) == 3
    assert AwareContactCounts(one_way).most_ties == 3
    assert ties_at_most(sp.csr_matrix((0, 0), dtype=np.float32)) == 0
