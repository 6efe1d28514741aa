"""The double-entry ledger every mechanism pays through: who paid whom, when and why.

Time is counted in whole months from the start of the run (month 0, 1, 2, ...); amounts are in
euros. Every funding model (planned programme, call for projects, social impact contract) records
its cash flows here, so that all of them can be compared on the same flows.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sim.errors import UserInputError

# Kinds of flows, kept as plain strings so that records stay readable in databases and reports.
ACTIVITY = "activity"
GRANT = "grant"
OUTCOME_PAYMENT = "outcome_payment"
INVESTMENT = "investment"
REPAYMENT = "repayment"
TRANSACTION = "transaction"
EVALUATION = "evaluation"
INCUBATOR = "incubator"
#: A third party covering an impact contract's investors' loss.
GUARANTEE = "guarantee"
KINDS: tuple[str, ...] = (
    ACTIVITY,
    GRANT,
    OUTCOME_PAYMENT,
    INVESTMENT,
    REPAYMENT,
    TRANSACTION,
    EVALUATION,
    INCUBATOR,
    GUARANTEE,
)

# Parties that exist in every run; associations (operators) are named by the callers.
CITY = "city"
INVESTOR = "investor"
EVALUATOR = "evaluator"
INTERMEDIARY = "intermediary"
GUARANTOR = "guarantor"
#: Public payers: their outflows are public spending.
PUBLIC_PAYERS = (CITY, "caf", "state", "department")

FloatArray = npt.NDArray[np.float64]


def check_month(value: int, name: str) -> int:
    """Return ``value`` as an int after checking it is a whole month >= 0."""
    # bool is an int subclass, but True as a month is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UserInputError(f"{name} must be an integer month >= 0, got {value!r}")
    if value < 0:
        raise UserInputError(f"{name} must be an integer month >= 0, got {value!r}")
    return int(value)


def check_amount(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise UserInputError(f"{name} must be a finite number >= 0, got {value!r}")
    return amount


def check_name(value: str, name: str) -> str:
    """Return ``value`` after checking it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise UserInputError(f"{name} must be a non-empty string, got {value!r}")
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
        need: The need the payment served (a need's key), or "" when it serves several (an
            incubator, a programme's monitoring): costs per outcome are counted per need.
    """

    month: int
    payer: str
    payee: str
    kind: str
    amount_eur: float
    need: str = ""


class Instalment(Protocol):
    """A monthly payment whose terms were checked when it was granted (``check_payment``)."""

    @property
    def payer(self) -> str: ...
    @property
    def payee(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def monthly_eur(self) -> float: ...
    @property
    def need(self) -> str: ...


#: An instalment's terms as a tuple, read in C: hundreds of grants are paid every month.
_INSTALMENT_TERMS = operator.attrgetter("payer", "payee", "kind", "monthly_eur", "need")


@dataclass(frozen=True)
class _MonthsInstalments:
    """One month's instalments, kept as the terms they pay (payer, payee, kind, amount, need)
    and spelled out as flows when the ledger is read: hundreds of funded actions are paid
    every month, and the ledger is read once, after the run."""

    month: int
    terms: tuple[tuple[str, str, str, float, str], ...]

    def flows(self) -> Iterator[CashFlow]:
        for payer, payee, kind, amount, need in self.terms:
            if amount != 0.0:
                yield CashFlow(self.month, payer, payee, kind, amount, need)


class Ledger:
    """Double-entry record of every payment in a run.

    Each flow is a debit for its payer and a credit for its payee, so the balances of all
    parties always sum to zero; a non-zero sum would reveal money created or lost by a bug.
    """

    def __init__(self) -> None:
        """Create an empty ledger."""
        self._entries: list[CashFlow | _MonthsInstalments] = []
        self._spelled_out: list[CashFlow] | None = []

    def pay(
        self, month: int, payer: str, payee: str, kind: str, amount_eur: float, need: str = ""
    ) -> None:
        """Record one payment.

        Args:
            month: Month of the payment, >= 0.
            payer: Party that pays.
            payee: Party that receives, different from ``payer``.
            kind: What the payment is for (see the module's kind constants).
            amount_eur: Amount, finite and >= 0. A zero amount is not recorded, so callers
                can pay computed amounts without testing them first.

        Raises:
            UserInputError: If a field is invalid; the message names the field and the value.
        """
        month_checked = check_month(month, "month")
        amount = self.check_payment(payer, payee, kind, amount_eur)
        if amount == 0.0:
            return
        self._record(CashFlow(month_checked, payer, payee, kind, amount, need))

    @staticmethod
    def check_payment(payer: str, payee: str, kind: str, amount_eur: float) -> float:
        """The amount of a valid payment (see ``pay``), or a ``UserInputError``."""
        check_name(payer, "payer")
        check_name(payee, "payee")
        check_name(kind, "kind")
        amount = check_amount(amount_eur, "amount_eur")
        if payer == payee:
            raise UserInputError(f"payee must differ from payer, got payer == payee == {payer!r}")
        return amount

    def pay_instalments(self, month: int, grants: Sequence[Instalment]) -> None:
        """Record this month's instalment of each of ``grants`` (terms checked once, when
        granted: ``check_payment``), in their order; zero instalments are not recorded."""
        if grants:
            terms = tuple(map(_INSTALMENT_TERMS, grants))
            self._entries.append(_MonthsInstalments(month, terms))
            self._spelled_out = None

    def _record(self, flow: CashFlow) -> None:
        self._entries.append(flow)
        if self._spelled_out is not None:
            self._spelled_out.append(flow)

    @property
    def _flows(self) -> list[CashFlow]:
        """Every flow, in the order paid (instalments spelled out once, when first read)."""
        if self._spelled_out is None:
            self._spelled_out = [
                flow
                for entry in self._entries
                for flow in (entry.flows() if isinstance(entry, _MonthsInstalments) else (entry,))
            ]
        return self._spelled_out

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
            UserInputError: If ``months`` is too short to hold one of the party's flows, since
                truncating would silently drop money.
        """
        length = max((flow.month for flow in self._flows), default=-1) + 1
        if months is not None:
            last_month = max(
                (f.month for f in self._flows if party in (f.payer, f.payee)), default=-1
            )
            if isinstance(months, bool) or months < last_month + 1:
                raise UserInputError(
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
                "need": flow.need,
            }
            for flow in self._flows
        ]
