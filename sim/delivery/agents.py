"""Mesa agents: residents (thin views onto the population arrays), associations and public services.

Residents' dynamics run vectorized in :mod:`sim.world.population`; a ``Resident`` agent only
reads its row, so ``model.agents``, ``AgentSet.select``, ``agg``, ``groupby`` and a Mesa
``DataCollector`` work on residents without a Python loop on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.delivery.actions import Action, Enrolment, needs
from sim.world.params import SPECIALTIES, specialty_index
from sim.world.population import Population

if TYPE_CHECKING:
    from sim.simulation.model import CityModel


class Resident(mesa.Agent):  # type: ignore[misc]
    """One working-age resident: a read-only view onto row ``row`` of the population arrays."""

    def __init__(self, model: CityModel, row: int) -> None:
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

    def __init__(self, model: CityModel, profile: AssociationProfile) -> None:
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

    def deliver(self, month: int) -> None:
        """Run this month's delivery of every action the association holds."""
        model = self.model
        for action in self.actions:
            if action.is_active(month):
                action.deliver(month, model.population, model.enrolment)


@dataclass(frozen=True)
class AssociationProfile:
    """What is known about an association before it is funded (effectiveness is latent)."""

    name: str
    specialty: str
    home_territories: tuple[int, ...]
    capacity: int
    cost_eur_per_participant_month: float
    effectiveness: float
    partners: tuple[str, ...]
    established: bool
    selection: str = "first_come"


class PublicService(mesa.Agent):  # type: ignore[misc]
    """A public service (employment service, CAF, social centre) covering some territories.

    It meets residents (the ``services`` baseline stream), which makes the eligible aware of their
    rights and refers residents in need to the funded offers of their territory. The standard
    support it gives exists in every arm and is part of the baseline hazards.
    """

    def __init__(
        self,
        model: CityModel,
        name: str,
        territories: tuple[int, ...],
        refers_to: tuple[str, ...],
        raises_rights_awareness: bool = False,
    ) -> None:
        super().__init__(model)
        self.name = name
        self.raises_rights_awareness = raises_rights_awareness
        self.territories = territories
        self.refers_to = tuple(specialty_index(s) for s in refers_to)
        pop: Population = model.population
        covered = np.zeros(pop.n_territories, dtype=bool)
        covered[list(territories)] = True
        self.covers = pop.per_resident(covered)
        self.contacts = 0

    def meet(self, met: np.ndarray, offered: list[np.ndarray | None]) -> None:
        """Meet this month's residents (``met``: the indices of those who saw a service, a few
        percent of the city): rights awareness, and referral of residents in need to the offers
        of their territory (``offered``: per specialty, whether each resident's territory has
        one)."""
        pop: Population = self.model.population
        enr: Enrolment = self.model.enrolment
        mine = met[self.covers[met]]
        self.contacts += len(mine)
        if self.raises_rights_awareness:
            pop.rights_aware[mine[pop.rsa_eligible[mine]]] = True
        for s in self.refers_to:
            here = offered[s]
            if here is not None:
                referred = here[mine] & needs(s, pop, mine)
                enr.aware[s, mine[referred]] = True


def generate_associations(
    n_territories: int, qpv: np.ndarray, rng: np.random.Generator, per_territory: float = 2.5
) -> list[AssociationProfile]:
    """Illustrative local associations: a few per territory, more in priority neighbourhoods.

    Latent effectiveness is lognormal around 1 (sd 0.35); established associations (about half)
    have larger capacities and a track record; partners are drawn among associations sharing or
    bordering a territory. Costs follow domain.md: French courses at 200 h x EUR 7.40 over 6 months.
    """
    profiles = []
    base_cost = {"employment_support": 450.0, "french_course": 250.0, "access_to_rights": 120.0}
    for t in range(n_territories):
        count = max(1, rng.poisson(per_territory * (1.5 if qpv[t] else 1.0)))
        for k in range(count):
            specialty = SPECIALTIES[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
            established = bool(rng.random() < 0.5)
            selection = ("first_come", "neediest_first", "creaming")[
                int(rng.choice(3, p=[0.6, 0.25, 0.15]))
            ]
            profiles.append(
                AssociationProfile(
                    name=f"A{t + 1:02d}-{k + 1}",
                    specialty=specialty,
                    home_territories=(t,),
                    capacity=int(rng.integers(40, 160) * (2 if established else 1)),
                    cost_eur_per_participant_month=round(
                        base_cost[specialty] * float(rng.uniform(0.8, 1.3)), 2
                    ),
                    effectiveness=round(float(rng.lognormal(0.0, 0.35)), 3),
                    partners=(),
                    established=established,
                    selection=selection,
                )
            )
    return _with_partners(profiles, rng)


def _with_partners(
    profiles: list[AssociationProfile], rng: np.random.Generator
) -> list[AssociationProfile]:
    by_territory: dict[int, list[str]] = {}
    for p in profiles:
        by_territory.setdefault(p.home_territories[0], []).append(p.name)
    result = []
    for p in profiles:
        local = [n for n in by_territory[p.home_territories[0]] if n != p.name]
        n_partners = min(len(local), int(rng.integers(0, 3)))
        partners = (
            tuple(sorted(rng.choice(local, size=n_partners, replace=False))) if n_partners else ()
        )
        result.append(AssociationProfile(**{**p.__dict__, "partners": partners}))
    return result
