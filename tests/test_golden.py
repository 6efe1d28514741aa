"""Stored fingerprints of runs of every mechanism on the demo city (comparison-group evaluation
where there is one):
work on speed must leave every per-resident outcome and every monthly series bit-identical.

When a change alters the model's semantics on purpose, regenerate the fingerprints with
``python tests/test_golden.py`` and say in the commit why the results changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel

FINGERPRINTS = Path(__file__).parent / "data" / "golden_runs.json"
ARMS = {
    "status_quo": {},
    "planned": {"budget_eur_per_year": 2_000_000.0},
    "call_for_projects": {"budget_eur_per_year": 2_000_000.0, "evaluation": "comparison_group"},
    "impact_contract": {"evaluation": "comparison_group"},
}


def fingerprints(arm: str) -> dict[str, str]:
    """SHA-256 (16 hex digits) of each per-resident outcome array and monthly series of a
    36-month run of ``arm`` on the demo city, seed 3, and of its evaluations, pilot decisions
    and cash flows."""
    model = CityModel(
        "demo", seed=3, months=36, mechanism=make_mechanism(arm, **ARMS[arm]), resident_agents=False
    )
    model.run()
    arrays = {**model.resident_outcomes(), **{f"series:{k}": v for k, v in model.series.items()}}
    prints = {
        name: hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]
        for name, values in sorted(arrays.items())
    }
    # What funders decided, evaluated and paid (records print their floats exactly).
    funding = model.funding
    for name, records in (
        ("evaluations", funding.evaluations),
        ("decisions", funding.decisions),
        ("cash_flows", funding.ledger.flows),
    ):
        prints[f"funding:{name}"] = hashlib.sha256(repr(list(records)).encode()).hexdigest()[:16]
    return prints


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_runs_are_bit_identical_to_their_stored_fingerprints(arm: str) -> None:
    """Every array of the run matches the stored fingerprint (names of those that differ)."""
    stored = json.loads(FINGERPRINTS.read_text(encoding="utf-8"))[arm]
    now = fingerprints(arm)
    assert sorted(now) == sorted(stored)
    assert [name for name in now if now[name] != stored[name]] == []


if __name__ == "__main__":
    FINGERPRINTS.write_text(
        json.dumps({arm: fingerprints(arm) for arm in ARMS}, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    sys.exit(0)
