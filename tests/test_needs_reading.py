"""A need's outcomes read on a live population are those read on its outcome arrays."""

from __future__ import annotations

import numpy as np

from sim.delivery.needs import all_needs, outcome_arrays
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
