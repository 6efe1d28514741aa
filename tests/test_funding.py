"""Funding mechanisms: one common suite over every registered mechanism, then each mechanism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.delivery.associations import generate_associations
from sim.errors import UserInputError
from sim.funding.base import Mechanism
from sim.funding.planned import Planned
from sim.funding.records import PilotDecision
from sim.funding.registry import MECHANISMS, make_mechanism
from sim.simulation.run import RunOutput, simulate
from sim.world.params import ModelParams
from sim.world.rng import stream
from sim.world.territory import City

MONTHS = 30


def _mechanism(name: str) -> Mechanism:
    """Each registered mechanism with a budget small enough to bind on the small city."""
    params = {
        "planned": {"budget_eur_per_year": 300_000.0},
        "call_for_projects": {"budget_eur_per_year": 300_000.0, "pilot_months": 12},
        "impact_contract": {},
    }.get(name, {})
    return make_mechanism(name, **params)


@pytest.fixture(scope="module", params=sorted(MECHANISMS))
def mechanism_runs(
    request: pytest.FixtureRequest, small_city: City
) -> tuple[str, RunOutput, RunOutput]:
    """Two runs with one seed of each registered mechanism."""
    name = request.param
    first = simulate(small_city, _mechanism(name), seed=5, months=MONTHS)
    second = simulate(small_city, _mechanism(name), seed=5, months=MONTHS)
    return name, first, second


def test_never_spends_beyond_budget(mechanism_runs: tuple[str, RunOutput, RunOutput]) -> None:
    """Public outflows (city, CAF, State, department) never exceed the mechanism's budget."""
    from sim.funding.ledger import PUBLIC_PAYERS

    name, run, _ = mechanism_runs
    spent = sum(f["amount_eur"] for f in run.cash_flows if f["payer"] in PUBLIC_PAYERS)
    assert spent <= run.budget_limit_eur + 0.01, name


def test_ledger_balances(mechanism_runs: tuple[str, RunOutput, RunOutput]) -> None:
    """Every euro paid is received: balances over all parties sum to zero."""
    _, run, _ = mechanism_runs
    balance: dict[str, float] = {}
    for f in run.cash_flows:
        assert f["amount_eur"] > 0
        balance[f["payer"]] = balance.get(f["payer"], 0.0) - f["amount_eur"]
        balance[f["payee"]] = balance.get(f["payee"], 0.0) + f["amount_eur"]
    assert abs(sum(balance.values())) < 1e-6 * max(1.0, sum(abs(v) for v in balance.values()))


def test_same_seed_same_result(mechanism_runs: tuple[str, RunOutput, RunOutput]) -> None:
    """Two runs of one mechanism with one seed give identical cash flows and outcomes."""
    _, a, b = mechanism_runs
    assert a.cash_flows == b.cash_flows
    for key, values in a.residents.items():
        assert np.array_equal(values, b.residents[key]), key
    assert a.decisions == b.decisions


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_parameters_round_trip(name: str) -> None:
    """get_params gives back what the constructor took; set_params changes it; unknown names
    are refused with a suggestion."""
    mechanism = _mechanism(name)
    params = mechanism.get_params()
    clone = type(mechanism)(**params)
    assert clone.get_params() == params
    if params:
        key = next(iter(params))
        assert mechanism.set_params(**{key: params[key]}).get_params() == params
        with pytest.raises(UserInputError, match="did you mean"):
            make_mechanism(name, **{key + "x": params[key]})


def test_unknown_mechanism_suggests_closest() -> None:
    """A misspelt mechanism name is a clear error with the closest valid one."""
    with pytest.raises(UserInputError, match="did you mean 'planned'"):
        make_mechanism("planed")


