"""The monthly resident kernel's shortcuts give exactly what the plain numpy expressions give: the
16-bit draws, integer thresholds and bounds, index sets kept from month to month, hazard groups,
job finding, churn and job losses, counts, the calibration's flow balance."""

from __future__ import annotations

import copy
import dataclasses
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.simulation.model import CityModel
from sim.world import population
from sim.world.params import FRENCH_A2, FRENCH_NONE, ModelParams
from sim.world.population import (
    EMPLOYED,
    ON_RSA,
    MonthlyDraws,
    Population,
    _hazard_bound,
    _integer_bound,
    _integer_thresholds,
    _merge_sorted,
    _rows_where,
    _select,
    _steady_state_separation,
    _uniform16,
    new_job_period,
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


#: Per-resident thresholds in draw units: NaN, infinities, negatives, integers and their
#: neighbours, and thresholds at and above 65535.
THRESHOLDS = st.lists(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=32),
        st.floats(-2.0, 65_537.0, width=32),
        st.integers(-2, 65_536).map(float),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(values=THRESHOLDS)
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
@given(values=THRESHOLDS)
def test_integer_bound_is_above_every_draw_a_threshold_passes(values: list[float]) -> None:
    """Every 16-bit draw below some threshold is below the bound; no bound when a threshold
    passes every draw or is a NaN."""
    scaled = np.array(values, dtype=np.float32)
    bound = _integer_bound(scaled)
    if np.isnan(scaled).any() or np.ceil(scaled.max()) > 65_535:
        assert bound is None
        return
    assert bound is not None
    draws = np.arange(1 << 16, dtype=np.uint16)[:, None]
    passed = (draws < scaled).any(axis=1)
    assert not passed[int(bound) :].any()
    assert _integer_bound(np.zeros(0, dtype=np.float32)) == 0


HAZARDS = st.one_of(
    st.floats(0.0, 1.0, width=32),
    st.sampled_from([0.0, 1e-30, 0.0625, 0.5, 1.0, 4.0, 30_000.0]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)


@settings(max_examples=200, deadline=None)
@given(
    rates=st.lists(HAZARDS, min_size=4, max_size=4),
    traits=st.lists(HAZARDS, min_size=0, max_size=30),
)
def test_hazard_bound_is_above_every_draw_a_hazard_passes(
    rates: list[float], traits: list[float]
) -> None:
    """Job-finding hazards in draw units (``group_rate[group] * trait * SCALE``, the kernel's
    float32 operations): every draw below one is below the bound; no bound for a negative or NaN
    rate or trait, a NaN hazard (0 times infinity) or a hazard passing every draw."""
    rate_array, trait_array = np.array(rates, np.float32), np.array(traits, np.float32)
    bound = _hazard_bound(rate_array, trait_array)
    with np.errstate(all="ignore"):
        scaled = (rate_array[:, None] * trait_array[None, :]) * MonthlyDraws.SCALE
    if bound is None:
        assert len(traits) > 0
        assert (
            np.isnan(rate_array).any()
            or np.isnan(trait_array).any()
            or rate_array.min() < 0
            or trait_array.min() < 0
            or np.isnan(scaled).any()
            or np.nanmax(scaled) > 65_535
        )
        return
    if len(traits):
        assert np.all(np.ceil(scaled) <= int(bound))


def _plain_separation(
    rate: np.float64, hazard: np.float64, months_new: float, retained: float
) -> float:
    """The flow balance as it was computed, one territory at a time."""
    if rate <= 0.0:
        return 0.0
    denominator = (1.0 - rate) / (rate * hazard) - months_new
    return float(np.clip(retained / denominator, 1e-4, 0.2)) if denominator > 0 else 0.2


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.one_of(st.floats(-0.1, 1.1), st.sampled_from([0.0, 1.0, float("nan")])),
            st.one_of(st.floats(1e-6, 1.0), st.sampled_from([1e-300, 0.058])),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_steady_state_separation_is_the_flow_balance_of_each_territory(
    pairs: list[tuple[float, float]],
) -> None:
    """The separations of all territories at once are those computed one territory at a time,
    to the bit."""
    p = ModelParams()
    months_new, retained = new_job_period(p)
    rate = np.array([r for r, _ in pairs])
    hazard = np.array([h for _, h in pairs])
    with np.errstate(all="ignore"):
        expected = [
            _plain_separation(r, h, months_new, retained) for r, h in zip(rate, hazard, strict=True)
        ]
    np.testing.assert_array_equal(_steady_state_separation(rate, hazard, p), expected)


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


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
    few_rows=st.sampled_from([0, 5, 1024]),
)
def test_territory_values_spread_to_rows_are_the_per_resident_values(
    sizes: list[int], share: float, seed: int, few_rows: int
) -> None:
    """A value per territory spread to some residents (increasing rows, empty territories
    included) is what indexing the per-resident copy gives, whether few rows gather their
    territories' values (up to ``few_rows``) or not."""
    sizes_array = np.array(sizes)
    stub = Population.__new__(Population)
    stub.n, stub.territory_sizes = int(sizes_array.sum()), sizes_array
    stub.territory_starts = np.concatenate(([0], np.cumsum(sizes_array)[:-1]))
    stub.territory = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes_array)
    rng = np.random.default_rng(seed)
    values = rng.random(len(sizes)).astype(np.float32)
    rows = np.flatnonzero(rng.random(stub.n) < share)
    with mock.patch.object(population, "_FEW_ROWS", few_rows):
        spread = stub._spread(values, rows)
    assert spread.dtype == np.float32
    np.testing.assert_array_equal(spread, stub.per_resident(values)[rows])


