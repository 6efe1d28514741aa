"""Shared fixtures: small cities that build in a fraction of a second."""

from __future__ import annotations

import pytest

from sim.world.territory import City, generate_city, load_city


@pytest.fixture(scope="session")
def demo_city() -> City:
    """The shipped demo city (12 territories, 30,000 residents)."""
    return load_city("demo")


@pytest.fixture(scope="session")
def small_city() -> City:
    """A generated city of 6 territories and 6,000 residents."""
    return generate_city(6, 6_000, seed=11, name="small")
