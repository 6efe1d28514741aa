"""Batches: identical results on every executor, failures stored, resume after a kill, the CLI."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from helpers import TINY

from sim.cli import main
from sim.experiments.batch import make_executor, run_batch
from sim.experiments.scenario import Scenario, parse_scenario
from sim.experiments.store import ResultStore
from sim.funding import make_mechanism
from sim.world.territory import DATA_DIR


def _batch(tmp_path: Path, executor: str, text: str = TINY, workers: int = 2) -> pd.DataFrame:
    scenario = parse_scenario(text, source="tiny.toml")
    with ResultStore(str(tmp_path / f"{executor}.db")) as store:
        summary = run_batch(scenario, store, make_executor(executor, workers), progress=False)
        assert summary.ran_now == scenario.run_count()
        metrics = store.metrics(summary.batch_id)
    return metrics.drop(columns=["run_id"]).sort_values("run_key").reset_index(drop=True)


def test_results_identical_on_every_executor(tmp_path: Path) -> None:
    """Serial, local processes and a real Dask LocalCluster give the same metrics, run by run."""
    serial = _batch(tmp_path, "serial")
    processes = _batch(tmp_path, "processes")
    dask = _batch(tmp_path, "dask")
    assert serial["status"].eq("done").all()
    pd.testing.assert_frame_equal(serial, processes)
    pd.testing.assert_frame_equal(serial, dask)


def test_a_failing_run_is_stored_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An arm that fails during its run is stored as failed with its error; the other runs
    finish; the summary counts the failures. (Validation refuses every value known to fail a
    run, so the failure is injected.)"""
    from sim.experiments import batch

    def failing(name: str, params: dict[str, object]) -> object:
        if name == "impact_contract":
            raise RuntimeError("no association named 'nobody'")
        return make_mechanism(name, **params)

    monkeypatch.setattr(batch, "arm_mechanism", failing)
    scenario = parse_scenario(TINY, source="tiny.toml")
    with ResultStore(str(tmp_path / "f.db")) as store:
        summary = run_batch(scenario, store, make_executor("serial"), progress=False)
        runs = store.runs(summary.batch_id)
    assert summary.failed == 2
    failed = runs[runs["status"] == "failed"]
    assert set(failed["arm"]) == {"cis"}
    assert failed["error"].str.contains("no association named 'nobody'").all()
    assert (runs[runs["arm"] != "cis"]["status"] == "done").all()


def test_rerun_resumes_and_retries_only_what_is_missing(tmp_path: Path) -> None:
    """Running the same scenario again stores nothing new; a run missing from the database is
    run again, and only that one."""
    scenario = parse_scenario(TINY, source="tiny.toml")
    db = str(tmp_path / "r.db")
    with ResultStore(db) as store:
        first = run_batch(scenario, store, make_executor("serial"), progress=False)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("DELETE FROM runs WHERE run_key = 'p000-r001-plan'")
    with ResultStore(db) as store:
        again = run_batch(scenario, store, make_executor("serial"), progress=False)
        keys = store.runs(again.batch_id)["run_key"]
    assert again.batch_id == first.batch_id
    assert again.ran_now == 1
    assert again.already_done == scenario.run_count() - 1
    assert sorted(keys) == sorted(set(keys))
    assert len(keys) == scenario.run_count()


def _slow_scenario(tmp_path: Path) -> Path:
    """A scenario of 24 runs of about a quarter of a second each."""
    path = tmp_path / "slow.toml"
    path.write_text(
        TINY.replace("replications = 2", "replications = 8").replace("months = 14", "months = 36")
    )
    return path


