"""Money side of the simulation: a double-entry ledger, discounting, and CIS settlement.

The ledger records who paid whom, when and why, so that every funding model (planned
programme, call for projects, social impact contract) can be compared on the same cash
flows. The settlement of a social impact contract (CIS, contrat à impact social) is a pure
function of the contract terms, the evaluator's certified figures and the investor's
drawdowns, so it can be checked on its own against a real contract.

Time is counted in whole months from the start of the run (month 0, 1, 2, ...). Amounts are
in euros. Annual rates are fractions (0.05 means 5 % per year) and a flow at month ``m`` is
discounted by ``(1 + r) ** (-m / 12)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

# Kinds of flows, kept as plain strings so that records stay readable in databases and reports.
ACTIVITY = "activity"
GRANT = "grant"
OUTCOME_PAYMENT = "outcome_payment"
INVESTMENT = "investment"
REPAYMENT = "repayment"
TRANSACTION = "transaction"
EVALUATION = "evaluation"
INCUBATOR = "incubator"
KINDS: tuple[str, ...] = (
    ACTIVITY,
    GRANT,
    OUTCOME_PAYMENT,
    INVESTMENT,
    REPAYMENT,
    TRANSACTION,
    EVALUATION,
    INCUBATOR,
)

# Parties that exist in every run; associations (operators) are named by the callers.
CITY = "city"
INVESTOR = "investor"
EVALUATOR = "evaluator"
INTERMEDIARY = "intermediary"
#: Public payers: their outflows are public spending.
PUBLIC_PAYERS = (CITY, "caf", "state", "department")

# Reasons why a CIS payment was smaller than what the outcomes alone would have earned.
LIMIT_THRESHOLD = "threshold_not_met"
LIMIT_CAP = "cap"
LIMIT_MAX_RETURN = "max_return"
LIMIT_NONE = ""

# IRR search bracket, as annual rates. Below -99 %/year the investor has recovered almost
# nothing and the exact figure carries no information; above +1000 %/year no social funding
# contract is plausible, and wider brackets only add discount factors that span hundreds of
# orders of magnitude over a multi-year horizon.
IRR_MIN_PER_YEAR = -0.99
IRR_MAX_PER_YEAR = 10.0
# Grid points used to find every sign change of the NPV inside the bracket before refining
# each one with brentq; flows with several sign changes can have several IRRs.
_IRR_GRID_POINTS = 2001
# Payment dates may fall after the end of the contract while the evaluator finishes its work.
PAYMENT_GRACE_MONTHS = 24

FloatArray = npt.NDArray[np.float64]


def _check_month(value: int, name: str) -> int:
    """Return ``value`` as an int after checking it is a whole month >= 0."""
    # bool is an int subclass, but True as a month is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer month >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer month >= 0, got {value!r}")
    return int(value)


def _check_amount(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return amount


def _check_name(value: str, name: str) -> str:
    """Return ``value`` after checking it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class CashFlow:
    """One payment from ``payer`` to ``payee``.

    Attributes:
        month: Month of the payment, counted from the start of the run.
        payer: Party that pays.
        payee: Party that receives.
        kind: What the payment is for, one of the module's kind constants as a rule.
        amount_eur: Amount paid, >= 0.
    """

    month: int
    payer: str
    payee: str
    kind: str
    amount_eur: float


