"""What one run leaves behind, as plain picklable data (no model, no Mesa): the currency between
workers, metrics, the results store and analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass
class RunOutput:
    """What one run leaves behind: series, per-resident outcomes, cash flows, decisions."""

    arm: str
    mechanism: str
    mechanism_params: dict[str, Any]
    seed: int
    months: int
    discount_rate_per_year: float
    territory_ids: list[str]
    territory_qpv: np.ndarray
    series: dict[str, np.ndarray]
    territory_unemployment: np.ndarray
    residents: dict[str, np.ndarray]
    cash_flows: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)
    budget_limit_eur: float = 0.0
