"""The results store: round trips, replacement of failed attempts, resume, schema versioning."""

from __future__ import annotations

import copy
import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.delivery.needs import need_keys
from sim.errors import UserInputError
from sim.experiments.results import STATUS_FAILED, CashFlowRecord, RunResult, TerritoryResult
from sim.experiments.store import SCHEMA_VERSION, ResultStore, SchemaVersionError, default_db_path
from sim.funding.records import EvaluationRecord, PilotDecision

TERRITORIES = [
    {
        "territory": "T01",
        "qpv": True,
        "participants": 40,
        "true_additional_employment": 3,
        "true_additional_french": -1,
        "true_additional_rights": 0,
        "unemployment_rate_end": 0.12,
        "unemployment_rate_end_twin": 0.125,
    },
    {
        "territory": "T02",
        "qpv": False,
        "participants": 0,
        "true_additional_employment": 0,
        "true_additional_french": 0,
        "true_additional_rights": 2,
        "unemployment_rate_end": math.nan,
        "unemployment_rate_end_twin": 0.08,
    },
]
CASH_FLOWS = [
    {"month": 1, "payer": "city", "payee": "association", "kind": "grant", "amount_eur": 1500.0},
    {"month": 2, "payer": "investor", "payee": "association", "kind": "capital", "amount_eur": 2e4},
]
DECISIONS = [
    {
        "action": 4,
        "month": 18,
        "association": "asso_1",
        "specialty": "employment",
        "territory": 2,
        "true_effect": 0.05,
        "truly_works": True,
        "decision": "scale",
        "correct": True,
        "estimate": 0.04,
        "ci_low": 0.01,
        "ci_high": 0.07,
        "scaled_action": 9,
    },
    {
        "action": 5,
        "month": 18,
        "association": "asso_2",
        "specialty": "french",
        "territory": 3,
        "true_effect": 0.0,
        "truly_works": False,
        "decision": "stop",
        "correct": True,
        "estimate": 0.0,
        "ci_low": None,
        "ci_high": None,
        "scaled_action": -1,
    },
]
EVALUATIONS = [
    {
        "action": 4,
        "design": "matched_comparison",
        "month": 18,
        "n_treated": 30,
        "n_comparison": 60,
        "gross_outcomes": 12,
        "effect_estimate": 0.04,
        "standard_error": 0.015,
        "counterfactual_outcomes": 10.8,
        "validated_outcomes": 1.2,
        "ci_low": 0.01,
        "ci_high": 0.07,
    },
    {
        "action": 5,
        "design": "gross",
        "month": 18,
        "n_treated": 0,
        "n_comparison": 0,
        "gross_outcomes": 0,
        "effect_estimate": 0.0,
        "standard_error": math.inf,
        "counterfactual_outcomes": 0.0,
        "validated_outcomes": 0.0,
        "ci_low": -math.inf,
        "ci_high": math.inf,
    },
]


def territory_record(row: dict[str, Any]) -> TerritoryResult:
    """The typed record of a flat territory row."""
    per_need = {need: row[f"true_additional_{need}"] for need in need_keys()}
    plain = {k: v for k, v in row.items() if not k.startswith("true_additional_")}
    return TerritoryResult(true_additional=per_need, **plain)


def make_result(key: str = "p0-r0-call", **changes: Any) -> RunResult:
    """A done run with a little of every record."""
    fields: dict[str, Any] = {
        "key": key,
        "point": 0,
        "replication": 0,
        "arm": "call",
        "mechanism": "call_for_projects",
        "seed": 2**62 + 5,
        "mechanism_params": {"budget_eur": 1e6, "evaluation": "matched_comparison"},
        "model_params": {"discount_rate_per_year": 0.03},
        "point_values": {"budget_eur": 1e6},
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_000_012.5,
        "metrics": {"npv_eur": -1234.5, "decision_accuracy": math.nan, "sustained_jobs": 7.0},
        "series": {"unemployment_rate": [0.1, 0.11, math.nan], "public_cost_eur": [1.0, 2.0, 3.0]},
        "territories": [territory_record(r) for r in TERRITORIES],
        "cash_flows": [CashFlowRecord(**r) for r in CASH_FLOWS],
        "decisions": [PilotDecision(**r) for r in DECISIONS],
        "evaluations": [EvaluationRecord(**r) for r in EVALUATIONS],
        "contract": {"outcome": "employment_6_months", "cap_eur": 5e5},
    }
    fields.update(changes)
    return RunResult(**fields)


