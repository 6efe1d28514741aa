"""Reading batches at the terminal: sweeps in one table and as pivots, display names, tables
that fit 80 columns, clean CSV and JSON, one spelling of the database, a closed pipe without
traceback, a warning when replications are too few, and a resume hint that works as printed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.reading.i18n import Labels
from sim.reading.names import display_names
from sim.reading.sweeps import sweep_comparison, sweep_pivot

#: A scenario file whose swept parameters are not in alphabetical order.
SWEEP = """
name = "cli_sweep"
months = 12
replications = 2
seed = 3

[city.generate]
territories = 4
residents = 2000
seed = 1

[arms.cis]
mechanism = "impact_contract"
label = "Contract"
label_fr = "Contrat"
payment_months = [12]
contract_months = 12
places = 40

[sweep]
method = "grid"
[sweep.grid]
"arms.cis.threshold_value" = [0, 20]
"arms.cis.price_eur_per_outcome" = [10_000, 30_000]
[sweep.labels]
"arms.cis.threshold_value" = "threshold"
[sweep.labels_fr]
"arms.cis.threshold_value" = "seuil"
"""


@pytest.fixture(scope="module")
def sweep_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 4-point sweep of one contract, 2 replications of 12 months on a tiny city."""
    folder = tmp_path_factory.mktemp("cli")
    scenario = folder / "sweep.toml"
    scenario.write_text(SWEEP, encoding="utf-8")
    db = str(folder / "sweep.db")
    sim.run_scenario(scenario, db=db, progress=False)
    return db


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sweep_is_one_table_that_fits_80_columns(
    sweep_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every point in one table (not one per point), no line wider than the terminal, the
    arm's label and the units of money shown, and a warning about 2 replications."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli(["compare", "--db", sweep_db], capsys)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.count("Arms compared with the status quo at every sweep point") == 1
    assert "threshold" in out
    assert "(€)" in out
    assert "only 2 replication(s)" in err


def test_one_point_in_detail_names_values_in_file_order(
    sweep_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--point shows every metric of one point, its values in the scenario's order."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(["compare", "--db", sweep_db, "--point", "1", "-q"], capsys)
    assert code == 0
    first = out.splitlines()[0] + out.splitlines()[1]
    assert first.index("threshold") < first.index("price per outcome")
    assert "Contract" in out
    assert "label" not in out.split("\n", 3)[2]
    assert max(len(line) for line in out.splitlines()) <= 80


def test_one_metric_is_a_pivot_by_a_swept_parameter(
    sweep_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["compare", "--db", sweep_db, "--metric", "npv_eur", "--by", "price_eur_per_outcome"],
        capsys,
    )
    assert code == 0
    assert "price per outcome (€) = 10,000" in out
    assert "price per outcome (€) = 30,000" in out


def test_csv_and_json_have_clean_labels_and_swept_values(
    sweep_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(["compare", "--db", sweep_db, "--format", "csv", "-q"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns[:3]) == [
        "point",
        "arms.cis.threshold_value",
        "arms.cis.price_eur_per_outcome",
    ]
    assert not frame["label"].str.startswith(" ").any()
    assert set(frame["arm_label"]) == {"Contract"}
    _, out, _ = run_cli(["compare", "--db", sweep_db, "--format", "json", "-q"], capsys)
    records = json.loads(out)
    assert all(not r["label"].startswith(" ") for r in records)


def test_old_positional_database_still_works_with_a_note(
    sweep_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["compare", sweep_db, "--point", "0"], capsys)
    assert code == 0
    assert "--db" in err
    code, _, err = run_cli(["compare"], capsys)
    assert code == 2
    assert "--db" in err


def test_closed_pipe_ends_without_traceback(sweep_db: str) -> None:
    """`sim compare ... | head -1`: the command stops quietly when its reader goes away."""
    env = {**os.environ, "COLUMNS": "80"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "compare", "--db", sweep_db, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    process.wait(timeout=60)
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_resume_hint_is_a_command_that_works_as_printed(tmp_path: Path) -> None:
    """The hint names sim as it was called (here ``python -m sim.cli``), with --db."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "hint"\nmonths = 2\n[city.generate]\nterritories = 3\nresidents = 600\n'
        'seed = 1\n[arms.planned]\nmechanism = "planned"\n',
        encoding="utf-8",
    )
    db = tmp_path / "h.db"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "run",
            str(scenario),
            "--db",
            str(db),
            "--executor",
            "serial",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    hint = out.strip().splitlines()[-1].split(": ", 1)[1]
    assert hint.endswith(f"compare --db {db}")
    done = subprocess.run(hint, shell=True, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_sweep_comparison_and_pivot_keep_the_scenario_order(sweep_db: str) -> None:
    results = sim.open_results(sweep_db)
    names = display_names(results.batch_info["scenario_text"])
    assert names.sweep_paths == ("arms.cis.threshold_value", "arms.cis.price_eur_per_outcome")
    comparison = sweep_comparison(results.metrics, results.runs, names)
    assert list(comparison.columns[1:3]) == list(names.sweep_paths)
    pivot = sweep_pivot(comparison, "npv_eur", "arms.cis.price_eur_per_outcome")
    assert list(pivot.columns) == [10_000, 30_000]
    assert len(pivot) == 2
    assert Labels("fr", names).arm("cis") == "Contrat"
    assert Labels("fr", names).parameter("arms.cis.threshold_value") == "seuil"
