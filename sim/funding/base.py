"""The mechanism interface shared by every way of funding, and the helpers they share.

A mechanism follows scikit-learn's estimator convention: the constructor only stores its
parameters (``get_params``/``set_params`` round-trip them), ``validate`` checks them once at the
boundary (``make_mechanism``, or the model receiving a mechanism), and everything that changes
during a run lives in the run's ``FundingState``, reached through the ``FundingContext`` the
model gives to every hook. Every mechanism pays through the run's ledger.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar, Self

from sim.delivery.associations import AssociationProfile
from sim.errors import UserInputError, did_you_mean
from sim.funding.evaluation import DESIGNS
from sim.funding.seam import FundingContext
from sim.world.rng import Stream, stream

#: Cost of one evaluation by design, euros (illustrative; an EEF trial costs about GBP 500k).
EVALUATION_COST_EUR = {
    "none": 2_000.0,
    "historical_baseline": 15_000.0,
    "comparison_group": 60_000.0,
    "rct": 120_000.0,
}


class Mechanism:
    """Base class of funding mechanisms. Subclasses set ``name`` and take keyword parameters."""

    name: ClassVar[str] = ""

    # ------------------------------------------------------------------ parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the constructor's parameters."""
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """The parameters, as given to the constructor."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change parameters; an unknown name is a clear error."""
        for key, value in params.items():
            check_param_name(type(self), key)
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def validate(self) -> None:
        """Check the parameters; raise ``UserInputError`` naming the parameter."""

    def horizon_problem(
        self, months: int, follow_up_months: int = 0
    ) -> tuple[str, str, Any] | None:
        """(parameter, expected, got) when the parameters cannot play out in ``months`` of
        delivery followed by ``follow_up_months``."""
        return None

    def budget_limit_eur(self, months: int) -> float:
        """The most the city may spend over ``months`` under this mechanism."""
        return 0.0

    # ------------------------------------------------------------------ run hooks
    def start(self, city: FundingContext) -> None:
        """Open the run's funding (budget, random stream), then let the mechanism plan."""
        state = city.state
        state.mechanism = self.name
        state.budget_limit_eur = self.budget_limit_eur(city.months)
        state.rng = stream(city.seed, Stream.MECHANISM)
        self.on_start(city)

    def step(self, city: FundingContext) -> None:
        """Decide, then pay this month's funded activity."""
        self.on_month(city)
        city.pay_funded_actions()

    def finish(self, city: FundingContext) -> None:
        """Close the run (final evaluations, settlements)."""
        self.on_finish(city)

    def on_start(self, city: FundingContext) -> None:
        """Mechanism-specific planning at month 0."""

    def on_month(self, city: FundingContext) -> None:
        """Mechanism-specific decisions at the start of a month."""

    def on_finish(self, city: FundingContext) -> None:
        """Mechanism-specific closing after the last month."""


def check_param_name(cls: type[Mechanism], key: str) -> None:
    """Raise a clear error for an unknown parameter, suggesting the closest valid name."""
    names = cls.param_names()
    if key not in names:
        hint = did_you_mean(key, names)
        raise UserInputError(
            f"mechanism '{cls.name}' has no parameter '{key}'{hint}; valid: {', '.join(names)}"
        )


def require(condition: bool, mechanism: str, param: str, expected: str, value: Any) -> None:
    """Raise ``UserInputError`` naming a parameter when a condition fails."""
    if not condition:
        raise UserInputError(f"{mechanism}.{param}: expected {expected}, got {value!r}")


def is_whole(value: Any) -> bool:
    """A whole number (``true`` and ``false`` are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number_table(value: Any) -> bool:
    """A table of names to numbers."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    )


def require_number(
    mechanism: str, param: str, value: Any, low: float = 0.0, high: float = math.inf
) -> None:
    """A finite number in [low, high]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    require(
        ok and low <= value <= high, mechanism, param, f"a number in [{low:g}, {high:g}]", value
    )


def require_design(mechanism: str, design: Any) -> None:
    """The evaluation parameter names a known design."""
    require(
        isinstance(design, str) and design in DESIGNS,
        mechanism,
        "evaluation",
        f"one of {', '.join(DESIGNS)}",
        design,
    )


def reserve_evaluation(city: FundingContext, design: str) -> float:
    """Commit the budget of one future evaluation; returns its cost."""
    cost = EVALUATION_COST_EUR[design]
    city.state.commit(cost)
    return cost


def associations_by_place(
    city: FundingContext,
) -> dict[tuple[str, int], list[AssociationProfile]]:
    """The city's associations by (specialty, home territory), each list sorted by name: one
    pass over the associations for the many look-ups of a plan (a territory's holders, then
    its neighbours'), instead of one pass per look-up. Valid while no association is added."""
    by_place: dict[tuple[str, int], list[AssociationProfile]] = {}
    for a in city.associations():
        # A territory listed twice is one home.
        for territory in dict.fromkeys(a.home_territories):
            by_place.setdefault((a.specialty, territory), []).append(a)
    return by_place
