"""The one-pass monthly delivery of every action: the matching of applicants to actions equals
serving the actions one by one in launch order; comparison matching done for many actions at
once equals matching each alone; boosts and counters stay consistent month after month."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.delivery import SHORTLIST_MARGIN, RankedPairs, _deferred_acceptance, _rank_key
from sim.funding.evaluation import (
    DURATION_BANDS_MONTHS,
    MatchingGroups,
    match_comparisons,
    match_within_groups,
)
from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.territory import City, generate_city


def _one_by_one(action: np.ndarray, resident: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Reference: actions in launch order, each taking its best applicants not yet taken."""
    taken: set[int] = set()
    accepted = np.zeros(len(action), dtype=bool)
    for k in range(len(wanted)):
        room = int(wanted[k])
        for i in np.flatnonzero(action == k):
            if room == 0:
                break
            if int(resident[i]) not in taken:
                taken.add(int(resident[i]))
                accepted[i] = True
                room -= 1
    return accepted


#: Scores of the drawn applications: ties, neighbours that share a key (0.5 and the next float;
#: every score from 1e16 up has the key of the action's index), far apart ones, and those whose
#: spread cannot be cut in bins (infinite, wider than the largest float, narrower than the
#: smallest; the shortlist then sorts every row).
_SCORES = (
    *(-1e20, -1.0, 0.0, 0.25, 0.5, float(np.nextafter(0.5, 1.0)), 0.999, 1.0, 1e16, 1e17, 1e20),
    *(-np.inf, np.inf, -1e308, 1e308, 5e-324),
)


@st.composite
def _applications(draw: st.DrawFn) -> tuple[RankedPairs, np.ndarray]:
    """Pairs grouped by action, each with a score drawn from few values (ties and shared keys are
    common), as the rows of a month's applications."""
    actions = draw(st.integers(1, 6))
    residents = draw(st.integers(1, 12))
    wanted = np.array(draw(st.lists(st.integers(0, 5), min_size=actions, max_size=actions)))
    pairs = []
    for k in range(actions):
        applicants = draw(st.lists(st.integers(0, residents - 1), unique=True, max_size=residents))
        scores = draw(
            st.lists(st.sampled_from(_SCORES), min_size=len(applicants), max_size=len(applicants))
        )
        pairs += [(k, r, p) for r, p in zip(applicants, scores, strict=True)]
    action = np.array([p[0] for p in pairs], dtype=np.int64)
    resident = np.array([p[1] for p in pairs], dtype=np.int64)
    score = np.array([p[2] for p in pairs], dtype=np.float64)
    return RankedPairs(action, resident, score), wanted


@settings(max_examples=300, deadline=None)
@given(_applications())
def test_deferred_acceptance_is_serving_actions_one_by_one(
    case: tuple[RankedPairs, np.ndarray],
) -> None:
    """All at once, the matching is the one of actions served one by one in launch order, each
    taking its applicants in the order of a stable sort of their rank keys, whether it is made on
    shortlists (short ones: the matching often has to go back to the whole lists) or on the
    whole lists; and the shortlists are the first rows of that sort, found from the scores."""
    ranked, wanted = case
    scratch = np.empty(12, dtype=np.int64)
    ordered = ranked.ordered()
    expected = _one_by_one(ordered.action, ordered.resident, wanted)
    for margin in (0, 1, SHORTLIST_MARGIN, 100):
        accepted = _deferred_acceptance(ranked, wanted, scratch, margin)
        assert np.array_equal(accepted.action, ordered.action[expected]), margin
        assert np.array_equal(accepted.resident, ordered.resident[expected]), margin
        count = 2 * wanted + margin
        best, _ = ranked.best(count)
        rank = np.arange(len(ordered)) - ordered.first_of_action()
        first = rank < count[ordered.action]
        assert np.array_equal(best.action, ordered.action[first])
        assert np.array_equal(best.resident, ordered.resident[first])


