"""Settlement of a social impact contract (CIS, contrat à impact social): a pure function of the
contract terms, the evaluator's certified figures and the investor's drawdowns, so that it can be
checked on its own against a real contract.

The terms express contracts as they are really written:

- one price per validated outcome (the simplest contract), or a **rate card**: several outcome
  metrics, each with its price, counted gross or relative to the evaluator's counterfactual, with
  a cap per metric (in outcomes or in euros) and a cap per participant (DWP Innovation Fund);
- a **threshold** below which the rate card pays nothing: absolute (a count) or relative
  (validated / counterfactual), tested on the cumulative figures, on each payment period's own
  figures, or per **cohort** with a **pooled** test at the end (Peterborough);
- a **tiered schedule**: amounts owed on reaching levels of a measure, as steps or slopes
  (Rikers), on top of the rate card, each tier being its own threshold;
- an overall cap, the investors' **maximum return**, **several payers** in agreed shares each
  with its own cap (French CIS: State, CAF, department, city), **several investors**, and a
  **guarantee** or first-loss cover by a third party (Bloomberg Philanthropies at Rikers).

Every term has a default that leaves it out, so the single-price terms of the first version
settle exactly as before. Terms accept plain data (lists, tables) as well as the dataclasses
below, so that a stored terms record (``ContractRecord.terms``) or a TOML table rebuilds them:
``ContractTerms(**record)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from sim.errors import UserInputError
from sim.funding.discounting import irr_per_year
from sim.funding.ledger import FloatArray, check_amount, check_month

# Reasons why a CIS payment was smaller than what the outcomes alone would have earned.
LIMIT_THRESHOLD = "threshold_not_met"
LIMIT_CAP = "cap"
LIMIT_MAX_RETURN = "max_return"
LIMIT_PAYER_CAP = "payer_cap"
LIMIT_METRIC_CAP = "metric_cap"
LIMIT_PARTICIPANT_CAP = "participant_cap"
LIMIT_NONE = ""

# Payment dates may fall after the end of the contract while the evaluator finishes its work.
PAYMENT_GRACE_MONTHS = 24

#: The name under which a period's headline figures (``validated_outcomes``) are read.
HEADLINE = ""
#: The cohort label of a period that holds the pooled figures of every cohort.
POOLED = "pooled"


ThresholdKind = Literal["absolute", "relative"]
ThresholdScope = Literal["cumulative", "period", "cohort"]
Basis = Literal["gross", "relative", "validated"]

THRESHOLD_KINDS = ("absolute", "relative")
THRESHOLD_SCOPES = ("cumulative", "period", "cohort")
BASES = ("gross", "relative", "validated")


def _number(value: Any, name: str, low: float = 0.0, high: float = math.inf) -> float:
    """A finite number in [low, high] (true and false are not numbers)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or not low <= float(value) <= high:
        raise UserInputError(
            f"{name} must be a finite number in [{low:g}, {high:g}], got {value!r}"
        )
    return float(value)


def _optional(value: Any, name: str) -> float | None:
    return None if value is None else check_amount(_number(value, name), name)