@pytest.fixture(scope="module")
def stepped(city: City) -> Population:
    """A population some months into a run (jobs found, lost and held, spells of every age)."""
    model = CityModel(city, seed=8, months=10, resident_agents=False)
    for _ in range(7):
        model.step()
    return model.population


#: Per-territory hazards of the kernel's draws: ordinary ones, none, certain, above 1 (every
#: draw passes) and malformed ones (negative, NaN: no shortcut applies).
TERRITORY_HAZARDS = st.one_of(
    st.floats(0.0, 0.25, width=32),
    st.integers(0, 20_000).map(lambda k: k / 65_536),  # a whole number of draws
    st.sampled_from([0.0, 1.0, 1.5, -0.1, float("nan")]),
)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    churn=st.lists(TERRITORY_HAZARDS, min_size=5, max_size=5),
    separation=st.lists(TERRITORY_HAZARDS, min_size=5, max_size=5),
    flat_traits=st.sampled_from([None, 0.7, 1.0, 2.3]),
    odd_traits=st.lists(st.sampled_from([0.0, 40.0, 1e6, -1.0, float("nan")]), max_size=3),
    treated=st.booleans(),
    kept_spells=st.booleans(),
)
def test_job_finding_churn_and_losses_are_the_plain_expressions(
    stepped: Population,
    seed: int,
    churn: list[float],
    separation: list[float],
    flat_traits: float | None,
    odd_traits: list[float],
    treated: bool,
    kept_spells: bool,
) -> None:
    """Job finding and churn of the unemployed, job losses of the employed, computed among the
    few draws that may pass (bounds of the hazards, recent spells): the residents of the plain
    expressions over every resident, whatever the hazards and traits."""
    pop = copy.deepcopy(stepped)
    assert pop.n_territories == 5
    rng = np.random.default_rng(seed)
    pop.churn = np.array(churn, dtype=np.float32)
    pop.separation_established = np.array(separation, dtype=np.float32)
    pop._refresh_per_resident()
    if flat_traits is not None:  # the largest rate times the largest trait is someone's hazard
        pop.trait_multiplier = np.full(pop.n, flat_traits, dtype=np.float32)
    if odd_traits:
        pop.trait_multiplier = pop.trait_multiplier.copy()
        pop.trait_multiplier[rng.choice(pop.n, len(odd_traits), replace=False)] = odd_traits
    if treated:
        some = rng.choice(pop.n, 200, replace=False)
        pop.treated[some] = True
        pop.job_boost[some] = 0.2
    scale = MonthlyDraws.SCALE
    labour = rng.integers(0, 1 << 16, pop.n, dtype=np.uint16)
    # Draws at and next to each resident's thresholds, where a shortcut may be off by one.
    with np.errstate(all="ignore"):
        finding = pop.group_rate[_plain_group(pop, slice(None))] * pop.trait_multiplier * scale
        edge = np.where(
            pop.employed,
            np.ceil(pop.separation_established_scaled),
            np.ceil(np.where(rng.random(pop.n) < 0.5, finding, scale - pop.churn_scaled)),
        ) + rng.integers(-1, 2, pop.n)
    at_edge = (rng.random(pop.n) < 0.5) & (edge >= 0) & (edge < scale)
    labour[at_edge] = edge[at_edge]
    seekers = pop._confirmed_unemployed()
    draw = labour[seekers]

    hazard = pop.group_rate[_plain_group(pop, seekers)] * pop.trait_multiplier[seekers]
    if treated:
        hazard = hazard + pop.job_boost[seekers] - pop._displacement_penalty(seekers)
    np.testing.assert_array_equal(pop._job_finds(seekers, draw), draw < hazard * scale)
    churns = ~pop.insured[seekers] & (draw >= scale - pop.churn_scaled[seekers])
    np.testing.assert_array_equal(pop._churns(seekers, draw), churns)

    lost = labour < pop.separation_established_scaled
    lost &= pop.employed
    new_jobs = np.flatnonzero(pop.employed & (pop.duration < 3))
    lost[new_jobs] = labour[new_jobs] < np.float32(pop.params.separation_new_per_month * scale)
    spells = pop._recent_spells() if kept_spells else None
    np.testing.assert_array_equal(pop._job_losses(labour, spells), np.flatnonzero(lost))


