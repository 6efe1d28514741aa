"""Settlement-only sweeps: when sweep points differ only by a contract's settlement terms, a
replication is simulated once and its evaluated periods are settled again at every point.

A mechanism says which of its parameters change only the settlement (``SETTLEMENT_PARAMS``, the
impact contract's price, rate card, thresholds, tiers, caps, maximum return, payers, investors and
guarantee) and how to settle a finished run's contract again (``resettled``). Two runs of the same
replication whose parameters differ only there are the same simulation: the city, the operator,
the participants, the evaluator's figures and the investor's drawdowns are identical; only the
repayments, the guarantee, the contract record and the payer's budget limit differ. Re-settling
rebuilds exactly those, placing the new ledger flows where a run pays them, so that every stored
metric is the one a full re-simulation gives (``tests/test_resettle.py`` compares both ways).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from sim.funding.ledger import GUARANTEE, REPAYMENT
from sim.simulation.output import RunOutput

if TYPE_CHECKING:
    from sim.funding.base import Mechanism


class RunSpecLike(Protocol):
    """What the key of a run's simulation reads from its ``RunSpec`` (the scenario module
    imports this one, so it is not imported back)."""

    @property
    def arm(self) -> str: ...
    @property
    def mechanism(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def months(self) -> int: ...
    @property
    def mechanism_params(self) -> dict[str, Any]: ...
    @property
    def model_params(self) -> dict[str, Any]: ...


#: Ledger kinds a settlement pays; a re-settled run replaces them.
SETTLEMENT_KINDS = (REPAYMENT, GUARANTEE)


def settlement_params(mechanism: str) -> frozenset[str]:
    """The parameters of a mechanism that change only its settlement (none for most)."""
    from sim.funding.registry import MECHANISMS

    kind = MECHANISMS.get(mechanism)
    params: Iterable[str] = getattr(kind, "SETTLEMENT_PARAMS", ()) if kind is not None else ()
    return frozenset(params)


def simulation_key(spec: RunSpecLike) -> str:
    """What identifies the simulation a run needs: two runs with the same key differ only by
    settlement terms, and one simulation serves both."""
    only_settlement = settlement_params(spec.mechanism)
    kept = {k: v for k, v in spec.mechanism_params.items() if k not in only_settlement}
    return json.dumps(
        [
            spec.arm,
            spec.mechanism,
            spec.seed,
            spec.months,
            getattr(spec, "follow_up_months", 0),
            kept,
            spec.model_params,
        ],
        sort_keys=True,
        default=str,
    )


def can_resettle(mechanism: Mechanism) -> bool:
    """Whether a mechanism can settle a finished run again."""
    return bool(settlement_params(mechanism.name)) and hasattr(mechanism, "resettled")


def resettle_output(output: RunOutput, mechanism: Mechanism) -> RunOutput:
    """A finished run's output as if it had been simulated under ``mechanism``, whose
    parameters differ from the run's only by settlement terms.

    The ledger keeps every flow of the run except the settlement's; the new settlement's flows
    go where a run pays them: a payment date's repayments (and the guarantee, at the last date)
    right after every other flow of that month or before, since a run settles a date at the
    start of the next month, before anything else is paid.
    """
    if output.contract is None:
        return output
    resettled = getattr(mechanism, "resettled", None)
    if resettled is None:
        raise TypeError(f"mechanism {mechanism.name} cannot settle a run again")
    contract, flows, budget = resettled(output.contract)
    kept = [f for f in output.cash_flows if f["kind"] not in SETTLEMENT_KINDS]
    return dataclasses.replace(
        output,
        contract=contract,
        cash_flows=_merge(kept, flows),
        budget_limit_eur=budget,
    )


def _merge(
    kept: list[dict[str, Any]], settlement: Iterable[tuple[int, str, str, str, float, str]]
) -> list[dict[str, Any]]:
    """The run's other flows with the settlement's inserted after every flow of their month or
    before (flows are recorded in month order)."""
    pending = [
        {
            "month": m,
            "payer": payer,
            "payee": payee,
            "kind": kind,
            "amount_eur": amount,
            "need": need,
        }
        for m, payer, payee, kind, amount, need in settlement
    ]
    merged: list[dict[str, Any]] = []
    for flow in kept:
        while pending and pending[0]["month"] < flow["month"]:
            merged.append(pending.pop(0))
        merged.append(flow)
    return merged + pending
