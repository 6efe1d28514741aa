"""Small building blocks shared by several test modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sim.delivery.actions import ActionSpec

#: A tiny scenario file (two arms on a generated city, 14 months): fast batches and CLI runs.
TINY = """
name = "tiny"
months = 14
replications = 2
seed = 9

[city.generate]
territories = 5
residents = 4000
seed = 2

[arms.plan]
mechanism = "planned"
budget_eur_per_year = 200000

[arms.cis]
mechanism = "impact_contract"
places = 30
payment_months = [12]
contract_months = 12
"""


def three_arm_scenario(name: str, description: str, months: int = 24) -> dict[str, Any]:
    """A small scenario with every kind of arm, so that every figure and report part has data:
    the demo city, 2 replications, short pilots and a contract that pays within the horizon."""
    return {
        "name": name,
        "description": description,
        "months": months,
        "replications": 2,
        "seed": 5,
        "city": {"source": "demo"},
        "arms": {
            "planned": {"mechanism": "planned", "budget_eur_per_year": 1_000_000},
            "call_for_projects": {
                "mechanism": "call_for_projects",
                "budget_eur_per_year": 1_000_000,
                "pilot_months": 12,
            },
            "impact_contract": {
                "mechanism": "impact_contract",
                "payment_months": [12, 24],
                "contract_months": 24,
                "places": 80,
            },
        },
    }


def toy_action(**changes: Any) -> ActionSpec:
    """A small action with no effect (10 places of employment support in territory 0, 6 months,
    100 euros a participant-month), with ``changes`` to any of its fields."""
    fields: dict[str, Any] = {
        "association": "toy",
        "specialty": "employment_support",
        "territories": (0,),
        "places": 10,
        "duration_months": 6,
        "true_effect": 0.0,
        "cost_eur_per_participant_month": 100.0,
    }
    return ActionSpec(**(fields | changes))


def load_script(path: Path) -> ModuleType:
    """A script of the repository (not a package module), loaded as a module and registered
    under its name, as an import would (dataclasses look their module up); a script that fails
    to load is not left registered."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[path.stem]
        raise
    return module