def open_batch(store: ResultStore, name: str = "demo", scenario_hash: str = "abc") -> int:
    """Open a small batch."""
    return store.open_batch(
        name=name,
        description="a test batch",
        scenario_text="name: demo\n",
        scenario_hash=scenario_hash,
        scenario_path="scenarios/demo.yaml",
        root_seed=42,
        months=2,
        replications=1,
        planned_runs=2,
        package_version="0.1.0",
        git_commit=None,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResultStore]:
    """A fresh store in a SQLite file under a folder that does not exist yet."""
    with ResultStore(str(tmp_path / "results" / "demo.db")) as opened:
        yield opened


def same(left: Any, right: Any) -> bool:
    """Equality where NaN, None and infinities all stand for a stored NULL."""

    def norm(value: Any) -> Any:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "NULL"
        return value

    return bool(norm(left) == norm(right))


def assert_records(frame: pd.DataFrame, expected: list[dict[str, Any]]) -> None:
    """The frame's rows hold exactly the expected records, in order (NULL-aware)."""
    columns = list(expected[0])
    got = frame[columns].to_dict("records")
    assert len(got) == len(expected)
    for row, record in zip(got, expected, strict=True):
        for column in columns:
            assert same(row[column], record[column]), (column, row[column], record[column])


def count_rows(store: ResultStore) -> dict[str, int]:
    """Rows of every child reader of batch 1."""
    return {
        "metrics": len(store.metrics(1, wide=False)),
        "series": len(store.series(1)),
        "territories": len(store.territories(1)),
        "cash_flows": len(store.cash_flows(1)),
        "decisions": len(store.pilot_decisions(1)),
        "evaluations": len(store.evaluations(1)),
    }


def test_round_trip_of_one_run_reads_every_table_back(store: ResultStore) -> None:
    """A done run's identity, metrics, series and records read back equal, NaN through NULL."""
    batch = open_batch(store)
    result = make_result()
    store.write_run(batch, result)

    runs = store.runs(batch)
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["run_key"] == result.key
    assert run["seed"] == result.seed
    assert run["status"] == "done"
    assert run["error"] == ""
    assert json.loads(run["mechanism_params"]) == result.mechanism_params
    assert json.loads(run["model_params"]) == result.model_params
    assert run["point_values"] == '{"budget_eur": 1000000.0}'
    assert json.loads(run["contract"]) == result.contract
    assert run["started_at"] == "2023-11-14T22:13:20.000000+00:00"
    assert run["elapsed_seconds"] == pytest.approx(12.5)

    long = store.metrics(batch, wide=False)
    stored = dict(zip(long["name"], long["value"], strict=True))
    assert stored.keys() == result.metrics.keys()
    for name, value in result.metrics.items():
        assert same(stored[name], value)

    series = store.series(batch)
    assert list(series.columns[:5]) == ["run_id", "run_key", "point", "replication", "arm"]
    for name, values in result.series.items():
        mine = series[series["name"] == name].sort_values("month")
        assert list(mine["month"]) == list(range(len(values)))
        assert all(same(a, b) for a, b in zip(mine["value"], values, strict=True))

    assert_records(store.territories(batch), TERRITORIES)
    assert_records(store.cash_flows(batch), CASH_FLOWS)
    assert_records(store.pilot_decisions(batch), DECISIONS)
    evaluations = store.evaluations(batch)
    assert_records(evaluations, EVALUATIONS)
    assert math.isnan(evaluations["standard_error"].iloc[1])
    assert evaluations["run_key"].tolist() == [result.key, result.key]


def test_numpy_values_are_stored_as_plain_numbers(store: ResultStore) -> None:
    """Numpy scalars in records, metrics and params are accepted and read back as numbers."""
    batch = open_batch(store)
    territory = {**TERRITORIES[0], "qpv": np.True_, "participants": np.int64(40)}
    result = make_result(
        metrics={"npv_eur": np.float64(3.5)},
        territories=[territory_record(territory)],
        mechanism_params={"budget_eur": np.float64(2.0), "weights": (np.int64(1), 2)},
    )
    store.write_run(batch, result)
    assert store.metrics(batch)["npv_eur"].tolist() == [3.5]
    assert_records(store.territories(batch), [territory])
    params = json.loads(store.runs(batch)["mechanism_params"].iloc[0])
    assert params == {"budget_eur": 2.0, "weights": [1, 2]}


