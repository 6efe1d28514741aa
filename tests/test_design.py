"""The contract designer: it settles stored outcomes exactly as the runs did, finds the terms
that satisfy a city's constraints, and says which constraint binds when none do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.experiments.batch import SerialExecutor, run_batch
from sim.experiments.scenario import scenario_from_dict
from sim.experiments.store import ResultStore
from sim.reading.design import Constraints, design_contract, design_figure, stored_contracts
from sim.reading.i18n import Labels

SCENARIO = {
    "name": "design",
    "months": 24,
    "replications": 3,
    "seed": 3,
    "city": {"source": "demo"},
    "arms": {
        "cis": {
            "mechanism": "impact_contract",
            "places": 80,
            "payment_months": [12, 24],
            "contract_months": 24,
            "effect_factor": 4.0,
            "price_eur_per_outcome": 30_000.0,
        }
    },
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("design") / "design.db")
    with ResultStore(path) as store:
        run_batch(scenario_from_dict(SCENARIO), store, SerialExecutor(), progress=False)
    return path


def test_the_stored_terms_give_back_the_stored_payer_npv_and_rule(db: str) -> None:
    """Settling the stored outcomes under the contract's own terms gives the runs' NPV."""
    with ResultStore(db) as store:
        batch = store.batch_id()
        _, _, contracts = stored_contracts(store, batch)
        metrics = store.metrics(batch)
    mine = metrics[metrics["arm"] == "cis"].sort_values("replication")
    terms = contracts[0].terms
    design = design_contract(
        db,
        prices=(terms.price_eur_per_outcome,),
        thresholds=(terms.threshold_value,),
        cap_ratios=(1.2,),
        max_returns=(terms.max_return_per_year,),
        guarantee_shares=(0.0,),
        constraints=Constraints(payer_npv_probability=0.0, investor_probability=0.0),
    )
    row = design.grid.iloc[0]
    np.testing.assert_allclose(row["mean_payer_npv"], mine["npv_eur"].mean(), rtol=1e-9)
    assert row["p_payer_npv"] == pytest.approx((mine["npv_eur"] > 0).mean())
    assert row["p_rule"] == pytest.approx(mine["payer_cost_below_direct_service"].mean())
    assert row["mean_payments"] == pytest.approx(mine["contract_payments_eur"].mean())


def test_lenient_constraints_find_terms_and_strict_ones_name_the_binding_one(db: str) -> None:
    lenient = design_contract(
        db, constraints=Constraints(payer_npv_probability=0.0, investor_return_per_year=-0.5)
    )
    assert lenient.feasible
    assert not lenient.best.empty
    assert lenient.best["mean_payer_npv"].is_monotonic_decreasing
    strict = design_contract(db, constraints=Constraints(payer_npv_probability=1.0))
    assert not strict.feasible
    assert strict.binding
    text = strict.summary(Labels("en"))
    assert "No terms satisfy the constraints" in text
    assert "Aucun jeu de conditions" in strict.summary(Labels("fr"))


def test_a_guarantee_helps_the_investor_and_never_the_payer(db: str) -> None:
    design = design_contract(db, constraints=Constraints(investor_return_per_year=0.0))
    grid = design.grid
    keys = ["price", "threshold", "cap_ratio", "max_return"]
    without = grid[grid["guarantee_share"] == 0.0].set_index(keys)
    full = grid[grid["guarantee_share"] == 1.0].set_index(keys)
    assert (full["p_investor_return"] >= without["p_investor_return"]).all()
    assert (full["mean_payer_npv"] == without["mean_payer_npv"]).all()


def test_figure_and_command(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = design_contract(db)
    for lang in ("en", "fr"):
        figure = design_figure(design, Labels(lang))
        figure.savefig(tmp_path / f"{lang}.png")
    assert main(["design-contract", db, "--lang", "fr", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "Conception du contrat" in printed
    assert (tmp_path / "out" / "contract_design_fr.png").is_file()
    assert (tmp_path / "out" / "contract_design_terms.csv").is_file()
    assert main(["design-contract", db, "--arm", "nope"]) == 2


def test_stored_contract_records_keep_every_metric(db: str) -> None:
    """Each payment date stores every need's outcome figures, so any rate card can settle."""
    with ResultStore(db) as store:
        runs = store.runs(store.batch_id())
    contract = json.loads(runs[runs["arm"] == "cis"].iloc[0]["contract"])
    assert set(contract["periods"][0]["metrics"]) >= {
        "employment_6_months",
        "french_a1",
        "rights_claimed",
    }
