"""Settlement of a social impact contract (CIS, contrat à impact social): a pure function of the
contract terms, the evaluator's certified figures and the investor's drawdowns, so that it can be
checked on its own against a real contract.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim.errors import UserInputError
from sim.funding.discounting import irr_per_year
from sim.funding.ledger import FloatArray, check_amount, check_month

# Reasons why a CIS payment was smaller than what the outcomes alone would have earned.
LIMIT_THRESHOLD = "threshold_not_met"
LIMIT_CAP = "cap"
LIMIT_MAX_RETURN = "max_return"
LIMIT_NONE = ""

# Payment dates may fall after the end of the contract while the evaluator finishes its work.
PAYMENT_GRACE_MONTHS = 24


ThresholdKind = Literal["absolute", "relative"]


@dataclass(frozen=True)
class ContractTerms:
    """Terms of a social impact contract (CIS) as signed by the payer.

    Attributes:
        price_eur_per_outcome: Amount the payer owes per validated outcome, >= 0.
        payment_cap_eur: Maximum total the payer will ever pay, >= 0.
        max_return_per_year: Investor's maximum annual return, in [0, 1].
        threshold_kind: "absolute" (minimum cumulative validated outcomes) or "relative"
            (minimum validated / counterfactual ratio).
        threshold_value: Minimum below which nothing is paid, >= 0 (a count or a ratio).
        payment_months: Payment dates, strictly increasing, within
            [0, contract_months + PAYMENT_GRACE_MONTHS].
        contract_months: Duration of the contract, >= 1.
    """

    price_eur_per_outcome: float
    payment_cap_eur: float
    max_return_per_year: float
    threshold_kind: ThresholdKind
    threshold_value: float
    payment_months: tuple[int, ...]
    contract_months: int = 48

    def __post_init__(self) -> None:
        """Reject terms that no real contract could have."""
        check_amount(self.price_eur_per_outcome, "price_eur_per_outcome")
        check_amount(self.payment_cap_eur, "payment_cap_eur")
        rate = self.max_return_per_year
        if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
            raise UserInputError(f"max_return_per_year must be in [0, 1], got {rate!r}")
        if self.threshold_kind not in ("absolute", "relative"):
            raise UserInputError(
                f"threshold_kind must be 'absolute' or 'relative', got {self.threshold_kind!r}"
            )
        check_amount(self.threshold_value, "threshold_value")
        if isinstance(self.contract_months, bool) or not isinstance(self.contract_months, int):
            raise UserInputError(
                f"contract_months must be an integer >= 1, got {self.contract_months!r}"
            )
        if self.contract_months < 1:
            raise UserInputError(
                f"contract_months must be an integer >= 1, got {self.contract_months!r}"
            )
        self.check_payment_months()

    def check_payment_months(self) -> None:
        """Check the payment dates are increasing and fall within the contract plus grace."""
        months = self.payment_months
        last_allowed = self.contract_months + PAYMENT_GRACE_MONTHS
        if not isinstance(months, tuple) or not months:
            raise UserInputError(
                f"payment_months must be a non-empty tuple of months, got {months!r}"
            )
        for month in months:
            check_month(month, "payment_months")
            if month > last_allowed:
                raise UserInputError(
                    f"payment_months must lie in [0, {last_allowed}] "
                    f"(contract_months + {PAYMENT_GRACE_MONTHS}), got {months!r}"
                )
        if any(later <= earlier for earlier, later in itertools.pairwise(months)):
            raise UserInputError(f"payment_months must be strictly increasing, got {months!r}")


@dataclass(frozen=True)
class EvaluatedPeriod:
    """What the evaluator certifies at one payment date.

    Attributes:
        month: The payment date, one of the contract's ``payment_months``.
        validated_outcomes: Cumulative outcomes certified up to this date: the gross count for
            a design with no counterfactual, the estimated additional count for an RCT. May be
            negative for an RCT estimate; nothing is then due.
        counterfactual_outcomes: Cumulative counterfactual count estimated by the evaluator,
            >= 0; required by a relative threshold.
    """

    month: int
    validated_outcomes: float
    counterfactual_outcomes: float | None = None

    def __post_init__(self) -> None:
        """Reject figures no evaluator could certify."""
        check_month(self.month, "month")
        if not math.isfinite(self.validated_outcomes):
            raise UserInputError(
                f"validated_outcomes must be a finite number, got {self.validated_outcomes!r}"
            )
        if self.counterfactual_outcomes is not None:
            check_amount(self.counterfactual_outcomes, "counterfactual_outcomes")


@dataclass(frozen=True)
class Settlement:
    """Result of settling a CIS: what the payer paid and what the investor got.

    Attributes:
        payments: (month, amount paid by the payer to the investor) at each evaluated payment
            date, zeros included.
        total_paid_eur: Sum of the payments.
        paid_outcomes: Total paid divided by the price (0 if the price is 0): the number of
            outcomes the payer actually paid for.
        share_of_cap_paid: Total paid divided by the cap (0 if the cap is 0).
        investor_flows_eur: (month, net flow) for the investor, capital out negative and
            repayments positive, one entry per drawdown or payment month, sorted by month.
        investor_irr_per_year: Investor's annual IRR, None if it has none.
        investor_money_multiple: Repaid / drawn, None if nothing was drawn.
        investor_lost_money: Whether the investor got back less than it drew.
        limited_by: Per payment date, why the payment was smaller than what the outcomes earned:
            "threshold_not_met", "cap", "max_return", or "" when nothing limited it.
    """

    payments: tuple[tuple[int, float], ...]
    total_paid_eur: float
    paid_outcomes: float
    share_of_cap_paid: float
    investor_flows_eur: tuple[tuple[int, float], ...]
    investor_irr_per_year: float | None
    investor_money_multiple: float | None
    investor_lost_money: bool
    limited_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the settlement as plain lists and scalars, ready for JSON."""
        return {
            "payments": [[month, amount] for month, amount in self.payments],
            "total_paid_eur": self.total_paid_eur,
            "paid_outcomes": self.paid_outcomes,
            "share_of_cap_paid": self.share_of_cap_paid,
            "investor_flows_eur": [[month, amount] for month, amount in self.investor_flows_eur],
            "investor_irr_per_year": self.investor_irr_per_year,
            "investor_money_multiple": self.investor_money_multiple,
            "investor_lost_money": self.investor_lost_money,
            "limited_by": list(self.limited_by),
        }


