"""sim: compare ways a city funds social action, with the counterfactual known.

The researcher's entry point is :class:`sim.CityModel`, a Mesa model of a city's micro-territories,
residents, associations and public services.
"""

from sim.actions import ActionSpec, Target
from sim.model import CityModel
from sim.params import ModelParams
from sim.territory import City, generate_city, load_city

__all__ = ["ActionSpec", "City", "CityModel", "ModelParams", "Target", "generate_city", "load_city"]
__version__ = "0.1.0"
