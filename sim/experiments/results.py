"""What a worker sends back for one run: plain, picklable records ready for the results store.

A ``RunResult`` holds the run's identity (its ``RunSpec`` fields, flattened), its status and error,
its metrics against the status-quo twin, its monthly series, per-territory results, cash flows
(aggregated per month, payer, kind and payee role), pilot decisions, evaluations and the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.funding.records import EvaluationRecord, PilotDecision

STATUS_DONE = "done"
STATUS_FAILED = "failed"


#: Fields a result shares with the ``RunSpec`` it comes from: the run's identity.
RUN_IDENTITY = (
    "key",
    "point",
    "replication",
    "arm",
    "mechanism",
    "seed",
    "mechanism_params",
    "model_params",
    "point_values",
)


@dataclass(frozen=True)
class TerritoryResult:
    """What an arm changed in one territory, against its twin.

    Attributes:
        true_additional: true additional outcomes of each need (stored as one column per need,
            ``true_additional_<need>``).
    """

    territory: str
    qpv: bool
    participants: int
    true_additional: dict[str, int]
    unemployment_rate_end: float
    unemployment_rate_end_twin: float


@dataclass(frozen=True)
class CashFlowRecord:
    """Flows of one month, payer, payee role, kind and need, summed (associations pooled)."""

    month: int
    payer: str
    payee: str
    kind: str
    amount_eur: float
    need: str = ""


@dataclass
class RunResult:
    """One run's record for the store."""

    key: str
    point: int
    replication: int
    arm: str
    mechanism: str
    seed: int
    mechanism_params: dict[str, Any]
    model_params: dict[str, Any]
    point_values: dict[str, Any]
    status: str = STATUS_DONE
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    territories: list[TerritoryResult] = field(default_factory=list)
    cash_flows: list[CashFlowRecord] = field(default_factory=list)
    decisions: list[PilotDecision] = field(default_factory=list)
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)
