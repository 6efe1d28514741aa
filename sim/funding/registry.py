"""The registry of funding mechanisms (the arms).

Every mechanism is configured by parameters only; ``make_mechanism`` builds one from a name and a
parameter table with clear errors for unknown names and parameters.
"""

from __future__ import annotations

from typing import Any

from sim.errors import UserInputError, did_you_mean
from sim.funding.base import Mechanism, check_param_name
from sim.funding.call_for_projects import CallForProjects
from sim.funding.impact_contract import ImpactContract
from sim.funding.planned import Planned
from sim.funding.status_quo import StatusQuo

MECHANISMS: dict[str, type[Mechanism]] = {
    cls.name: cls for cls in (StatusQuo, Planned, CallForProjects, ImpactContract)
}


def register(cls: type[Mechanism]) -> type[Mechanism]:
    """Add a mechanism class to the registry (usable as a decorator)."""
    MECHANISMS[cls.name] = cls
    return cls


def make_mechanism(name: str, **params: Any) -> Mechanism:
    """Build a registered mechanism from its name and parameters, and validate it."""
    if name not in MECHANISMS:
        hint = did_you_mean(name, MECHANISMS)
        raise UserInputError(
            f"unknown mechanism '{name}'{hint}; expected one of {', '.join(MECHANISMS)}"
        )
    cls = MECHANISMS[name]
    for key in params:
        check_param_name(cls, key)
    mechanism = cls(**params)
    mechanism.validate()
    return mechanism
