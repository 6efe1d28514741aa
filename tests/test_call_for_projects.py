"""The call for projects' incubator, committee weights and citizens' priorities."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from sim.delivery.needs import need_of
from sim.funding.call_for_projects import CallForProjects
from sim.funding.records import Proposal
from sim.simulation.model import CityModel
from sim.world.territory import City, generate_city

P_WORKS = 0.33
GAIN = 0.25
NOISE = 0.6
INCUBATOR_EUR = 50.0


@pytest.fixture(scope="module")
def city() -> City:
    """16 territories and 8,000 residents: about 45 associations answer each call."""
    return generate_city(16, 8_000, seed=4)


def _run(city: City, months: int, **params: Any) -> CityModel:
    model = CityModel(
        city, seed=3, months=months, mechanism=CallForProjects(**params), resident_agents=False
    )
    model.run()
    return model


@pytest.fixture(scope="module")
def monthly_calls(city: City) -> dict[bool, CityModel]:
    """24 monthly calls answered by every association (over a thousand proposals), without and
    with the incubator, with a budget that always has room for the incubator."""
    return {incubator: _monthly_calls(city, incubator, 2_000_000.0) for incubator in (False, True)}


def _monthly_calls(city: City, incubator: bool, budget_eur_per_year: float) -> CityModel:
    return _run(
        city,
        25,
        budget_eur_per_year=budget_eur_per_year,
        call_every_months=1,
        pilot_months=1,
        proposal_rate=1.0,
        p_pilot_works=P_WORKS,
        claim_noise_sd=NOISE,
        incubator=incubator,
        incubator_works_gain=GAIN,
        incubator_cost_eur_per_proposal=INCUBATOR_EUR,
        evaluation="none",
    )


def test_incubator_is_paid_per_proposal_at_each_call(monthly_calls: dict[bool, CityModel]) -> None:
    """With the incubator the city pays it its cost per proposal at each call (kind and payee
    'incubator'); without it, nothing."""
    without, with_incubator = monthly_calls[False], monthly_calls[True]
    assert without.funding.ledger.total_eur(kind="incubator") == 0.0
    proposals = Counter(p.call_month for p in with_incubator.funding.proposals)
    assert len(proposals) == 24
    flows = [f for f in with_incubator.funding.ledger.flows if f.kind == "incubator"]
    assert {(f.payer, f.payee) for f in flows} == {("city", "incubator")}
    assert {f.month: f.amount_eur for f in flows} == pytest.approx(
        {month: INCUBATOR_EUR * count for month, count in proposals.items()}
    )


def test_incubator_raises_the_share_of_pilots_that_work(
    monthly_calls: dict[bool, CityModel],
) -> None:
    """The share of proposals that truly work is p_pilot_works without the incubator and
    p_pilot_works + incubator_works_gain with it, each within 4 binomial standard errors (the
    gain is more than 10 of them)."""
    for incubator, expected in ((False, P_WORKS), (True, P_WORKS + GAIN)):
        proposals = monthly_calls[incubator].funding.proposals
        n = len(proposals)
        assert n > 1_000
        share = np.mean([p.works for p in proposals])
        assert share == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n))
        assert all((p.true_effect > 0) == p.works for p in proposals)


def _log_claim_errors(model: CityModel, proposals: list[Proposal]) -> np.ndarray:
    """log(claimed / (true effect + optimism x reference effect)): the claim's noise."""
    mechanism = model.mechanism
    assert isinstance(mechanism, CallForProjects)
    expected = np.array(
        [
            p.true_effect
            + mechanism.claim_optimism * need_of(p.specialty).reference_effect(model.params)
            for p in proposals
        ]
    )
    claimed = np.array([p.claimed_effect for p in proposals])
    return np.asarray(np.log(claimed / expected))


