"""Funding mechanisms: one common suite over every registered mechanism, then each mechanism."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import pytest

from sim.delivery.associations import generate_associations
from sim.errors import UserInputError
from sim.funding.base import EVALUATION_COST_EUR, Mechanism, require_number
from sim.funding.call_for_projects import CallForProjects
from sim.funding.planned import Planned
from sim.funding.records import FundedAction, PilotDecision
from sim.funding.registry import MECHANISMS, make_mechanism
from sim.funding.seam import FundingContext
from sim.simulation.checks import check_mechanism
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


#: The flows each mechanism may record, as (payer, kind, payee) roles: ``association`` is any
#: association of the run, ``operator`` the contract's operator, ``payer`` the contract's payer.
ALLOWED_FLOWS: dict[str, set[tuple[str, str, str]]] = {
    "status_quo": set(),
    "planned": {("city", "activity", "association"), ("city", "evaluation", "evaluator")},
    "call_for_projects": {
        ("city", "grant", "association"),
        ("city", "evaluation", "evaluator"),
        ("city", "incubator", "incubator"),
    },
    "impact_contract": {
        ("investor", "transaction", "intermediary"),
        ("payer", "transaction", "intermediary"),
        ("investor", "investment", "operator"),
        ("investor", "evaluation", "evaluator"),
        ("payer", "repayment", "investor"),
    },
}


def _role(run: RunOutput, party: str) -> str:
    """The role a party of a run's ledger plays (its name for the fixed parties)."""
    if run.contract is not None and party == run.contract.operator:
        return "operator"
    if run.contract is not None and party == run.contract.payer:
        return "payer"
    if party in {a.association for a in run.actions}:
        return "association"
    return party


def test_ledger_flows_are_the_mechanisms_own(
    mechanism_runs: tuple[str, RunOutput, RunOutput],
) -> None:
    """Every flow of a run is a (payer, kind, payee) its mechanism may use, in a month of the
    run, for a positive amount; the mechanisms that fund something record some flows."""
    assert set(ALLOWED_FLOWS) == set(MECHANISMS), "declare the flows of every mechanism"
    name, run, _ = mechanism_runs
    used = set()
    for f in run.cash_flows:
        assert f["amount_eur"] > 0, f
        assert 0 <= f["month"] <= MONTHS, f
        used.add((_role(run, f["payer"]), f["kind"], _role(run, f["payee"])))
    assert used <= ALLOWED_FLOWS[name], used - ALLOWED_FLOWS[name]
    assert bool(used) == bool(ALLOWED_FLOWS[name]), name


def _paid_months(grant: FundedAction, months: int) -> int:
    """Months of the run in which a funded action's instalment falls."""
    return max(0, min(grant.until_month, months) - max(grant.from_month, 1) + 1)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("planned", {"budget_eur_per_year": 300_000.0}),
        ("planned", {"budget_eur_per_year": 300_000.0, "plan_years": 1, "evaluation": "rct"}),
        ("call_for_projects", {"budget_eur_per_year": 600_000.0, "pilot_months": 12}),
        (
            "call_for_projects",
            {"budget_eur_per_year": 600_000.0, "pilot_months": 12, "incubator": True},
        ),
    ],
)
def test_ledger_pays_what_was_funded(name: str, params: dict[str, Any], small_city: City) -> None:
    """Each association receives exactly the monthly amount of its funded actions for each month
    they run within the horizon; the city pays nothing else than that activity, the evaluations
    reserved (a plan's monitoring, each pilot's and scale-up's evaluation) and the incubator; and
    what it paid is what it committed."""
    from sim.simulation.model import CityModel

    months = 30
    model = CityModel(
        small_city,
        seed=5,
        months=months,
        mechanism=make_mechanism(name, **params),
        resident_agents=False,
    )
    model.run()
    funding, ledger = model.funding, model.funding.ledger
    funded = list(funding.funded.values())
    assert funded, "the run must fund something"
    expected: dict[str, float] = {}
    for grant in funded:
        assert 1 <= grant.from_month <= grant.until_month <= months, grant
        expected[grant.payee] = expected.get(grant.payee, 0.0) + grant.monthly_eur * _paid_months(
            grant, months
        )
    kind = "activity" if name == "planned" else "grant"
    paid = {f.payee: ledger.total_eur(payee=f.payee, kind=kind) for f in ledger.flows}
    paid = {payee: amount for payee, amount in paid.items() if amount > 0}
    assert paid.keys() == expected.keys()
    for payee, amount in expected.items():
        assert paid[payee] == pytest.approx(amount, rel=1e-12), payee
    activity = sum(expected.values())
    if name == "planned":
        plans = len({line.cycle_start for line in funding.plans})
        evaluation = plans * EVALUATION_COST_EUR[params.get("evaluation", "none")]
        assert funding.monitoring_due_eur == pytest.approx(evaluation)
    else:
        evaluation = sum(g.evaluation_cost_eur for g in funded)
        assert all(g.stage in ("pilot_evaluated", "scaled") for g in funded)
    incubator = funding.ledger.total_eur(kind="incubator")
    if params.get("incubator"):
        per_proposal = CallForProjects().incubator_cost_eur_per_proposal
        assert incubator == pytest.approx(per_proposal * len(funding.proposals))
    else:
        assert incubator == 0.0
    assert ledger.total_eur(payer="city", kind="evaluation") == pytest.approx(evaluation)
    assert ledger.total_eur(payer="city") == pytest.approx(activity + evaluation + incubator)
    assert funding.committed_eur == pytest.approx(activity + evaluation + incubator)
    assert ledger.total_eur(payer="city") <= funding.budget_limit_eur + 0.01