def test_rewriting_a_key_replaces_the_run_and_its_children(store: ResultStore) -> None:
    """Writing the same key again leaves exactly one run row and no duplicated children."""
    batch = open_batch(store)
    store.write_run(batch, make_result(status=STATUS_FAILED, error="boom"))
    store.write_run(batch, make_result())
    once = count_rows(store)
    store.write_run(batch, make_result())
    runs = store.runs(batch)
    assert len(runs) == 1
    assert runs["status"].tolist() == ["done"]
    assert count_rows(store) == once
    assert once["territories"] == len(TERRITORIES)
    assert once["series"] == 6
    assert store.integrity_ok()


def stored_frames(store: ResultStore, batch: int) -> dict[str, pd.DataFrame]:
    """Every reader's frame of a batch, without the ids a database assigns."""
    frames = {
        "runs": store.runs(batch),
        "metrics": store.metrics(batch, wide=False),
        "series": store.series(batch),
        "territories": store.territories(batch),
        "cash_flows": store.cash_flows(batch),
        "decisions": store.pilot_decisions(batch),
        "evaluations": store.evaluations(batch),
    }
    return {
        name: frame.drop(columns=["id", "run_id"], errors="ignore")
        for name, frame in frames.items()
    }


def a_task_of_results() -> list[RunResult]:
    """Results as a task sends them: a twin record and a copy of it under another key, a
    contract settled twice from one simulation (the second shares the first's series,
    territories, decisions and evaluations objects) and a failed run."""
    twin = make_result("p0-r0-twin", arm="status_quo", metrics={"sustained_jobs": 5.0})
    twin_again = copy.copy(twin)
    twin_again.key, twin_again.point = "p1-r0-twin", 1
    first = make_result("p0-r0-call")
    settled_again = copy.copy(first)
    settled_again.key, settled_again.point = "p1-r0-call", 1
    settled_again.metrics = {**first.metrics, "npv_eur": 99.0}
    settled_again.cash_flows = [CashFlowRecord(**CASH_FLOWS[0])]
    failed = make_result("p0-r1-call", replication=1, status=STATUS_FAILED, error="boom")
    return [twin, twin_again, first, settled_again, failed]


def test_runs_written_together_store_what_writing_each_alone_stores(tmp_path: Path) -> None:
    """A task's runs in one transaction, shared values converted once, read back exactly as
    the same runs written one by one."""
    frames = []
    for together in (True, False):
        with ResultStore(str(tmp_path / f"{together}.db")) as store:
            batch = open_batch(store)
            results = a_task_of_results()
            if together:
                store.write_runs(batch, results)
            else:
                for result in results:
                    store.write_run(batch, result)
            frames.append(stored_frames(store, batch))
            assert store.integrity_ok()
    for name, frame in frames[0].items():
        assert len(frame) > 0 or name == "decisions", name
        pd.testing.assert_frame_equal(frame, frames[1][name], check_exact=True)


def test_runs_written_together_are_stored_all_or_none(store: ResultStore) -> None:
    """A run of a task that cannot be stored leaves none of the task's runs (nor the earlier
    attempt they were to replace) changed."""
    batch = open_batch(store)
    store.write_run(batch, make_result(status=STATUS_FAILED, error="first attempt"))
    before = stored_frames(store, batch)
    broken = make_result("p0-r1-call", replication=1, territories=[CashFlowRecord(**CASH_FLOWS[0])])
    with pytest.raises(ValueError, match="territory_results has no column"):
        store.write_runs(batch, [make_result(), broken])
    for name, frame in stored_frames(store, batch).items():
        pd.testing.assert_frame_equal(frame, before[name])
    with pytest.raises(ValueError, match="repeat keys"):
        store.write_runs(batch, [make_result(), make_result()])


def test_failed_run_stores_its_error_but_no_children(store: ResultStore) -> None:
    """A failed run keeps its error, has no child rows and is not among the done keys."""
    batch = open_batch(store)
    store.write_run(batch, make_result("p0-r0-twin", arm="status_quo"))
    store.write_run(batch, make_result(status=STATUS_FAILED, error="ValueError: boom"))
    runs = store.runs(batch).set_index("run_key")
    assert runs.loc["p0-r0-call", "status"] == "failed"
    assert runs.loc["p0-r0-call", "error"] == "ValueError: boom"
    assert store.done_run_keys(batch) == {"p0-r0-twin"}
    for frame in (
        store.metrics(batch, wide=False),
        store.series(batch),
        store.territories(batch),
        store.cash_flows(batch),
        store.pilot_decisions(batch),
        store.evaluations(batch),
    ):
        assert set(frame["run_key"]) == {"p0-r0-twin"}


