"""Re-settling stored social impact contracts on other terms.

A contract run stores what its evaluator certified at each payment date and what the investor
drew. Neither depends on the price, the threshold, the cap or the maximum return (the operator
and its participants do not see them), so a contract can be settled again on other terms
without running the city again: the payer's payments change, and with them the payer's net
present value and the investor's return.

Everything that settles goes through :func:`resettle`, the one place to change when the
settlement gains rate cards, cohorts, tiers, guarantees and several payers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.funding.discounting import npv_eur
from sim.funding.settlement import ContractTerms, EvaluatedPeriod, Settlement, settle
from sim.world.params import ModelParams

#: Mechanism whose runs store a contract.
IMPACT_CONTRACT = "impact_contract"


@dataclass(frozen=True)
class TermsOverrides:
    """Terms a workshop moves; None keeps the stored value.

    Attributes:
        price_eur_per_outcome: price the payer pays per validated outcome.
        threshold_value: minimum below which nothing is paid (in the contract's threshold unit).
        payment_cap_ratio: cap on total payments as a multiple of the capital the contract
            needed (the mechanism's ``payment_cap_ratio``), per replication.
        max_return_per_year: the investor's maximum annual return.
        guarantee_share: placeholder for a first-loss guarantee (share of the capital a guarantor
            repays the investor when outcomes fall short); only 0 until the settlement has it.
        payer_shares: placeholder for several payers (payer -> share of each payment); only the
            contract's single payer until the settlement has them.
    """

    price_eur_per_outcome: float | None = None
    threshold_value: float | None = None
    payment_cap_ratio: float | None = None
    max_return_per_year: float | None = None
    guarantee_share: float = 0.0
    payer_shares: Mapping[str, float] = field(default_factory=dict)


def contract_terms(contract: Mapping[str, Any], overrides: TermsOverrides) -> ContractTerms:
    """The stored terms of a contract with the overrides applied.

    Raises:
        ValueError: terms no contract could have (e.g. a negative price).
    """
    stored = dict(contract["terms"])
    stored["payment_months"] = tuple(int(m) for m in stored["payment_months"])
    terms = ContractTerms(**stored)
    changes: dict[str, Any] = {}
    if overrides.price_eur_per_outcome is not None:
        changes["price_eur_per_outcome"] = float(overrides.price_eur_per_outcome)
    if overrides.threshold_value is not None:
        changes["threshold_value"] = float(overrides.threshold_value)
    if overrides.payment_cap_ratio is not None:
        changes["payment_cap_eur"] = float(overrides.payment_cap_ratio) * float(
            contract["capital_eur"]
        )
    if overrides.max_return_per_year is not None:
        changes["max_return_per_year"] = float(overrides.max_return_per_year)
    return replace(terms, **changes) if changes else terms


def evaluated_periods(contract: Mapping[str, Any]) -> list[EvaluatedPeriod]:
    """What the evaluator certified at each payment date the run reached."""
    return [
        EvaluatedPeriod(
            int(p["month"]),
            float(p["validated_outcomes"]),
            None
            if p.get("counterfactual_outcomes") is None
            else float(p["counterfactual_outcomes"]),
        )
        for p in contract["periods"]
    ]


def resettle(contract: Mapping[str, Any], overrides: TermsOverrides) -> Settlement:
    """Settle a stored contract again on other terms (its evaluated outcomes and drawdowns kept).

    Args:
        contract: the run's ``contract`` record, as stored (``runs.contract`` JSON).
        overrides: the terms to change.

    Raises:
        NotImplementedError: a guarantee or several payers, which the settlement does not have
            yet.
        ValueError: invalid terms.
    """
    if overrides.guarantee_share:
        raise NotImplementedError("guarantees are not part of the settlement yet")
    payers = {k: v for k, v in overrides.payer_shares.items() if v}
    if payers and set(payers) != {contract["payer"]}:
        raise NotImplementedError("several payers are not part of the settlement yet")
    drawdowns = [(int(m), float(a)) for m, a in contract["drawdowns"]]
    return settle(contract_terms(contract, overrides), evaluated_periods(contract), drawdowns)


# ---------------------------------------------------------------------------- replications
@dataclass(frozen=True)
class StoredContract:
    """One replication's contract, with what the payer's NPV needs.

    Attributes:
        point, replication, arm: the run's identity.
        contract: the stored contract record.
        npv_eur: the run's stored net present value to the public purse.
        discount_rate_per_year: the run's discount rate.
    """

    point: int
    replication: int
    arm: str
    contract: Mapping[str, Any]
    npv_eur: float
    discount_rate_per_year: float

    @property
    def operating_cost_eur(self) -> float:
        """What the service would have cost bought directly (the operator's delivery)."""
        return float(self.contract["operating_cost_eur"])

    @property
    def payer_cost_eur(self) -> float:
        """The payer's own cost of preparing and managing the contract."""
        return float(self.contract["payer_cost_eur"])


def _discount_rate(model_params: str) -> float:
    try:
        overrides = json.loads(model_params) if model_params else {}
        return float(ModelParams(**overrides).discount_rate_per_year)
    except (TypeError, ValueError):
        return float(ModelParams().discount_rate_per_year)


def stored_contracts(runs: pd.DataFrame, metrics: pd.DataFrame) -> list[StoredContract]:
    """Every finished contract run of a batch, from its ``runs`` and ``metrics`` frames."""
    done = runs[(runs["mechanism"] == IMPACT_CONTRACT) & (runs["status"] == "done")]
    npv = dict(zip(metrics["run_id"], metrics.get("npv_eur", pd.Series(dtype=float)), strict=False))
    found: list[StoredContract] = []
    for row in done.itertuples():
        contract = json.loads(str(row.contract)) if row.contract else {}
        if not contract.get("periods") and not contract.get("terms"):
            continue
        found.append(
            StoredContract(
                point=int(row.point),
                replication=int(row.replication),
                arm=str(row.arm),
                contract=contract,
                npv_eur=float(npv.get(row.id, math.nan)),
                discount_rate_per_year=_discount_rate(str(row.model_params)),
            )
        )
    return found


def _present_value(payments: Sequence[Sequence[float]], rate: float) -> float:
    if not payments:
        return 0.0
    months = [int(m) for m, _ in payments]
    flows = np.zeros(max(months) + 1)
    for month, amount in payments:
        flows[int(month)] += float(amount)
    return npv_eur(flows, rate)


def payer_npv_eur(stored: StoredContract, settlement: Settlement) -> float:
    """The payer's net present value had the contract been settled as ``settlement`` says: the
    run's stored NPV to the public purse, with the stored payments replaced by the new ones."""
    old = _present_value(stored.contract["settlement"]["payments"], stored.discount_rate_per_year)
    new = _present_value(settlement.payments, stored.discount_rate_per_year)
    return stored.npv_eur + old - new


@dataclass(frozen=True)
class ReplicationOutcome:
    """One replication settled on the chosen terms."""

    replication: int
    payer_npv_eur: float
    paid_eur: float
    payer_cost_eur: float
    operating_cost_eur: float
    investor_irr_per_year: float
    investor_money_multiple: float
    investor_lost_money: bool


@dataclass(frozen=True)
class TermsSummary:
    """Every replication of a contract arm settled on the chosen terms."""

    outcomes: tuple[ReplicationOutcome, ...]

    @property
    def replications(self) -> int:
        """How many replications were settled."""
        return len(self.outcomes)

    def _values(self, name: str) -> np.ndarray:
        return np.array([float(getattr(o, name)) for o in self.outcomes], dtype=float)

    @property
    def payer_npv_eur_mean(self) -> float:
        """Mean payer's NPV across replications."""
        return float(self._values("payer_npv_eur").mean()) if self.outcomes else math.nan

    @property
    def payer_cost_eur_mean(self) -> float:
        """Mean of what the contract cost the payer (payments and its own costs)."""
        return float(self._values("payer_cost_eur").mean()) if self.outcomes else math.nan

    @property
    def operating_cost_eur_mean(self) -> float:
        """Mean of what the service would have cost bought directly."""
        return float(self._values("operating_cost_eur").mean()) if self.outcomes else math.nan

    @property
    def probability_investor_loses(self) -> float:
        """Share of replications where the investor gets back less than it drew."""
        return float(self._values("investor_lost_money").mean()) if self.outcomes else math.nan

    @property
    def share_payer_below_direct(self) -> float:
        """Share of replications where the Bordeaux rule holds: the contract costs the payer
        less than financing the service itself."""
        if not self.outcomes:
            return math.nan
        return float(np.mean([o.payer_cost_eur < o.operating_cost_eur for o in self.outcomes]))

    def investor_irr(self) -> np.ndarray:
        """The investor's annual IRR per replication (NaN where it has none)."""
        return self._values("investor_irr_per_year")


def settle_replications(
    contracts: Sequence[StoredContract], overrides: TermsOverrides
) -> TermsSummary:
    """Settle every replication of a contract arm on the same terms."""
    outcomes = []
    for stored in contracts:
        settlement = resettle(stored.contract, overrides)
        irr = settlement.investor_irr_per_year
        multiple = settlement.investor_money_multiple
        outcomes.append(
            ReplicationOutcome(
                replication=stored.replication,
                payer_npv_eur=payer_npv_eur(stored, settlement),
                paid_eur=settlement.total_paid_eur,
                payer_cost_eur=settlement.total_paid_eur + stored.payer_cost_eur,
                operating_cost_eur=stored.operating_cost_eur,
                investor_irr_per_year=math.nan if irr is None else float(irr),
                investor_money_multiple=math.nan if multiple is None else float(multiple),
                investor_lost_money=settlement.investor_lost_money,
            )
        )
    return TermsSummary(tuple(outcomes))


def investor_meets(outcome: ReplicationOutcome, target_return_per_year: float) -> bool:
    """Whether the investor earned at least the target return (no IRR: it lost everything)."""
    irr = outcome.investor_irr_per_year
    return math.isfinite(irr) and irr >= target_return_per_year - 1e-12


@dataclass(frozen=True)
class FeasibleRegion:
    """A price x threshold grid of contract terms, each cell scored across replications.

    Attributes:
        prices, thresholds: the grid's axes.
        payer_ok: share of replications with a positive payer's NPV (rows: thresholds,
            columns: prices).
        investor_ok: share of replications where the investor earns at least the target.
    """

    prices: tuple[float, ...]
    thresholds: tuple[float, ...]
    payer_ok: np.ndarray
    investor_ok: np.ndarray

    def feasible(self, share: float) -> np.ndarray:
        """Cells where both hold in at least ``share`` of the replications."""
        return (self.payer_ok >= share - 1e-12) & (self.investor_ok >= share - 1e-12)


class RegionCancelled(Exception):
    """The feasible region was no longer wanted (the terms moved while it was computed)."""


def feasible_region(
    contracts: Sequence[StoredContract],
    overrides: TermsOverrides,
    prices: Sequence[float],
    thresholds: Sequence[float],
    target_return_per_year: float,
    cancelled: Callable[[], bool] | None = None,
) -> FeasibleRegion:
    """Score a grid of prices and thresholds (the other terms as in ``overrides``).

    Raises:
        RegionCancelled: ``cancelled()`` became true (checked before each cell, so that a page
            stops a grid whose terms have moved on without tracing every line of it).
    """
    payer = np.zeros((len(thresholds), len(prices)))
    investor = np.zeros((len(thresholds), len(prices)))
    for i, threshold in enumerate(thresholds):
        for j, price in enumerate(prices):
            if cancelled is not None and cancelled():
                raise RegionCancelled
            cell = replace(overrides, price_eur_per_outcome=price, threshold_value=threshold)
            summary = settle_replications(contracts, cell)
            if not summary.outcomes:
                continue
            payer[i, j] = np.mean([o.payer_npv_eur > 0 for o in summary.outcomes])
            investor[i, j] = np.mean(
                [investor_meets(o, target_return_per_year) for o in summary.outcomes]
            )
    return FeasibleRegion(tuple(prices), tuple(thresholds), payer, investor)