def test_incubator_halves_the_noise_of_claims(monthly_calls: dict[bool, CityModel]) -> None:
    """Claims are log-normal around the optimistic effect with sd claim_noise_sd, halved by the
    incubator: sample sd within 5 standard errors (sd / sqrt(2n)) and mean within 5 (sd /
    sqrt(n)) of their values."""
    for incubator, sd in ((False, NOISE), (True, NOISE / 2)):
        model = monthly_calls[incubator]
        errors = _log_claim_errors(model, model.funding.proposals)
        n = len(errors)
        assert errors.std() == pytest.approx(sd, abs=5 * sd / np.sqrt(2 * n))
        assert errors.mean() == pytest.approx(0.0, abs=5 * sd / np.sqrt(n))


def test_unpaid_incubator_gives_no_support(city: City) -> None:
    """When the budget cannot pay the incubator at a call (here: never, EUR 1,000 a year for
    about 50 euros x 60 associations a call), that call's proposers are not supported: their
    claims keep the full noise (5 standard errors)."""
    model = _monthly_calls(city, True, 1_000.0)
    paid = {f.month for f in model.funding.ledger.flows if f.kind == "incubator"}
    unpaid = [p for p in model.funding.proposals if p.call_month not in paid]
    assert len(unpaid) > 200, "the budget must be too small for the incubator"
    errors = _log_claim_errors(model, unpaid)
    assert errors.std() == pytest.approx(NOISE, abs=5 * NOISE / np.sqrt(2 * len(errors)))


def _yearly_calls(city: City, **params: Any) -> list[Proposal]:
    """Two yearly calls whose budget funds a few of the proposals."""
    model = _run(
        city, 25, budget_eur_per_year=400_000.0, pilot_months=12, evaluation="none", **params
    )
    proposals = model.funding.proposals
    assert sorted({p.call_month for p in proposals}) == [1, 13]
    funded = [p for p in proposals if p.funded]
    assert 0 < len(funded) < len(proposals) / 4, "the budget must force a choice"
    return proposals


def test_citizen_priority_makes_its_specialty_dominate_the_funded_pilots(city: City) -> None:
    """A large citizens' priority for French courses puts every French course proposal above
    every other one in each call, so that French courses, a minority of proposals, become most
    of the funded pilots (none without the priority)."""
    priority = "french_course"
    without = _yearly_calls(city)
    proposals = _yearly_calls(city, citizen_priorities={priority: 100.0})
    for month in (1, 13):
        call = [p for p in proposals if p.call_month == month]
        favoured = [p.score for p in call if p.specialty == priority]
        others = [p.score for p in call if p.specialty != priority]
        assert favoured
        assert others
        assert min(favoured) > max(others)
    share_of_proposals = np.mean([p.specialty == priority for p in proposals])
    funded = [p.specialty == priority for p in proposals if p.funded]
    funded_without = [p.specialty == priority for p in without if p.funded]
    assert share_of_proposals < 0.3
    assert np.mean(funded) > 0.5
    assert sum(funded) > sum(funded_without)


def test_cost_only_committee_funds_the_cheapest_proposals_first(city: City) -> None:
    """A committee that weighs only cost ranks proposals by cost per participant-month; pilots
    of equal places then cost in that order, so each call funds its cheapest proposals: every
    funded one is at most as costly as every one left unfunded."""
    weights = {"need": 0.0, "partnership": 0.0, "claimed_effect": 0.0, "cost": 1.0}
    proposals = _yearly_calls(city, committee_weights=weights)
    assert len({p.places for p in proposals}) == 1
    for month in (1, 13):
        call = [p for p in proposals if p.call_month == month]
        cost = np.array([p.cost_eur_per_participant_month for p in call])
        score = np.array([p.score for p in call])
        assert np.array_equal(np.argsort(-score, kind="stable"), np.argsort(cost, kind="stable"))
        funded = cost[[p.funded for p in call]]
        unfunded = cost[[not p.funded for p in call]]
        assert len(funded)
        assert len(unfunded)
        assert funded.max() <= unfunded.min()
