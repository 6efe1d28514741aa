"""Durations are counted in 16-bit months: a population whose drawn spells and warm-up would not
fit is refused rather than left to wrap around."""

from __future__ import annotations

import pytest

from sim.errors import UserInputError
from sim.world.params import ModelParams
from sim.world.population import MONTHS, Population
from sim.world.territory import generate_city


def test_durations_are_months() -> None:
    population = Population(generate_city(3, 600, seed=1), ModelParams(warmup_months=6), 2)
    assert population.duration.dtype == MONTHS


@pytest.mark.parametrize(
    "overrides",
    [{"long_term_months": 8_192, "warmup_months": 0}, {"warmup_months": 32_700}],
)
def test_durations_beyond_16_bits_are_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(UserInputError, match="more than the 32767 a run can hold"):
        Population(generate_city(3, 600, seed=1), ModelParams(**overrides), 2)


def test_a_horizon_beyond_16_bits_is_refused_before_the_city_is_built() -> None:
    """The months simulated lengthen durations too: a horizon that would overflow them is
    refused when the model is made, whatever the warm-up."""
    from sim.simulation.model import CityModel

    with pytest.raises(UserInputError, match="months simulated"):
        CityModel("demo", seed=1, months=32_000, follow_up_months=700, resident_agents=False)
