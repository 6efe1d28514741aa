"""What one run leaves behind, as plain picklable data (no model, no Mesa): the currency between
workers, metrics, the results store and analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.delivery.needs import all_needs
from sim.funding.records import ContractRecord, EvaluationRecord, PilotDecision, Proposal

#: Per-resident arrays kept from a run (outcome dates and counts, who took part, traits).
RESIDENT_FIELDS = (
    "territory",
    "barrier",
    "initial_employed",
    "initial_rsa_eligible",
    "initial_french",
    "sustained_job_month",
    "last_sustained_job_month",
    "sustained_job_count",
    "a1_month",
    "claim_month",
    "months_employed",
    "public_cost_eur",
    "first_action",
    "first_enrol_month",
    "first_group",
)


def resident_fields() -> tuple[str, ...]:
    """The per-resident arrays a run keeps: the fixed ones and every need's outcome arrays."""
    extra = [f for need in all_needs() for f in need.outcome_fields() if f not in RESIDENT_FIELDS]
    return RESIDENT_FIELDS + tuple(dict.fromkeys(extra))


@dataclass(frozen=True)
class ActionRecord:
    """What an action was and what it delivered."""

    action: int
    name: str
    association: str
    specialty: str
    territories: tuple[int, ...]
    places: int
    true_effect: float
    start_month: int
    end_month: int | None
    participants: int
    participant_months: int
    completions: int
    dropouts: int
    stage: str


@dataclass
class RunOutput:
    """What one run leaves behind: series, per-resident outcomes, cash flows, decisions."""

    arm: str
    mechanism: str
    seed: int
    months: int
    discount_rate_per_year: float
    territory_ids: list[str]
    territory_qpv: np.ndarray
    series: dict[str, np.ndarray]
    territory_unemployment: np.ndarray
    residents: dict[str, np.ndarray]
    cash_flows: list[dict[str, Any]]
    actions: list[ActionRecord]
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    decisions: list[PilotDecision] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    contract: ContractRecord | None = None
    budget_limit_eur: float = 0.0
    #: Months simulated after the delivery horizon (included in ``months``).
    follow_up_months: int = 0