def test_same_seed_same_result(mechanism_runs: tuple[str, RunOutput, RunOutput]) -> None:
    """Two runs of one mechanism with one seed give identical cash flows and outcomes."""
    _, a, b = mechanism_runs
    assert a.cash_flows == b.cash_flows
    for key, values in a.residents.items():
        assert np.array_equal(values, b.residents[key]), key
    assert a.decisions == b.decisions


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_every_registered_mechanism_passes_check_mechanism(name: str) -> None:
    """Every registered mechanism keeps every promise of the interface: parameters round-trip,
    wrong types are refused with a UserInputError naming them, a run leaves the parameters
    unchanged, stays within its budget and reproduces its flows."""
    check_mechanism(MECHANISMS[name])


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_unknown_parameters_are_refused(name: str) -> None:
    """A parameter a mechanism does not have is a user error listing the valid ones, with the
    closest name when one is close (the status quo has none and takes none)."""
    names = MECHANISMS[name].param_names()
    if not names:
        with pytest.raises(UserInputError, match=f"'{name}' has no parameter 'budget_eur'"):
            make_mechanism(name, budget_eur=1.0)
        return
    with pytest.raises(UserInputError, match=f"did you mean '{names[0]}'"):
        make_mechanism(name, **{names[0] + "x": 1})


class _Flat(Mechanism):
    """A toy mechanism that keeps every promise: it pays one association a flat monthly amount."""

    name: ClassVar[str] = "toy_flat"

    def __init__(self, monthly_eur: float = 1_000.0) -> None:
        self.monthly_eur = monthly_eur

    def validate(self) -> None:
        require_number(self.name, "monthly_eur", self.monthly_eur)

    def budget_limit_eur(self, months: int) -> float:
        return float(self.monthly_eur * months)

    def on_month(self, city: FundingContext) -> None:
        city.state.ledger.pay(city.month, "city", "toy association", "activity", self.monthly_eur)


class _LaxValidation(_Flat):
    """Accepts any value: a text as a monthly amount goes through."""

    def validate(self) -> None:
        pass


class _MutatesParameters(_Flat):
    """Keeps its run's state in its parameters."""

    def on_start(self, city: FundingContext) -> None:
        self.monthly_eur = self.monthly_eur * 2


class _Overspends(_Flat):
    """Pays more than the budget it declares."""

    def budget_limit_eur(self, months: int) -> float:
        return float(self.monthly_eur * months / 2)


class _NotReproducible(_Flat):
    """Draws from a generator of its own instead of the run's seeded stream."""

    def __init__(self, monthly_eur: float = 1_000.0) -> None:
        super().__init__(monthly_eur)
        self._rng = np.random.default_rng()

    def on_month(self, city: FundingContext) -> None:
        amount = self.monthly_eur * float(self._rng.random())
        city.state.ledger.pay(city.month, "city", "toy association", "activity", amount)


def test_check_mechanism_accepts_a_sound_toy_mechanism() -> None:
    """The toy mechanism the broken ones derive from passes, so each rejection below is due to
    its one defect."""
    check_mechanism(_Flat)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (_LaxValidation, r"validate\(\) accepted monthly_eur="),
        (_MutatesParameters, "a run must leave the parameters unchanged"),
        (_Overspends, "beyond the budget"),
        (_NotReproducible, "the same seed must give the same cash flows"),
    ],
)
def test_check_mechanism_rejects_a_broken_mechanism(broken: type[Mechanism], message: str) -> None:
    """check_mechanism fails with an AssertionError naming the promise a mechanism breaks."""
    with pytest.raises(AssertionError, match=message):
        check_mechanism(broken)


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


def _plan_with_effectiveness(city: City, effectiveness: float, seed: int = 4) -> RunOutput:
    return simulate(
        city,
        _employment_plan(),
        seed=seed,
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
    assert metrics["counted_employment"] > 200
    assert metrics["deadweight_share_of_counted_employment"] == 1.0
    assert metrics["measured_additional_employment"] > 200


def test_effective_programme_yields_true_additional_outcomes(
    demo_city: City, twin_seed_4: RunOutput
) -> None:
    """Effective associations: true additional jobs held 6 months are positive, more than 3
    standard errors of the resident-by-resident difference above zero, pooled over three seeds
    (about 5 standard errors each: one seed alone falls under 3 a few times in a hundred)."""
    from sim.experiments.metrics import outcome_count, run_metrics

    differences = []
    for seed in (4, 5, 6):
        twin = (
            twin_seed_4
            if seed == 4
            else simulate(demo_city, make_mechanism("status_quo"), seed=seed, months=48)
        )
        arm = _plan_with_effectiveness(demo_city, 4.0, seed)
        diff = outcome_count(arm, "employment") - outcome_count(twin, "employment")
        assert run_metrics(arm, twin)["true_additional_employment"] == diff.sum()
        differences.append(diff)
    pooled = np.concatenate(differences)
    assert pooled.sum() > 3 * np.sqrt((pooled**2).sum())


def _pilot_decisions(design: str) -> list[PilotDecision]:
    """Decisions of one call per seed in a city where every territory has one employment
    association, half the pilots truly work, and pilots are large and effective enough for an
    RCT to detect them (the effect starts at completion: nothing while enrolled)."""
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
            works_effect_factor=12.0,
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
