"""The planned programme's formula and planning cycle: budgets split among territories by
residents in need or by working-age residents, and plans remade from the diagnosis of their
month at every cycle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.delivery.needs import need_of
from sim.funding.base import EVALUATION_COST_EUR
from sim.funding.planned import DEFAULT_SHARES, Planned
from sim.funding.records import PlanLine
from sim.simulation.model import CityModel
from sim.world.territory import City

BUDGET = 600_000.0


def _in_need(model: CityModel, specialty: str) -> np.ndarray:
    """Residents of each territory in need of a specialty now, counted row by row."""
    pop, need = model.population, need_of(specialty)
    return np.array([need.in_need(pop, rows).sum() for rows in pop.slices], dtype=float)


def _lines(model: CityModel, cycle_start: int, specialty: str) -> list[PlanLine]:
    lines = [
        p for p in model.funding.plans if p.cycle_start == cycle_start and p.specialty == specialty
    ]
    assert [p.territory for p in lines] == list(range(model.city.size))
    return lines


def _model(city: City, months: int, **params: Any) -> CityModel:
    return CityModel(
        city, seed=2, months=months, mechanism=Planned(**params), resident_agents=False
    )


def test_per_need_splits_each_specialty_by_residents_in_need(small_city: City) -> None:
    """Per need: each territory's allocation of a specialty is its share of the city's residents
    in need of it at the plan's month (unemployed, below A2, unclaimed right), and a specialty's
    allocations sum to its share of the cycle's budget less the monitoring reserved."""
    model = _model(small_city, 12, budget_eur_per_year=BUDGET, formula="per_need")
    need = {s: _in_need(model, s) for s in DEFAULT_SHARES}
    context_view = {
        s: model.funding_context.in_need_by_territory(need_of(s)) for s in DEFAULT_SHARES
    }
    model.step()  # the plan is made at the start of month 1, before the month's dynamics
    budget = BUDGET - EVALUATION_COST_EUR["none"]
    for specialty, share in DEFAULT_SHARES.items():
        allocated = np.array([p.allocated_eur for p in _lines(model, 1, specialty)])
        assert np.array_equal(context_view[specialty], need[specialty]), specialty
        assert need[specialty].min() > 0
        assert allocated == pytest.approx(budget * share * need[specialty] / need[specialty].sum())


def test_per_need_and_per_resident_split_the_budget_differently(small_city: City) -> None:
    """Per resident follows working-age population; per need gives territories with more
    unemployment a larger share of employment support than their share of residents, and
    those with less a smaller one."""
    plans = {}
    for formula in ("per_need", "per_resident"):
        model = _model(small_city, 12, budget_eur_per_year=BUDGET, formula=formula)
        model.step()
        lines = _lines(model, 1, "employment_support")
        plans[formula] = np.array([p.allocated_eur for p in lines])
    residents = np.array([t.working_age_population for t in small_city.territories], float)
    resident_share = residents / residents.sum()
    assert plans["per_resident"] / plans["per_resident"].sum() == pytest.approx(resident_share)
    need_share = plans["per_need"] / plans["per_need"].sum()
    rate = np.array([t.unemployment_rate for t in small_city.territories])
    assert need_share[rate.argmax()] > resident_share[rate.argmax()]
    assert need_share[rate.argmin()] < resident_share[rate.argmin()]
    assert plans["per_need"].sum() == pytest.approx(plans["per_resident"].sum())


def test_yearly_plans_are_remade_from_the_diagnosis_of_their_month(small_city: City) -> None:
    """With plan_years=1 over 36 months there are three plans, at months 1, 13 and 25, each
    splitting a year's budget by the residents in need at its own month; every funded action
    starts at its plan's month and ends with its cycle, so each month pays one cycle's grants."""
    model = _model(small_city, 36, budget_eur_per_year=BUDGET, plan_years=1, formula="per_need")
    need_at = {}
    while model.month < model.months:
        if model.month + 1 in (1, 13, 25):
            need_at[model.month + 1] = _in_need(model, "employment_support")
        model.step()
    starts = sorted({p.cycle_start for p in model.funding.plans})
    assert starts == [1, 13, 25]
    budget = BUDGET - EVALUATION_COST_EUR["none"]
    for start in starts:
        allocated = np.array([p.allocated_eur for p in _lines(model, start, "employment_support")])
        weights = need_at[start] / need_at[start].sum()
        assert allocated == pytest.approx(budget * DEFAULT_SHARES["employment_support"] * weights)
    assert not np.array_equal(need_at[1], need_at[25]), "the diagnosis moved between plans"
    funded = list(model.funding.funded.values())
    assert {g.from_month for g in funded} == {1, 13, 25}
    for grant in funded:
        assert grant.until_month == grant.from_month + 11
        assert model.actions[grant.action].spec.start_month == grant.from_month
        assert model.actions[grant.action].spec.end_month == grant.until_month
    for month in (12, 13, 24, 25):
        cycle = 1 + 12 * ((month - 1) // 12)
        paid = sorted(
            f.amount_eur
            for f in model.funding.ledger.flows
            if f.month == month and f.kind == "activity"
        )
        assert paid == sorted(g.monthly_eur for g in funded if g.from_month == cycle), month
    assert model.funding.monitoring_due_eur == pytest.approx(3 * EVALUATION_COST_EUR["none"])


def test_a_cycle_cut_by_the_horizon_plans_only_its_months(small_city: City) -> None:
    """Two-year plans over 36 months: the second plan, at month 25, covers the 12 months left
    and splits 12 months of budget."""
    model = _model(small_city, 36, budget_eur_per_year=BUDGET, plan_years=2)
    model.run()
    totals = {
        start: sum(p.allocated_eur for p in model.funding.plans if p.cycle_start == start)
        for start in (1, 25)
    }
    assert sorted({p.cycle_start for p in model.funding.plans}) == [1, 25]
    monitoring = EVALUATION_COST_EUR["none"]
    assert totals[1] == pytest.approx(2 * BUDGET - monitoring)
    assert totals[25] == pytest.approx(BUDGET - monitoring)
    assert {g.until_month for g in model.funding.funded.values()} == {24, 36}
