"""sim: compare ways a city funds social action, with the counterfactual known.

The researcher's entry point is :class:`sim.CityModel`, a Mesa model of a city's micro-territories,
residents, associations and public services. Batches: :func:`sim.run_scenario` runs a scenario into
a results database and :func:`sim.open_results` reads one back as pandas data frames.

Names are imported on first use, so that worker processes which only run simulations do not pay
for the analysis stack (pandas, SQLAlchemy, SciPy's statistics).
"""

from __future__ import annotations

from sim import _ctrl_c

if _ctrl_c.is_the_sim_command():
    # First thing in the command line: a Ctrl-C while it loads ends it with one line.
    _ctrl_c.quit_on_ctrl_c()

import importlib
from typing import TYPE_CHECKING, Any

from sim._version import __version__

if TYPE_CHECKING:
    from sim.api import Results, open_results, run_scenario
    from sim.delivery.actions import ActionSpec, Target
    from sim.experiments.scenario import load_scenario, scenario_from_dict
    from sim.simulation.model import CityModel
    from sim.world.params import ModelParams
    from sim.world.territory import City, generate_city, load_city

_EXPORTS = {
    "ActionSpec": "sim.delivery.actions",
    "Target": "sim.delivery.actions",
    "Results": "sim.api",
    "open_results": "sim.api",
    "run_scenario": "sim.api",
    "CityModel": "sim.simulation.model",
    "ModelParams": "sim.world.params",
    "load_scenario": "sim.experiments.scenario",
    "scenario_from_dict": "sim.experiments.scenario",
    "City": "sim.world.territory",
    "generate_city": "sim.world.territory",
    "load_city": "sim.world.territory",
}

__all__ = [
    "ActionSpec",
    "City",
    "CityModel",
    "ModelParams",
    "Results",
    "Target",
    "__version__",
    "generate_city",
    "load_city",
    "load_scenario",
    "open_results",
    "run_scenario",
    "scenario_from_dict",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute '{name}'")