def test_planned_spends_by_formula_whatever_the_outcomes(small_city: City) -> None:
    """Per-resident formula: each territory's allocation is proportional to its residents, and the
    ledger is identical in a world where residents find jobs twice as easily."""
    mechanism = Planned(budget_eur_per_year=600_000.0, formula="per_resident")
    run = simulate(small_city, mechanism, seed=2, months=24)
    easier = ModelParams(job_hazard_short_per_month=0.116, job_hazard_long_per_month=0.06)
    other = simulate(
        small_city,
        Planned(budget_eur_per_year=600_000.0, formula="per_resident"),
        seed=2,
        months=24,
        params=easier,
    )
    assert run.cash_flows == other.cash_flows
    assert not np.array_equal(
        run.residents["sustained_job_month"], other.residents["sustained_job_month"]
    )
    from sim.simulation.model import CityModel

    model = CityModel(small_city, seed=2, months=24, mechanism=mechanism, resident_agents=False)
    model.run()
    plans = model.funding.plans
    population = np.array([t.working_age_population for t in small_city.territories], float)
    for specialty in ("employment_support", "french_course"):
        allocated = np.array([p.allocated_eur for p in plans if p.specialty == specialty])
        assert allocated / allocated.sum() == pytest.approx(population / population.sum())
    activity = sum(f["amount_eur"] for f in run.cash_flows if f["kind"] == "activity")
    granted = sum(p.granted_eur for p in plans)
    assert activity == pytest.approx(granted)
    assert granted <= sum(p.allocated_eur for p in plans) + 0.01


def _effectiveness(city: City, value: float) -> list:
    profiles = generate_associations(
        city.size, city.column("qpv").astype(bool), stream(0, "associations")
    )
    return [dataclasses.replace(p, effectiveness=value) for p in profiles]


def _employment_plan() -> Planned:
    return Planned(budget_eur_per_year=1_500_000.0, specialty_shares={"employment_support": 1.0})


@pytest.fixture(scope="module")
def twin_seed_4(demo_city: City) -> RunOutput:
    """The status quo of seed 4 on the demo city, 48 months."""
    return simulate(demo_city, make_mechanism("status_quo"), seed=4, months=48)


def _plan_with_effectiveness(city: City, effectiveness: float) -> RunOutput:
    return simulate(
        city,
        _employment_plan(),
        seed=4,
        months=48,
        associations=_effectiveness(city, effectiveness),
    )


def test_zero_effect_programme_adds_nothing_despite_many_counted_outcomes(
    demo_city: City, twin_seed_4: RunOutput
) -> None:
    """Associations of zero effectiveness: true additional outcomes are exactly zero (common
    random numbers), while gross monitoring counts hundreds of outcomes, all deadweight."""
    from sim.experiments.metrics import run_metrics

    metrics = run_metrics(_plan_with_effectiveness(demo_city, 0.0), twin_seed_4)
    assert metrics["true_additional_employment"] == 0
    assert metrics["counted_outcomes"] > 200
    assert metrics["deadweight_share_of_counted"] == 1.0
    assert metrics["measured_additional_employment"] > 200


def test_effective_programme_yields_true_additional_outcomes(
    demo_city: City, twin_seed_4: RunOutput
) -> None:
    """Effective associations: true additional jobs held 6 months are positive, more than 3
    standard errors of the resident-by-resident difference above zero."""
    from sim.experiments.metrics import outcome_count, run_metrics

    twin = twin_seed_4
    arm = _plan_with_effectiveness(demo_city, 4.0)
    diff = outcome_count(arm, "employment") - outcome_count(twin, "employment")
    assert run_metrics(arm, twin)["true_additional_employment"] == diff.sum()
    assert diff.sum() > 3 * np.sqrt((diff**2).sum())


def _pilot_decisions(design: str) -> list[PilotDecision]:
    """Decisions of one call per seed in a city where every territory has one employment
    association, half the pilots truly work, and pilots are large enough for an RCT."""
    from sim.world.territory import generate_city

    city = generate_city(8, 40_000, seed=12, qpv_share=0.5)
    profiles, seen = [], set()
    for p in _effectiveness(city, 1.0):
        if p.home_territories[0] not in seen:
            seen.add(p.home_territories[0])
            profiles.append(
                dataclasses.replace(p, specialty="employment_support", selection="first_come")
            )
    params = ModelParams(association_outreach_per_month=0.3)
    decisions = []
    for seed in range(2):
        mechanism = make_mechanism(
            "call_for_projects",
            budget_eur_per_year=30e6,
            pilot_places=300,
            pilot_months=30,
            p_pilot_works=0.5,
            works_effect_factor=6.0,
            evaluation=design,
            call_every_months=48,
            proposal_rate=1.0,
        )
        decisions += simulate(
            city, mechanism, seed=seed, months=36, associations=profiles, params=params
        ).decisions
    return decisions


