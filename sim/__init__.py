"""sim: compare ways a city funds social action, with the counterfactual known.

The researcher's entry point is :class:`sim.CityModel`, a Mesa model of a city's micro-territories,
residents, associations and public services. Batches: :func:`sim.run_scenario` runs a scenario into
a results database and :func:`sim.open_results` reads one back as pandas data frames.
"""

from sim.actions import ActionSpec, Target
from sim.api import Results, open_results, run_scenario
from sim.model import CityModel
from sim.params import ModelParams
from sim.scenario import load_scenario, scenario_from_dict
from sim.territory import City, generate_city, load_city

__all__ = [
    "ActionSpec",
    "City",
    "CityModel",
    "ModelParams",
    "Results",
    "Target",
    "generate_city",
    "load_city",
    "load_scenario",
    "open_results",
    "run_scenario",
    "scenario_from_dict",
]
__version__ = "0.1.0"
