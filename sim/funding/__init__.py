"""Funding: the seam between the city and its funders, the mechanisms (the arms) and their
registry, evaluation designs, the ledger, discounting and the settlement of impact contracts.

Names are imported on first use, so that reading stored records (``sim.funding.records``) does not
load the mechanisms.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.funding.base import Mechanism
    from sim.funding.call_for_projects import CallForProjects
    from sim.funding.impact_contract import ImpactContract
    from sim.funding.planned import Planned
    from sim.funding.registry import MECHANISMS, make_mechanism, register
    from sim.funding.status_quo import StatusQuo

_EXPORTS = {
    "MECHANISMS": "sim.funding.registry",
    "make_mechanism": "sim.funding.registry",
    "register": "sim.funding.registry",
    "Mechanism": "sim.funding.base",
    "CallForProjects": "sim.funding.call_for_projects",
    "ImpactContract": "sim.funding.impact_contract",
    "Planned": "sim.funding.planned",
    "StatusQuo": "sim.funding.status_quo",
}

__all__ = [
    "MECHANISMS",
    "CallForProjects",
    "ImpactContract",
    "Mechanism",
    "Planned",
    "StatusQuo",
    "make_mechanism",
    "register",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim.funding' has no attribute '{name}'")
