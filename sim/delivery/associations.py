"""Associations as the city knows them before funding them: specialty, home territories,
capacity, cost, partners, track record, selection policy, and a latent effectiveness nobody
observes. Plain data, so that funders can read them without the agents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.delivery.needs import all_needs


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


def generate_associations(
    n_territories: int, qpv: np.ndarray, rng: np.random.Generator, per_territory: float = 2.5
) -> list[AssociationProfile]:
    """Illustrative local associations: a few per territory, more in priority neighbourhoods.

    Latent effectiveness is lognormal around 1 (sd 0.35); established associations (about half)
    have larger capacities and a track record; partners are drawn among associations sharing or
    bordering a territory. Costs follow domain.md: French courses at 200 h x EUR 7.40 over 6 months.
    """
    profiles = []
    offered = [n for n in all_needs() if n.association_share > 0]
    weights = np.array([n.association_share for n in offered])
    shares = weights / weights.sum()
    for t in range(n_territories):
        count = max(1, rng.poisson(per_territory * (1.5 if qpv[t] else 1.0)))
        for k in range(count):
            need = offered[int(rng.choice(len(offered), p=shares))]
            established = bool(rng.random() < 0.5)
            selection = ("first_come", "neediest_first", "creaming")[
                int(rng.choice(3, p=[0.6, 0.25, 0.15]))
            ]
            profiles.append(
                AssociationProfile(
                    name=f"A{t + 1:02d}-{k + 1}",
                    specialty=need.specialty,
                    home_territories=(t,),
                    capacity=int(rng.integers(40, 160) * (2 if established else 1)),
                    cost_eur_per_participant_month=round(
                        need.cost_eur_per_participant_month * float(rng.uniform(0.8, 1.3)), 2
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
