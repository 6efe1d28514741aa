"""Contract terms as real contracts write them: rate cards, caps per metric and per participant,
thresholds per period and per cohort with a pooled test, tiers, several payers and investors,
guarantees. Hand-computed cases for each kind of term, then properties over random contracts."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import UserInputError
from sim.funding.settlement import (
    POOLED,
    ContractTerms,
    EvaluatedPeriod,
    MetricFigures,
    settle,
)

# Sums of a few products of doubles: 1e-9 relative is far above rounding, far below a cent.
REL = 1e-9
BIG = 1e12  # a cap that never binds


def terms(**overrides: Any) -> ContractTerms:
    """A contract paid at months 12, 24 and 36 with nothing binding unless overridden."""
    fields: dict[str, Any] = {
        "payment_cap_eur": BIG,
        "max_return_per_year": 1.0,
        "payment_months": (12, 24, 36),
        "contract_months": 36,
    }
    fields.update(overrides)
    return ContractTerms(**fields)


CARD = [
    {"metric": "jobs", "price_eur": 1_000.0, "basis": "gross"},
    {"metric": "a1", "price_eur": 500.0, "basis": "relative"},
]
DRAWN = [(0, 100_000.0)]


def period(month: int, jobs: float, jobs_cf: float, a1: float, a1_cf: float, **kw: Any):  # type: ignore[no-untyped-def]
    return EvaluatedPeriod(
        month,
        metrics={"jobs": MetricFigures(jobs, jobs_cf), "a1": MetricFigures(a1, a1_cf)},
        **kw,
    )


# ---------------------------------------------------------------------------- rate cards
def test_rate_card_pays_each_metric_at_its_price_gross_or_relative() -> None:
    """jobs: 10 gross x 1,000 = 10,000; a1: (20 - 5) relative x 500 = 7,500; total 17,500."""
    result = settle(terms(rate_card=CARD), [period(12, 10, 4, 20, 5)], DRAWN)
    assert result.payments == ((12, 17_500.0),)
    assert result.limited_by == ("",)
    # Paid outcomes: the 25 outcomes the card counted, all paid for.
    assert result.paid_outcomes == pytest.approx(25.0, rel=REL)


def test_caps_per_metric_in_outcomes_and_in_euros() -> None:
    """jobs capped at 8 outcomes (8,000), a1 at EUR 5,000: 13,000 and the reason says so."""
    card = [dict(CARD[0], cap_outcomes=8), dict(CARD[1], cap_eur=5_000.0)]
    result = settle(terms(rate_card=card), [period(12, 10, 4, 20, 5)], DRAWN)
    assert result.payments == ((12, 13_000.0),)
    assert result.limited_by == ("metric_cap",)
    # A metric cap holds over the whole contract: 8 jobs more later pay nothing more.
    later = settle(
        terms(rate_card=card), [period(12, 10, 4, 20, 5), period(24, 18, 4, 20, 5)], DRAWN
    )
    assert later.payments[1] == (24, 0.0)


def test_cap_per_participant_limits_the_total() -> None:
    """12 participants at most EUR 1,200 each: 14,400 of the 17,500 earned."""
    result = settle(
        terms(rate_card=CARD, cap_per_participant_eur=1_200.0),
        [period(12, 10, 4, 20, 5, participants=12)],
        DRAWN,
    )
    assert result.payments == ((12, 14_400.0),)
    assert result.limited_by == ("participant_cap",)
    with pytest.raises(UserInputError, match="participants"):
        settle(terms(cap_per_participant_eur=1.0), [EvaluatedPeriod(12, 3.0)], DRAWN)


# ---------------------------------------------------------------------------- thresholds
def test_threshold_per_period_tests_and_pays_each_period_on_its_own() -> None:
    """Threshold 10 on each period's own outcomes: 12, then 6 (not met, never paid), then 12:
    24 outcomes paid at EUR 100, where a cumulative threshold would pay all 30."""
    periods = [EvaluatedPeriod(12, 12.0), EvaluatedPeriod(24, 18.0), EvaluatedPeriod(36, 30.0)]
    own = terms(price_eur_per_outcome=100.0, threshold_value=10.0, threshold_scope="period")
    result = settle(own, periods, DRAWN)
    assert result.payments == ((12, 1_200.0), (24, 0.0), (36, 1_200.0))
    assert result.limited_by == ("", "threshold_not_met", "")
    cumulative = settle(replace(own, threshold_scope="cumulative"), periods, DRAWN)
    assert cumulative.total_paid_eur == 3_000.0


def test_threshold_per_cohort_then_pooled() -> None:
    """Peterborough's rule. Cohort A: 13 avoided of 155 = 8.4 % < 10 %: nothing. Cohort B:
    12 of 100 = 12 %: its 12 outcomes are paid (EUR 1,000 each). Pooled: 25 of 255 = 9.8 %
    >= 7.5 %: all 25 are due, 13 more."""
    cohorts = terms(
        price_eur_per_outcome=1_000.0,
        threshold_kind="relative",
        threshold_value=0.10,
        threshold_scope="cohort",
        pooled_threshold_value=0.075,
    )
    periods = [
        EvaluatedPeriod(12, 13.0, 155.0, cohort="A"),
        EvaluatedPeriod(24, 12.0, 100.0, cohort="B"),
        EvaluatedPeriod(36, 25.0, 255.0, cohort=POOLED),
    ]
    result = settle(cohorts, periods, DRAWN)
    assert result.payments == ((12, 0.0), (24, 12_000.0), (36, 13_000.0))
    assert result.limited_by == ("threshold_not_met", "", "")
    # Pooled below 7.5 %: only cohort B was ever paid.
    weak = settle(cohorts, [*periods[:2], EvaluatedPeriod(36, 18.0, 255.0, cohort=POOLED)], DRAWN)
    assert weak.payments[-1] == (36, 0.0)
    assert weak.total_paid_eur == 12_000.0


def test_cohort_scope_needs_cohorts_and_pooled_comes_last() -> None:
    cohorts = terms(threshold_scope="cohort", price_eur_per_outcome=1.0)
    with pytest.raises(UserInputError, match="names its cohort"):
        settle(cohorts, [EvaluatedPeriod(12, 1.0)], DRAWN)
    with pytest.raises(UserInputError, match="pooled period comes last"):
        settle(
            cohorts,
            [EvaluatedPeriod(12, 1.0, cohort=POOLED), EvaluatedPeriod(24, 1.0, cohort="A")],
            DRAWN,
        )


# ---------------------------------------------------------------------------- tiers
RIKERS_TIERS = [
    {"from_value": 0.085, "amount_eur": 4_800_000.0},
    {"from_value": 0.10, "amount_eur": 9_600_000.0},
    {"from_value": 0.20, "amount_eur": 11_712_000.0},
]


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [(0.0, 0.0), (0.085, 4_800_000.0), (0.12, 9_600_000.0), (0.25, 11_712_000.0)],
)
def test_tiers_are_steps_of_the_measure(reduction: float, expected: float) -> None:
    """A step schedule on the relative reduction: the highest tier reached is owed."""
    tiered = terms(tiers=RIKERS_TIERS, tier_kind="relative", payment_months=(36,))
    result = settle(tiered, [EvaluatedPeriod(36, 100 * reduction, 100.0)], [(0, 9_600_000.0)])
    assert result.total_paid_eur == pytest.approx(expected, rel=REL)


def test_a_tier_with_a_slope() -> None:
    """From 20 outcomes: EUR 50,000 plus EUR 2,000 per outcome above 20. At 35: 80,000."""
    sloped = terms(tiers=[{"from_value": 20, "amount_eur": 50_000, "eur_per_unit": 2_000}])
    assert settle(sloped, [EvaluatedPeriod(12, 35.0)], DRAWN).total_paid_eur == 80_000.0
    assert settle(sloped, [EvaluatedPeriod(12, 19.0)], DRAWN).total_paid_eur == 0.0


# ---------------------------------------------------------------------------- parties
def test_several_payers_pay_their_shares_within_their_caps() -> None:
    """EUR 100,000 due: State 50 %, CAF 30 % (cap 10,000), city 20 %: 50k + 10k + 20k."""
    payers = [
        {"name": "state", "share": 0.5},
        {"name": "caf", "share": 0.3, "cap_eur": 10_000.0},
        {"name": "city", "share": 0.2},
    ]
    shared = terms(price_eur_per_outcome=1_000.0, payers=payers)
    result = settle(shared, [EvaluatedPeriod(12, 100.0)], [(0, 1_000_000.0)])
    assert result.payments == ((12, 80_000.0),)
    assert result.limited_by == ("payer_cap",)
    assert dict(result.paid_by_payer) == {"state": 50_000.0, "caf": 10_000.0, "city": 20_000.0}
    assert result.payments_by_payer == (
        (12, "state", 50_000.0),
        (12, "caf", 10_000.0),
        (12, "city", 20_000.0),
    )


def test_first_loss_guarantee_rikers() -> None:
    """Rikers: $7.2m drawn, nothing paid; a first-loss cover of $6m leaves Goldman -$1.2m and
    the City pays nothing."""
    guaranteed = terms(
        tiers=RIKERS_TIERS,
        tier_kind="relative",
        payment_months=(36,),
        guarantee_cover_eur=6_000_000.0,
        investors=[{"name": "goldman", "share": 1.0}],
    )
    drawn = [(m, 200_000.0) for m in range(36)]
    result = settle(guaranteed, [EvaluatedPeriod(36, 0.0, 100.0)], drawn)
    assert result.total_paid_eur == 0.0
    assert result.guarantee_paid_eur == pytest.approx(6_000_000.0, rel=REL)
    assert result.guarantee_month == 36
    net = dict(result.received_by_investor)["goldman"] - 7_200_000.0
    assert net == pytest.approx(-1_200_000.0, rel=REL)
    # A guarantee pays only once the last payment date is settled, and only for a loss.
    early = replace(guaranteed, payment_months=(12, 36))
    assert settle(early, [EvaluatedPeriod(12, 0.0, 100.0)], drawn).guarantee_paid_eur == 0.0
    # A pro-rata guarantee covering half of the loss: 3.6m of the 7.2m.
    half = replace(guaranteed, guarantee_cover_eur=9e9, guarantee_loss_share=0.5)
    assert settle(half, [EvaluatedPeriod(36, 0.0, 100.0)], drawn).guarantee_paid_eur == (
        pytest.approx(3_600_000.0, rel=REL)
    )


def test_investors_are_repaid_pari_passu() -> None:
    shared = terms(
        price_eur_per_outcome=1_000.0,
        investors=[{"name": "bank", "share": 0.75}, {"name": "foundation", "share": 0.25}],
    )
    result = settle(shared, [EvaluatedPeriod(12, 100.0)], DRAWN)
    assert dict(result.received_by_investor) == {"bank": 75_000.0, "foundation": 25_000.0}


# ---------------------------------------------------------------------------- consistency
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate_card": CARD, "price_eur_per_outcome": 5.0}, "price_eur_per_outcome must be 0"),
        ({"rate_card": [CARD[0], CARD[0]]}, "metric twice"),
        ({"rate_card": [{"metric": "x", "price": 3}]}, "unknown field"),
        ({"rate_card": [{"metric": "x", "price_eur": 3, "basis": "net"}]}, "basis"),
        ({"rate_card": "jobs"}, "rate_card must be a list"),
        ({"pooled_threshold_value": 0.075}, "pooled_threshold_value needs"),
        ({"threshold_scope": "yearly"}, "threshold_scope"),
        (
            {"tiers": [{"from_value": 2, "amount_eur": 1}, {"from_value": 1, "amount_eur": 2}]},
            "tiers",
        ),
        ({"payers": [{"name": "state", "share": 0.5}]}, "shares must sum to 1"),
        ({"payers": [{"name": "state", "share": 1.5}]}, "payers share"),
        ({"investors": [{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}]}, "twice"),
        ({"guarantee_loss_share": 2.0}, "guarantee_loss_share"),
        ({"guarantee_cover_eur": -1.0}, "guarantee_cover_eur"),
        ({"tier_kind": "steps"}, "tier_kind"),
    ],
)
def test_inconsistent_terms_are_refused_with_a_clear_error(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        terms(**overrides)


def test_a_period_must_carry_every_metric_of_the_card() -> None:
    with pytest.raises(UserInputError, match="need metric 'a1'"):
        settle(terms(rate_card=CARD), [EvaluatedPeriod(12, metrics={"jobs": 3.0})], DRAWN)


def test_terms_round_trip_through_plain_data() -> None:
    """A stored terms record (JSON-ready) rebuilds the same terms."""
    full = terms(
        rate_card=CARD,
        tiers=RIKERS_TIERS,
        payers=[{"name": "state", "share": 0.6}, {"name": "caf", "share": 0.4, "cap_eur": 1.0}],
        investors=[{"name": "bank", "share": 1.0}],
        guarantee_cover_eur=10.0,
        threshold_scope="cohort",
        pooled_threshold_value=0.1,
    )
    assert ContractTerms(**full.to_record()) == full


# ---------------------------------------------------------------------------- properties
@st.composite
def contracts(
    draw: st.DrawFn,
) -> tuple[ContractTerms, list[EvaluatedPeriod], list[tuple[int, float]]]:
    """Random terms of every kind, cumulative figures that may fall back, random drawdowns."""
    months = tuple(sorted(draw(st.sets(st.integers(1, 60), min_size=1, max_size=4))))
    n_lines = draw(st.integers(0, 3))
    price = st.floats(0.0, 20_000.0)
    card = [
        {
            "metric": f"m{i}",
            "price_eur": draw(price),
            "basis": draw(st.sampled_from(["gross", "relative"])),
            "cap_outcomes": draw(st.none() | st.floats(0.0, 200.0)),
            "cap_eur": draw(st.none() | st.floats(0.0, 1e6)),
        }
        for i in range(n_lines)
    ]
    scope = draw(st.sampled_from(["cumulative", "period"]))
    kind = draw(st.sampled_from(["absolute", "relative"]))
    starts = sorted(draw(st.sets(st.floats(0.0, 100.0), max_size=3)))
    tiers = [{"from_value": s, "amount_eur": draw(st.floats(0, 1e6))} for s in starts]
    share = draw(st.floats(0.0, 1.0))
    payers = draw(
        st.sampled_from(
            [
                [],
                [
                    {"name": "state", "share": share, "cap_eur": draw(st.floats(0, 2e6))},
                    {"name": "city", "share": 1.0 - share},
                ],
            ]
        )
    )
    contract = ContractTerms(
        price_eur_per_outcome=0.0 if card else draw(price),
        payment_cap_eur=draw(st.floats(0.0, 3e6)),
        max_return_per_year=draw(st.floats(0.0, 0.3)),
        threshold_kind=kind,
        threshold_value=draw(st.floats(0.0, 60.0 if kind == "absolute" else 0.5)),
        payment_months=months,
        contract_months=60,
        rate_card=card,
        threshold_scope=scope,
        tiers=tiers,
        tier_kind="absolute",
        payers=payers,
        guarantee_cover_eur=draw(st.sampled_from([0.0, 5e5])),
    )
    periods = []
    validated = counterfactual = 0.0
    figures = {f"m{i}": [0.0, 0.0] for i in range(n_lines)}
    for month in months:
        validated += draw(st.floats(-20.0, 60.0))
        counterfactual += draw(st.floats(0.0, 80.0))
        for pair in figures.values():
            pair[0] += draw(st.floats(0.0, 60.0))
            pair[1] += draw(st.floats(0.0, 30.0))
        periods.append(
            EvaluatedPeriod(
                month,
                validated,
                counterfactual,
                {m: MetricFigures(g, c) for m, (g, c) in figures.items()},
            )
        )
    drawdowns = draw(
        st.lists(st.tuples(st.integers(0, 60), st.floats(0.0, 5e5)), min_size=1, max_size=5)
    )
    return contract, periods, drawdowns


def scaled(contract: ContractTerms, factor: float) -> ContractTerms:
    """The same contract with every price (and tier amount) multiplied by ``factor``."""
    return replace(
        contract,
        price_eur_per_outcome=contract.price_eur_per_outcome * factor,
        rate_card=tuple(
            replace(line, price_eur=line.price_eur * factor) for line in contract.rate_card
        ),
        tiers=tuple(replace(tier, amount_eur=tier.amount_eur * factor) for tier in contract.tiers),
    )


@settings(max_examples=100, deadline=None)
@given(case=contracts(), factor=st.floats(1.0, 5.0))
def test_a_higher_price_never_lowers_what_is_earned_nor_the_first_payment(
    case: tuple[ContractTerms, list[EvaluatedPeriod], list[tuple[int, float]]], factor: float
) -> None:
    """Raising every price never lowers what the outcomes earn at any date, nor the first
    payment; and, while the maximum return does not bind, never lowers the total paid."""
    contract, periods, drawdowns = case
    low = settle(contract, periods, drawdowns, with_irr=False)
    high = settle(scaled(contract, factor), periods, drawdowns, with_irr=False)
    for earned_low, earned_high in zip(low.earned_eur, high.earned_eur, strict=True):
        assert earned_high >= earned_low * (1 - REL) - 1e-6
    assert high.payments[0][1] >= low.payments[0][1] * (1 - REL) - 1e-6
    if "max_return" not in low.limited_by + high.limited_by:
        assert high.total_paid_eur >= low.total_paid_eur * (1 - REL) - 1e-6


def test_with_a_binding_maximum_return_a_higher_price_can_lower_the_total() -> None:
    """Why the property above stops at the maximum return: at EUR 5,000 the return limit takes
    EUR 1.21m at month 24 and leaves nothing; at EUR 2,000, EUR 500,000 at month 24 leaves
    1.4641m - 0.605m = 859,100 of room at month 48: EUR 1.3591m in all. Paying early uses up
    the return room (each early euro compounds)."""
    base = terms(max_return_per_year=0.10, payment_months=(24, 48), contract_months=48)
    periods = [EvaluatedPeriod(24, 250.0), EvaluatedPeriod(48, 1_000.0)]
    drawn = [(0, 1_000_000.0)]
    high = settle(replace(base, price_eur_per_outcome=5_000.0), periods, drawn)
    low = settle(replace(base, price_eur_per_outcome=2_000.0), periods, drawn)
    assert high.total_paid_eur == pytest.approx(1_210_000.0, rel=REL)
    assert low.total_paid_eur == pytest.approx(1_359_100.0, rel=REL)


@settings(max_examples=100, deadline=None)
@given(case=contracts())
def test_a_guarantee_never_raises_the_payers_cost(
    case: tuple[ContractTerms, list[EvaluatedPeriod], list[tuple[int, float]]],
) -> None:
    contract, periods, drawdowns = case
    without = settle(replace(contract, guarantee_cover_eur=0.0), periods, drawdowns, with_irr=False)
    with_cover = settle(
        replace(contract, guarantee_cover_eur=1e6), periods, drawdowns, with_irr=False
    )
    assert with_cover.payments == without.payments
    assert with_cover.paid_by_payer == without.paid_by_payer
    assert with_cover.guarantee_paid_eur >= 0.0


@settings(max_examples=100, deadline=None)
@given(case=contracts())
def test_no_payment_above_a_cap(
    case: tuple[ContractTerms, list[EvaluatedPeriod], list[tuple[int, float]]],
) -> None:
    """Never above the overall cap, a payer's cap, or what the outcomes earned."""
    contract, periods, drawdowns = case
    result = settle(contract, periods, drawdowns, with_irr=False)
    assert all(amount >= 0.0 for _, amount in result.payments)
    assert result.total_paid_eur <= contract.payment_cap_eur * (1 + REL) + 1e-9
    caps = {payer.name: payer.cap_eur for payer in contract.payers}
    for name, paid in result.paid_by_payer:
        cap = caps[name]
        assert cap is None or paid <= cap * (1 + REL) + 1e-9
    assert result.total_paid_eur <= max(result.earned_eur, default=0.0) * (1 + REL) + 1e-6


