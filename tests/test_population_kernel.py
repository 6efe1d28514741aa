"""The monthly resident kernel's shortcuts give exactly what the plain numpy expressions give: the
16-bit draws, integer thresholds, index sets kept from month to month, hazard groups and counts."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.simulation.model import CityModel
from sim.world.params import FRENCH_A2, FRENCH_NONE
from sim.world.population import (
    EMPLOYED,
    ON_RSA,
    Population,
    _integer_thresholds,
    _merge_sorted,
    _rows_where,
    _select,
    _uniform16,
)
from sim.world.territory import City, generate_city

#: Draw requests: a 16-bit draw of that many numbers, or (negative) another kind of draw that
#: moves the generator's kept 32-bit word (-1: three 32-bit integers, -2: two floats).
REQUESTS = st.lists(
    st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5]), st.integers(0, 300), st.sampled_from([-1, -2])),
    min_size=1,
    max_size=12,
)


def _request(rng: np.random.Generator, request: int, fast: bool) -> np.ndarray:
    if request == -1:
        return rng.integers(0, 1 << 32, 3, dtype=np.uint32)
    if request == -2:
        return rng.random(2)
    if fast:
        return _uniform16(rng, request)
    return rng.integers(0, 1 << 16, request, dtype=np.uint16)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), requests=REQUESTS)
def test_uniform16_draws_what_integers_draws_and_leaves_the_same_state(
    seed: int, requests: list[int]
) -> None:
    """Any sequence of calls, odd and even lengths, 0 to 3 included, interleaved with draws that
    take or leave a kept 32-bit word, gives numpy's draws and its generator state after each."""
    fast = np.random.Generator(np.random.PCG64(seed))
    plain = np.random.Generator(np.random.PCG64(seed))
    for request in requests:
        got, expected = _request(fast, request, True), _request(plain, request, False)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        assert fast.bit_generator.state == plain.bit_generator.state


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_uniform16_of_other_generators_is_numpys(bit_generator: type) -> None:
    fast, plain = np.random.Generator(bit_generator(4)), np.random.Generator(bit_generator(4))
    for n in (3, 0, 1, 1000, 7):
        np.testing.assert_array_equal(
            _uniform16(fast, n), plain.integers(0, 1 << 16, n, dtype=np.uint16)
        )


def test_uniform16_at_city_scale_is_numpys() -> None:
    fast, plain = np.random.Generator(np.random.PCG64(9)), np.random.Generator(np.random.PCG64(9))
    for n in (260_001, 260_000, 1, 259_999):
        np.testing.assert_array_equal(
            _uniform16(fast, n), plain.integers(0, 1 << 16, n, dtype=np.uint16)
        )
    assert fast.bit_generator.state == plain.bit_generator.state


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, width=32),
            st.floats(-2.0, 65_537.0, width=32),
            st.integers(-2, 65_536).map(float),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_integer_thresholds_pass_the_same_draws_as_the_floats(values: list[float]) -> None:
    """Every 16-bit draw against every threshold: NaN, infinities, negatives, integers and their
    neighbours, and thresholds at and above 65535."""
    scaled = np.array(values, dtype=np.float32)
    thresholds = _integer_thresholds(scaled)
    if np.nanmax(np.where(np.isnan(scaled), 0.0, scaled)) > 65_535:
        assert thresholds is None
        return
    assert thresholds is not None
    assert thresholds.dtype == np.uint16
    draws = np.arange(1 << 16, dtype=np.uint16)[:, None]
    np.testing.assert_array_equal(draws < thresholds, draws < scaled)


@settings(max_examples=100, deadline=None)
@given(
    mask=st.lists(st.booleans(), min_size=0, max_size=200),
    likely_share=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_index_helpers_match_numpy(mask: list[bool], likely_share: float, seed: int) -> None:
    """``_select`` is boolean indexing, ``_rows_where`` is ``flatnonzero`` whatever the likely
    rows, ``_merge_sorted`` is the sorted union."""
    flags = np.array(mask, dtype=bool)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(flags))
    np.testing.assert_array_equal(_select(rows, flags), rows[flags])
    likely = np.flatnonzero(rng.random(len(flags)) < likely_share)
    for guess in (likely, None, np.flatnonzero(flags)):
        found = _rows_where(flags, guess)
        np.testing.assert_array_equal(found, np.flatnonzero(flags))
        assert found.dtype == np.flatnonzero(flags).dtype
    merged = _merge_sorted(np.flatnonzero(flags), np.flatnonzero(~flags))
    np.testing.assert_array_equal(merged, rows)


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(5, 6_001, seed=4, name="kernel")


def _plain_group(pop: Population, rows: np.ndarray | slice) -> np.ndarray:
    long_term = (pop.duration[rows] >= pop.params.long_term_months).astype(np.int8)
    groups = np.where(pop.rsa_eligible[rows], ON_RSA, long_term)
    return np.where(pop.employed[rows], EMPLOYED, groups).astype(np.int8)