def test_open_batch_resumes_same_name_and_hash(store: ResultStore) -> None:
    """Same name and scenario hash reopens the batch as running; another hash opens a new one."""
    first = open_batch(store)
    store.finish_batch(first, "interrupted")
    assert store.batches()["status"].tolist() == ["interrupted"]
    assert open_batch(store) == first
    batches = store.batches()
    assert batches["stored_status"].tolist() == ["running"]
    assert batches["status"].tolist() == ["interrupted"], "shown so while no process claims it"
    store.claim_batch(first)
    assert store.batches()["status"].tolist() == ["running"]
    store.release_batch(first)
    assert batches["finished_at"].isna().all()
    second = open_batch(store, scenario_hash="def")
    assert second != first
    assert len(store.batches()) == 2
    assert store.latest_batch_id() == second


def test_finish_batch_sets_status_and_time(store: ResultStore) -> None:
    """Finishing a batch records its final status and time; an unknown status is refused."""
    batch = open_batch(store)
    store.finish_batch(batch, "finished_with_failures")
    row = store.batches().iloc[0]
    assert row["status"] == "finished_with_failures"
    assert row["finished_at"].endswith("+00:00")
    with pytest.raises(ValueError, match="done"):
        store.finish_batch(batch, "done")


def test_reopening_a_file_keeps_its_batches(tmp_path: Path) -> None:
    """A store reopened on the same file (plain path or sqlite URL) sees the stored runs."""
    path = tmp_path / "sub" / "x.db"
    with ResultStore(str(path)) as store:
        assert store.latest_batch_id() is None
        batch = open_batch(store)
        store.write_run(batch, make_result())
        assert store.url == f"sqlite:///{path}"
    with ResultStore(f"sqlite:///{path}") as store:
        assert store.done_run_keys(batch) == {"p0-r0-call"}
        assert store.latest_batch_id() == batch


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    """A database of schema version 999 is refused, naming the file and both versions."""
    path = tmp_path / "old.db"
    ResultStore(str(path)).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE schema_info SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError) as caught:
        ResultStore(str(path))
    message = str(caught.value)
    assert str(path) in message
    assert "999" in message
    assert f"schema version {SCHEMA_VERSION}" in message
    assert "--db" in message
    assert isinstance(caught.value, UserInputError)


def test_foreign_database_without_schema_info_is_refused(tmp_path: Path) -> None:
    """A SQLite file holding other tables but no schema_info is refused and left untouched."""
    path = tmp_path / "foreign.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, whatever TEXT)")
    with pytest.raises(SchemaVersionError, match="no sim schema version"):
        ResultStore(str(path))
    with closing(sqlite3.connect(path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"runs"}


def test_integrity_ok_on_a_written_store(store: ResultStore) -> None:
    """A store with runs written passes SQLite's integrity and foreign key checks."""
    batch = open_batch(store)
    store.write_run(batch, make_result())
    assert store.integrity_ok()


def test_wide_metrics_have_one_row_per_run(store: ResultStore) -> None:
    """The wide metrics frame has one row per run (failed included) and a column per metric."""
    batch = open_batch(store)
    store.write_run(batch, make_result("p0-r0-call"))
    store.write_run(
        batch,
        make_result("p0-r0-twin", arm="status_quo", metrics={"sustained_jobs": 5.0, "extra": 1.0}),
    )
    store.write_run(batch, make_result("p0-r1-call", replication=1, status=STATUS_FAILED))
    wide = store.metrics(batch)
    assert len(wide) == 3
    assert wide["run_key"].is_unique
    identity = ["run_id", "run_key", "point", "replication", "arm", "mechanism", "seed", "status"]
    assert list(wide.columns) == [
        *identity,
        "decision_accuracy",
        "extra",
        "npv_eur",
        "sustained_jobs",
    ]
    jobs = dict(zip(wide["run_key"], wide["sustained_jobs"], strict=True))
    assert jobs["p0-r0-call"] == 7.0
    assert jobs["p0-r0-twin"] == 5.0
    assert math.isnan(jobs["p0-r1-call"])


def test_default_db_path_is_safe() -> None:
    """Scenario names become safe file names under results/."""
    assert default_db_path("a b/c") == "results/a_b_c.db"
    assert default_db_path("sweep-2_x") == "results/sweep-2_x.db"
    assert default_db_path("") == "results/scenario.db"
