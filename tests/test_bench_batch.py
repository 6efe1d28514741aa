"""The batch benchmark runs the scenarios it names as they are written."""

from __future__ import annotations

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
