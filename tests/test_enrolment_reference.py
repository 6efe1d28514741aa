"""Two enrolment shortcuts of the speed round against the plain expressions they stand for, bit
for bit, on random actions and residents' states in a small real city: each action's score of
its applicants (``Delivery._preference``, against its body before the speed round) and every
(open action, applicant) pair (``Delivery._applications``, against each served territory's
applicants picked one by one). The golden fingerprints only catch a change on the cases a run
happens to reach; these reach the rest (empty actions between ranked ones, every policy and
creaming degree, targets, unsorted territories)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from helpers import toy_action
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.actions import SELECTION_POLICIES, Action, ActionSpec, Enrolment, Target
from sim.delivery.delivery import (
    CREAMING,
    FIRST_COME,
    NEEDIEST_FIRST,
    TIE_BREAK,
    ActionTable,
    Delivery,
    _group_ranks,
)
from sim.delivery.needs import all_needs
from sim.world.params import FRENCH_NONE, ModelParams
from sim.world.population import Population
from sim.world.territory import generate_city

MONTH = 1
TERRITORIES = 3


@pytest.fixture(scope="module")
def pop() -> Population:
    """3 territories (one QPV), 4,000 residents: hundreds in need of employment support, tens of
    rights, so pools range from empty to large."""
    pop = Population(
        generate_city(TERRITORIES, 4_000, seed=8, qpv_share=0.4), ModelParams(), seed=4
    )
    # A pool is cut into territories at their first rows: a resident there in need is what shows
    # a cut one row off (this population's seed was chosen for it).
    first_rows = pop.territory_bounds()[1:-1]
    assert np.isin(first_rows, all_needs()[0].in_need_rows(pop)).any()
    return pop


def _spec(
    specialty: int,
    selection: int,
    creaming: float,
    territories: tuple[int, ...] = (0,),
    target: Target | None = None,
) -> ActionSpec:
    return toy_action(
        specialty=all_needs()[specialty].specialty,
        territories=territories,
        selection=SELECTION_POLICIES[selection],
        creaming_degree=creaming,
        target=target or Target(),
    )


def _delivery(pop: Population, specs: list[ActionSpec], seed: int) -> Delivery:
    """A delivery of ``specs`` built as a run builds it, so its table is the real one."""
    delivery = Delivery(pop, Enrolment(pop.n), np.random.default_rng(seed))
    for index, spec in enumerate(specs):
        delivery.add(Action(index, spec, seed))
    return delivery


def _reference_preference(
    t: ActionTable,
    pop: Population,
    rng: np.random.Generator,
    action: np.ndarray,
    resident: np.ndarray,
) -> np.ndarray:
    """``Delivery._preference`` as it was before the speed round (rows gathered one by one, no
    run structure assumed)."""
    noise = rng.random(len(action))
    ranked = np.flatnonzero(((t.selection != FIRST_COME) | (t.creaming > 0))[action])
    if len(ranked) == 0:
        return noise
    action, resident = action[ranked], resident[ranked]
    selection, creaming = t.selection[action], t.creaming[action]
    readiness = np.zeros(len(ranked))
    specialty = t.specialty[action]
    for need in all_needs():
        mine = specialty == need.index
        if mine.any():
            readiness[mine] = need.readiness(pop, resident[mine])
    tie = TIE_BREAK * noise[ranked]
    base = np.where(
        selection == NEEDIEST_FIRST,
        -readiness + tie,
        np.where(selection == CREAMING, readiness + tie, noise[ranked]),
    )
    tilted = creaming > 0
    if tilted.any():
        blended = (1 - creaming) * _group_ranks(base, action) + creaming * _group_ranks(
            readiness + tie, action
        )
        base = np.where(tilted, blended, base)
    score = noise.copy()
    score[ranked] = base
    return score


def _assert_same_bits(new: np.ndarray, reference: np.ndarray) -> None:
    # array_equal alone would take -0.0 for 0.0: the rank keys built on scores need the bits.
    assert new.dtype == reference.dtype == np.float64
    assert np.array_equal(new, reference)
    assert np.array_equal(new.view(np.uint64), reference.view(np.uint64))


_selection = st.sampled_from((FIRST_COME, NEEDIEST_FIRST, CREAMING))
# Creaming degree 0 (no tilt) half the time: the untilted and tilted paths both need cases.
_creaming = st.one_of(st.just(0.0), st.floats(0.0, 1.0, exclude_min=True))
_specialty = st.integers(0, len(all_needs()) - 1)


@st.composite
def _ranked_actions(draw: st.DrawFn) -> tuple[list[ActionSpec], list[int], bool, int]:
    """Actions of every policy, creaming degree and need, and their numbers of applicants (many
    zero: actions with no applicant between ranked ones, and at the end); whether applicants
    may repeat; a seed."""
    size = draw(st.integers(1, 8))
    specs = [_spec(draw(_specialty), draw(_selection), draw(_creaming)) for _ in range(size)]
    counts = draw(st.lists(st.one_of(st.just(0), st.integers(1, 90)), min_size=size, max_size=size))
    return specs, counts, draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None)
@given(_ranked_actions())
def test_preference_is_the_plain_scoring(
    pop: Population, case: tuple[list[ActionSpec], list[int], bool, int]
) -> None:
    """With the same generator, ``_preference`` gives each row the score the pre-speed-round
    scoring gives (float64, bit for bit) and draws the same numbers, for applicants' rows as runs
    of increasing actions (its precondition) of residents in need of the action's need."""
    specs, counts, repeats, seed = case
    delivery = _delivery(pop, specs, seed)
    t = delivery.table
    picks = np.random.default_rng(seed)
    in_need = [need.in_need_rows(pop) for need in all_needs()]
    # Distinct residents seldom tie in readiness; a resident applying twice to an action is a
    # tie for sure, which the blended ranks must break the same way (by the tie-break draw).
    residents = [
        np.sort(picks.choice(in_need[t.specialty[a]], size=count, replace=repeats))
        for a, count in enumerate(counts)
    ]
    action = np.repeat(np.arange(len(specs)), counts)
    resident = np.concatenate(residents)
    reference_rng = copy.deepcopy(delivery.rng)
    new = delivery._preference(action, resident)
    _assert_same_bits(new, _reference_preference(t, pop, reference_rng, action, resident))
    assert delivery.rng.bit_generator.state == reference_rng.bit_generator.state


