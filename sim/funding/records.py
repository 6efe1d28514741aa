"""What a mechanism decides and evaluates during a run, as typed records.

These dataclasses are the currency between a run, the results store and analysis: the store's
tables are derived from their fields (``sim.experiments.store``), so a new field reaches the
database or fails loudly, and never vanishes on the way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FundedAction:
    """An action a mechanism pays for, month by month from ``from_month`` to ``until_month``.

    Attributes:
        stage: for a call for projects, ``pilot``, ``pilot_evaluated`` or ``scaled``.
        territory: for a planned grant, the territory it was allocated to (-1 otherwise).
        works: for a pilot, whether it truly works (known to the simulation, not to the city).
        evaluation_cost_eur: the evaluation reserved for the action, paid when it is evaluated.
    """

    action: int
    monthly_eur: float
    from_month: int
    until_month: int
    kind: str
    payer: str
    payee: str
    stage: str = ""
    territory: int = -1
    works: bool | None = None
    evaluation_cost_eur: float = 0.0
    need: str = ""


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of one action at one date, as the design reported it."""

    action: int
    design: str
    month: int
    n_treated: int
    n_comparison: int
    gross_outcomes: int
    effect_estimate: float
    standard_error: float
    counterfactual_outcomes: float
    validated_outcomes: float
    ci_low: float
    ci_high: float
    #: Where a comparison group came from (``unserved_territories`` or
    #: ``not_yet_enrolled_in_served_territories``; empty for other designs), how many of its
    #: comparisons later joined an action of the same need and were censored then, and the
    #: caveat a report states with the estimate.
    comparison_source: str = ""
    comparison_censored: int = 0
    comparison_caveat: str = ""


@dataclass(frozen=True)
class PilotDecision:
    """A call for projects' decision on a pilot once evaluated: scale it or stop it."""

    action: int
    month: int
    association: str
    specialty: str
    territory: int
    true_effect: float
    truly_works: bool
    decision: str
    correct: bool
    estimate: float
    ci_low: float
    ci_high: float
    scaled_action: int = -1


@dataclass
class Proposal:
    """A proposal to a call for projects, with what the committee saw and what is true."""

    association: str
    specialty: str
    territory: int
    partners: int
    places: int
    cost_eur_per_participant_month: float
    cost_eur: float
    works: bool
    true_effect: float
    claimed_effect: float
    selection: str
    funded: bool = False
    score: float = 0.0
    call_month: int = 0


@dataclass(frozen=True)
class PlanLine:
    """One line of a planned programme: a specialty's budget in a territory for a cycle."""

    cycle_start: int
    specialty: str
    territory: int
    allocated_eur: float
    granted_eur: float


@dataclass(frozen=True)
class ContractPeriod:
    """What the evaluator certified at one payment date of a contract.

    Attributes:
        gross_outcomes: outcomes counted among the participants evaluated.
        cohort: the cohort evaluated ("" for everyone, "pooled" for every cohort together).
        participants: participants evaluated.
        metrics: every outcome metric a rate card can pay for (each need's
            ``contract_metric``), evaluated among the same participants:
            ``[gross, counterfactual, validated]``.
    """

    month: int
    validated_outcomes: float
    counterfactual_outcomes: float
    gross_outcomes: float = 0.0
    cohort: str = ""
    participants: int = 0
    metrics: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class ContractRecord:
    """A social impact contract as signed, and what happened to it."""

    action: int
    operator: str
    payer: str
    outcome: str
    terms: dict[str, Any]
    capital_eur: float
    operating_cost_eur: float
    transaction_cost_eur: float
    evaluation_cost_eur: float
    payer_cost_eur: float
    setup_months: int
    contract_end_month: int
    periods: list[ContractPeriod] = field(default_factory=list)
    drawdowns: list[tuple[int, float]] = field(default_factory=list)
    participants: int = 0
    drawn_eur: float = 0.0
    settlement: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain data (JSON-ready)."""
        return dataclasses.asdict(self)
