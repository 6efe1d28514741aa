"""A city's start: its residents after the warm-up, their social network and its associations,
built once and handed to every run that starts from them.

Building them is most of the set-up of a run (the residents' 180-month warm-up: about 1.4 s at
Bordeaux scale), and every run of a replication (the status-quo twin and each arm) builds the same
ones: same city, parameters and seed, hence the same random streams (the common random numbers
that make the twin a counterfactual). A batch worker builds a ``CityStart`` once per replication
and gives it to each run of the replication:

- the residents' arrays change during a run: each model gets a deep copy of residents that have
  never run, random generators included, so that every copy starts exactly where a fresh build
  would (a generator copied after it drew would not);
- the social network and the associations' profiles never change during a run: every model
  shares them (the network's arrays are made read-only, so a write fails instead of leaking
  into the next arm).

Example:
    >>> from sim.simulation.model import CityModel
    >>> from sim.world.params import ModelParams
    >>> from sim.world.territory import load_city
    >>> city, params = load_city("demo"), ModelParams()
    >>> start = build_city_start(city, params, seed=1)
    >>> twin = CityModel(city, seed=1, months=3, params=params, city_start=start)
    >>> arm = CityModel(city, seed=1, months=3, params=params, city_start=start)
    >>> twin.population is arm.population, twin.social_network is arm.social_network
    (False, True)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import scipy.sparse as sp

from sim.delivery.associations import AssociationProfile, generate_associations
from sim.errors import UserInputError
from sim.world.network import build_social_network
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.rng import Stream, stream
from sim.world.territory import City


@dataclass(frozen=True)
class CityStart:
    """What every run of one city, set of parameters and seed starts from.

    Attributes:
        city, params, seed: what it was built from; a run with other ones cannot use it.
        population_template: the residents as built, which no model runs: ``new_population``
            copies them for each model.
        social_network: the residents' network (CSR, read-only), shared by every model.
        associations: the generated associations' profiles (immutable), shared by every model.
    """

    city: City
    params: ModelParams
    seed: int
    population_template: Population
    social_network: sp.csr_matrix
    associations: tuple[AssociationProfile, ...]

    def new_population(self) -> Population:
        """Residents of their own for one model: every array and random generator copied from
        the template (the parameters, immutable, are shared)."""
        template = self.population_template
        return copy.deepcopy(template, memo={id(template.params): template.params})

    def check_fits(self, city: City, params: ModelParams, seed: int) -> None:
        """Fail unless a run of ``city`` with ``params`` and ``seed`` may start from this start:
        another seed or other parameters would silently give another run's residents."""
        if seed != self.seed or params != self.params or city != self.city:
            raise UserInputError(
                f"city_start: built for city '{self.city.name}' and seed {self.seed} with its "
                f"own parameters; this run has city '{city.name}', seed {seed}"
                + ("" if params == self.params else " and other parameters")
            )


def build_city_start(city: City, params: ModelParams, seed: int) -> CityStart:
    """Build the residents (with their warm-up), the social network and the associations of a
    city for ``seed``: what ``CityModel`` builds when it is given no start."""
    population = Population(city, params, seed)
    graph = city.graph()
    adjacency = [sorted(graph.neighbors(t)) for t in range(city.size)]
    network = build_social_network(
        population.territory,
        adjacency,
        params.network_degree,
        params.network_rewire_probability,
        params.cross_territory_ties_per_resident,
        stream(seed, Stream.NETWORK),
    )
    associations = generate_associations(
        city.size, population.qpv, stream(seed, Stream.ASSOCIATIONS)
    )
    return CityStart(
        city=city,
        params=params,
        seed=seed,
        population_template=population,
        social_network=_read_only(network),
        associations=tuple(associations),
    )


def _read_only(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix, its arrays made read-only: models share it, none may change it."""
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.flags.writeable = False
    return matrix
