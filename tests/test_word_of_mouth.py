"""Word of mouth by territory runs and (territory, count) cells equals the listener-by-listener
formulation, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery import word_of_mouth
from sim.world.population import MonthlyDraws
from sim.world.runs import runs_between, territory_runs

#: Territory sizes (some empty), as a city's residents sorted by territory.
CITIES = st.lists(st.integers(0, 12), min_size=1, max_size=8)


def _bounds(sizes: list[int]) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def _territory(sizes: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)


def _rows(data: st.DataObject, n: int) -> np.ndarray:
    """Some residents, in increasing order, each once."""
    chosen = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return np.flatnonzero(np.array(chosen, dtype=bool))


@settings(max_examples=300, deadline=None)
@given(sizes=CITIES, data=st.data())
def test_listening_is_the_unaware_in_need_of_offered_territories(
    sizes: list[int], data: st.DataObject
) -> None:
    """Any city, any residents in need, aware residents and offered territories."""
    n = sum(sizes)
    in_need = _rows(data, n)
    aware = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    offered = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes))), dtype=bool
    )
    territory = _territory(sizes)
    expected = in_need[~aware[in_need] & offered[territory[in_need]]]
    got = word_of_mouth.listening(in_need, aware, offered, _bounds(sizes))
    assert got.dtype == in_need.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(
    sizes=CITIES,
    word=st.floats(0.0, 1.0, exclude_max=True),
    outreach=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_thresholds_by_cell_are_the_listeners_own(
    sizes: list[int], word: float, outreach: float, data: st.DataObject
) -> None:
    """Looked up by (territory, count) cell in a table of any width that holds every count,
    each listener's threshold has exactly the bits of the listener-by-listener arithmetic:
    float32 powers of the contacts, float64 powers of the territory's offers, their product,
    its complement times the scale."""
    n = sum(sizes)
    rows = _rows(data, n)
    contacts = np.array(
        data.draw(st.lists(st.integers(0, 40), min_size=len(rows), max_size=len(rows))),
        dtype=np.int64,
    )
    offers = np.array(
        data.draw(st.lists(st.integers(0, 6), min_size=len(sizes), max_size=len(sizes))),
        dtype=np.float64,
    )
    most = int(contacts.max()) if len(contacts) else 0
    silent_by_contacts = (1.0 - word) ** np.arange(most + 1, dtype=np.float32)
    silent = silent_by_contacts[contacts] * ((1.0 - outreach) ** offers)[_territory(sizes)[rows]]
    expected = (1.0 - silent) * MonthlyDraws.SCALE

    # Cells as wide as the most contacts anyone could have, more than the listeners have.
    widest = most + data.draw(st.integers(0, 60))
    table = word_of_mouth.hearing_thresholds(word, outreach, tuple(offers.tolist()), widest)
    got = table[word_of_mouth.cells(rows, contacts, _bounds(sizes), widest + 1)]
    assert got.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))
    assert not table.flags.writeable, "kept for later months: nobody may change it"


@settings(max_examples=200, deadline=None)
@given(sizes=CITIES, data=st.data())
def test_territory_runs_count_the_rows_of_each_territory(
    sizes: list[int], data: st.DataObject
) -> None:
    """Residents sorted by territory: a territory's rows in an increasing list are one run."""
    rows = _rows(data, sum(sizes))
    expected = np.bincount(_territory(sizes)[rows], minlength=len(sizes))
    np.testing.assert_array_equal(territory_runs(rows, _bounds(sizes)), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9)), st.integers(0, 12))
def test_runs_between_are_where_each_value_starts_and_how_often_it_comes(
    values: list[int], size: int
) -> None:
    """Between consecutive whole numbers, a run is one value: its first position in the sorted
    list and its count (values from ``size`` on are in no run)."""
    ordered = np.sort(np.array(values, dtype=np.int64))
    starts, lengths = runs_between(ordered, np.arange(size + 1))
    expected = [int(np.count_nonzero(ordered == v)) for v in range(size)]
    np.testing.assert_array_equal(lengths, expected)
    for value in range(size):
        assert starts[value] == int(np.count_nonzero(ordered < value))


def test_thresholds_of_a_numpy_float_are_not_those_kept_for_a_python_float() -> None:
    """A numpy float and a Python float of the same value raise float32 powers to different
    precisions: each gets the table its own arithmetic gives, whichever was asked first."""
    offers = (1.0, 0.0)

    def plain(word: float) -> np.ndarray:
        silent = (1.0 - word) ** np.arange(8, dtype=np.float32)
        by_territory = (1.0 - 0.1) ** np.array(offers)
        table = (1.0 - silent[np.newaxis, :] * by_territory[:, np.newaxis]) * MonthlyDraws.SCALE
        return np.asarray(table).ravel()

    for word in (0.04, np.float64(0.04)):
        got = word_of_mouth.hearing_thresholds(word, 0.1, offers, 7)
        np.testing.assert_array_equal(got.view(np.uint64), plain(word).view(np.uint64))
    assert not np.array_equal(plain(0.04), plain(np.float64(0.04))), "the case is not moot"
