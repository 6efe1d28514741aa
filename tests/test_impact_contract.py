"""The social impact contract: payments, investor return, deadweight and known failure modes."""

from __future__ import annotations

import math

import pytest

from sim.experiments.metrics import run_metrics
from sim.funding.registry import make_mechanism
from sim.simulation.run import RunOutput, simulate
from sim.world.territory import City

MONTHS = 50


@pytest.fixture(scope="module")
def twin(demo_city: City) -> RunOutput:
    """The status quo of seed 3 on the demo city."""
    return simulate(demo_city, make_mechanism("status_quo"), seed=3, months=MONTHS)


def _contract(city: City, twin: RunOutput, **params: object) -> tuple[RunOutput, dict[str, float]]:
    arm = simulate(city, make_mechanism("impact_contract", **params), seed=3, months=MONTHS)
    return arm, run_metrics(arm, twin)


def test_zero_effect_under_rct_pays_about_nothing_and_investor_loses(
    demo_city: City, twin: RunOutput
) -> None:
    """Around an action of zero true effect, an RCT validates no more outcomes than its own
    noise (3 standard errors of the validated count), and the investor loses money."""
    arm, m = _contract(demo_city, twin, evaluation="rct", effect_factor=0.0)
    final = arm.evaluations[-1]
    noise_outcomes = 3 * final.standard_error * final.n_treated
    assert m["contract_paid_outcomes"] <= noise_outcomes
    assert m["contract_true_additional_outcomes"] == 0
    assert m["investor_lost_money"] == 1.0
    assert m["investor_money_multiple"] < 0.5


def test_zero_effect_judged_on_gross_outcomes_pays_for_deadweight(
    demo_city: City, twin: RunOutput
) -> None:
    """Same action judged without counterfactual and with creaming: the payer pays, and the
    twin shows that every paid outcome would have happened anyway."""
    arm, m = _contract(demo_city, twin, evaluation="none", effect_factor=0.0, creaming_degree=0.7)
    assert len(arm.evaluations) == 3, "one evaluation per payment date"
    assert m["measured_additional_employment"] == arm.evaluations[-1].validated_outcomes, (
        "cumulative evaluations count once"
    )
    assert m["contract_payments_eur"] > 0
    assert m["contract_paid_outcomes"] > 50
    assert m["deadweight_share_of_paid_outcomes"] == 1.0
    assert m["paid_for_non_additional_outcomes"] == 1.0


def test_strong_effect_pays_near_the_cap_and_investor_reaches_max_return(
    demo_city: City, twin: RunOutput
) -> None:
    """A strongly effective action with a generous price: payments stop at the investor's
    maximum return (its IRR equals 5 % a year within 1e-6) and come near the cap, never above."""
    arm, m = _contract(
        demo_city, twin, evaluation="rct", effect_factor=10.0, price_eur_per_outcome=60_000.0
    )
    assert arm.contract is not None
    settlement = arm.contract.settlement
    assert "max_return" in settlement["limited_by"]
    assert m["investor_irr_per_year"] == pytest.approx(0.05, abs=1e-6)
    assert m["investor_lost_money"] == 0.0
    assert 0.8 <= m["contract_share_of_cap_paid"] <= 1.0
    assert m["contract_true_additional_outcomes"] > 0


def test_pessimistic_baseline_pays_for_outcomes_that_would_have_happened(
    demo_city: City, twin: RunOutput
) -> None:
    """Utah-style failure: a historical baseline at half the published rates makes an action of
    no effect look effective; the contract pays, and all paid outcomes are deadweight. A fair
    baseline pays less."""
    _, biased = _contract(
        demo_city, twin, evaluation="historical_baseline", baseline_bias=0.5, effect_factor=0.0
    )
    _, fair = _contract(
        demo_city, twin, evaluation="historical_baseline", baseline_bias=1.0, effect_factor=0.0
    )
    assert biased["contract_payments_eur"] > 0
    assert biased["deadweight_share_of_paid_outcomes"] == 1.0
    assert fair["contract_payments_eur"] < biased["contract_payments_eur"]


def test_outcome_pay_creams_compared_with_the_planned_programme(
    demo_city: City, twin: RunOutput
) -> None:
    """Work-Programme-style failure: with outcome pay and creaming, the hardest quarter of the
    unemployed is reached less than under the planned programme, by more than 4 binomial
    standard errors of the difference in shares."""
    _, cis = _contract(
        demo_city, twin, evaluation="none", target={}, creaming_degree=0.7, places=300
    )
    planned = simulate(
        demo_city,
        make_mechanism("planned", specialty_shares={"employment_support": 1.0}),
        seed=3,
        months=MONTHS,
    )
    plan = run_metrics(planned, twin)
    p1, p2 = cis["reach_share_barrier_q4"], plan["reach_share_barrier_q4"]
    se = math.sqrt(p1 * (1 - p1) / cis["participants"] + p2 * (1 - p2) / plan["participants"])
    assert p2 - p1 > 4 * se
    assert cis["creaming_index"] > plan["creaming_index"]


def test_relative_threshold_needs_a_counterfactual() -> None:
    """A relative threshold with the `none` design is refused with a message naming it."""
    from sim.errors import UserInputError

    with pytest.raises(UserInputError, match="threshold_kind"):
        make_mechanism(
            "impact_contract", threshold_kind="relative", threshold_value=0.1, evaluation="none"
        )


def test_contract_never_pays_beyond_its_cap(demo_city: City, twin: RunOutput) -> None:
    """Even at an absurd price the payer's repayments stop at the cap."""
    arm, m = _contract(
        demo_city, twin, evaluation="none", price_eur_per_outcome=1e6, max_return_per_year=1.0
    )
    assert arm.contract is not None
    cap = arm.contract.terms["payment_cap_eur"]
    assert m["contract_payments_eur"] == pytest.approx(cap)
    assert "cap" in arm.contract.settlement["limited_by"]


def test_contract_with_payers_guarantee_and_cohorts(demo_city: City, twin: RunOutput) -> None:
    """Four payers pay their shares of each repayment, a guarantor covers the investor's loss
    at the last date, cohorts are evaluated on their own, and the ledger still balances."""
    arm, m = _contract(
        demo_city,
        twin,
        payment_months=(24, 36, 48),
        threshold_scope="cohort",
        cohort_months=[12, 24],
        threshold_kind="relative",
        threshold_value=0.05,
        pooled_threshold_value=0.02,
        payer_shares={"state": 0.5, "caf": 0.2, "department": 0.2, "city": 0.1},
        guarantee_share=0.5,
        price_eur_per_outcome=20_000.0,
    )
    assert arm.contract is not None
    assert [p.cohort for p in arm.contract.periods] == ["cohort 1", "cohort 2", "pooled"]
    assert arm.contract.periods[0].participants < arm.contract.periods[2].participants
    repaid: dict[str, float] = {}
    for flow in arm.cash_flows:
        if flow["kind"] == "repayment":
            repaid[flow["payer"]] = repaid.get(flow["payer"], 0.0) + flow["amount_eur"]
    total = sum(repaid.values())
    assert total == pytest.approx(m["contract_payments_eur"])
    if total > 0:
        assert repaid["state"] == pytest.approx(0.5 * total)
        assert repaid["city"] == pytest.approx(0.1 * total)
    guarantee = sum(f["amount_eur"] for f in arm.cash_flows if f["kind"] == "guarantee")
    loss = arm.contract.drawn_eur - total
    assert guarantee == pytest.approx(min(0.5 * arm.contract.capital_eur, max(loss, 0.0)))
    assert m["investor_lost_money"] == float(total + guarantee < arm.contract.drawn_eur)