class Ledger:
    """Double-entry record of every payment in a run.

    Each flow is a debit for its payer and a credit for its payee, so the balances of all
    parties always sum to zero; a non-zero sum would reveal money created or lost by a bug.
    """

    def __init__(self) -> None:
        """Create an empty ledger."""
        self._flows: list[CashFlow] = []

    def pay(self, month: int, payer: str, payee: str, kind: str, amount_eur: float) -> None:
        """Record one payment.

        Args:
            month: Month of the payment, >= 0.
            payer: Party that pays.
            payee: Party that receives, different from ``payer``.
            kind: What the payment is for (see the module's kind constants).
            amount_eur: Amount, finite and >= 0. A zero amount is not recorded, so callers
                can pay computed amounts without testing them first.

        Raises:
            ValueError: If a field is invalid; the message names the field and the value.
        """
        month_checked = _check_month(month, "month")
        _check_name(payer, "payer")
        _check_name(payee, "payee")
        _check_name(kind, "kind")
        amount = _check_amount(amount_eur, "amount_eur")
        if payer == payee:
            raise ValueError(f"payee must differ from payer, got payer == payee == {payer!r}")
        if amount == 0.0:
            return
        self._flows.append(CashFlow(month_checked, payer, payee, kind, amount))

    @property
    def flows(self) -> tuple[CashFlow, ...]:
        """All recorded flows, in the order they were paid."""
        return tuple(self._flows)

    def total_eur(
        self,
        *,
        payer: str | None = None,
        payee: str | None = None,
        kind: str | None = None,
        until_month: int | None = None,
    ) -> float:
        """Sum the flows that match every given filter.

        Args:
            payer: Keep only flows paid by this party.
            payee: Keep only flows received by this party.
            kind: Keep only flows of this kind.
            until_month: Keep only flows paid at or before this month (inclusive).

        Returns:
            Total amount of the matching flows.
        """
        return math.fsum(
            flow.amount_eur
            for flow in self._flows
            if (payer is None or flow.payer == payer)
            and (payee is None or flow.payee == payee)
            and (kind is None or flow.kind == kind)
            and (until_month is None or flow.month <= until_month)
        )

    def balance_eur(self, party: str) -> float:
        """Return what ``party`` received minus what it paid."""
        return self.total_eur(payee=party) - self.total_eur(payer=party)

    def balances_eur(self) -> dict[str, float]:
        """Return the balance of every party that appears in the ledger, sorted by name."""
        parties = sorted(
            {flow.payer for flow in self._flows} | {flow.payee for flow in self._flows}
        )
        return {party: self.balance_eur(party) for party in parties}

    def by_month_eur(self, party: str, months: int | None = None) -> FloatArray:
        """Return the net flow of ``party`` in each month (received minus paid).

        Args:
            party: Party whose flows are summed.
            months: Length of the result; defaults to the last month in the ledger + 1.

        Returns:
            Array indexed by month, ready for ``npv_eur`` or ``irr_per_year``.

        Raises:
            ValueError: If ``months`` is too short to hold one of the party's flows, since
                truncating would silently drop money.
        """
        length = max((flow.month for flow in self._flows), default=-1) + 1
        if months is not None:
            last_month = max(
                (f.month for f in self._flows if party in (f.payer, f.payee)), default=-1
            )
            if isinstance(months, bool) or months < last_month + 1:
                raise ValueError(
                    f"months must be >= {last_month + 1} to hold every flow of {party!r}, "
                    f"got {months!r}"
                )
            length = int(months)
        net = np.zeros(length, dtype=np.float64)
        for flow in self._flows:
            if flow.payee == party:
                net[flow.month] += flow.amount_eur
            if flow.payer == party:
                net[flow.month] -= flow.amount_eur
        return net

    def to_records(self) -> list[dict[str, Any]]:
        """Return the flows as plain dicts (month, payer, payee, kind, amount_eur)."""
        return [
            {
                "month": flow.month,
                "payer": flow.payer,
                "payee": flow.payee,
                "kind": flow.kind,
                "amount_eur": flow.amount_eur,
            }
            for flow in self._flows
        ]


def _as_monthly_flows(monthly_flows_eur: npt.ArrayLike) -> FloatArray:
    """Return the flows as a finite 1-D float array, indexed by month."""
    flows = np.asarray(monthly_flows_eur, dtype=np.float64)
    if flows.ndim != 1:
        raise ValueError(f"monthly_flows_eur must be 1-D, got shape {flows.shape}")
    if not np.all(np.isfinite(flows)):
        raise ValueError("monthly_flows_eur must contain only finite amounts")
    return flows


def npv_eur(monthly_flows_eur: npt.ArrayLike, annual_discount_rate: float) -> float:
    """Net present value at month 0 of flows indexed by month.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.
        annual_discount_rate: Annual rate r, > -1; month m is discounted by (1 + r)^(-m/12).

    Returns:
        The discounted sum.

    Raises:
        ValueError: If the rate is <= -1 or not finite, or the flows are not a finite 1-D series.
    """
    if not math.isfinite(annual_discount_rate) or annual_discount_rate <= -1.0:
        raise ValueError(
            f"annual_discount_rate must be a finite number > -1, got {annual_discount_rate!r}"
        )
    flows = _as_monthly_flows(monthly_flows_eur)
    months = np.arange(flows.size, dtype=np.float64)
    factors = np.power(1.0 + annual_discount_rate, -months / 12.0)
    return float(math.fsum(flows * factors))


def _scaled_npv(log_growth: float, flows: FloatArray) -> float:
    """NPV at the annual rate exp(log_growth) - 1, times a positive factor.

    For negative rates the discount factors of late months explode; multiplying the whole sum
    by (1 + r)^(last month / 12) keeps every factor <= 1 without moving the roots, and the
    scaled function stays continuous at r = 0, which is all brentq needs.
    """
    return float(_scaled_npv_on_grid(np.array([log_growth]), flows)[0])


def _scaled_npv_on_grid(log_growths: FloatArray, flows: FloatArray) -> FloatArray:
    """``_scaled_npv`` at many log growth rates at once (one row of factors per rate)."""
    months = np.arange(flows.size, dtype=np.float64)
    last_month = float(flows.size - 1)
    rates = log_growths[:, np.newaxis]
    exponents = -rates * months / 12.0 + np.minimum(0.0, rates * last_month / 12.0)
    scaled: FloatArray = np.sum(flows * np.exp(exponents), axis=1)
    return scaled