#: Job boosts of programmes: ordinary effects, lock-ins (negative), none, certain jobs and
#: malformed ones (NaN, infinite: no shortcut applies).
BOOSTS = st.sampled_from([0.2, 0.05, -0.03, 0.0, 1.0, 3.0, float("nan"), float("inf")])


def _plain_displacement(pop: Population, seekers: np.ndarray) -> np.ndarray:
    """The displacement penalty of each seeker as the model states it, over every seeker."""
    share = pop.params.displacement_share
    treated = pop.treated[seekers]
    if share == 0.0:  # no displacement, whatever the boosts
        return np.zeros(len(seekers), dtype=np.float32)
    where = pop.territory[seekers]
    extra = np.bincount(
        where[treated], weights=pop.job_boost[seekers[treated]], minlength=pop.n_territories
    )
    pool = np.bincount(where[~treated], minlength=pop.n_territories)
    per_territory = np.where(pool > 0, share * extra / np.maximum(pool, 1), 0.0)
    return np.where(treated, np.float32(0.0), per_territory.astype(np.float32)[where])


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    boosts=st.lists(BOOSTS, min_size=1, max_size=4),
    n_treated=st.sampled_from([1, 5, 200]),
    n_boosted_untreated=st.sampled_from([0, 3]),
    share=st.sampled_from([0.0, 0.3, 1.0]),
    odd_traits=st.lists(st.sampled_from([0.0, 40.0, -1.0, float("nan")]), max_size=2),
)
def test_job_finding_with_programmes_is_the_plain_expression(
    stepped: Population,
    seed: int,
    boosts: list[float],
    n_treated: int,
    n_boosted_untreated: int,
    share: float,
    odd_traits: list[float],
) -> None:
    """Job finding when programmes boost some residents (treated or not, lock-ins, displacement
    of either sign, malformed boosts and traits), computed among the boosted, the treated and
    the few draws below a bound: the seekers of the plain expression over every seeker."""
    pop = copy.deepcopy(stepped)
    pop.params = dataclasses.replace(pop.params, displacement_share=share)
    rng = np.random.default_rng(seed)
    seekers = pop._confirmed_unemployed()
    chosen = rng.choice(seekers, n_treated + n_boosted_untreated, replace=False)
    pop.treated[chosen[:n_treated]] = True
    pop.job_boost[chosen] = np.array(boosts, dtype=np.float32)[
        rng.integers(0, len(boosts), len(chosen))
    ]
    if odd_traits:
        pop.trait_multiplier = pop.trait_multiplier.copy()
        pop.trait_multiplier[rng.choice(pop.n, len(odd_traits), replace=False)] = odd_traits
    scale = MonthlyDraws.SCALE
    with np.errstate(all="ignore"):
        hazard = pop.group_rate[_plain_group(pop, seekers)] * pop.trait_multiplier[seekers]
        hazard = hazard + pop.job_boost[seekers] - _plain_displacement(pop, seekers)
        # Draws at and next to each seeker's threshold, where a shortcut may be off by one.
        edge = np.ceil(hazard * scale) + rng.integers(-1, 2, len(seekers))
    draw = rng.integers(0, 1 << 16, len(seekers), dtype=np.uint16)
    at_edge = (rng.random(len(seekers)) < 0.5) & (edge >= 0) & (edge < scale)
    draw[at_edge] = edge[at_edge]
    with np.errstate(all="ignore"):
        expected = draw < hazard * scale
        np.testing.assert_array_equal(pop._job_finds(seekers, draw), expected)
        np.testing.assert_array_equal(
            pop._displacement_penalty(seekers), _plain_displacement(pop, seekers)
        )