def test_a_shortlist_takes_a_row_with_a_lower_score_and_the_same_key_that_comes_first() -> None:
    """Scores of 1e16 and 1e17 share their rank key: the first row in the order is the first of
    them, though the second scores higher and alone would be in the best bin."""
    ranked = RankedPairs(
        np.zeros(3, np.int64), np.arange(3), np.array([1e16, 1e17, 0.0], dtype=np.float64)
    )
    best, listed = ranked.best(np.array([1]))
    assert best.resident.tolist() == [0]
    assert listed.tolist() == [3]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(0, 40))
def test_shortlists_of_many_applicants_are_the_first_rows_in_order(
    seed: int, actions: int, margin: int
) -> None:
    """With up to hundreds of applicants an action, as in a month of a city, and scores drawn
    by chance, from a coarse readiness (many ties) or over many scales (keys shared), each
    action's shortlist is the first rows of the whole sort."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 400, actions)
    action = np.repeat(np.arange(actions), rows)
    kind = rng.integers(0, 3, actions)[action]
    chance = rng.random(len(action))
    coarse = np.round(rng.normal(0.0, 0.3, len(action)), 2)
    spread = rng.standard_cauchy(len(action)) * 10.0 ** rng.integers(-3, 18, len(action))
    score = np.select([kind == 0, kind == 1], [chance, coarse], spread)
    ranked = RankedPairs(action, np.arange(len(action)), score)
    count = rng.integers(0, 60, actions) + margin
    best, listed = ranked.best(count)
    ordered = ranked.ordered()
    first = np.arange(len(ordered)) - ordered.first_of_action() < count[ordered.action]
    assert np.array_equal(best.action, ordered.action[first])
    assert np.array_equal(best.resident, ordered.resident[first])
    assert np.array_equal(listed, rows)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=200),
    st.data(),
)
def test_rank_keys_of_some_rows_are_their_keys_among_all(
    scores: list[float], data: st.DataObject
) -> None:
    """A shortlist's keys, computed on its rows alone, are the keys those rows have when every
    row's is computed (arctan is computed element by element, whatever the array)."""
    score = np.array(scores, dtype=np.float64)
    action = np.arange(len(score)) % 7
    rows = np.array(
        data.draw(st.lists(st.integers(0, len(score) - 1), max_size=len(score))), dtype=np.int64
    )
    every = _rank_key(action, score.copy())
    assert np.array_equal(_rank_key(action[rows], score[rows]), every[rows])


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(4, 8_000, seed=3, qpv_share=0.5)


def test_matching_many_groups_at_once_equals_matching_each_alone(city: City) -> None:
    """Comparison matching of several actions in one pass gives each participant the match it
    would get with its own action's pool alone (with and without the same-territory level)."""
    pop = Population(city, ModelParams(), seed=5)
    rng = np.random.default_rng(0)
    observed = pop.barrier + rng.normal(0, 0.2, pop.n).astype(np.float32)
    unemployed = np.flatnonzero(~pop.employed)
    groups = []
    for size in (1, 7, 40, 3):
        rows = rng.choice(unemployed, size=size + 20 * size, replace=False)
        groups.append((rows[:size], rows[size:]))
    groups.append((rng.choice(unemployed, 5, replace=False), np.empty(0, np.int64)))
    local = np.array([False, True, False, True, False])
    participants = MatchingGroups(
        np.concatenate([g[0] for g in groups]),
        np.repeat(np.arange(len(groups)), [len(g[0]) for g in groups]),
    )
    pool = MatchingGroups(
        np.concatenate([g[1] for g in groups]),
        np.repeat(np.arange(len(groups)), [len(g[1]) for g in groups]),
    )
    together = match_within_groups(pop, participants, pool, observed, local)
    alone = np.concatenate(
        [
            match_comparisons(pop, p, q, observed, same_territory=bool(same))
            for (p, q), same in zip(groups, local, strict=True)
        ]
    )
    assert np.array_equal(together, alone)
    assert (together[participants.group == 4] == -1).all()  # an empty pool matches no one