def _reference_applications(
    delivery: Delivery, open_actions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every (action, applicant) pair by its definition: the pool of a need is who is in need,
    aware, not served in it before and in no action now; each open action takes, for each
    territory it serves in the order it lists them, the pool's residents of that territory in
    increasing order, within its targets."""
    t, pop, enr = delivery.table, delivery.pop, delivery.enrolment
    pools = []
    for s in range(len(all_needs())):
        in_need = enr.need_rows(pop, s, MONTH)
        aware = enr.aware[s][in_need]
        participated = enr.participated[s][in_need]
        action = enr.action[in_need]
        pools.append(in_need[aware & ~participated & (action < 0)])
    actions, residents = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for a, territory in zip(t.served_action.tolist(), t.served_territory.tolist(), strict=True):
        if not open_actions[a]:
            continue
        pool = pools[t.specialty[a]]
        here = pool[pop.territory[pool] == territory]
        if t.rsa_only[a]:
            here = here[pop.rsa_eligible[here]]
        if t.long_term_only[a]:
            long_term = ~pop.employed[here] & (pop.duration[here] >= pop.params.long_term_months)
            here = here[long_term]
        if t.non_french_only[a]:
            here = here[pop.french[here] == FRENCH_NONE]
        actions.append(np.full(len(here), a, dtype=np.int64))
        residents.append(here)
    return np.concatenate(actions), np.concatenate(residents)


# Shares of residents: the extremes (no pool, everyone aware or free) and between; aware mostly
# high and served before or busy mostly low, so that most cases have applicants.
_aware = st.sampled_from((0.9, 0.5, 1.0, 0.1, 0.0))
_taken = st.sampled_from((0.1, 0.0, 0.5, 0.9, 1.0))
# A target a quarter of the time: all four at once would leave almost no one.
_targeted = st.sampled_from((False, False, False, True))


@st.composite
def _served_actions(draw: st.DrawFn) -> tuple[list[ActionSpec], list[bool], tuple[float, ...]]:
    """Actions of any need serving any territories in any order, with or without targets (QPV
    only among them); which are open; the shares of residents aware, served before and busy."""
    size = draw(st.integers(1, 6))
    specs = []
    for _ in range(size):
        territories = draw(
            st.lists(st.integers(0, TERRITORIES - 1), min_size=1, max_size=3, unique=True)
        )
        target = Target(
            rsa_only=draw(_targeted),
            long_term_only=draw(_targeted),
            qpv_only=draw(_targeted),
            non_french_only=draw(_targeted),
        )
        plain = draw(st.booleans())  # half the actions with no target at all
        specs.append(
            _spec(
                draw(_specialty),
                draw(_selection),
                draw(_creaming),
                territories=tuple(territories),
                target=None if plain else target,
            )
        )
    open_actions = draw(
        st.lists(st.sampled_from((True, True, False)), min_size=size, max_size=size)
    )
    return specs, open_actions, (draw(_aware), draw(_taken), draw(_taken))


@settings(max_examples=200, deadline=None)
@given(_served_actions(), st.integers(0, 2**32 - 1))
def test_applications_are_the_pools_of_the_served_territories(
    pop: Population,
    case: tuple[list[ActionSpec], list[bool], tuple[float, ...]],
    seed: int,
) -> None:
    """``_applications`` pairs each open action with exactly its applicants, in the order of
    the plain construction, whatever share of residents is aware, served before or busy in an
    action; its scores are the plain scoring's of those rows with the same generator."""
    specs, open_list, (aware, served, busy) = case
    delivery = _delivery(pop, specs, seed)
    enr, state = delivery.enrolment, np.random.default_rng(seed)
    enr.aware[:] = state.random(enr.aware.shape) < aware
    enr.participated[:] = state.random(enr.participated.shape) < served
    current = state.integers(0, len(specs), pop.n)
    enr.action[:] = np.where(state.random(pop.n) < busy, current, -1)
    open_actions = np.array(open_list)
    action, resident = _reference_applications(delivery, open_actions)
    reference_rng = copy.deepcopy(delivery.rng)
    ranked = delivery._applications(open_actions, MONTH)
    assert np.array_equal(ranked.action, action)
    assert np.array_equal(ranked.resident, resident)
    assert ranked.action.dtype == ranked.resident.dtype == np.int64
    scores = _reference_preference(delivery.table, pop, reference_rng, action, resident)
    _assert_same_bits(ranked.score, scores)
