"""What funding keeps during one run: the ledger, the budget, and the typed records of what was
decided and evaluated. The model owns one ``FundingState``; mechanisms only hold parameters
(scikit-learn's convention) and write here through their ``FundingContext``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.funding.evaluation import Evaluator
from sim.funding.ledger import Ledger
from sim.funding.records import (
    ContractRecord,
    EvaluationRecord,
    FundedAction,
    PilotDecision,
    PlanLine,
    Proposal,
)
from sim.funding.settlement import ContractTerms


@dataclass
class FundingState:
    """Per-run state of the funding: cash flows, budget, and what was decided and evaluated.

    Attributes:
        monitoring_due_eur: a planned programme's monitoring, reserved at each plan and paid at
            the end.
        contract_terms: the signed terms of an impact contract (its record holds them as data).
        contract_monthly_operating_eur: what the investor pre-finances each month of delivery.
    """

    mechanism: str = "status_quo"
    ledger: Ledger = field(default_factory=Ledger)
    budget_limit_eur: float = 0.0
    committed_eur: float = 0.0
    funded: dict[int, FundedAction] = field(default_factory=dict)
    evaluators: dict[int, Evaluator] = field(default_factory=dict)
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    decisions: list[PilotDecision] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    plans: list[PlanLine] = field(default_factory=list)
    monitoring_due_eur: float = 0.0
    contract: ContractRecord | None = None
    contract_terms: ContractTerms | None = None
    contract_monthly_operating_eur: float = 0.0
    rng: np.random.Generator | None = None

    def generator(self) -> np.random.Generator:
        """The mechanism's random stream (set when the mechanism starts, from the run's seed)."""
        if self.rng is None:
            raise RuntimeError("the funding mechanism has not been started on this model")
        return self.rng

    def can_commit(self, amount_eur: float) -> bool:
        """Whether the budget still has room for a commitment (1 cent of float tolerance)."""
        return self.committed_eur + amount_eur <= self.budget_limit_eur + 0.01

    def commit(self, amount_eur: float) -> None:
        """Reserve budget for a future spending; refuses to go beyond the budget."""
        if not self.can_commit(amount_eur) or not math.isfinite(amount_eur):
            raise RuntimeError(
                f"commitment of EUR {amount_eur:,.0f} would exceed the budget "
                f"(EUR {self.committed_eur:,.0f} of {self.budget_limit_eur:,.0f} committed)"
            )
        self.committed_eur += amount_eur

    def signed_contract(self) -> ContractRecord:
        """The contract of an impact-contract run (an error before it is signed)."""
        if self.contract is None:
            raise RuntimeError("no contract has been signed in this run")
        return self.contract
