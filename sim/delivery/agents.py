"""Mesa agents: residents (thin views onto the population arrays), associations and public services.

Residents' dynamics run vectorized in :mod:`sim.world.population`; a ``Resident`` agent only
reads its row, so ``model.agents``, ``AgentSet.select``, ``agg``, ``groupby`` and a Mesa
``DataCollector`` work on residents without a Python loop on the hot path.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.delivery.actions import Action, Enrolment
from sim.delivery.associations import AssociationProfile
from sim.delivery.needs import all_needs, index_of
from sim.world.population import Population

#: The Mesa model these agents live in: any model with ``population`` and ``enrolment``
#: (``sim.simulation.model.CityModel``), typed loosely so that delivery does not import it.
CityLike = Any


class Resident(mesa.Agent):  # type: ignore[misc]
    """One working-age resident: a read-only view onto row ``row`` of the population arrays."""

    def __init__(self, model: CityLike, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def _pop(self) -> Population:
        return self.model.population  # type: ignore[no-any-return]

    @property
    def territory(self) -> int:
        """Index of the resident's micro-territory."""
        return int(self._pop.territory[self.row])

    @property
    def employed(self) -> bool:
        """In work at the end of the last month."""
        return bool(self._pop.employed[self.row])

    @property
    def months_in_state(self) -> int:
        """Months in the current employment state (unemployment duration or job tenure)."""
        return int(self._pop.duration[self.row])

    @property
    def barrier(self) -> float:
        """Distance to employment in [0, 1] (skills, health, childcare, mobility)."""
        return float(self._pop.barrier[self.row])

    @property
    def french_level(self) -> int:
        """0: no French, 1: A1, 2: A2 or better."""
        return int(self._pop.french[self.row])

    @property
    def rsa_eligible(self) -> bool:
        """On minimum income (RSA) rights, claimed or not."""
        return bool(self._pop.rsa_eligible[self.row])

    @property
    def rsa_claimed(self) -> bool:
        """Claims the RSA it is entitled to."""
        return bool(self._pop.rsa_claimed[self.row])

    @property
    def enrolled(self) -> bool:
        """Currently in a funded action."""
        return bool(self.model.enrolment.action[self.row] >= 0)

    @property
    def public_cost_eur(self) -> float:
        """Public cost so far (unemployment insurance, RSA, support)."""
        return float(self._pop.public_cost_eur[self.row])


class Association(mesa.Agent):  # type: ignore[misc]
    """A local operator: specialty, home territories, capacity, cost, latent effectiveness."""

    def __init__(self, model: CityLike, profile: AssociationProfile) -> None:
        super().__init__(model)
        self.profile = profile
        self.name = profile.name
        self.specialty = profile.specialty
        self.home_territories = profile.home_territories
        self.capacity = profile.capacity
        self.cost_eur_per_participant_month = profile.cost_eur_per_participant_month
        self.effectiveness = profile.effectiveness
        self.partners: list[str] = list(profile.partners)
        self.established = profile.established
        self.selection = profile.selection
        self.actions: list[Action] = []


class PublicService(mesa.Agent):  # type: ignore[misc]
    """A public service (employment service, CAF, social centre) covering some territories.

    It meets residents (the ``services`` baseline stream), which makes the eligible aware of their
    rights and refers residents in need to the funded offers of their territory. The standard
    support it gives exists in every arm and is part of the baseline hazards.
    """

    def __init__(
        self,
        model: CityLike,
        name: str,
        territories: tuple[int, ...],
        refers_to: tuple[str, ...],
        raises_rights_awareness: bool = False,
    ) -> None:
        super().__init__(model)
        self.name = name
        self.raises_rights_awareness = raises_rights_awareness
        self.territories = territories
        self.refers_to = tuple(index_of(s) for s in refers_to)
        pop: Population = model.population
        covered = np.zeros(pop.n_territories, dtype=bool)
        covered[list(territories)] = True
        self.covers = pop.per_resident(covered)
        #: Covers every territory (then whoever is met is met by this service).
        self.covers_all = bool(covered.all())
        self.contacts = 0

    def meet(self, met: np.ndarray, offered: list[np.ndarray | None]) -> None:
        """Meet this month's residents (``met``: the indices of those who saw a service, a few
        percent of the city): rights awareness, and referral of residents in need to the offers
        of their territory (``offered``: per specialty, whether the territory of each of ``met``
        has one, or None where no territory has)."""
        pop: Population = self.model.population
        enr: Enrolment = self.model.enrolment
        covered = None if self.covers_all else self.covers[met]
        mine = met if covered is None else met[covered]
        self.contacts += len(mine)
        if self.raises_rights_awareness:
            pop.rights_aware[mine.compress(pop.rsa_eligible[mine])] = True
        for s in self.refers_to:
            here = offered[s]
            if here is not None:
                # Offers may be in a few territories only: the needs of those met there alone are
                # looked up (the same residents, in the same order, as looking up everyone's).
                candidates = mine.compress(here if covered is None else here[covered])
                # ``compress`` rather than boolean indexes: the same rows, 1.5-2 times as fast
                # when a mask keeps a tenth to a half of them.
                enr.make_aware(s, candidates.compress(all_needs()[s].in_need(pop, candidates)))