def _nearest_reference(
    values: np.ndarray, candidates: np.ndarray, observed: np.ndarray
) -> np.ndarray:
    """The per-cell nearest neighbour of the earlier, one-action-at-a-time matching."""
    order = np.argsort(observed[candidates], kind="stable")
    ordered = observed[candidates][order]
    if len(ordered) == 1:
        return np.asarray(candidates[order][np.zeros(len(values), dtype=np.int64)])
    position = np.clip(np.searchsorted(ordered, values), 1, len(ordered) - 1)
    left, right = ordered[position - 1], ordered[position]
    position = np.where(np.abs(values - left) <= np.abs(values - right), position - 1, position)
    return np.asarray(candidates[order][position])


def _match_reference(
    pop: Population, participants: np.ndarray, pool: np.ndarray, observed: np.ndarray
) -> np.ndarray:
    band = np.searchsorted(DURATION_BANDS_MONTHS, pop.duration, side="right")
    hazard = pop.hazard_group().astype(np.int64)
    cell = (hazard * 3 + pop.french) * 4 + band
    matches = np.full(len(participants), -1, dtype=np.int64)
    for key in (cell, hazard, np.zeros(pop.n, np.int64)):
        for value in np.unique(key[participants][matches < 0]):
            wanted = np.flatnonzero((key[participants] == value) & (matches < 0))
            candidates = pool[key[pool] == value]
            if len(candidates):
                matches[wanted] = _nearest_reference(
                    observed[participants[wanted]], candidates, observed
                )
    return matches


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_matching_equals_matching_cell_by_cell(city: City, seed: int) -> None:
    """The one-pass matching gives what matching cell by cell, coarser cell when empty, gives
    (ties in the observed score included: scores rounded to 2 decimals)."""
    pop = Population(city, ModelParams(), seed=seed)
    observed = np.round(pop.barrier, 2)
    unemployed = np.flatnonzero(~pop.employed)
    participants, pool = unemployed[:80], unemployed[80:300]
    matches = match_comparisons(pop, participants, pool, observed)
    assert np.array_equal(matches, _match_reference(pop, participants, pool, observed))


def test_boosts_counters_and_enrolment_stay_consistent_month_after_month(city: City) -> None:
    """Each month: boosts are exactly what participants and lasting effects give (zero
    elsewhere), ``treated`` is where the job boost is not zero, every participant is in one
    enrolling or running action, and joiners = completions + drop-outs + still enrolled."""
    mechanism = make_mechanism("planned", budget_eur_per_year=3_000_000.0)
    model = CityModel(city, seed=2, months=30, mechanism=mechanism, resident_agents=False)
    pop, enr = model.population, model.enrolment
    for _ in range(30):
        model.step()
        month = model.month
        expected_job = np.where(enr.post_until >= month, enr.post_job_boost, np.float32(0))
        enrolled = enr.action >= 0
        outside = ~enrolled & (enr.post_until < month)
        assert (pop.job_boost[outside] == 0).all()
        assert (pop.french_boost[~enrolled] == 0).all()
        assert (pop.takeup_boost[~enrolled] == 0).all()
        assert np.array_equal(pop.job_boost[~enrolled], expected_job[~enrolled])
        assert np.array_equal(pop.treated, pop.job_boost != 0)
        joined = sum(len(a.enrolled) for a in model.actions)
        left = sum(a.completions + a.dropouts for a in model.actions)
        assert joined == left + int(enrolled.sum())
    assert sum(a.participant_months for a in model.actions) > 0
    counts = np.bincount(enr.action[enr.action >= 0], minlength=len(model.actions))
    places = np.array([a.spec.places for a in model.actions])
    assert (counts <= places).all()