@settings(max_examples=100, deadline=None)
@given(case=contracts())
def test_the_investors_return_never_exceeds_the_maximum(
    case: tuple[ContractTerms, list[EvaluatedPeriod], list[tuple[int, float]]],
) -> None:
    """At every payment date the repayments compounded at the maximum return stay within the
    drawdowns compounded the same way; with every drawdown before the first payment (flows
    that change sign once) the IRR is then at most the maximum. A guarantee never lifts the
    investors above what they drew."""
    contract, periods, drawdowns = case
    result = settle(contract, periods, drawdowns)
    rate = contract.max_return_per_year
    paid: list[tuple[int, float]] = []
    for month, amount in result.payments:
        paid.append((month, amount))
        capital = sum(a * (1 + rate) ** ((month - m) / 12) for m, a in drawdowns if m <= month)
        repaid = sum(a * (1 + rate) ** ((month - m) / 12) for m, a in paid)
        assert repaid <= capital * (1 + REL) + 1e-6
    conventional = all(m <= periods[0].month for m, _ in drawdowns)
    if conventional and result.investor_irr_per_year is not None:
        assert result.investor_irr_per_year <= rate + 1e-9
    if result.guarantee_paid_eur > 0:
        drawn = math.fsum(a for _, a in drawdowns)
        assert result.total_paid_eur + result.guarantee_paid_eur <= drawn * (1 + REL) + 1e-6
