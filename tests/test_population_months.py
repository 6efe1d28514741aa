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
    with pytest.raises(UserInputError, match="out of range"):
        Population(generate_city(3, 600, seed=1), ModelParams(**overrides), 2)
