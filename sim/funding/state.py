"""What a funding mechanism keeps during one run: its ledger, its budget and its decisions.

The mechanism object itself only holds parameters (scikit-learn's convention); everything that
changes during a run lives here, on ``model.funding``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.funding.ledger import Ledger

if TYPE_CHECKING:
    from sim.simulation.model import CityModel


class Programme(Protocol):
    """The hooks the model calls on a funding mechanism."""

    def start(self, model: CityModel) -> None:
        """Called once, after the city is built and before month 1."""

    def step(self, model: CityModel) -> None:
        """Called at the start of every month, before services and associations act."""

    def finish(self, model: CityModel) -> None:
        """Called once after the last month."""


@dataclass
class FundingState:
    """Per-run state of the funding: cash flows, budget, and what was decided and evaluated."""

    mechanism: str = "status_quo"
    ledger: Ledger = field(default_factory=Ledger)
    budget_limit_eur: float = 0.0
    committed_eur: float = 0.0
    funded: dict[int, dict[str, Any]] = field(default_factory=dict)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
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
