"""The batch benchmark runs the scenarios it names as they are written."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_script

from sim.experiments.scenario import load_scenario

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_batch.py"


@pytest.fixture(scope="module")
def bench_batch() -> ModuleType:
    return load_script(SCRIPT)


def test_the_speedup_batch_is_the_demo_scenario_with_its_follow_up(
    bench_batch: ModuleType, tmp_path: Path
) -> None:
    """It once rebuilt the demo from a few of its keys and lost the follow-up, so that the
    contract's last payment date fell after the run and every batch was refused."""
    demo = load_scenario(bench_batch.DEMO)
    assert demo.follow_up_months > 0
    result = bench_batch.measure("serial", 1, 1, tmp_path)
    assert result["runs"] == 1 + len(demo.arms)  # the twin and each arm
    assert result["failed"] == 0


def test_cpu_rounds_alternate_the_executors_and_compare_by_the_median_ratio(
    bench_batch: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch's CPU time swings by a tenth from one run to the next on a shared machine: the
    executors run in alternation (every other round reversed) and each is compared with the
    same round's local processes, by the median of the ratios."""
    cpu_seconds = iter([10.0, 11.0, 13.0, 12.0, 10.0, 10.5])
    order = []

    def batch(_args: object, executor: str) -> dict[str, object]:
        order.append(executor)
        seconds = next(cpu_seconds)
        return {"cpu_seconds": seconds, "runs_per_cpu_hour": round(3600 * 8 / seconds, 1)}

    monkeypatch.setattr(bench_batch, "cpu_of_batch", batch)
    monkeypatch.setattr(bench_batch, "adopt_orphans", lambda: True)
    args = argparse.Namespace(
        scenario="s.toml", replications=2, executors="processes,dask", rounds=3
    )
    bench_batch.cpu(args)
    assert order == ["processes", "dask", "dask", "processes", "processes", "dask"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["round"] for line in lines[:-1]] == [1, 1, 2, 2, 3, 3]
    summary = lines[-1]
    assert summary["rounds"] == 3
    assert summary["cpu_against_processes_by_round"]["dask"] == [1.1, 1.083, 1.05]
    assert summary["cpu_against_processes"] == {"processes": 1.0, "dask": 1.083}
    assert summary["runs_per_cpu_hour"]["processes"] == 2880.0  # its median batch: 10 s


def test_the_scripts_top_level_does_not_import_the_store() -> None:
    """Every worker process runs the script's top level again as it starts: the store (and
    SQLAlchemy, about 0.4 CPU s) must not be imported there, or each worker pays for it."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench_batch', {str(SCRIPT)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['bench_batch'] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'sqlalchemy'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
