"""Imports point downward: reading results never loads the model or Mesa."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["sim.analysis", "sim.figures", "sim.report", "sim.store"])
def test_reading_results_does_not_import_the_model(module: str) -> None:
    """Analysis, figures, reports and the store import neither Mesa nor the city model."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('mesa', 'sim.model', 'sim.agents') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_simulation_workers_do_not_import_the_analysis_stack() -> None:
    """A worker that only runs simulations loads neither SQLAlchemy nor the report."""
    code = (
        "import sys, sim.batch; "
        "print(sorted(m for m in ('sqlalchemy', 'sim.report', 'sim.figures', 'jinja2') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