def test_jobs_taken_outside_the_labour_step_are_new_jobs(city: City) -> None:
    """Residents put in a job from outside (not found in a labour step) with a short spell are
    in their first months of a job for the next months, as in a population deriving everything
    afresh: the recent spells no longer take the hires of the labour steps for all of them."""
    model = CityModel(city, seed=6, months=30, resident_agents=False)
    for _ in range(8):
        model.step()
    pop = model.population
    recent = np.flatnonzero(~pop.employed & (pop.duration < 3))
    assert len(recent) > 10
    pop.employed[recent] = True
    _step_alike(pop, range(9, 14))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    boost=st.sampled_from([0.0, 0.3, 1.0]),
    months=st.integers(1, 4),
    odd_trait=st.sampled_from([None, 50.0, -1.0, float("nan")]),
)
def test_kept_trait_range_holds_every_trait_after_french_steps(
    stepped: Population, seed: int, boost: float, months: int, odd_trait: float | None
) -> None:
    """The range of the traits kept from month to month and widened by French progression holds
    every resident's trait (a NaN trait makes it NaN), and is the exact range once derived
    afresh."""
    pop = copy.deepcopy(stepped)
    rng = np.random.default_rng(seed)
    if odd_trait is not None:
        pop.trait_multiplier = pop.trait_multiplier.copy()
        pop.trait_multiplier[rng.integers(pop.n)] = odd_trait
    pop._trait_range()
    pop.french_boost[:] = np.float32(boost)
    for month in range(months):
        pop.french_step(20 + month, pop.draw(20 + month))
        low, high = pop._trait_range()
        traits = pop.trait_multiplier
        if np.isnan(traits).any():
            assert np.isnan(low) or np.isnan(high)
        else:
            # A range made NaN by a trait since overwritten stays NaN: it then bounds nothing,
            # and job finding computes every hazard (slower, never wrong) until derived afresh.
            assert np.isnan(low) or low <= traits.min()
            assert np.isnan(high) or traits.max() <= high
    pop.forget_derived()
    with np.errstate(invalid="ignore"):
        exact = np.array([pop.trait_multiplier.min(), pop.trait_multiplier.max()], np.float32)
    np.testing.assert_array_equal(pop._trait_range(), exact)


