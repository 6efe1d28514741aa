"""Batch workers: no model outlives its run."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from helpers import TINY

from sim.experiments.batch import execute_task
from sim.experiments.scenario import parse_scenario
from sim.simulation.model import CityModel


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only explicit collections run (as in a worker between two rare automatic ones)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_collection")
def test_no_model_outlives_its_task() -> None:
    """A model is a cycle of references: the task frees each one when its run ends, instead of
    leaving its arrays to a collection that may come many runs later."""
    task = parse_scenario(TINY, source="tiny.toml").expand()[0]
    results = execute_task(task)
    assert [r.status for r in results] == ["done"] * 3
    assert not [o for o in gc.get_objects() if isinstance(o, CityModel)]
