"""The lockstep benchmark of two versions: each version's own code, the same months, and a final
state that tells identical results from different ones."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "bench_pair.py"


def _in_git_checkout() -> bool:
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, check=False
    )
    return done.returncode == 0


pytestmark = pytest.mark.skipif(not _in_git_checkout(), reason="needs this repository's git")


def _bench_pair() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pair", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_same_code_steps_the_same_months_to_the_same_state(tmp_path: Path) -> None:
    """One revision on both sides: every month timed on both, each version built first in
    turn, and both ending in the same state."""
    bench = _bench_pair()
    head = bench.export_revision("HEAD", tmp_path)
    args = argparse.Namespace(city="demo", seed=1, months=3)
    runs = [bench.compare("call_for_projects", head, head, first, args) for first in (True, False)]
    assert [run["before_built_first"] for run in runs] == [True, False]
    for run in runs:
        assert run["months"] == 3
        assert run["same_final_state"] is True
        assert run["before_cpu_seconds"] > 0
        assert run["after_cpu_seconds"] > 0
    summary = bench.summary("call_for_projects", runs)
    assert summary["runs"] == 2
    assert summary["same_final_state"] is True


def test_help_shows_an_example() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    )
    assert "--before d5cbd70" in done.stdout


def test_each_version_runs_its_own_exported_package(tmp_path: Path) -> None:
    """The revision's package is exported and found before the installed one, and two seeds
    give different final states (the hash tells results apart)."""
    bench = _bench_pair()
    before = bench.export_revision("HEAD", tmp_path)
    assert (before / "sim" / "simulation" / "model.py").is_file()
    setup = ["demo", 1, 2, "status_quo", {}]
    one = bench.Version(before, setup)
    other = bench.Version(before, [*setup[:1], 2, *setup[2:]])
    assert Path(one.found).is_relative_to(before)
    for version in (one, other):
        version.step()
        version.step()
    assert one.end() != other.end()
