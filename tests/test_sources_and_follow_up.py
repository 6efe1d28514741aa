"""Provenance of the defaults, the post-programme effect's length, lock-in, and the follow-up
after the last enrolment."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.delivery import needs
from sim.delivery.actions import ActionSpec
from sim.errors import UserInputError
from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel
from sim.simulation.run import simulate
from sim.world.params import ModelParams
from sim.world.sources import TAGS, illustrative_defaults, sources_table
from sim.world.territory import City


def test_every_model_parameter_is_tagged_with_its_value() -> None:
    """Each ModelParams field has a row whose value is the code's default, with a known tag and
    a range that holds it; named constants of the code agree with their rows too."""
    rows = {row["parameter"]: row for row in sources_table()}
    defaults = ModelParams()
    for field in dataclasses.fields(ModelParams):
        assert field.name in rows, f"{field.name} has no row in sim.world.sources"
        assert rows[field.name]["value"] == getattr(defaults, field.name), field.name
    for row in rows.values():
        assert row["tag"] in TAGS
        low, high, value = row["low"], row["high"], row["value"]
        if isinstance(value, int | float) and low is not None and high is not None:
            assert low <= value <= high, row["parameter"]
    assert rows["needs.EMPLOYMENT_EFFECT_PER_MONTH"]["value"] == needs.EMPLOYMENT_EFFECT_PER_MONTH
    assert rows["needs.RIGHTS_EFFECT_PER_MONTH"]["value"] == pytest.approx(
        needs.RIGHTS_EFFECT_PER_MONTH, abs=1e-4
    )
    assert rows["needs.FRENCH_NEED.reference_effect"]["value"] == pytest.approx(
        needs.FRENCH_NEED.reference_effect(defaults)
    )
    assert rows["course_a1_share"]["note"].startswith("PASS RATE")
    assert "lock_in_factor" in illustrative_defaults()


def test_course_effect_is_pass_rate_less_counterfactual() -> None:
    """The French course's reference effect is the 68 % pass rate minus the illustrative 40 %
    who would reach A1 anyway, not the pass rate itself."""
    params = ModelParams()
    assert needs.FRENCH_NEED.reference_effect(params) == pytest.approx(0.68 - 0.40)


def test_take_up_effect_gives_twelve_points_over_the_action() -> None:
    """+12 points of take-up over a 3-month action (SNAP RCT, information and assistance)."""
    p = needs.RIGHTS_EFFECT_PER_MONTH
    assert 1 - (1 - p) ** needs.RIGHTS_DURATION_MONTHS == pytest.approx(0.12)


def test_lock_in_is_never_positive() -> None:
    """A positive effect while enrolled is refused; zero and negative values are accepted."""
    assert ModelParams().lock_in_factor <= 0
    ModelParams(lock_in_factor=-0.5)
    with pytest.raises(UserInputError, match="lock_in_factor"):
        ModelParams(lock_in_factor=0.5)


def test_post_programme_effect_lasts_the_configured_months(small_city: City) -> None:
    """A participant who completes employment support has the added hazard for exactly
    ``effect_persistence_months`` months (12, not 13), counted from the completion month."""
    params = ModelParams(dropout_per_month=0.0, effect_persistence_months=12)
    spec = ActionSpec(
        association="support",
        specialty="employment_support",
        territories=tuple(range(small_city.size)),
        places=100,
        duration_months=3,
        true_effect=0.01,
        cost_eur_per_participant_month=450.0,
        end_month=3,
    )
    model = CityModel(
        small_city, seed=2, months=24, params=params, actions=[spec], resident_agents=False
    )
    boosted = np.zeros(model.population.n, dtype=np.int64)
    for _ in range(24):
        model.step()
        post = (model.enrolment.action < 0) & (model.population.job_boost > 0)
        boosted += post
    finished = np.flatnonzero(model.enrolment.post_until >= 0)
    assert len(finished) > 50
    assert set(np.unique(boosted[finished])) == {12}


def test_follow_up_months_run_on_without_new_enrolment(small_city: City) -> None:
    """With 12 months of follow-up, mechanisms see a 24-month horizon, nobody joins after it,
    the run lasts 36 months, and the contract's last settlement at month 36 counts outcomes
    after the delivery horizon."""
    contract = make_mechanism(
        "impact_contract",
        target={},
        places=60,
        payment_months=[12, 36],
        contract_months=24,
        evaluation="rct",
    )
    run = simulate(small_city, contract, seed=4, months=24, follow_up_months=12)
    assert run.months == 36
    assert run.follow_up_months == 12
    assert len(run.series["enrolled"]) == 37
    joined = run.residents["first_enrol_month"]
    assert joined.max() <= 24
    assert run.series["enrolled"][36] == 0
    assert run.evaluations[-1].month == 36
    later = run.residents["sustained_job_month"][joined > 0]
    assert (later > 24).any()
