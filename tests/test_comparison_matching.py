"""Comparison matching of many groups in one pass, on whole-number keys, is the plain rule
applied participant by participant: in the finest cell with a candidate of its own group's
pool, the candidate of the nearest observed score, the lower one on a tie, the pool ordered by
score and then as given."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.funding.evaluation import DURATION_BANDS_MONTHS, MatchingGroups, match_within_groups
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.territory import generate_city


@functools.cache
def _population() -> Population:
    return Population(generate_city(3, 2_000, seed=5, qpv_share=0.5), ModelParams(), 6)


def _levels(pop: Population, local: bool) -> list[np.ndarray]:
    """Each resident's matching cell at each level, finest first."""
    band = np.searchsorted(DURATION_BANDS_MONTHS, pop.duration, side="right")
    hazard = pop.hazard_group().astype(np.int64)
    cell = (hazard * 3 + pop.french) * 4 + band
    levels = [cell, hazard, np.zeros(pop.n, np.int64)]
    return [cell * pop.n_territories + pop.territory, *levels] if local else levels


def _nearest(value: float, candidates: list[tuple[float, int, int]]) -> int:
    """The row of the candidate (score, position in the pool, row) nearest ``value`` among the
    two around the first one not below it (the last two above every score, the first two
    below), in increasing score then position; the lower on a tie."""
    ordered = sorted(candidates)
    if len(ordered) == 1:
        return ordered[0][2]
    above = [k for k, c in enumerate(ordered) if c[0] >= value]
    position = min(max(above[0] if above else len(ordered), 1), len(ordered) - 1)
    left, right = ordered[position - 1], ordered[position]
    return left[2] if abs(value - left[0]) <= abs(value - right[0]) else right[2]


def _one_by_one(
    pop: Population,
    participants: MatchingGroups,
    pool: MatchingGroups,
    observed: np.ndarray,
    local: np.ndarray,
) -> np.ndarray:
    matches = np.full(len(participants.rows), -1, dtype=np.int64)
    scores = observed.astype(np.float64)
    for i, (row, group) in enumerate(zip(participants.rows, participants.group, strict=True)):
        for level in _levels(pop, bool(local[group])):
            candidates = [
                (float(scores[q]), k, int(q))
                for k, (q, g) in enumerate(zip(pool.rows, pool.group, strict=True))
                if g == group and level[q] == level[row]
            ]
            if candidates:
                matches[i] = _nearest(float(scores[row]), candidates)
                break
    return matches


@st.composite
def _cases(draw: st.DrawFn) -> tuple[MatchingGroups, MatchingGroups, np.ndarray, np.ndarray]:
    n = _population().n
    groups = draw(st.integers(1, 4))
    resident = st.integers(0, n - 1)
    member = st.tuples(resident, st.integers(0, groups - 1))
    people = sorted(draw(st.lists(member, min_size=1, max_size=30)), key=lambda m: m[1])
    # Every group has a participant, as every group of a month's samplers does.
    people += [(draw(resident), g) for g in range(groups)]
    people.sort(key=lambda m: m[1])
    pool = sorted(draw(st.lists(member, max_size=80)), key=lambda m: m[1])
    # Few distinct scores (ties are common), zeros of both signs among them.
    scores = np.array([-0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5], dtype=np.float32)
    picks = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, len(scores), n)
    # 32-bit scores are ranked by their bits, others by a sort: both ways are checked.
    observed = scores[picks].astype(draw(st.sampled_from([np.float32, np.float64])))
    local = np.array(draw(st.lists(st.booleans(), min_size=groups, max_size=groups)))
    return (
        MatchingGroups(
            np.array([p[0] for p in people], np.int64), np.array([p[1] for p in people])
        ),
        MatchingGroups(
            np.array([p[0] for p in pool], np.int64),
            np.array([p[1] for p in pool], np.int64),
        ),
        observed,
        local,
    )


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_matching_in_one_pass_is_the_plain_rule_participant_by_participant(
    case: tuple[MatchingGroups, MatchingGroups, np.ndarray, np.ndarray],
) -> None:
    participants, pool, observed, local = case
    pop = _population()
    expected = _one_by_one(pop, participants, pool, observed, local)
    assert np.array_equal(match_within_groups(pop, participants, pool, observed, local), expected)
