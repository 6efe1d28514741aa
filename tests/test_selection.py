"""Who an action enrols when applicants outnumber its places: first come (at random), neediest
first (furthest from the outcome), creaming (closest to it)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import toy_action

from sim.delivery.actions import Action, Enrolment
from sim.delivery.delivery import Delivery
from sim.delivery.needs import need_of
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.rng import Stream, stream
from sim.world.territory import City, generate_city

PLACES = 40


@pytest.fixture(scope="module")
def city() -> City:
    """3 territories, 6,000 residents: hundreds of applicants per territory and specialty."""
    return generate_city(3, 6_000, seed=8, qpv_share=0.4)


def _enrol(city: City, specialty: str, selection: str) -> tuple[Population, np.ndarray, np.ndarray]:
    """One month of an action with every resident aware of it: (population, enrolled,
    applicants left out)."""
    pop = Population(city, ModelParams(), seed=2)
    enrolment = Enrolment(pop.n)
    need = need_of(specialty)
    enrolment.aware[need.index, :] = True
    territory = 1
    rows = pop.slices[territory]
    applicants = np.flatnonzero(need.in_need(pop, rows)) + rows.start
    assert len(applicants) > 2 * PLACES, "applicants must outnumber the places"
    spec = toy_action(
        specialty=specialty, territories=(territory,), places=PLACES, selection=selection
    )
    delivery = Delivery(pop, enrolment, stream(2, Stream.DELIVERY))
    delivery.add(Action(0, spec, 2))
    delivery.deliver(1)
    enrolled = delivery.participants(0)
    assert len(enrolled) == PLACES
    assert np.isin(enrolled, applicants).all()
    return pop, enrolled, np.setdiff1d(applicants, enrolled)


@pytest.mark.parametrize("specialty", ["employment_support", "french_course", "access_to_rights"])
def test_neediest_first_enrols_those_furthest_from_the_outcome(city: City, specialty: str) -> None:
    """Neediest first fills the places with the applicants of lowest readiness (job hazard for
    employment support, minus the barrier score otherwise): every one enrolled is at most as
    ready as every one left out."""
    pop, enrolled, left = _enrol(city, specialty, "neediest_first")
    readiness = need_of(specialty).readiness
    assert readiness(pop, enrolled).max() <= readiness(pop, left).min() + 1e-6


@pytest.mark.parametrize("specialty", ["employment_support", "french_course", "access_to_rights"])
def test_creaming_enrols_those_closest_to_the_outcome(city: City, specialty: str) -> None:
    """Creaming is the reverse: every one enrolled is at least as ready as every one left out."""
    pop, enrolled, left = _enrol(city, specialty, "creaming")
    readiness = need_of(specialty).readiness
    assert readiness(pop, enrolled).min() >= readiness(pop, left).max() - 1e-6


def test_neediest_first_reaches_higher_barriers_and_lower_hazards_than_creaming(
    city: City,
) -> None:
    """For employment support, neediest-first participants have a higher mean barrier and a
    lower mean job hazard than those left out, and creaming ones the reverse; first come sits
    in between, within sampling noise of the applicants' mean (4 standard errors)."""
    means = {}
    for selection in ("neediest_first", "first_come", "creaming"):
        pop, enrolled, left = _enrol(city, "employment_support", selection)
        means[selection] = (
            float(pop.barrier[enrolled].mean()),
            float(pop.job_hazard(enrolled).mean()),
        )
        if selection == "neediest_first":
            assert means[selection][0] > pop.barrier[left].mean()
            assert means[selection][1] < pop.job_hazard(left).mean()
        if selection == "creaming":
            assert means[selection][0] < pop.barrier[left].mean()
            assert means[selection][1] > pop.job_hazard(left).mean()
        if selection == "first_come":
            everyone = np.concatenate((enrolled, left))
            spread = pop.barrier[everyone].std() / np.sqrt(PLACES)
            assert means[selection][0] == pytest.approx(
                pop.barrier[everyone].mean(), abs=4 * spread
            )
    barrier = [means[s][0] for s in ("neediest_first", "first_come", "creaming")]
    hazard = [means[s][1] for s in ("neediest_first", "first_come", "creaming")]
    assert barrier == sorted(barrier, reverse=True)
    assert hazard == sorted(hazard)