def _scale_rates(decisions: list[PilotDecision]) -> tuple[float, float]:
    works = [d.decision == "scale" for d in decisions if d.truly_works]
    idle = [d.decision == "scale" for d in decisions if not d.truly_works]
    assert len(works) >= 4, "the portfolio must hold working pilots"
    assert len(idle) >= 4, "the portfolio must hold idle pilots"
    return float(np.mean(works)), float(np.mean(idle))


def test_rct_scales_working_pilots_and_none_scales_on_deadweight() -> None:
    """With an adequately sized RCT the call scales the pilots that truly work far more often
    than the others (at most 1 false scale in 8 idle pilots: the test's 2.5 % one-sided level
    leaves room for one); judged on gross outcomes (`none`) it scales idle pilots too."""
    rct_works, rct_idle = _scale_rates(_pilot_decisions("rct"))
    none_works, none_idle = _scale_rates(_pilot_decisions("none"))
    assert rct_works - rct_idle >= 0.6
    assert rct_idle <= 0.15
    assert none_idle >= 0.8
    assert none_works >= 0.8


ZERO_EFFECT = {
    "status_quo": {},
    "planned": {"budget_eur_per_year": 600_000.0},
    "call_for_projects": {
        "budget_eur_per_year": 600_000.0,
        "pilot_months": 12,
        "p_pilot_works": 0.0,
        "evaluation": "rct",
    },
    "impact_contract": {
        "effect_factor": 0.0,
        "evaluation": "comparison_group",
        "payment_months": [12, 24],
        "contract_months": 24,
    },
}


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_zero_effect_leaves_every_trajectory_as_in_the_twin(name: str, small_city: City) -> None:
    """Common random numbers hold for every mechanism and specialty: when no action has any
    effect, every resident's outcomes equal the status-quo twin's, whatever was enrolled,
    randomized, matched, paid or evaluated."""
    from sim.simulation.output import RESIDENT_FIELDS

    assert set(ZERO_EFFECT) == set(MECHANISMS), "give every mechanism a zero-effect setting"
    twin = simulate(small_city, make_mechanism("status_quo"), seed=6, months=30)
    arm = simulate(
        small_city,
        make_mechanism(name, **ZERO_EFFECT[name]),
        seed=6,
        months=30,
        associations=_effectiveness(small_city, 0.0),
    )
    programme_side = {"first_action", "first_enrol_month", "first_group"}
    for field in set(RESIDENT_FIELDS) - programme_side:
        assert np.array_equal(arm.residents[field], twin.residents[field]), field


def test_every_pilot_of_every_call_is_judged(small_city: City) -> None:
    """Each funded pilot is evaluated and decided once, the last call's included."""
    from sim.simulation.model import CityModel

    mechanism = make_mechanism("call_for_projects", budget_eur_per_year=600_000.0, pilot_months=12)
    model = CityModel(small_city, seed=3, months=37, mechanism=mechanism, resident_agents=False)
    model.run()
    pilots = [i for i, g in model.funding.funded.items() if g.stage != "scaled"]
    assert len(pilots) > 0
    assert sorted(d.action for d in model.funding.decisions) == sorted(pilots)


def test_other_public_payers_pay_and_are_counted(small_city: City) -> None:
    """A contract paid by the CAF: the CAF, not the city, repays the investor, and its
    payments count as public spending."""
    from sim.experiments.metrics import spending_eur_by_kind

    run = simulate(
        small_city,
        make_mechanism(
            "impact_contract",
            payer="caf",
            evaluation="none",
            payment_months=[12, 24],
            contract_months=24,
        ),
        seed=2,
        months=24,
    )
    payers = {f["payer"] for f in run.cash_flows if f["kind"] in ("repayment", "transaction")}
    assert "caf" in payers
    assert "city" not in payers
    assert spending_eur_by_kind(run).get("repayment", 0.0) == pytest.approx(
        sum(
            f["amount_eur"]
            for f in run.cash_flows
            if f["payer"] == "caf" and f["kind"] == "repayment"
        )
    )
