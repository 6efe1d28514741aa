"""Settlement-only sweeps: a replication simulated once and re-settled at every point stores
exactly what simulating every point gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.experiments import batch
from sim.experiments.batch import SerialExecutor, run_batch
from sim.experiments.resettle import simulation_key
from sim.experiments.scenario import scenario_from_dict
from sim.experiments.store import ResultStore


def sweep_scenario(grid: dict[str, list[Any]], **arm: Any) -> dict[str, Any]:
    """A short contract on the demo city, 2 replications, swept over ``grid``."""
    return {
        "name": "resettle",
        "months": 24,
        "replications": 2,
        "seed": 11,
        "city": {"source": "demo"},
        "arms": {
            "cis": {
                "mechanism": "impact_contract",
                "places": 80,
                "payment_months": [12, 24],
                "contract_months": 24,
                "effect_factor": 4.0,
                "evaluation": "comparison_group",
                **arm,
            }
        },
        "sweep": {"method": "grid", "grid": grid},
    }


GRID: dict[str, list[Any]] = {
    "arms.cis.price_eur_per_outcome": [5_000.0, 40_000.0, 150_000.0],
    "arms.cis.threshold_value": [0.0, 15.0],
    "arms.cis.max_return_per_year": [0.02, 0.2],
    "arms.cis.guarantee_share": [0.0, 0.5],
}


def stored(db: Path) -> dict[str, pd.DataFrame]:
    """Everything a batch stores per run, keyed by run, in a stable order."""
    with ResultStore(str(db)) as store:
        batch_id = store.batch_id()
        metrics = store.metrics(batch_id, wide=False).drop(columns=["run_id"], errors="ignore")
        runs = store.runs(batch_id)[["run_key", "status", "error", "contract"]]
        flows = store.cash_flows(batch_id).drop(columns=["id", "run_id"], errors="ignore")
        # What a run settled again shares with the simulation it was settled from.
        shared = {
            "series": store.series(batch_id),
            "territories": store.territories(batch_id),
            "evaluations": store.evaluations(batch_id),
        }
    return {
        "metrics": metrics.sort_values(["run_key", "name"]).reset_index(drop=True),
        "runs": runs.sort_values("run_key").reset_index(drop=True),
        "flows": flows.sort_values(list(flows.columns)).reset_index(drop=True),
        **{
            name: frame.drop(columns=["id", "run_id"], errors="ignore")
            .sort_values("run_key", kind="stable")
            .reset_index(drop=True)
            for name, frame in shared.items()
        },
    }


def run(data: dict[str, Any], db: Path, monkeypatch: pytest.MonkeyPatch, resettle: bool) -> int:
    """Run the batch serially; return how many simulations it made."""
    calls = []
    real = batch.simulate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(batch, "simulate", counting)
        if not resettle:
            patch.setattr(batch, "can_resettle", lambda mechanism: False)
        with ResultStore(str(db)) as store:
            summary = run_batch(scenario_from_dict(data), store, SerialExecutor(), progress=False)
    assert summary.failed == 0
    return len(calls)


@pytest.mark.parametrize(
    ("grid", "arm"),
    [
        (GRID, {}),
        (
            {
                "arms.cis.rate_card_scale": [0.5, 2.0],
                "arms.cis.payer_shares": [{"city": 1.0}, {"state": 0.5, "caf": 0.3, "city": 0.2}],
                "arms.cis.tiers": [[], [{"from_value": 5, "amount_eur": 300_000}]],
            },
            {
                "rate_card": [
                    {"metric": "employment_6_months", "price_eur": 20_000, "basis": "relative"},
                    {"metric": "rights_claimed", "price_eur": 2_000, "basis": "gross"},
                ],
                "price_eur_per_outcome": 0.0,
                "payer_caps_eur": {"caf": 100_000},
            },
        ),
    ],
    ids=["price-threshold-return-guarantee", "rate-card-payers-tiers"],
)
def test_resettled_sweep_stores_what_simulating_every_point_stores(
    grid: dict[str, list[Any]],
    arm: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = sweep_scenario(grid, **arm)
    points = len(scenario_from_dict(data).points())
    fast = run(data, tmp_path / "fast.db", monkeypatch, resettle=True)
    slow = run(data, tmp_path / "slow.db", monkeypatch, resettle=False)
    # Each replication: one twin and one contract simulation, whatever the number of points.
    assert fast == 2 * 2
    assert slow == 2 * (1 + points)
    a, b = stored(tmp_path / "fast.db"), stored(tmp_path / "slow.db")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    contracts = [json.loads(text) for text in a["runs"]["contract"] if text != "{}"]
    assert len({c["settlement"]["total_paid_eur"] for c in contracts}) > 2, "terms mattered"


def test_a_simulation_parameter_is_not_settlement_only() -> None:
    """Points that change who is served are separate simulations."""
    data = sweep_scenario(
        {"arms.cis.places": [40, 80], "arms.cis.price_eur_per_outcome": [1.0, 2.0]}
    )
    specs = [s for task in scenario_from_dict(data).expand() for s in task.arms]
    keys = {(s.replication, simulation_key(s)) for s in specs}
    assert len(specs) == 8
    assert len(keys) == 4
