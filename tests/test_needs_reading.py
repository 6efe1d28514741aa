"""Needs read the fast way, against the plain way: a need's outcomes read on a live population
are those read on its outcome arrays, and the rights need is the eligible who do not claim."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.needs import RIGHTS_NEED, all_needs, outcome_arrays
from sim.simulation.model import CityModel


def test_outcomes_read_on_the_population_are_those_of_its_arrays() -> None:
    model = CityModel("demo", seed=2, months=30, resident_agents=False)
    model.run()
    pop = model.population
    rows = np.arange(0, pop.n, 3)
    start = np.random.default_rng(0).integers(0, 30, len(rows))
    arrays = outcome_arrays(pop)
    for need in all_needs():
        between = need.outcomes_between(pop, rows, start, 25)
        assert np.array_equal(between, need.outcomes_between(arrays, rows, start, 25))
        first = need.first_outcome_from(pop, rows, start)
        assert np.array_equal(first, need.first_outcome_from(arrays, rows, start))
        assert between.any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_rights_need_is_the_eligible_who_do_not_claim(seed: int) -> None:
    pop = CityModel("demo", seed=1, months=12, resident_agents=False).population
    rng = np.random.default_rng(seed)
    pop.rsa_eligible[:] = rng.random(pop.n) < 0.5
    pop.rsa_claimed[:] = rng.random(pop.n) < 0.5  # claims without rights too: any pair
    rows = np.flatnonzero(rng.random(pop.n) < 0.5)
    plain = pop.rsa_eligible[rows] & ~pop.rsa_claimed[rows]
    assert np.array_equal(RIGHTS_NEED.in_need(pop, rows), plain)
    assert RIGHTS_NEED.in_need(pop, rows).dtype == bool
