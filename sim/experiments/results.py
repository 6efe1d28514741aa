"""What a worker sends back for one run: plain, picklable records ready for the results store.

A ``RunResult`` holds the run's identity (its ``RunSpec`` fields, flattened), its status and error,
its metrics against the status-quo twin, its monthly series, per-territory results, cash flows
(aggregated per month, payer, kind and payee role), pilot decisions, evaluations and the contract.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sim.experiments.metrics import additional_outcomes_by_territory, run_metrics
from sim.funding.ledger import CITY, EVALUATOR, INTERMEDIARY, INVESTOR
from sim.simulation.output import RunOutput

STATUS_DONE = "done"
STATUS_FAILED = "failed"
#: Payees kept by name in stored cash flows; every association is stored as "association".
NAMED_PARTIES = (CITY, INVESTOR, EVALUATOR, INTERMEDIARY, "incubator", "caf", "state", "department")


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
    territories: list[dict[str, Any]] = field(default_factory=list)
    cash_flows: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)


def twin_metrics(twin: RunOutput) -> dict[str, float]:
    """Absolute figures of a status-quo run (its metrics against itself are all zero)."""
    series = twin.series
    return {
        "sustained_jobs": float(series["sustained_jobs_cumulative"][-1]),
        "unemployment_rate_end": float(series["unemployment_rate"][-1]),
        "public_cost_eur": float(series["public_cost_eur"].sum()),
        "rsa_claimed_end": float(series["rsa_claimed"][-1]),
    }


def aggregate_cash_flows(flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum flows per month, payer, kind and payee role (associations pooled)."""
    totals: dict[tuple[int, str, str, str], float] = defaultdict(float)
    for flow in flows:
        payee = flow["payee"] if flow["payee"] in NAMED_PARTIES else "association"
        totals[(flow["month"], flow["payer"], payee, flow["kind"])] += flow["amount_eur"]
    return [
        {"month": m, "payer": payer, "payee": payee, "kind": kind, "amount_eur": amount}
        for (m, payer, payee, kind), amount in sorted(totals.items())
    ]


def fill_result(result: RunResult, arm: RunOutput, twin: RunOutput) -> RunResult:
    """Fill a result's data from an arm's output and its twin's (the twin against itself)."""
    is_twin = arm is twin
    result.metrics = _finite(twin_metrics(twin) if is_twin else run_metrics(arm, twin))
    result.series = {name: [float(v) for v in values] for name, values in arm.series.items()}
    result.territories = additional_outcomes_by_territory(arm, twin)
    result.cash_flows = aggregate_cash_flows(arm.cash_flows)
    result.decisions = [_plain(d) for d in arm.decisions]
    result.evaluations = [_plain(e) for e in arm.evaluations]
    result.contract = _plain(arm.contract)
    return result


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics with NaN kept (SQL NULL) but infinities turned into NaN, which SQL cannot hold."""
    return {k: (v if math.isfinite(v) else math.nan) for k, v in metrics.items()}


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record with numpy scalars and tuples turned into plain Python values (JSON-ready)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "item"):
            return value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return {str(k): plain(v) for k, v in record.items()}
