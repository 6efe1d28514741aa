"""The city benchmark's figures: its targets, and what it reads of the machine's other work so
that a figure measured beside other processes can be told from a slow code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_script

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "bench_city.py"


@pytest.fixture(scope="module")
def bench_city() -> ModuleType:
    return load_script(SCRIPT)


def _stat(path: Path, user: int, system: int, idle: int, steal: int) -> Path:
    # user nice system idle iowait irq softirq steal guest guest_nice, then one line per CPU.
    path.write_text(
        f"cpu  {user} 5 {system} {idle} 7 3 2 {steal} 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\nintr 1\n"
    )
    return path


def test_machine_times_are_the_busy_and_stolen_ticks_in_seconds(
    bench_city: ModuleType, tmp_path: Path
) -> None:
    times = bench_city.MachineTimes.read(_stat(tmp_path / "stat", 1000, 200, 9000, 40))
    tick = os.sysconf("SC_CLK_TCK")
    # busy: user + nice + system + irq + softirq; idle and iowait are not busy.
    assert times.busy == pytest.approx((1000 + 5 + 200 + 3 + 2) / tick)
    assert times.steal == pytest.approx(40 / tick)


@pytest.mark.parametrize("text", ["", "intr 1\n", "cpu 1 2 3\n"])
def test_machine_times_are_none_where_they_cannot_be_read(
    bench_city: ModuleType, tmp_path: Path, text: str
) -> None:
    assert bench_city.MachineTimes.read(tmp_path / "missing") is None
    (tmp_path / "stat").write_text(text)
    assert bench_city.MachineTimes.read(tmp_path / "stat") is None


def test_neighbours_are_the_machines_work_less_this_process_per_wall_second(
    bench_city: ModuleType,
) -> None:
    times, during = bench_city.MachineTimes, bench_city.Neighbours.during
    # 4 s of wall: the machine was busy 7 s, 3 of them this process's; 0.4 s stolen.
    seen = during(times(10.0, 1.0), times(17.0, 1.4), own_cpu=3.0, wall=4.0)
    assert seen.other_work == pytest.approx(1.0)
    assert seen.steal == pytest.approx(0.1)
    # Coarse ticks may count less than this process's own time: never below 0.
    assert during(times(10.0, 1.0), times(12.9, 1.0), own_cpu=3.0, wall=4.0).other_work == 0.0
    # Too short to tell, or no reading on one side.
    assert during(times(10.0, 1.0), times(17.0, 1.4), own_cpu=0.1, wall=0.2) is None
    assert during(None, times(17.0, 1.4), own_cpu=3.0, wall=4.0) is None
    assert during(times(10.0, 1.0), None, own_cpu=3.0, wall=4.0) is None


def test_targets_are_the_issues_at_bordeaux_scale_only(bench_city: ModuleType) -> None:
    assert bench_city.target_for("bordeaux_scale", "status_quo") == 30_000_000
    assert bench_city.target_for("bordeaux_scale", "call_for_projects") == 20_000_000
    assert bench_city.target_for("demo", "call_for_projects") is None


def test_verdict_says_whether_the_target_is_met_and_what_else_ran(
    bench_city: ModuleType,
) -> None:
    result = {
        "arm": "call_for_projects",
        "resident_steps_per_cpu_second_median": 19_040_000,
        "target": 20_000_000,
        "meets_target": False,
        "other_work_cores_each": [0.02, 1.01, 0.98],
    }
    line = bench_city.verdict(result)
    assert line.startswith("call_for_projects: 19.0 M resident-steps per CPU s (median)")
    assert "target 20 M NOT met" in line
    assert "1.01 cores at most" in line
    quiet = bench_city.verdict(result | {"target": None, "other_work_cores_each": None})
    assert "target" not in quiet
    assert "cores" not in quiet


def test_a_short_run_prints_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--city",
            "demo",
            "--months",
            "2",
            "--repeat",
            "2",
            "--arms",
            "status_quo",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    summary = json.loads(done.stdout.splitlines()[-1])
    (arm,) = summary["arms"]
    assert arm["arm"] == "status_quo"
    assert arm["repeats"] == 2
    assert len(arm["run_cpu_seconds_each"]) == 2
    assert arm["target"] is None
    assert arm["meets_target"] is None
    # Two months of the demo city are far too short to read the machine's other work.
    assert arm["other_work_cores_each"] is None
    assert arm["steal_cores_each"] is None
    assert "status_quo:" in done.stderr
    assert "resident-steps per CPU s" in done.stderr
