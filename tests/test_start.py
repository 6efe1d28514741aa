"""One city start per replication: runs that copy a shared start give, bit for bit, the results of
runs that build their own, and no run changes what the next one starts from."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import TINY, load_script

from sim.experiments import batch
from sim.experiments.batch import SerialExecutor, execute_task, run_batch
from sim.experiments.scenario import load_scenario, parse_scenario
from sim.experiments.store import ResultStore
from sim.funding import make_mechanism
from sim.funding.base import Mechanism
from sim.simulation.model import CityModel
from sim.simulation.run import simulate
from sim.simulation.start import CityStart, build_city_start
from sim.world.params import ModelParams
from sim.world.territory import City

ROOT = Path(__file__).resolve().parent.parent
SEED = 21
MONTHS = 14


def _mechanism(name: str) -> Mechanism:
    if name == "impact_contract":
        return make_mechanism(name, places=30, payment_months=[12], contract_months=12)
    if name == "status_quo":
        return make_mechanism(name)
    return make_mechanism(name, budget_eur_per_year=200_000)


def _run(city: City, mechanism: str, start: CityStart | None = None) -> CityModel:
    model = CityModel(
        city,
        seed=SEED,
        months=MONTHS,
        mechanism=_mechanism(mechanism),
        resident_agents=False,
        city_start=start,
    )
    model.run()
    return model


def assert_same(a: Any, b: Any, where: str) -> None:
    """Equal values, numpy arrays (and their dtypes) and random generators' states included."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert_same(vars(a), vars(b), where)
    else:
        assert a == b, where


def assert_same_run(a: CityModel, b: CityModel) -> None:
    """Every array of the residents and of the enrolment, the series and the ledger agree."""
    assert_same(vars(a.population), vars(b.population), "population")
    assert_same(vars(a.enrolment), vars(b.enrolment), "enrolment")
    assert_same(a.series, b.series, "series")
    assert_same(a.territory_unemployment, b.territory_unemployment, "territory_unemployment")
    assert a.funding.ledger.to_records() == b.funding.ledger.to_records()


def test_a_run_from_a_used_start_equals_a_run_that_built_its_own(small_city: City) -> None:
    """Arms run from a start first; a further run from it equals, array by array and random
    generator by generator, the same run building its own residents, network and associations."""
    start = build_city_start(small_city, ModelParams(), SEED)
    for mechanism in ("impact_contract", "status_quo", "call_for_projects"):
        _run(small_city, mechanism, start)
    from_start, built = _run(small_city, "planned", start), _run(small_city, "planned")
    assert (from_start.enrolment.first_action >= 0).sum() > 0  # the programme reached residents
    assert_same_run(from_start, built)


def test_runs_leave_the_start_as_built(small_city: City) -> None:
    """The template residents are those of a fresh build after runs from the start, and each
    copy owns its arrays."""
    start = build_city_start(small_city, ModelParams(), SEED)
    model = _run(small_city, "planned", start)
    fresh = build_city_start(small_city, ModelParams(), SEED)
    assert_same(vars(start.population_template), vars(fresh.population_template), "template")
    for name, value in vars(start.population_template).items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, getattr(model.population, name)), name
    assert_same(start.associations, fresh.associations, "associations")
    assert (start.social_network != fresh.social_network).nnz == 0


def test_the_shared_network_cannot_be_written(small_city: City) -> None:
    """Every model shares the network: a write fails instead of reaching the next arm."""
    start = build_city_start(small_city, ModelParams(), SEED)
    model = CityModel(small_city, seed=SEED, months=1, city_start=start, resident_agents=False)
    assert model.social_network is start.social_network
    with pytest.raises(ValueError, match="read-only"):
        model.social_network.data[0] = 2.0


@pytest.mark.parametrize(
    ("seed", "params"),
    [(SEED + 1, ModelParams()), (SEED, ModelParams().with_overrides(network_degree=4))],
)
def test_a_start_serves_only_its_seed_and_parameters(
    small_city: City, seed: int, params: ModelParams
) -> None:
    """Another seed or other parameters would start a run from another run's residents."""
    start = build_city_start(small_city, ModelParams(), SEED)
    with pytest.raises(ValueError, match="city_start"):
        CityModel(small_city, seed=seed, params=params, months=1, city_start=start)


def test_a_task_builds_its_city_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin and the arms of a replication share one build."""
    builds: list[int] = []

    def counting(city: City, params: ModelParams, seed: int) -> CityStart:
        builds.append(seed)
        return build_city_start(city, params, seed)

    monkeypatch.setattr(batch, "build_city_start", counting)
    task = parse_scenario(TINY, source="tiny.toml").expand()[0]
    results = execute_task(task)
    assert [r.status for r in results] == ["done"] * 3
    assert builds == [task.twin.seed]


def _compare_stores() -> Any:
    """The script that compares two results databases value by value."""
    return load_script(ROOT / "scripts/compare_stores.py")


def _stored_batch(
    path: Path, scenario_text: str, each_run_builds: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        if each_run_builds:  # as before city starts: every run builds its own city

            def building(*args: Any, city_start: CityStart | None = None, **kwargs: Any) -> Any:
                return simulate(*args, **kwargs)

            patch.setattr(batch, "simulate", building)
        scenario = parse_scenario(scenario_text, source="scenario.toml")
        with ResultStore(str(path)) as store:
            summary = run_batch(scenario, store, SerialExecutor(), progress=False)
    assert summary.failed == 0


def _demo_with_two_replications() -> str:
    text = (ROOT / "scenarios" / "demo.toml").read_text()
    assert load_scenario(ROOT / "scenarios" / "demo.toml").replications == 4
    return text.replace("replications = 4", "replications = 2")


@pytest.mark.parametrize(
    "scenario",
    [TINY, pytest.param("demo", marks=pytest.mark.slow)],
    ids=["tiny", "demo-2-replications"],
)
def test_stored_batch_identical_to_building_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    """Every stored table of a batch, value by value, is what it was when every run built its
    own city (``scripts/compare_stores.py``)."""
    text = _demo_with_two_replications() if scenario == "demo" else scenario
    _stored_batch(tmp_path / "before.db", text, True, monkeypatch)
    _stored_batch(tmp_path / "after.db", text, False, monkeypatch)
    compare = _compare_stores()
    report: list[str] = []
    with (
        closing(sqlite3.connect(tmp_path / "before.db")) as before,
        closing(sqlite3.connect(tmp_path / "after.db")) as after,
    ):
        tables = ("batches", "runs", *compare.CHILD_TABLES)
        differences = sum(compare.compare_table(before, after, t, report) for t in tables)
    assert differences == 0, "\n".join(report)
    assert "series: 0 rows" not in "\n".join(report)


def test_the_module_example_runs() -> None:
    """The example of ``sim.simulation.start`` (two models from one start) is right."""
    import doctest

    import sim.simulation.start

    assert doctest.testmod(sim.simulation.start, raise_on_error=True).attempted >= 1