def test_kept_hazard_bounds_follow_the_calibration(stepped: Population) -> None:
    """The bounds of the territory hazards in draw units kept between months are those of the
    hazards the calibration set last."""
    pop = copy.deepcopy(stepped)
    for churn in (0.01, 0.3, 2.0, float("nan")):
        pop.churn = np.full(pop.n_territories, churn, dtype=np.float32)
        pop._refresh_per_resident()
        for _ in range(2):
            assert pop._territory_hazard_bound("_churn_scaled") == _integer_bound(pop._churn_scaled)


#: A month's inputs of the job-finding bound: group rates (float32, or the same values in
#: float64), traits (a new array, hence a new range) and the displacement taken off.
BOUND_MONTHS = st.lists(
    st.tuples(
        st.sampled_from(
            [None, [0.05, 0.03, 0.01, 0.0], [0.2, 0.0, -0.1, 0.0], [0.1, float("nan"), 0, 0]]
        ),
        st.booleans(),
        st.sampled_from([None, [0.5, 2.0], [0.0, 40.0], [-1.0, 1.0], [float("nan"), 1.0]]),
        st.sampled_from([0.0, -0.0, 0.01, -0.02, float("nan"), np.float32(-0.02)]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(months=BOUND_MONTHS)
def test_kept_job_finding_bound_is_the_hazard_bound_of_the_month(
    months: list[tuple[list[float] | None, bool, list[float] | None, float]],
) -> None:
    """The job-finding bound kept from month to month is ``_hazard_bound`` of this month's
    group rates, range of the traits and displacement, whatever changed since."""
    pop = Population.__new__(Population)
    pop.group_rate = np.array([0.05, 0.03, 0.01, 0.0], dtype=np.float32)
    pop.trait_multiplier = np.linspace(0.3, 2.1, 50, dtype=np.float32)
    for rates, wide, traits, minus in months:
        if rates is not None:
            pop.group_rate = np.array(rates, dtype=np.float64 if wide else np.float32)
        if traits is not None:
            pop.trait_multiplier = np.array(traits, dtype=np.float32)
        expected = _hazard_bound(pop.group_rate, pop._trait_range(), minus)
        for _ in range(2):  # derived, then kept
            assert pop._job_finding_bound(minus) == expected


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    boosts=st.lists(st.sampled_from([0.0, 0.1, 0.6, 1.0, -0.2, float("nan")]), max_size=3),
    progress=st.sampled_from([0.0, 0.004, 0.05, 1.0]),
)
def test_french_progress_is_the_plain_expression(
    stepped: Population, seed: int, boosts: list[float], progress: float
) -> None:
    """French progression, whatever the boosts (NaN included) and rates: the levels, traits and
    A1 dates of the plain expression over every learner, the new traits written once."""
    pop = copy.deepcopy(stepped)
    pop.params = dataclasses.replace(pop.params, french_progress_none_per_month=progress)
    rng = np.random.default_rng(seed)
    learners = np.flatnonzero(pop.french < FRENCH_A2)
    boosted = rng.choice(learners, len(boosts) * 30, replace=False)
    pop.french_boost[boosted] = np.repeat(np.array(boosts, dtype=np.float32), 30)
    scale = MonthlyDraws.SCALE
    draws = pop.draw(20)
    rates = np.array(
        [pop.params.french_progress_none_per_month, pop.params.french_progress_a1_per_month],
        dtype=np.float32,
    )
    with np.errstate(all="ignore"):
        rate = rates[pop.french[learners]] + pop.french_boost[learners]
        edge = np.ceil(rate * scale) + rng.integers(-1, 2, len(learners))
    at_edge = (rng.random(len(learners)) < 0.5) & (edge >= 0) & (edge < scale)
    draws.french[learners[at_edge]] = edge[at_edge]
    with np.errstate(all="ignore"):
        moved = learners[draws.french[learners] < rate * scale]
    expected = pop.french.copy()
    expected[moved] += 1
    pop.french_step(20, draws)
    np.testing.assert_array_equal(pop.french, expected)
    traits = pop.barrier_multiplier * pop.french_factor()
    np.testing.assert_array_equal(pop.trait_multiplier[moved], traits[moved])