def test_hazard_groups_and_counts_match_full_scans(city: City) -> None:
    model = CityModel(city, seed=3, months=14, resident_agents=False)
    model.run()
    pop = model.population
    rows = np.flatnonzero(np.random.default_rng(1).random(pop.n) < 0.3)
    for chosen in (rows, slice(None)):
        groups = pop.hazard_group(None if isinstance(chosen, slice) else chosen)
        assert groups.dtype == np.int8
        np.testing.assert_array_equal(groups, _plain_group(pop, chosen))
    unemployed = ~pop.employed
    counts = pop.monthly_counts()
    assert counts.unemployed == np.count_nonzero(unemployed)
    long_term = unemployed & (pop.duration >= pop.params.long_term_months)
    assert counts.long_term_unemployed == np.count_nonzero(long_term)
    assert counts.rsa_eligible == np.count_nonzero(pop.rsa_eligible)
    assert counts.rsa_claimed == np.count_nonzero(pop.rsa_claimed)
    assert counts.sustained_jobs == pop.sustained_job_count.sum(dtype=np.int64) > 0
    np.testing.assert_array_equal(
        counts.unemployed_by_territory, np.add.reduceat(unemployed, pop.territory_starts)
    )
    np.testing.assert_array_equal(pop.unemployed_rows(), np.flatnonzero(unemployed))
    np.testing.assert_array_equal(pop.learning_rows(), np.flatnonzero(pop.french < FRENCH_A2))
    draws = pop.draw(15)
    np.testing.assert_array_equal(
        pop.met_by_services(draws), np.flatnonzero(draws.contact < pop.contact_rate_scaled)
    )


def _state(pop: Population) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(pop).items() if isinstance(v, np.ndarray) and k[0] != "_"}


def _step_alike(pop: Population, months: range) -> None:
    """Run ``months`` on ``pop`` and on a copy that derives everything afresh every month; both
    end in the same state."""
    fresh = copy.deepcopy(pop)
    fresh.forget_derived()
    for month in months:
        for each in (pop, fresh):
            draws = each.draw(month)
            found = each.labour_step(month, draws)
            each.rsa_step(month, draws, found)
            each.french_step(month, draws)
            each.accrue_public_cost()
            assert each.monthly_counts().unemployed == np.count_nonzero(~each.employed)
        fresh.forget_derived()
    kept, afresh = _state(pop), _state(fresh)
    assert kept.keys() == afresh.keys()
    for name, values in kept.items():
        np.testing.assert_array_equal(values, afresh[name], err_msg=name)


@pytest.mark.parametrize("durations", ["replaced", "written in place"])
def test_months_after_outside_edits_match_a_population_deriving_everything_afresh(
    city: City, durations: str
) -> None:
    """State arrays edited in place between months (jobs, RSA, insurance, French levels: the
    checks see it) and durations replaced (seen too) or written in place (then followed by
    ``forget_derived``): the next months are those of a copy that keeps nothing."""
    model = CityModel(city, seed=5, months=30, resident_agents=False)
    for _ in range(8):
        model.step()
    pop = model.population
    pop.monthly_counts()  # keeps the count of jobs held 6 months too
    rng = np.random.default_rng(2)
    some = rng.choice(pop.n, 300, replace=False)
    pop.employed[some[:100]] = ~pop.employed[some[:100]]
    pop.rsa_eligible[some[100:150]] = True
    pop.insured[some[150:200]] = ~pop.insured[some[150:200]]
    pop.french[some[200:250]] = FRENCH_NONE
    if durations == "replaced":
        pop.duration = pop.duration.copy()
    pop.duration[some[250:]] = rng.integers(0, 6, 50)
    if durations == "written in place":
        pop.forget_derived()
    _step_alike(pop, range(9, 15))


@pytest.mark.parametrize("sizes", [[3, 5, 1, 4], [3, 0, 5, 4], [0, 2, 2]])
def test_counts_by_territory_are_the_sums_of_reduceat(sizes: list[int]) -> None:
    """Contiguous territories, empty ones included (where ``np.add.reduceat`` has its own
    rule, which the counts keep)."""
    sizes_array = np.array(sizes)
    starts = np.concatenate(([0], np.cumsum(sizes_array)[:-1]))
    stub = Population.__new__(Population)
    stub.n, stub.territory_sizes, stub.territory_starts = (
        int(sizes_array.sum()),
        sizes_array,
        starts,
    )
    for seed in range(20):
        mask = np.random.default_rng(seed).random(stub.n) < 0.5
        np.testing.assert_array_equal(
            stub._count_by_territory(np.flatnonzero(mask)), np.add.reduceat(mask, starts)
        )
