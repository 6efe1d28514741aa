"""Truth metrics per need: never summed across needs, each need's sign meaning what a reader
thinks, spending attributed to the need it served, costs for the public payers and for society."""

from __future__ import annotations

import math

import pytest

from sim.delivery.needs import need_keys
from sim.experiments.metrics import (
    SimulationMeasures,
    fill_result,
    run_metrics,
    spending_eur_by_need,
)
from sim.experiments.results import RunResult
from sim.funding.impact_contract import ImpactContract
from sim.funding.planned import Planned
from sim.funding.status_quo import StatusQuo
from sim.simulation.output import RunOutput
from sim.simulation.run import simulate
from sim.world.territory import City, generate_city

MONTHS = 36


@pytest.fixture(scope="module")
def city() -> City:
    """A small city with priority neighbourhoods."""
    return generate_city(5, 8_000, seed=4)


@pytest.fixture(scope="module")
def twin(city: City) -> RunOutput:
    """The status quo of seed 2."""
    return simulate(city, StatusQuo(), seed=2, months=MONTHS)


def planned(city: City, specialty: str) -> RunOutput:
    """A planned programme funding one specialty only."""
    plan = Planned(budget_eur_per_year=1_500_000, specialty_shares={specialty: 1.0})
    return simulate(city, plan, seed=2, months=MONTHS)


def test_no_metric_adds_outcomes_of_different_needs(city: City, twin: RunOutput) -> None:
    """Counts, deadweight and costs per outcome exist per need and never as a sum of needs."""
    metrics = run_metrics(planned(city, "employment_support"), twin)
    for summed in (
        "true_additional_outcomes",
        "measured_additional_outcomes",
        "counted_outcomes",
        "deadweight_outcomes",
        "deadweight_share_of_counted",
        "cost_eur_per_additional_outcome",
    ):
        assert summed not in metrics
    for need in need_keys():
        for stem in ("true_additional", "measured_additional", "counted", "deadweight"):
            assert f"{stem}_{need}" in metrics
        assert f"public_cost_eur_per_additional_{need}" in metrics
        assert f"society_cost_eur_per_additional_{need}" in metrics


def test_an_employment_programme_loses_no_rights(city: City, twin: RunOutput) -> None:
    """Claims that never happen because people found work are not negative rights outcomes:
    with common random numbers, an employment-only programme changes no right at all."""
    metrics = run_metrics(planned(city, "employment_support"), twin)
    assert metrics["true_additional_employment"] > 0
    assert metrics["true_additional_rights"] == 0
    assert metrics["true_additional_french"] == 0


def test_a_rights_programme_adds_claims_and_no_jobs(city: City, twin: RunOutput) -> None:
    """Access-to-rights actions raise take-up; they touch no job (take-up does not change the
    job-finding hazard), so the other needs' truth is exactly zero."""
    metrics = run_metrics(planned(city, "access_to_rights"), twin)
    assert metrics["true_additional_rights"] > 0
    assert metrics["true_additional_employment"] == 0
    assert math.isnan(metrics["public_cost_eur_per_additional_employment"])
    assert metrics["public_cost_eur_per_additional_rights"] == pytest.approx(
        metrics["public_spending_eur_rights"] / metrics["true_additional_rights"]
    )


def test_spending_is_attributed_to_needs_without_loss(city: City, twin: RunOutput) -> None:
    """Every public euro is attributed to a need: direct flows to theirs, monitoring shared in
    proportion, and the parts add up to the whole."""
    arm = simulate(city, Planned(budget_eur_per_year=1_500_000), seed=2, months=MONTHS)
    metrics = run_metrics(arm, twin)
    parts = [metrics[f"public_spending_eur_{need}"] for need in need_keys()]
    assert all(p > 0 for p in parts)
    assert sum(parts) == pytest.approx(metrics["public_spending_eur"])
    assert sum(spending_eur_by_need(arm).values()) == pytest.approx(metrics["public_spending_eur"])


def test_society_pays_what_the_investor_lost(city: City, twin: RunOutput) -> None:
    """For a contract, the cost to society (what providers received, whoever paid) is the
    public spending plus the investor's loss (minus its gain): the investor's money counts."""
    contract = ImpactContract(price_eur_per_outcome=5_000.0, payment_months=(24, 36))
    arm = simulate(city, contract, seed=2, months=MONTHS)
    metrics = run_metrics(arm, twin)
    assert metrics["society_cost_eur"] == pytest.approx(
        metrics["public_spending_eur"] - metrics["investor_net_eur"]
    )
    assert metrics["investor_net_eur"] < 0, "at this price the investor loses"
    assert metrics["society_spending_eur_employment"] > metrics["public_spending_eur_employment"]


def blank_result() -> RunResult:
    """A result with only its identity."""
    return RunResult("p0-r0-plan", 0, 0, "plan", "planned", 2, {}, {}, {})


def test_measures_shared_by_settlements_give_what_measuring_afresh_gives(
    city: City, twin: RunOutput
) -> None:
    """A result filled from a simulation's kept measures equals, bit for bit, one measured
    afresh (NaN where NaN); the measures of another simulation are refused."""
    arm = planned(city, "employment_support")
    measures = SimulationMeasures(arm, twin)
    fill_result(blank_result(), arm, twin, measures)  # the first run settled from it
    shared = fill_result(blank_result(), arm, twin, measures)
    fresh = fill_result(blank_result(), arm, twin)
    assert shared.metrics.keys() == fresh.metrics.keys()
    assert list(shared.metrics) == list(fresh.metrics)
    for name, value in fresh.metrics.items():
        assert value == shared.metrics[name] or (
            math.isnan(value) and math.isnan(shared.metrics[name])
        )
    assert (shared.series, shared.territories, shared.evaluations) == (
        fresh.series,
        fresh.territories,
        fresh.evaluations,
    )
    with pytest.raises(ValueError, match="another simulation"):
        fill_result(blank_result(), twin, twin, measures)