def _name(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise UserInputError(f"{name} must be a string, got {value!r}")
    return value


def _build(kind: type[Any], value: Any, name: str) -> Any:
    """A term dataclass from itself or from a table of its fields (a stored or TOML record)."""
    if isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise UserInputError(f"{name} must be a table of {kind.__name__} fields, got {value!r}")
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise UserInputError(
            f"{name} has unknown field(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted(known))}"
        )
    return kind(**value)


def _built_all(kind: type[Any], values: Any, name: str) -> tuple[Any, ...]:
    if values is None:
        return ()
    if not isinstance(values, list | tuple):
        raise UserInputError(f"{name} must be a list, got {values!r}")
    return tuple(_build(kind, v, f"{name}[{i}]") for i, v in enumerate(values))


@dataclass(frozen=True)
class RateCardLine:
    """One outcome metric of a rate card and its price.

    Attributes:
        metric: The outcome metric's name as the evaluator reports it (in the simulator, a need's
            ``contract_metric``: ``employment_6_months``, ``french_a1``, ``rights_claimed``).
        price_eur: Amount owed per outcome of this metric, >= 0.
        basis: ``gross`` (every outcome counted among participants), ``relative`` (outcomes
            above the evaluator's counterfactual: gross - counterfactual) or ``validated`` (the
            period's headline ``validated_outcomes``, whatever the design made of them).
        cap_outcomes: Most outcomes of this metric ever paid for (None: no cap).
        cap_eur: Most euros ever paid for this metric (None: no cap).
    """

    metric: str
    price_eur: float
    basis: Basis = "gross"
    cap_outcomes: float | None = None
    cap_eur: float | None = None

    def __post_init__(self) -> None:
        """Reject a line no rate card could have."""
        _name(self.metric, "rate_card metric")
        check_amount(_number(self.price_eur, "rate_card price_eur"), "rate_card price_eur")
        if self.basis not in BASES:
            raise UserInputError(
                f"rate_card basis must be one of {', '.join(BASES)}, got {self.basis!r}"
            )
        _optional(self.cap_outcomes, "rate_card cap_outcomes")
        _optional(self.cap_eur, "rate_card cap_eur")


@dataclass(frozen=True)
class Tier:
    """One tier of a tiered schedule: reaching ``from_value`` of the measure earns
    ``amount_eur`` in all, plus ``eur_per_unit`` per unit of the measure above ``from_value``
    (a slope; 0 for a step). The highest tier reached applies.
    """

    from_value: float
    amount_eur: float
    eur_per_unit: float = 0.0

    def __post_init__(self) -> None:
        """Reject a tier no schedule could have."""
        _number(self.from_value, "tiers from_value", -math.inf)
        check_amount(_number(self.amount_eur, "tiers amount_eur"), "tiers amount_eur")
        check_amount(_number(self.eur_per_unit, "tiers eur_per_unit"), "tiers eur_per_unit")


@dataclass(frozen=True)
class PayerShare:
    """One payer of a contract with several: its agreed share of every payment and its cap."""

    name: str
    share: float
    cap_eur: float | None = None

    def __post_init__(self) -> None:
        """Reject a share outside [0, 1] or a negative cap."""
        if not _name(self.name, "payers name"):
            raise UserInputError("payers name must be a non-empty string")
        _number(self.share, "payers share", 0.0, 1.0)
        _optional(self.cap_eur, "payers cap_eur")


@dataclass(frozen=True)
class InvestorShare:
    """One investor of a contract with several, repaid pari passu in proportion to ``share``."""

    name: str
    share: float

    def __post_init__(self) -> None:
        """Reject a share outside [0, 1]."""
        if not _name(self.name, "investors name"):
            raise UserInputError("investors name must be a non-empty string")
        _number(self.share, "investors share", 0.0, 1.0)


@dataclass(frozen=True)
class ContractTerms:
    """Terms of a social impact contract (CIS) as signed by the payer(s).

    Attributes:
        price_eur_per_outcome: Amount owed per validated outcome (the period's headline
            ``validated_outcomes``), >= 0; used when there is no rate card.
        payment_cap_eur: Maximum total the payers will ever pay, >= 0.
        max_return_per_year: Investors' maximum annual return, in [0, 1].
        threshold_kind: "absolute" (minimum validated outcomes) or "relative" (minimum
            validated / counterfactual ratio).
        threshold_value: Minimum below which the rate card pays nothing, >= 0.
        payment_months: Payment dates, strictly increasing, within
            [0, contract_months + PAYMENT_GRACE_MONTHS].
        contract_months: Duration of the contract, >= 1.
        rate_card: Outcome metrics with their prices and caps; empty: ``price_eur_per_outcome``
            per validated outcome.
        threshold_scope: "cumulative" (the figures since the start, tested at each date),
            "period" (each period's own figures: what was validated since the previous date,
            paid or not on its own) or "cohort" (each period holds one cohort's figures, tested
            on their own; a period of cohort ``POOLED`` holds all cohorts together).
        threshold_metric: The metric whose figures the threshold tests ("" for the headline
            figures; otherwise a metric of the periods, counted with its rate-card basis).
        pooled_threshold_value: With cohorts, the threshold of the pooled test (its kind is
            ``threshold_kind``): when met, everything the pooled figures earn is due.
        tiers: A tiered schedule, lowest tier first, paid on top of the rate card.
        tier_kind: Unit of the tiers' measure: "absolute" (a count) or "relative" (a ratio to
            the counterfactual; for a relative reduction, validated = outcomes avoided).
        tier_metric: The metric the tiers measure ("" for the headline figures).
        cap_per_participant_eur: Most the contract pays per participant (periods then give
            ``participants``); applied to the total (figures are aggregates).
        payers: Several payers in agreed shares (summing to 1) with their own caps; empty: one
            payer, bound by ``payment_cap_eur`` only.
        investors: Several investors' shares of the capital (summing to 1), repaid pari passu.
        guarantee_cover_eur: Most a guarantor pays the investors when, at the last payment date,
            they have been repaid less than they drew (0: no guarantee).
        guarantee_loss_share: Share of that loss the guarantor covers, up to the cover; 1 is a
            first-loss guarantee (the guarantor bears every euro of loss up to its cover).
        guarantor: Who guarantees.
    """

    price_eur_per_outcome: float = 0.0
    payment_cap_eur: float = 0.0
    max_return_per_year: float = 0.05
    threshold_kind: ThresholdKind = "absolute"
    threshold_value: float = 0.0
    payment_months: tuple[int, ...] = (48,)
    contract_months: int = 48
    rate_card: tuple[RateCardLine, ...] = ()
    threshold_scope: ThresholdScope = "cumulative"
    threshold_metric: str = HEADLINE
    pooled_threshold_value: float | None = None
    tiers: tuple[Tier, ...] = ()
    tier_kind: ThresholdKind = "absolute"
    tier_metric: str = HEADLINE
    cap_per_participant_eur: float | None = None
    payers: tuple[PayerShare, ...] = ()
    investors: tuple[InvestorShare, ...] = ()
    guarantee_cover_eur: float = 0.0
    guarantee_loss_share: float = 1.0
    guarantor: str = "guarantor"

    def __post_init__(self) -> None:
        """Reject terms that no real contract could have; turn plain data into term objects."""
        set_ = object.__setattr__
        check_amount(self.price_eur_per_outcome, "price_eur_per_outcome")
        check_amount(self.payment_cap_eur, "payment_cap_eur")
        rate = self.max_return_per_year
        if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
            raise UserInputError(f"max_return_per_year must be in [0, 1], got {rate!r}")
        for name in ("threshold_kind", "tier_kind"):
            if getattr(self, name) not in THRESHOLD_KINDS:
                raise UserInputError(
                    f"{name} must be 'absolute' or 'relative', got {getattr(self, name)!r}"
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
        if isinstance(self.payment_months, list):
            set_(self, "payment_months", tuple(self.payment_months))
        self.check_payment_months()
        set_(self, "rate_card", _built_all(RateCardLine, self.rate_card, "rate_card"))
        set_(self, "tiers", _built_all(Tier, self.tiers, "tiers"))
        set_(self, "payers", _built_all(PayerShare, self.payers, "payers"))
        set_(self, "investors", _built_all(InvestorShare, self.investors, "investors"))
        self._check_structure()

    def _check_structure(self) -> None:
        """Consistency between terms (each valid on its own)."""
        if self.threshold_scope not in THRESHOLD_SCOPES:
            raise UserInputError(
                f"threshold_scope must be one of {', '.join(THRESHOLD_SCOPES)}, "
                f"got {self.threshold_scope!r}"
            )
        _name(self.threshold_metric, "threshold_metric")
        _name(self.tier_metric, "tier_metric")
        if self.pooled_threshold_value is not None:
            check_amount(self.pooled_threshold_value, "pooled_threshold_value")
            if self.threshold_scope != "cohort":
                raise UserInputError(
                    "pooled_threshold_value needs threshold_scope = 'cohort' (the pooled test "
                    f"pools cohorts), got threshold_scope {self.threshold_scope!r}"
                )
        _optional(self.cap_per_participant_eur, "cap_per_participant_eur")
        metrics = [line.metric for line in self.rate_card]
        if len(set(metrics)) != len(metrics):
            raise UserInputError(f"rate_card lists a metric twice: {metrics}")
        if self.rate_card and self.price_eur_per_outcome > 0:
            raise UserInputError(
                "price_eur_per_outcome must be 0 with a rate_card (the rate card prices every "
                f"outcome), got {self.price_eur_per_outcome!r}"
            )
        starts = [tier.from_value for tier in self.tiers]
        if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
            raise UserInputError(f"tiers must have strictly increasing from_value, got {starts}")
        for group, what in ((self.payers, "payers"), (self.investors, "investors")):
            names = [member.name for member in group]
            if len(set(names)) != len(names):
                raise UserInputError(f"{what} names a party twice: {names}")
            if group and not math.isclose(
                math.fsum(member.share for member in group), 1.0, abs_tol=1e-9
            ):
                shares = [member.share for member in group]
                raise UserInputError(f"{what} shares must sum to 1, got {shares}")
        check_amount(self.guarantee_cover_eur, "guarantee_cover_eur")
        _number(self.guarantee_loss_share, "guarantee_loss_share", 0.0, 1.0)
        if not _name(self.guarantor, "guarantor"):
            raise UserInputError("guarantor must be a non-empty string")

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

    @property
    def lines(self) -> tuple[RateCardLine, ...]:
        """The rate card, or its single line: the price per headline validated outcome."""
        if self.rate_card:
            return self.rate_card
        return (RateCardLine(HEADLINE, self.price_eur_per_outcome, "validated"),)

    def to_record(self) -> dict[str, Any]:
        """The terms as plain data (JSON-ready); ``ContractTerms(**record)`` rebuilds them."""
        record: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("rate_card", "tiers", "payers", "investors"):
                value = [{g.name: getattr(item, g.name) for g in fields(item)} for item in value]
            elif isinstance(value, tuple):
                value = list(value)
            record[f.name] = value
        return record


@dataclass(frozen=True)
class MetricFigures:
    """What the evaluator reports for one outcome metric at one date.

    Attributes:
        gross: Outcomes counted among participants.
        counterfactual: Outcomes the evaluator estimates would have happened anyway (0 for a
            design without counterfactual).
        validated: What the evaluator validated, when it says so (None: gross - counterfactual).
    """

    gross: float
    counterfactual: float = 0.0
    validated: float | None = None

    def __post_init__(self) -> None:
        """Reject figures no evaluator could certify."""
        _number(self.gross, "metric gross", -math.inf)
        check_amount(_number(self.counterfactual, "metric counterfactual"), "counterfactual")
        if self.validated is not None:
            _number(self.validated, "metric validated", -math.inf)

    def count(self, basis: str) -> float:
        """The outcomes a rate-card line of this basis pays for."""
        if basis == "gross":
            return self.gross
        if basis == "validated" and self.validated is not None:
            return self.validated
        return self.gross - self.counterfactual


@dataclass(frozen=True)
class EvaluatedPeriod:
    """What the evaluator certifies at one payment date.

    Attributes:
        month: The payment date, one of the contract's ``payment_months``.
        validated_outcomes: Headline outcomes certified up to this date (cumulative): the gross
            count for a design with no counterfactual, the estimated additional count for an
            RCT. May be negative for an RCT estimate; nothing is then due.
        counterfactual_outcomes: Cumulative counterfactual count estimated by the evaluator,
            >= 0; required by a relative threshold on the headline figures.
        metrics: Figures of each outcome metric of a rate card (cumulative; a number is taken
            as a gross count).
        cohort: With a threshold per cohort, the cohort these figures are of (``POOLED`` for
            every cohort together).
        participants: Participants so far (a cap per participant needs it).
    """

    month: int
    validated_outcomes: float = 0.0
    counterfactual_outcomes: float | None = None
    metrics: Mapping[str, MetricFigures] = field(default_factory=dict)
    cohort: str = ""
    participants: float | None = None

    def __post_init__(self) -> None:
        """Reject figures no evaluator could certify; turn plain data into figures."""
        check_month(self.month, "month")
        if not math.isfinite(self.validated_outcomes):
            raise UserInputError(
                f"validated_outcomes must be a finite number, got {self.validated_outcomes!r}"
            )
        if self.counterfactual_outcomes is not None:
            check_amount(self.counterfactual_outcomes, "counterfactual_outcomes")
        if not isinstance(self.metrics, Mapping):
            raise UserInputError(f"metrics must be a table by metric, got {self.metrics!r}")
        figures = {
            _name(name, "metrics name"): (
                value
                if isinstance(value, MetricFigures)
                else MetricFigures(value)
                if isinstance(value, int | float)
                else _build(MetricFigures, value, f"metrics[{name!r}]")
            )
            for name, value in self.metrics.items()
        }
        object.__setattr__(self, "metrics", figures)
        _name(self.cohort, "cohort")
        if self.participants is not None:
            check_amount(self.participants, "participants")

    def figures(self, metric: str) -> MetricFigures:
        """The figures of a metric (``HEADLINE``: validated and counterfactual outcomes)."""
        if metric == HEADLINE:
            counterfactual = self.counterfactual_outcomes or 0.0
            # Headline validated outcomes are already net: gross = validated + counterfactual.
            return MetricFigures(
                self.validated_outcomes + counterfactual, counterfactual, self.validated_outcomes
            )
        if metric not in self.metrics:
            raise UserInputError(
                f"the terms need metric {metric!r} but the period of month {self.month} has "
                f"only {sorted(self.metrics) or 'the headline figures'}"
            )
        return self.metrics[metric]


@dataclass(frozen=True)
class Settlement:
    """Result of settling a CIS: what the payers paid and what the investors got.

    Attributes:
        payments: (month, amount paid by the payers to the investors) at each evaluated
            payment date, zeros included.
        total_paid_eur: Sum of the payments.
        paid_outcomes: Outcomes the payers actually paid for: the total paid divided by the
            price with one price and no tiers (0 if the price is 0); otherwise the outcomes
            validated for the rate card at the last date times the share of what they earned
            that was paid.
        share_of_cap_paid: Total paid divided by the cap (0 if the cap is 0).
        investor_flows_eur: (month, net flow) for the investors, capital out negative and
            repayments (and a guarantee) positive, one entry per month, sorted by month.
        investor_irr_per_year: Investors' annual IRR, None if it has none (or not computed).
        investor_money_multiple: (Repaid + guarantee) / drawn, None if nothing was drawn.
        investor_lost_money: Whether the investors got back less than they drew.
        limited_by: Per payment date, why the payment was smaller than what the outcomes earned:
            "threshold_not_met", "cap", "max_return", "payer_cap", "metric_cap",
            "participant_cap", or "" when nothing limited it.
        earned_eur: Per payment date, what the outcomes had earned so far before the overall
            cap, the payers' caps and the maximum return.
        payments_by_payer: (month, payer, amount) of every payment split among the payers
            (empty with a single payer).
        paid_by_payer: (payer, total) with several payers.
        guarantee_paid_eur: What the guarantor paid the investors.
        guarantee_month: When it paid (the last payment date), None if nothing.
        received_by_investor: (investor, repayments + guarantee) with several investors.
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
    earned_eur: tuple[float, ...] = ()
    payments_by_payer: tuple[tuple[int, str, float], ...] = ()
    paid_by_payer: tuple[tuple[str, float], ...] = ()
    guarantee_paid_eur: float = 0.0
    guarantee_month: int | None = None
    received_by_investor: tuple[tuple[str, float], ...] = ()

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
            "earned_eur": list(self.earned_eur),
            "payments_by_payer": [list(p) for p in self.payments_by_payer],
            "paid_by_payer": [list(p) for p in self.paid_by_payer],
            "guarantee_paid_eur": self.guarantee_paid_eur,
            "guarantee_month": self.guarantee_month,
            "received_by_investor": [list(p) for p in self.received_by_investor],
        }


def _measure(terms: ContractTerms, period: EvaluatedPeriod, metric: str, kind: str) -> float:
    """The level a threshold or a tier is tested on: a count, or a ratio to the counterfactual
    (plus or minus infinity when the counterfactual is zero: any validated outcome is then an
    unbounded improvement, and none is no improvement)."""
    if metric == HEADLINE:
        count = period.validated_outcomes
        counterfactual = period.counterfactual_outcomes
    else:
        figures = period.figures(metric)
        basis = next((line.basis for line in terms.lines if line.metric == metric), "gross")
        count = figures.count(basis if kind == "absolute" else "relative")
        counterfactual = figures.counterfactual
    if kind == "absolute":
        return count
    if counterfactual is None:
        raise UserInputError(
            "counterfactual_outcomes is required with a relative threshold, "
            f"got None at month {period.month}"
        )
    if counterfactual == 0.0:
        return math.inf if count > 0.0 else -math.inf
    return count / counterfactual


def _threshold_met(terms: ContractTerms, period: EvaluatedPeriod, value: float) -> bool:
    """Test a threshold of ``value`` on one period's figures."""
    return _measure(terms, period, terms.threshold_metric, terms.threshold_kind) >= value


def _tier_amount(terms: ContractTerms, period: EvaluatedPeriod) -> float:
    """What the tiered schedule owes in all at a period's measure (0 below the first tier)."""
    if not terms.tiers:
        return 0.0
    measure = _measure(terms, period, terms.tier_metric, terms.tier_kind)
    reached = [tier for tier in terms.tiers if measure >= tier.from_value]
    if not reached:
        return 0.0
    tier = reached[-1]
    above = measure - tier.from_value
    slope = tier.eur_per_unit * above if tier.eur_per_unit and math.isfinite(above) else 0.0
    return tier.amount_eur + slope


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
    """Check each period falls on a payment date, the periods are in date order, and they
    carry what the terms need (cohorts, metrics, participants)."""
    months = [period.month for period in periods]
    for month in months:
        if month not in terms.payment_months:
            raise UserInputError(
                f"periods month must be one of payment_months {terms.payment_months}, got {month}"
            )
    if any(later <= earlier for earlier, later in itertools.pairwise(months)):
        raise UserInputError(f"periods must be sorted by strictly increasing month, got {months}")
    for period in periods:
        if terms.threshold_scope == "cohort" and not period.cohort:
            raise UserInputError(
                f"with threshold_scope 'cohort' every period names its cohort; the period of "
                f"month {period.month} has none"
            )
        if terms.cap_per_participant_eur is not None and period.participants is None:
            raise UserInputError(
                "cap_per_participant_eur needs the participants of every period; the period "
                f"of month {period.month} has none"
            )
        for line in terms.lines:
            period.figures(line.metric)
    pooled = [p.month for p in periods if p.cohort == POOLED]
    if pooled and (terms.threshold_scope != "cohort" or pooled[-1] != months[-1]):
        raise UserInputError(
            "a pooled period comes last, with threshold_scope 'cohort'; got pooled periods at "
            f"months {pooled} of {months} with scope {terms.threshold_scope!r}"
        )


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


@dataclass
class _Earned:
    """What the rate card has earned so far, by key (the whole contract, a period, a cohort)."""

    counts: dict[str, dict[str, float]] = field(default_factory=dict)
    pooled: dict[str, float] | None = None

    def total_counts(self, lines: Sequence[RateCardLine]) -> dict[str, float]:
        totals = {
            line.metric: math.fsum(c.get(line.metric, 0.0) for c in self.counts.values())
            for line in lines
        }
        if self.pooled is not None:
            totals = {m: max(v, self.pooled.get(m, 0.0)) for m, v in totals.items()}
        return totals


def _line_counts(terms: ContractTerms, period: EvaluatedPeriod) -> dict[str, float]:
    """Outcomes of each rate-card line in a period's figures (never below zero)."""
    return {
        line.metric: max(0.0, period.figures(line.metric).count(line.basis)) for line in terms.lines
    }


def _rate_card_eur(terms: ContractTerms, counts: Mapping[str, float]) -> tuple[float, bool]:
    """Amount the rate card earns on outcome counts, per-metric caps applied; and whether a
    per-metric cap bound."""
    amounts = []
    capped = False
    for line in terms.lines:
        count = counts.get(line.metric, 0.0)
        if line.cap_outcomes is not None and count > line.cap_outcomes:
            count, capped = line.cap_outcomes, True
        amount = line.price_eur * count
        if line.cap_eur is not None and amount > line.cap_eur:
            amount, capped = line.cap_eur, True
        amounts.append(amount)
    return math.fsum(amounts), capped


def settle(
    terms: ContractTerms,
    periods: Sequence[EvaluatedPeriod],
    drawdowns: Sequence[tuple[int, float]],
    *,
    with_irr: bool = True,
) -> Settlement:
    """Settle a social impact contract: what the payers owe the investors at each payment date.

    At each evaluated payment date, in order:

    1. The threshold is tested on the figures its scope names: the cumulative figures at that
       date; the period's own figures (cumulative figures minus those of the previous date);
       or the cohort's figures (with a pooled test on the pooled figures at the last date).
       Below it nothing is paid at that date ("threshold_not_met"), and a period's or a
       cohort's figures earn nothing.
    2. Figures that passed earn price x outcomes per rate-card metric (gross, relative to the
       counterfactual, or the headline validated count; never below zero), with the caps per
       metric applied to the outcomes earned over the whole contract; plus the tiered
       schedule's amount at the tiers' measure.
    3. The cap per participant limits what was earned (participants x cap).
    4. The amount due is what was earned so far minus the amounts already paid (never
       negative: a lower later estimate does not claw money back).
    5. The payment is limited by the overall cap (total paid never exceeds
       ``payment_cap_eur``), by the investors' maximum return (the payment may not exceed the
       drawdowns made so far compounded at ``max_return_per_year`` up to that date minus the
       previous repayments compounded the same way; drawdowns after the date do not count
       yet), and, with several payers, by each payer's share and cap.

    After the last payment date (when it is among the periods), a guarantor pays the investors
    ``guarantee_loss_share`` of what they drew and did not get back, up to
    ``guarantee_cover_eur``. It never changes what the payers pay.

    Args:
        terms: The contract.
        periods: Evaluator's certified figures, one per payment date settled so far, sorted
            by month. Payment dates without a period are not settled (settlement to date).
        drawdowns: (month, amount) of the investor's capital paid out: operator costs,
            structuring, evaluation.
        with_irr: Compute the investors' IRR (the slowest step; a designer exploring
            thousands of terms asks only for the payments).

    Returns:
        The payments and the investors' position.

    Raises:
        UserInputError: If a period is not on a payment date, out of order or missing a figure
            the terms need, a drawdown is invalid, or a relative threshold meets a missing
            counterfactual.

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

        A first-loss guarantee of €600,000 covers the investor's loss up to that amount; the
        city still pays nothing.

        >>> from dataclasses import replace
        >>> guaranteed = settle(
        ...     replace(terms, guarantee_cover_eur=600_000.0),
        ...     [EvaluatedPeriod(24, 40.0), EvaluatedPeriod(48, 45.0)],
        ...     drawdowns,
        ... )
        >>> guaranteed.total_paid_eur, guaranteed.guarantee_paid_eur
        (0.0, 600000.0)
        >>> guaranteed.investor_money_multiple
        0.6
    """
    check_periods(terms, periods)
    capital = check_drawdowns(drawdowns)
    payments: list[tuple[int, float]] = []
    by_payer: list[tuple[int, str, float]] = []
    payer_paid = {payer.name: 0.0 for payer in terms.payers}
    limited_by: list[str] = []
    earned_by_date: list[float] = []
    earned = _Earned()
    previous: EvaluatedPeriod | None = None
    total_paid_eur = 0.0
    last_counts: dict[str, float] = {}
    last_earned_eur = 0.0
    for period in periods:
        met = _earn(terms, period, previous, earned)
        previous = period
        last_counts = earned.total_counts(terms.lines)
        earned_eur, metric_capped = _rate_card_eur(terms, last_counts)
        earned_eur += _tier_amount(terms, period)
        participant_capped = False
        if terms.cap_per_participant_eur is not None:
            limit = terms.cap_per_participant_eur * (period.participants or 0.0)
            if earned_eur > limit:
                earned_eur, participant_capped = limit, True
        earned_by_date.append(earned_eur)
        last_earned_eur = earned_eur
        if not met:
            payments.append((period.month, 0.0))
            limited_by.append(LIMIT_THRESHOLD)
            by_payer.extend((period.month, payer.name, 0.0) for payer in terms.payers)
            continue
        due_eur = max(0.0, earned_eur - total_paid_eur)
        cap_room_eur = max(0.0, terms.payment_cap_eur - total_paid_eur)
        return_room_eur = max(
            0.0,
            _compounded_eur(capital, period.month, terms.max_return_per_year)
            - _compounded_eur(payments, period.month, terms.max_return_per_year),
        )
        paid_eur, reason = _limit_payment(due_eur, cap_room_eur, return_room_eur)
        if terms.payers:
            paid_eur, shares, payer_bound = _split(terms, paid_eur, payer_paid)
            by_payer.extend((period.month, name, amount) for name, amount in shares)
            if payer_bound:
                reason = LIMIT_PAYER_CAP
        if reason == LIMIT_NONE and (metric_capped or participant_capped):
            reason = LIMIT_PARTICIPANT_CAP if participant_capped else LIMIT_METRIC_CAP
        payments.append((period.month, paid_eur))
        limited_by.append(reason)
        # Landing exactly on the cap avoids a total one rounding error above it.
        total_paid_eur = terms.payment_cap_eur if reason == LIMIT_CAP else total_paid_eur + paid_eur
    guarantee = _guarantee(terms, periods, capital, total_paid_eur)
    return _settlement(
        terms,
        _Paid(payments, limited_by, total_paid_eur, earned_by_date, by_payer, payer_paid),
        capital,
        guarantee,
        (last_counts, last_earned_eur),
        with_irr,
    )


def _earn(
    terms: ContractTerms,
    period: EvaluatedPeriod,
    previous: EvaluatedPeriod | None,
    earned: _Earned,
) -> bool:
    """Record what a period's figures earn under the threshold's scope; whether they passed."""
    scope = terms.threshold_scope
    if scope == "cohort" and period.cohort == POOLED:
        value = (
            terms.pooled_threshold_value
            if terms.pooled_threshold_value is not None
            else terms.threshold_value
        )
        met = _threshold_met(terms, period, value)
        if met:
            earned.pooled = _line_counts(terms, period)
        return met
    if scope == "period":
        own = _increment(period, previous)
        met = _threshold_met(terms, own, terms.threshold_value)
        earned.counts[str(period.month)] = _line_counts(terms, own) if met else {}
        return met
    met = _threshold_met(terms, period, terms.threshold_value)
    if met:
        earned.counts[period.cohort if scope == "cohort" else ""] = _line_counts(terms, period)
    return met


def _increment(period: EvaluatedPeriod, previous: EvaluatedPeriod | None) -> EvaluatedPeriod:
    """A period's own figures: its cumulative figures minus those of the previous date."""
    if previous is None:
        return period

    def minus(now: float | None, before: float | None) -> float | None:
        return None if now is None else max(0.0, now - (before or 0.0))

    metrics = {
        name: MetricFigures(
            figures.gross - (previous.metrics[name].gross if name in previous.metrics else 0.0),
            minus(
                figures.counterfactual,
                previous.metrics[name].counterfactual if name in previous.metrics else 0.0,
            )
            or 0.0,
        )
        for name, figures in period.metrics.items()
    }
    return EvaluatedPeriod(
        period.month,
        period.validated_outcomes - previous.validated_outcomes,
        minus(period.counterfactual_outcomes, previous.counterfactual_outcomes),
        metrics,
        period.cohort,
        minus(period.participants, previous.participants),
    )


@dataclass
class _Paid:
    payments: list[tuple[int, float]]
    limited_by: list[str]
    total_paid_eur: float
    earned_eur: list[float]
    by_payer: list[tuple[int, str, float]]
    payer_paid: dict[str, float]


def _split(
    terms: ContractTerms, paid_eur: float, payer_paid: dict[str, float]
) -> tuple[float, list[tuple[str, float]], bool]:
    """Split a payment among the payers by share; each pays at most what its cap leaves."""
    shares: list[tuple[str, float]] = []
    bound = False
    for payer in terms.payers:
        amount = payer.share * paid_eur
        if payer.cap_eur is not None:
            room = max(0.0, payer.cap_eur - payer_paid[payer.name])
            if amount > room:
                amount, bound = room, True
        payer_paid[payer.name] += amount
        shares.append((payer.name, amount))
    return math.fsum(a for _, a in shares), shares, bound


def _guarantee(
    terms: ContractTerms,
    periods: Sequence[EvaluatedPeriod],
    capital: Sequence[tuple[int, float]],
    total_paid_eur: float,
) -> tuple[int, float] | None:
    """(month, amount) the guarantor pays once the last payment date is settled."""
    if terms.guarantee_cover_eur <= 0 or not periods:
        return None
    last = periods[-1].month
    if last != terms.payment_months[-1]:
        return None
    drawn = math.fsum(amount for month, amount in capital if month <= last)
    loss = max(0.0, drawn - total_paid_eur)
    amount = min(terms.guarantee_cover_eur, terms.guarantee_loss_share * loss)
    return (last, amount) if amount > 0 else None


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
    paid: _Paid,
    capital: list[tuple[int, float]],
    guarantee: tuple[int, float] | None,
    last: tuple[dict[str, float], float],
    with_irr: bool,
) -> Settlement:
    """Assemble the settlement and the investors' position from the payments."""
    cap = terms.payment_cap_eur
    total_paid_eur = paid.total_paid_eur
    inflows = list(paid.payments) + ([guarantee] if guarantee else [])
    flows = _investor_flows(capital, inflows)
    monthly = _monthly_array(flows)
    drawn_eur = math.fsum(amount for _, amount in capital)
    received_eur = total_paid_eur + (guarantee[1] if guarantee else 0.0)
    return Settlement(
        payments=tuple(paid.payments),
        total_paid_eur=total_paid_eur,
        paid_outcomes=_paid_outcomes(terms, total_paid_eur, *last),
        share_of_cap_paid=total_paid_eur / cap if cap > 0 else 0.0,
        investor_flows_eur=flows,
        investor_irr_per_year=irr_per_year(monthly) if with_irr and monthly.size else None,
        investor_money_multiple=received_eur / drawn_eur if drawn_eur > 0 else None,
        investor_lost_money=received_eur < drawn_eur,
        limited_by=tuple(paid.limited_by),
        earned_eur=tuple(paid.earned_eur),
        payments_by_payer=tuple(paid.by_payer),
        paid_by_payer=tuple(paid.payer_paid.items()),
        guarantee_paid_eur=guarantee[1] if guarantee else 0.0,
        guarantee_month=guarantee[0] if guarantee else None,
        received_by_investor=tuple(
            (investor.name, investor.share * received_eur) for investor in terms.investors
        ),
    )


def _paid_outcomes(
    terms: ContractTerms, total_paid_eur: float, counts: dict[str, float], earned_eur: float
) -> float:
    """Outcomes the payers paid for (see ``Settlement.paid_outcomes``)."""
    lines = terms.lines
    if len(lines) == 1 and not terms.tiers:
        price = lines[0].price_eur
        return total_paid_eur / price if price > 0 else 0.0
    if earned_eur <= 0:
        return 0.0
    return math.fsum(counts.values()) * min(1.0, total_paid_eur / earned_eur)
