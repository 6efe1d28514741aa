"""A plan's holders, looked up in the associations indexed once by place, are those that
filtering every association for every territory gives."""

from __future__ import annotations

from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.associations import AssociationProfile
from sim.funding.base import associations_by_place
from sim.funding.planned import Planned
from sim.funding.seam import FundingContext

SPECIALTIES = ("employment", "french", "rights")
TERRITORIES = 5


class _City:
    """The two things a plan's holders read of the city."""

    def __init__(self, associations: list[AssociationProfile]) -> None:
        self._associations = sorted(associations, key=lambda a: a.name)

    def associations(self) -> list[AssociationProfile]:
        return list(self._associations)

    def neighbours(self, territory: int) -> list[int]:
        return [t for t in (territory - 1, territory + 1) if 0 <= t < TERRITORIES]


def _plain_holders(city: _City, specialty: str, territory: int) -> list[AssociationProfile]:
    """Established associations of the territory, else its others, else established ones of
    its neighbours: every association filtered at each step."""

    def based(t: int, established_only: bool) -> list[AssociationProfile]:
        return [
            a
            for a in city.associations()
            if a.specialty == specialty
            and t in a.home_territories
            and (a.established or not established_only)
        ]

    for established_only in (True, False):
        if local := based(territory, established_only):
            return local
    for neighbour in city.neighbours(territory):
        if nearby := based(neighbour, established_only=True):
            return nearby
    return []


profiles = st.lists(
    st.builds(
        AssociationProfile,
        name=st.text("abcdef", min_size=1, max_size=4),
        specialty=st.sampled_from(SPECIALTIES),
        home_territories=st.lists(st.integers(0, TERRITORIES - 1), min_size=1, max_size=3).map(
            tuple
        ),
        capacity=st.just(10),
        cost_eur_per_participant_month=st.just(100.0),
        effectiveness=st.just(1.0),
        partners=st.just(()),
        established=st.booleans(),
    ),
    max_size=12,
    unique_by=lambda a: a.name,
)


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_holders_from_the_index_by_place_are_those_of_the_plain_filter(
    associations: list[AssociationProfile],
) -> None:
    city = _City(associations)
    context = cast(FundingContext, city)
    by_place = associations_by_place(context)
    for specialty in SPECIALTIES:
        for territory in range(TERRITORIES):
            assert Planned._holders(context, by_place, specialty, territory) == _plain_holders(
                city, specialty, territory
            )
