"""The population's build: shortcuts taken for large cities give exactly the figures of the
direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from sim.world.params import ModelParams
from sim.world.population import MonthlyDraws, Population, _segment_counts
from sim.world.territory import generate_city


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_segment_counts_are_the_bincount_of_each_items_segment(seed: int) -> None:
    """Counting per segment of a sorted index gives the counts of a bincount of each item's
    segment, empty segments (first, inner, last) included."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 5, 30)
    sizes[[0, -1]] = 0
    segment = np.repeat(np.arange(len(sizes)), sizes)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    mask = rng.random(len(segment)) < 0.4
    expected = np.bincount(segment[mask], minlength=len(sizes))
    counts = _segment_counts(mask, bounds)
    assert counts.dtype == np.int64
    assert np.array_equal(counts, expected)


def test_segment_counts_of_nothing_are_zeros() -> None:
    """No item at all: every segment counts zero."""
    counts = _segment_counts(np.zeros(0, dtype=bool), np.zeros(4, dtype=np.int64))
    assert np.array_equal(counts, np.zeros(3, dtype=np.int64))


def test_hazards_in_draw_units_are_the_per_resident_hazards_scaled() -> None:
    """The hazards in the units of the 16-bit draws, scaled per territory before being spread
    to the residents, are the residents' hazards scaled: the same float32 numbers."""
    population = Population(generate_city(7, 3_000, seed=5), ModelParams(warmup_months=12), 4)
    scale = np.float32(MonthlyDraws.SCALE)
    pairs = {
        "separation_established_scaled": population.separation_established,
        "churn_scaled": population.churn,
        "rsa_entry_scaled": population.rsa_entry,
        "contact_rate_scaled": population.contact_rate_by_territory,
    }
    for name, per_territory in pairs.items():
        scaled = getattr(population, name)
        assert scaled.dtype == np.float32, name
        assert np.array_equal(scaled, population.per_resident(per_territory) * scale), name
