"""Needs as objects: each shipped need answers its own questions, and a new need is one object."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.delivery.needs import (
    EMPLOYMENT_NEED,
    FRENCH_NEED,
    RIGHTS_NEED,
    Need,
    all_needs,
    index_of,
    need_keys,
    need_of,
    registered,
)
from sim.errors import UserInputError
from sim.experiments.metrics import run_metrics
from sim.funding.planned import Planned
from sim.funding.status_quo import StatusQuo
from sim.simulation.run import simulate
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.territory import generate_city


def test_shipped_needs_in_order() -> None:
    """Employment, French and rights, in the order of the per-need arrays."""
    assert need_keys() == ("employment", "french", "rights")
    assert [index_of(n.specialty) for n in all_needs()] == [0, 1, 2]
    assert need_of("french_a1") is FRENCH_NEED
    with pytest.raises(UserInputError, match="unknown need 'housing'"):
        need_of("housing")


def test_each_need_knows_who_needs_it() -> None:
    """Employment: the unemployed; French: below A2; rights: eligible non-claimers."""
    city = generate_city(2, 2_000, seed=1)
    pop = Population(city, ModelParams(), seed=1)
    rows = slice(None)
    assert np.array_equal(EMPLOYMENT_NEED.in_need(pop, rows), ~pop.employed)
    assert np.array_equal(FRENCH_NEED.in_need(pop, rows), pop.french < 2)
    assert np.array_equal(RIGHTS_NEED.in_need(pop, rows), pop.rsa_eligible & ~pop.rsa_claimed)


def test_outcomes_between_uses_first_and_last_outcome_of_repeatable_needs() -> None:
    """A job held 6 months counts in a window if its first or its last date falls in it."""
    arrays = {
        "sustained_job_month": np.array([3, 3, -1]),
        "last_sustained_job_month": np.array([3, 20, -1]),
        "sustained_job_count": np.array([1, 2, 0]),
    }
    rows = np.arange(3)
    assert EMPLOYMENT_NEED.outcomes_between(arrays, rows, 10, 30).tolist() == [False, True, False]
    assert EMPLOYMENT_NEED.outcome_counts(arrays).tolist() == [1, 2, 0]


def test_french_reference_effect_is_capped() -> None:
    """A French course's effect is a share, kept below its cap whatever the factor."""
    params = ModelParams()
    assert FRENCH_NEED.scaled_effect(params, 10.0) == FRENCH_NEED.max_effect
    assert EMPLOYMENT_NEED.scaled_effect(params, 2.0) == pytest.approx(0.01)


#: A toy fourth need: a first job found, answered by "first-job coaching" that raises the
#: job-finding hazard while enrolled. Only this object is added; nothing else changes.
FIRST_JOB = dataclasses.replace(
    EMPLOYMENT_NEED,
    key="first_job",
    specialty="first_job_coaching",
    outcome="first job found",
    contract_metric="first_job_found",
    outcome_month="job_found_month",
    outcome_last_month=None,
    outcome_count=None,
    duration_months=4,
    association_share=0.3,
    lasts_after_completion=False,
    reference_effect=lambda params: 0.2,
    # Its whole effect while enrolled (employment support's own is zero then: lock-in).
    effect_while_enrolled=lambda effect, duration, params: effect,
)


def test_a_toy_need_is_one_object_and_flows_to_the_metrics() -> None:
    """Registering a need is enough for associations, a planned programme, evaluators and truth
    metrics to handle it, with its own per-need metric."""
    assert isinstance(FIRST_JOB, Need)
    city = generate_city(4, 4_000, seed=2)
    with registered(FIRST_JOB):
        assert "first_job" in need_keys()
        plan = Planned(
            budget_eur_per_year=400_000,
            specialty_shares={"first_job_coaching": 1.0},
            evaluation="rct",
        )
        arm = simulate(city, plan, seed=5, months=24)
        twin = simulate(city, StatusQuo(), seed=5, months=24)
        metrics = run_metrics(arm, twin)
    assert {a.specialty for a in arm.actions} == {"first_job_coaching"}
    assert sum(e.n_treated for e in arm.evaluations) > 0
    # +20 points of monthly hazard while enrolled: many more first jobs than in the twin.
    assert metrics["true_additional_first_job"] > 0
    assert "first_job" not in need_keys(), "the registration ends with the block"


def test_the_residents_in_each_need_are_those_its_rule_selects() -> None:
    """However a need finds its residents (from the unemployed's index set, or all of them when
    every one out of work is in need), they are exactly those its ``in_need`` rule selects."""
    from sim.delivery.needs import all_needs
    from sim.world.params import ModelParams
    from sim.world.population import Population
    from sim.world.territory import generate_city

    pop = Population(generate_city(3, 3_000, seed=2), ModelParams(), seed=2)
    for need in all_needs():
        expected = np.flatnonzero(need.in_need(pop, slice(None)))
        assert np.array_equal(need.in_need_rows(pop), expected), need.key


def test_the_residents_in_each_need_are_those_its_rule_selects_month_after_month() -> None:
    """The rows a need reads from the population's kept index sets (those below A2 for French)
    stay those its rule selects as the residents' steps move them."""
    from sim.delivery.needs import all_needs
    from sim.simulation.model import CityModel

    model = CityModel("demo", seed=4, months=8)
    for _ in range(8):
        model.step()
        pop = model.population
        for need in all_needs():
            expected = np.flatnonzero(need.in_need(pop, slice(None)))
            assert np.array_equal(need.in_need_rows(pop), expected), need.key