def irr_per_year(monthly_flows_eur: npt.ArrayLike) -> float | None:
    """Annual internal rate of return of flows indexed by month.

    The IRR is the annual rate r at which ``npv_eur(flows, r) == 0``. Every sign change of
    the NPV on a grid of rates inside [IRR_MIN_PER_YEAR, IRR_MAX_PER_YEAR] is refined with
    brentq; when flows have several IRRs, the one closest to 0 is returned because it is
    the one a reader would call "the" return of an investment near break-even.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.

    Returns:
        The annual IRR, or None if the flows never change sign or no root lies in the bracket.
    """
    flows = _as_monthly_flows(monthly_flows_eur)
    if not (np.any(flows > 0) and np.any(flows < 0)):
        return None
    # Searching on log(1 + r) spreads the grid evenly over orders of magnitude of growth.
    grid = np.linspace(math.log1p(IRR_MIN_PER_YEAR), math.log1p(IRR_MAX_PER_YEAR), _IRR_GRID_POINTS)
    signs = np.sign(_scaled_npv_on_grid(grid, flows))
    roots: list[float] = [float(grid[i]) for i in np.flatnonzero(signs == 0.0)]
    # Signs rather than values: a product of two tiny NPVs could underflow to zero.
    for i in np.flatnonzero(signs[:-1] * signs[1:] < 0):
        root = brentq(_scaled_npv, grid[i], grid[i + 1], args=(flows,), xtol=1e-14, rtol=1e-14)
        roots.append(float(root))
    if not roots:
        return None
    rates = [math.expm1(x) for x in roots]
    return min(rates, key=abs)


def money_multiple(monthly_flows_eur: npt.ArrayLike) -> float | None:
    """Total inflows divided by total outflows, undiscounted.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.

    Returns:
        The multiple (1.0 means the money came back exactly), or None if nothing flowed out.
    """
    flows = _as_monthly_flows(monthly_flows_eur)
    outflows = -math.fsum(flows[flows < 0])
    if outflows == 0.0:
        return None
    return math.fsum(flows[flows > 0]) / outflows


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
        _check_amount(self.price_eur_per_outcome, "price_eur_per_outcome")
        _check_amount(self.payment_cap_eur, "payment_cap_eur")
        rate = self.max_return_per_year
        if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
            raise ValueError(f"max_return_per_year must be in [0, 1], got {rate!r}")
        if self.threshold_kind not in ("absolute", "relative"):
            raise ValueError(
                f"threshold_kind must be 'absolute' or 'relative', got {self.threshold_kind!r}"
            )
        _check_amount(self.threshold_value, "threshold_value")
        if isinstance(self.contract_months, bool) or not isinstance(self.contract_months, int):
            raise ValueError(
                f"contract_months must be an integer >= 1, got {self.contract_months!r}"
            )
        if self.contract_months < 1:
            raise ValueError(
                f"contract_months must be an integer >= 1, got {self.contract_months!r}"
            )
        self._check_payment_months()

    def _check_payment_months(self) -> None:
        """Check the payment dates are increasing and fall within the contract plus grace."""
        months = self.payment_months
        last_allowed = self.contract_months + PAYMENT_GRACE_MONTHS
        if not isinstance(months, tuple) or not months:
            raise ValueError(f"payment_months must be a non-empty tuple of months, got {months!r}")
        for month in months:
            _check_month(month, "payment_months")
            if month > last_allowed:
                raise ValueError(
                    f"payment_months must lie in [0, {last_allowed}] "
                    f"(contract_months + {PAYMENT_GRACE_MONTHS}), got {months!r}"
                )
        if any(later <= earlier for earlier, later in itertools.pairwise(months)):
            raise ValueError(f"payment_months must be strictly increasing, got {months!r}")


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
        _check_month(self.month, "month")
        if not math.isfinite(self.validated_outcomes):
            raise ValueError(
                f"validated_outcomes must be a finite number, got {self.validated_outcomes!r}"
            )
        if self.counterfactual_outcomes is not None:
            _check_amount(self.counterfactual_outcomes, "counterfactual_outcomes")


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
        raise ValueError(
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


def _check_drawdowns(drawdowns: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """Validate the investor's drawdowns and return them as (int month, float amount)."""
    checked: list[tuple[int, float]] = []
    for month, amount in drawdowns:
        checked.append(
            (_check_month(month, "drawdowns month"), _check_amount(amount, "drawdowns amount_eur"))
        )
    return checked


def _check_periods(terms: ContractTerms, periods: Sequence[EvaluatedPeriod]) -> None:
    """Check each period falls on a payment date and the periods are in date order."""
    months = [period.month for period in periods]
    for month in months:
        if month not in terms.payment_months:
            raise ValueError(
                f"periods month must be one of payment_months {terms.payment_months}, got {month}"
            )
    if any(later <= earlier for earlier, later in itertools.pairwise(months)):
        raise ValueError(f"periods must be sorted by strictly increasing month, got {months}")


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
        ValueError: If a period is not on a payment date or out of order, a drawdown is
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
    _check_periods(terms, periods)
    capital = _check_drawdowns(drawdowns)
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