def _sim(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _done_runs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=5)) as con:
            return int(con.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _wait_for_runs(db: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while _done_runs(db) < count:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_killed_batch_resumes_with_every_run_exactly_once(tmp_path: Path) -> None:
    """SIGKILL in the middle of a batch, then the same command: every run is stored exactly
    once and SQLite's integrity check says ok."""
    scenario = _slow_scenario(tmp_path)
    db = tmp_path / "results" / "kill.db"
    args = ("run", str(scenario), "--db", str(db), "--executor", "serial", "--no-progress")
    process = _sim(*args, cwd=tmp_path)
    _wait_for_runs(db, 4, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    stored = _done_runs(db)
    assert 4 <= stored < 24
    rerun = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{24 - stored} run(s) now, {stored} already stored" in rerun.stdout
    with closing(sqlite3.connect(db)) as con:
        keys = [k for (k,) in con.execute("SELECT run_key FROM runs")]
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        metric_runs = con.execute("SELECT COUNT(DISTINCT run_id) FROM run_metrics").fetchone()[0]
    assert len(keys) == len(set(keys)) == 24
    assert metric_runs == 24


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) ends the batch with exit code 130, keeps what finished, and prints the
    command that resumes it."""
    scenario = _slow_scenario(tmp_path)
    db = tmp_path / "results" / "int.db"
    process = _sim(
        "run", str(scenario), "--db", str(db), "--executor", "serial", "--no-progress", cwd=tmp_path
    )
    _wait_for_runs(db, 2, process)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "To resume, run again" in out
    # Written as sim was called (here `python -m sim.cli`), so that it works as printed.
    assert f"-m sim.cli run {scenario} --db {db}" in out
    with ResultStore(str(db)) as store:
        assert store.integrity_ok()
        assert store.batches()["status"].iloc[0] == "interrupted"


def test_ctrl_c_while_a_task_is_stored_keeps_the_task_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that arrives while a task's runs are being written waits for the transaction's
    end: the task is stored whole and counted, and the batch ends as interrupted (before, the
    interrupted commit left the connection unable to record the batch's end)."""
    scenario = parse_scenario(TINY, source="tiny.toml")
    real = ResultStore.store_runs

    def interrupted_while_storing(self: ResultStore, *args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # delivered at the next bytecode, inside the write
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ResultStore, "store_runs", interrupted_while_storing)
    with ResultStore(str(tmp_path / "c.db")) as store:
        summary = run_batch(scenario, store, make_executor("serial"), progress=False)
        assert summary.interrupted
        assert 0 < summary.ran_now < scenario.run_count()
        assert len(store.done_run_keys(summary.batch_id)) == summary.ran_now
        assert store.batches()["status"].iloc[0] == "interrupted"


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run, list and compare (table, csv, json) from a temporary directory."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["run", str(scenario), "--executor", "serial", "--no-progress"]) == 0
        assert (tmp_path / "results" / "tiny.db").exists()
        assert main(["list"]) == 0
        assert main(["compare", "results/tiny.db"]) == 0
        table = capsys.readouterr().out
        assert main(["compare", "results/tiny.db", "--format", "csv"]) == 0
        csv_text = capsys.readouterr().out
        assert main(["compare", "results/tiny.db", "--format", "json"]) == 0
        json_text = capsys.readouterr().out
        assert main(["compare", "results/none.db"]) == 2
    finally:
        os.chdir(cwd)
    assert "batch 1 'tiny': 6/6 runs done, 0 failed, finished" in table
    assert "jobs held 6 months" in table
    assert "true additional" in table
    assert "plan" in table
    frame = pd.read_csv(__import__("io").StringIO(csv_text))
    assert set(frame["arm"]) == {"plan", "cis"}
    assert {"mean", "ci_low", "ci_high"} <= set(frame.columns)
    assert '"metric": "npv_eur"' in json_text


def test_compare_intervals_come_from_paired_replications(tmp_path: Path) -> None:
    """The compared mean is the mean over replications of the arm's metric against its twin."""
    from sim.reading.analysis import compare_arms

    metrics = _batch(tmp_path, "serial")
    comparison = compare_arms(metrics)
    row = comparison[
        (comparison["arm"] == "plan") & (comparison["metric"] == "true_additional_employment")
    ].iloc[0]
    values = metrics[metrics["arm"] == "plan"]["true_additional_employment"]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["replications"] == 2
    half = 12.706 * values.std(ddof=1) / math.sqrt(2)
    assert row["ci_high"] - row["mean"] == pytest.approx(half, rel=1e-3)


def test_fingerprint_identifies_the_batch(tmp_path: Path) -> None:
    """The same scenario text, city table and code make one batch; a change to any of them a
    new one (a rerun after a code change does not mix results of two versions)."""
    a = parse_scenario(TINY, source="a.toml")
    b = parse_scenario(TINY.replace("seed = 9", "seed = 10"), source="a.toml")
    assert isinstance(a, Scenario)
    assert a.hash == parse_scenario(TINY, source="b.toml").hash
    assert a.hash != b.hash
    assert a.fingerprint("0.1.0", "abc") != a.fingerprint("0.1.0", "abd")
    table = tmp_path / "city.csv"
    table.write_text((DATA_DIR / "demo_city.csv").read_text())
    with_table = TINY.replace(
        "[city.generate]\nterritories = 5\nresidents = 4000\nseed = 2",
        f'[city]\nsource = "{table}"',
    )
    before = parse_scenario(with_table, source="c.toml").hash
    table.write_text(table.read_text().replace("T01,Quartier T01,1909", "T01,Quartier T01,1910"))
    assert parse_scenario(with_table, source="c.toml").hash != before