def test_register_samples_are_residents_in_need_of_the_comparison_territories(city: City) -> None:
    """Whether a sampler's register is small (taken whole) or large (sampled), every resident
    it draws is in need, not yet served, and lives in one of its comparison territories; a
    small register is taken whole."""
    from helpers import toy_action

    from sim.delivery.actions import Action, Enrolment
    from sim.funding.evaluation import ComparisonSampler, _register_samples
    from sim.world.rng import Stream, stream

    pop = Population(city, ModelParams(), seed=4)
    enr = Enrolment(pop.n)
    spec = toy_action()
    joined = []
    for index, territories in enumerate([(1, 2), (3,)]):
        sampler = ComparisonSampler(pop.barrier, stream(4, Stream.COMPARISON))
        sampler.territories, sampler.source = territories, "unserved_territories"
        action = Action(index, spec, 4)
        joined.append((sampler, action, np.arange(3)))
    in_need = enr.in_need_anywhere(pop, 0, month=1)
    register_sizes = [np.isin(pop.territory[in_need], t).sum() for t in [(1, 2), (3,)]]
    sizes = np.array([10, 10 * max(register_sizes)])  # the first sampled, the second whole
    facts = [sampler.facts(action, pop, enr) for sampler, action, _ in joined]
    sample = _register_samples(facts, sizes, joined[0][0].rng, pop, enr, 1)
    for index, (sampler, _, _) in enumerate(joined):
        rows = sample.rows[sample.group == index]
        assert len(rows) > 0
        assert np.isin(rows, in_need).all()
        assert np.isin(pop.territory[rows], sampler.territories).all()
    whole = sample.rows[sample.group == 1]
    assert np.array_equal(whole, in_need[pop.territory[in_need] == 3])


@given(st.lists(st.integers(-5, 5), max_size=30))
def test_distinct_is_numpy_unique(values: list[int]) -> None:
    """The distinct values, sorted, as ``np.unique`` gives them (empty input included)."""
    from sim.delivery.groups import distinct

    array = np.array(values, dtype=np.int64)
    assert np.array_equal(distinct(array), np.unique(array))


@given(st.lists(st.integers(-3, 2**33), max_size=40), st.sampled_from([0, 100, 70_000, 2**32]))
def test_stable_argsort_is_numpys(values: list[int], ceiling: int) -> None:
    """The order of ``np.argsort(kind="stable")``, ties in row order, for keys of any width."""
    from sim.delivery.groups import stable_argsort

    keys = np.array(values, dtype=np.int64)
    if ceiling:
        keys = np.abs(keys) % ceiling
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


@given(
    st.lists(
        st.floats(width=32, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.5, -1.5]),
        max_size=40,
    )
)
def test_stable_argsort_of_floats_is_numpys(values: list[float]) -> None:
    """32-bit floats (infinities, -0 and +0 included) sort as numpy sorts them, stably."""
    from sim.delivery.groups import stable_argsort

    keys = np.array(values, dtype=np.float32)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


@given(st.lists(st.tuples(st.integers(-5, 50), st.integers(0, 4)), max_size=12))
def test_expand_ranges_lays_the_ranges_end_to_end(ranges: list[tuple[int, int]]) -> None:
    """Every range's positions, range after range (empty ranges and none included)."""
    from sim.world.runs import expand_ranges

    start = np.array([s for s, _ in ranges], dtype=np.int64)
    length = np.array([n for _, n in ranges], dtype=np.int64)
    expected = [p for s, n in ranges for p in range(s, s + n)]
    assert expand_ranges(start, length).tolist() == expected


@given(
    st.lists(st.tuples(st.integers(0, 5), st.booleans()), max_size=40),
    st.lists(st.integers(0, 6), min_size=6, max_size=6),
)
def test_first_in_groups_is_the_rank_within_groups(
    rows: list[tuple[int, bool]], wanted: list[int]
) -> None:
    """The first ``wanted`` members of each group (rows sorted by group, some groups empty)
    are those whose rank among their group's members is below ``wanted``."""
    from sim.delivery.groups import first_in_groups, first_of_group, rank_in_group

    rows = sorted(rows, key=lambda row: row[0])
    group = np.array([g for g, _ in rows], dtype=np.int64)
    member = np.array([m for _, m in rows], dtype=bool)
    want = np.array(wanted, dtype=np.int64)
    expected = member & (rank_in_group(member, first_of_group(group)) < want[group])
    assert np.array_equal(first_in_groups(member, group, want), expected)
