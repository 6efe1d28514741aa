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
    # Guest time (11, 13) is already within user and nice: counting it again would show.
    path.write_text(
        f"cpu  {user} 5 {system} {idle} 7 3 2 {steal} 11 13\n"
        "cpu0 1 0 1 1 0 0 0 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\nintr 1\nctxt 5\n"
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
    assert times.cpus == 2
    assert times.tick == pytest.approx(1 / tick)


@pytest.mark.parametrize("text", ["", "\n", "intr 1\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6 7 8\n"])
def test_machine_times_are_none_where_they_cannot_be_read(
    bench_city: ModuleType, tmp_path: Path, text: str
) -> None:
    assert bench_city.MachineTimes.read(tmp_path / "missing") is None
    (tmp_path / "stat").write_text(text)
    assert bench_city.MachineTimes.read(tmp_path / "stat") is None


def test_neighbours_are_the_machines_work_less_this_process_per_wall_second(
    bench_city: ModuleType,
) -> None:
    during = bench_city.Neighbours.during

    def times(busy: float, steal: float, cpus: int = 2) -> object:
        return bench_city.MachineTimes(busy, steal, cpus, 0.01)

    # 4 s of wall: the machine was busy 7 s, 3 of them this process's; 0.4 s stolen.
    seen = during(times(10.0, 1.0), times(17.0, 1.4), own_cpu=3.0, wall=4.0)
    assert seen.other_work == pytest.approx(1.0)
    assert seen.steal == pytest.approx(0.1)
    # Coarse ticks may count less than this process's own time: never below 0.
    assert during(times(10.0, 1.0), times(12.9, 1.0), own_cpu=3.0, wall=4.0).other_work == 0.0
    # A tick per CPU at either end: 2 CPUs need 0.4 s of wall to read within 0.1 core, 64 CPUs
    # 12.8 s.
    assert during(times(10.0, 1.0), times(10.4, 1.0), own_cpu=0.3, wall=0.4) is not None
    assert during(times(10.0, 1.0), times(10.4, 1.0), own_cpu=0.3, wall=0.39) is None
    assert during(times(10.0, 1.0, 64), times(17.0, 1.4, 64), own_cpu=3.0, wall=4.0) is None
    # No reading on one side.
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
    quiet = bench_city.verdict(result | {"target": None, "other_work_cores_each": [None, None]})
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
    assert arm["other_work_cores_each"] == [None, None]
    assert arm["steal_cores_each"] == [None, None]
    assert "status_quo:" in done.stderr
    assert "resident-steps per CPU s" in done.stderr


def test_each_run_reads_what_else_ran_during_its_month_loop(
    bench_city: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine's times are read around ``model.run()`` alone, with the run's own CPU
    seconds; the target applies to the target city."""
    readings = iter(
        [
            bench_city.MachineTimes(100.0, 5.0, 2, 0.01),
            bench_city.MachineTimes(100.0 + 50.0, 5.0, 2, 0.01),
        ]
    )
    monkeypatch.setattr(bench_city.MachineTimes, "read", staticmethod(lambda: next(readings)))
    seen: list[tuple[float, float]] = []
    during = bench_city.Neighbours.during

    def spy(before: object, after: object, own_cpu: float, wall: float) -> object:
        seen.append((own_cpu, wall))
        return during(before, after, own_cpu, max(wall, 1.0))

    monkeypatch.setattr(bench_city.Neighbours, "during", staticmethod(spy))
    monkeypatch.setattr(bench_city, "TARGET_CITY", "demo")
    result = bench_city.measure("demo", 2, 1, "status_quo", resident_agents=False, repeat=1)
    ((own_cpu, wall),) = seen
    assert own_cpu == pytest.approx(result["run_cpu_seconds_each"][0], abs=5e-4)
    assert own_cpu < result["build_cpu_seconds"]
    assert wall == pytest.approx(result["run_wall_seconds"], abs=1e-3)
    assert result["other_work_cores_each"] == [round((50.0 - own_cpu) / max(wall, 1.0), 2)]
    assert result["target"] == 30_000_000
    assert result["meets_target"] == (result["resident_steps_per_cpu_second_median"] >= 30e6)
