"""The mechanism interface shared by every way of funding, and the helpers they share.

A mechanism follows scikit-learn's estimator convention: the constructor only stores its
parameters (``get_params``/``set_params`` round-trip them), ``validate`` checks them, and
everything that changes during a run lives on ``model.funding`` (a ``FundingState``). Every
mechanism pays through the run's ledger.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, ClassVar, Self

from sim.delivery.actions import Action, ActionSpec
from sim.delivery.agents import Association
from sim.errors import UserInputError, did_you_mean
from sim.funding.evaluation import DESIGNS, check_design
from sim.funding.ledger import CITY, EVALUATION, EVALUATOR
from sim.funding.state import FundingState
from sim.world.params import EMPLOYMENT, FRENCH, SPECIALTIES, ModelParams
from sim.world.rng import stream

if TYPE_CHECKING:
    from sim.simulation.model import CityModel

#: True effect of an action by an association of effectiveness 1, in each specialty's unit
#: (see ``sim.delivery.actions``): +0.5 point of monthly job-finding hazard (a few points of
#: employment at two years, Card, Kluve & Weber 2018); the OFII A1 share; +10 points of monthly
#: take-up hazard.
EMPLOYMENT_EFFECT_PER_MONTH = 0.005
RIGHTS_EFFECT_PER_MONTH = 0.10
#: Months a participant stays in an action of each specialty (French: 200 h over 6 months).
DURATION_MONTHS = {"employment_support": 9, "french_course": 6, "access_to_rights": 3}
#: Cost of one evaluation by design, euros (illustrative; an EEF trial costs about GBP 500k).
EVALUATION_COST_EUR = {
    "none": 2_000.0,
    "historical_baseline": 15_000.0,
    "comparison_group": 60_000.0,
    "rct": 120_000.0,
}
#: Share of eligible applicants randomized out when a design is an RCT.
RCT_CONTROL_SHARE = 0.5


def reference_effect(specialty: str, params: ModelParams) -> float:
    """True effect of an action by an association of effectiveness 1."""
    index = SPECIALTIES.index(specialty)
    if index == EMPLOYMENT:
        return EMPLOYMENT_EFFECT_PER_MONTH
    if index == FRENCH:
        return params.course_a1_share
    return RIGHTS_EFFECT_PER_MONTH


def scaled_effect(specialty: str, params: ModelParams, factor: float) -> float:
    """Reference effect times a factor; a French A1 share stays below 0.95."""
    effect = reference_effect(specialty, params) * factor
    return min(effect, 0.95) if SPECIALTIES.index(specialty) == FRENCH else effect


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

    def horizon_problem(self, months: int) -> tuple[str, str, Any] | None:
        """(parameter, expected, got) when the parameters cannot play out in ``months``."""
        return None

    def budget_limit_eur(self, months: int) -> float:
        """The most the city may spend over ``months`` under this mechanism."""
        return 0.0

    # ------------------------------------------------------------------ run hooks
    def start(self, model: CityModel) -> None:
        """Create the run's funding state, then let the mechanism plan."""
        self.validate()
        model.funding = FundingState(
            mechanism=self.name,
            budget_limit_eur=self.budget_limit_eur(model.months),
            rng=stream(model.seed, "mechanism"),
        )
        self.on_start(model)

    def step(self, model: CityModel) -> None:
        """Decide, then pay this month's funded activity."""
        self.on_month(model)
        pay_funded_actions(model)

    def finish(self, model: CityModel) -> None:
        """Close the run (final evaluations, settlements)."""
        self.on_finish(model)

    def on_start(self, model: CityModel) -> None:
        """Mechanism-specific planning at month 0."""

    def on_month(self, model: CityModel) -> None:
        """Mechanism-specific decisions at the start of a month."""

    def on_finish(self, model: CityModel) -> None:
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


def require_number(
    mechanism: str, param: str, value: Any, low: float = 0.0, high: float = math.inf
) -> None:
    """A finite number in [low, high]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    require(
        ok and low <= value <= high, mechanism, param, f"a number in [{low:g}, {high:g}]", value
    )


def fund_action(
    model: CityModel,
    spec: ActionSpec,
    monthly_eur: float,
    until_month: int,
    kind: str,
    payer: str = CITY,
    **record: Any,
) -> Action:
    """Launch an action and pay its association ``monthly_eur`` from its start to
    ``until_month`` (committed against the budget at once)."""
    months = until_month - spec.start_month + 1
    model.funding.commit(monthly_eur * months)
    action = model.launch_action(spec)
    model.funding.funded[action.index] = {
        "monthly_eur": monthly_eur,
        "from_month": spec.start_month,
        "until_month": until_month,
        "kind": kind,
        "payer": payer,
        "payee": spec.association,
        **record,
    }
    return action


def pay_funded_actions(model: CityModel) -> None:
    """Pay this month's instalment of every funded action (fixed volume, whatever the results)."""
    month = model.month
    for grant in model.funding.funded.values():
        if grant["from_month"] <= month <= grant["until_month"]:
            model.funding.ledger.pay(
                month, grant["payer"], grant["payee"], grant["kind"], grant["monthly_eur"]
            )


def reserve_evaluation(model: CityModel, design: str) -> float:
    """Commit the budget of one future evaluation; returns its cost."""
    cost = EVALUATION_COST_EUR[design]
    model.funding.commit(cost)
    return cost


def pay_evaluation(model: CityModel, cost_eur: float, month: int, payer: str = CITY) -> None:
    """Pay a reserved evaluation."""
    model.funding.ledger.pay(month, payer, EVALUATOR, EVALUATION, cost_eur)


def require_design(mechanism: str, design: Any) -> None:
    """The evaluation parameter names a known design."""
    require(design in DESIGNS, mechanism, "evaluation", f"one of {', '.join(DESIGNS)}", design)


def design_settings(design: str) -> dict[str, Any]:
    """Action settings that an evaluation design needs (randomization, matching)."""
    check_design(design)
    return {
        "control_share": RCT_CONTROL_SHARE if design == "rct" else 0.0,
        "matched_comparison": design == "comparison_group",
    }


def associations_by(
    model: CityModel, specialty: str, territory: int, established_only: bool
) -> list[Association]:
    """Associations of a specialty based in a territory (sorted by name: deterministic)."""
    found = [
        a
        for a in model.associations.values()
        if a.specialty == specialty
        and territory in a.home_territories
        and (a.established or not established_only)
    ]
    return sorted(found, key=lambda a: a.name)