def _threshold_met(terms: ContractTerms, period: EvaluatedPeriod) -> bool:
    """Test the contract's threshold on the cumulative figures at one payment date."""
    if terms.threshold_kind == "absolute":
        return period.validated_outcomes >= terms.threshold_value
    counterfactual = period.counterfactual_outcomes
    if counterfactual is None:
        raise UserInputError(
            "counterfactual_outcomes is required with a relative threshold, "
            f"got None at month {period.month}"
        )
    if counterfactual == 0.0:
        # Without any counterfactual outcome, any validated outcome is an unbounded improvement.
        return period.validated_outcomes > 0.0
    return period.validated_outcomes / counterfactual >= terms.threshold_value


def _compounded_eur(events: Iterable[tuple[int, float]], month: int, rate_per_year: float) -> float:
    """Value at ``month`` of the amounts paid at or before it, compounded at ``rate_per_year``."""
    return math.fsum(
        amount * (1.0 + rate_per_year) ** ((month - paid_month) / 12.0)
        for paid_month, amount in events
        if paid_month <= month
    )


def check_drawdowns(drawdowns: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """Validate the investor's drawdowns and return them as (int month, float amount)."""
    checked: list[tuple[int, float]] = []
    for month, amount in drawdowns:
        checked.append(
            (check_month(month, "drawdowns month"), check_amount(amount, "drawdowns amount_eur"))
        )
    return checked


def check_periods(terms: ContractTerms, periods: Sequence[EvaluatedPeriod]) -> None:
    """Check each period falls on a payment date and the periods are in date order."""
    months = [period.month for period in periods]
    for month in months:
        if month not in terms.payment_months:
            raise UserInputError(
                f"periods month must be one of payment_months {terms.payment_months}, got {month}"
            )
    if any(later <= earlier for earlier, later in itertools.pairwise(months)):
        raise UserInputError(f"periods must be sorted by strictly increasing month, got {months}")


def _investor_flows(
    drawdowns: Sequence[tuple[int, float]], payments: Sequence[tuple[int, float]]
) -> tuple[tuple[int, float], ...]:
    """Merge capital out (negative) and repayments (positive) into one flow per month."""
    by_month: dict[int, list[float]] = {}
    for month, amount in drawdowns:
        by_month.setdefault(month, []).append(-amount)
    for month, amount in payments:
        by_month.setdefault(month, []).append(amount)
    return tuple((month, math.fsum(by_month[month])) for month in sorted(by_month))


def _monthly_array(flows: Sequence[tuple[int, float]]) -> FloatArray:
    """Spread (month, amount) pairs into an array indexed by month."""
    length = max((month for month, _ in flows), default=-1) + 1
    array = np.zeros(length, dtype=np.float64)
    for month, amount in flows:
        array[month] += amount
    return array


def settle(
    terms: ContractTerms,
    periods: Sequence[EvaluatedPeriod],
    drawdowns: Sequence[tuple[int, float]],
) -> Settlement:
    """Settle a social impact contract: what the payer owes the investor at each payment date.

    At each evaluated payment date, in order:

    1. The threshold is tested on the cumulative figures at that date; below it nothing is
       paid ("threshold_not_met").
    2. Otherwise the amount due is price x cumulative validated outcomes - amounts already
       paid (never negative: a lower later estimate does not claw money back).
    3. The payment is limited by the cap (total paid never exceeds ``payment_cap_eur``) and by
       the investor's maximum return: the payment may not exceed the drawdowns made so far
       compounded at ``max_return_per_year`` up to that date minus the previous repayments
       compounded the same way (never negative). Drawdowns after the date do not count yet.

    Args:
        terms: The contract.
        periods: Evaluator's certified figures, one per payment date settled so far, sorted
            by month. Payment dates without a period are not settled (settlement to date).
        drawdowns: (month, amount) of the investor's capital paid out: operator costs,
            structuring, evaluation.

    Returns:
        The payments and the investor's position.

    Raises:
        UserInputError: If a period is not on a payment date or out of order, a drawdown is
            invalid, or a relative threshold meets a missing or zero counterfactual.

    Example:
        A city checks a contract: €1.0m drawn at month 0, €5,000 per outcome, no payment below
        50 outcomes, a €1.3m cap, at most 5 %/year for the investor, payments at months 24
        and 48.

        >>> terms = ContractTerms(
        ...     price_eur_per_outcome=5_000.0,
        ...     payment_cap_eur=1_300_000.0,
        ...     max_return_per_year=0.05,
        ...     threshold_kind="absolute",
        ...     threshold_value=50.0,
        ...     payment_months=(24, 48),
        ... )
        >>> drawdowns = [(0, 1_000_000.0)]

        The evaluator certifies 60 outcomes by month 24 and 240 by month 48. At month 24,
        60 >= 50 so 60 x 5,000 = 300,000 is due; the return limit is
        1,000,000 x 1.05^2 = 1,102,500, so 300,000 is paid. At month 48,
        240 x 5,000 - 300,000 = 900,000 is due and 1,000,000 is left under the cap, but the
        return limit is 1,000,000 x 1.05^4 - 300,000 x 1.05^2 = 1,215,506.25 - 330,750
        = 884,756.25, so that is all the city pays, and the investor earns exactly 5 %/year.

        >>> result = settle(
        ...     terms, [EvaluatedPeriod(24, 60.0), EvaluatedPeriod(48, 240.0)], drawdowns
        ... )
        >>> [(month, round(amount, 2)) for month, amount in result.payments]
        [(24, 300000.0), (48, 884756.25)]
        >>> result.limited_by
        ('', 'max_return')
        >>> round(result.total_paid_eur, 2), round(result.paid_outcomes, 2)
        (1184756.25, 236.95)
        >>> round(result.investor_irr_per_year, 9), result.investor_lost_money
        (0.05, False)

        With 40 outcomes by month 24 and 45 by month 48 the threshold is never met: the city
        pays nothing and the investor loses its capital.

        >>> weak = settle(
        ...     terms, [EvaluatedPeriod(24, 40.0), EvaluatedPeriod(48, 45.0)], drawdowns
        ... )
        >>> weak.total_paid_eur, weak.investor_money_multiple, weak.investor_lost_money
        (0.0, 0.0, True)
        >>> weak.limited_by
        ('threshold_not_met', 'threshold_not_met')
    """
    check_periods(terms, periods)
    capital = check_drawdowns(drawdowns)
    payments: list[tuple[int, float]] = []
    limited_by: list[str] = []
    total_paid_eur = 0.0
    for period in periods:
        if not _threshold_met(terms, period):
            payments.append((period.month, 0.0))
            limited_by.append(LIMIT_THRESHOLD)
            continue
        earned_eur = terms.price_eur_per_outcome * period.validated_outcomes
        due_eur = max(0.0, earned_eur - total_paid_eur)
        cap_room_eur = max(0.0, terms.payment_cap_eur - total_paid_eur)
        return_room_eur = max(
            0.0,
            _compounded_eur(capital, period.month, terms.max_return_per_year)
            - _compounded_eur(payments, period.month, terms.max_return_per_year),
        )
        paid_eur, reason = _limit_payment(due_eur, cap_room_eur, return_room_eur)
        payments.append((period.month, paid_eur))
        limited_by.append(reason)
        # Landing exactly on the cap avoids a total one rounding error above it.
        total_paid_eur = terms.payment_cap_eur if reason == LIMIT_CAP else total_paid_eur + paid_eur
    return _settlement(terms, payments, limited_by, total_paid_eur, capital)


def _limit_payment(
    due_eur: float, cap_room_eur: float, return_room_eur: float
) -> tuple[float, str]:
    """Apply the cap and the maximum return to the amount due; say which one bound."""
    if due_eur <= min(cap_room_eur, return_room_eur):
        return due_eur, LIMIT_NONE
    if cap_room_eur <= return_room_eur:
        return cap_room_eur, LIMIT_CAP
    return return_room_eur, LIMIT_MAX_RETURN


def _settlement(
    terms: ContractTerms,
    payments: list[tuple[int, float]],
    limited_by: list[str],
    total_paid_eur: float,
    capital: list[tuple[int, float]],
) -> Settlement:
    """Assemble the settlement and the investor's position from the payments."""
    price = terms.price_eur_per_outcome
    cap = terms.payment_cap_eur
    flows = _investor_flows(capital, payments)
    monthly = _monthly_array(flows)
    drawn_eur = math.fsum(amount for _, amount in capital)
    return Settlement(
        payments=tuple(payments),
        total_paid_eur=total_paid_eur,
        paid_outcomes=total_paid_eur / price if price > 0 else 0.0,
        share_of_cap_paid=total_paid_eur / cap if cap > 0 else 0.0,
        investor_flows_eur=flows,
        investor_irr_per_year=irr_per_year(monthly) if monthly.size else None,
        investor_money_multiple=total_paid_eur / drawn_eur if drawn_eur > 0 else None,
        investor_lost_money=total_paid_eur < drawn_eur,
        limited_by=tuple(limited_by),
    )
