"""Small building blocks shared by several test modules."""

from __future__ import annotations

from typing import Any

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
