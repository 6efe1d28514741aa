"""Calibration of the baseline dynamics against the configured hazards."""

from __future__ import annotations

import numpy as np
import pytest

from sim.delivery.actions import ActionSpec, Target
from sim.simulation.model import CityModel
from sim.world.calibration import implied_steady_state_unemployment
from sim.world.params import FRENCH_NONE, ModelParams
from sim.world.population import NOT_YET
from sim.world.territory import generate_city


def test_closed_population_converges_to_implied_steady_state() -> None:
    """Without RSA, churn, French progression or programme, and started from a drawn stock rather
    than from the steady state, the unemployment rate after 240 months equals the steady state
    implied by every resident's hazards, within 4 standard errors."""
    city = generate_city(10, 30_000, seed=9, rsa=False)
    params = ModelParams(
        separation_established_per_month=0.02,
        unemployment_insurance_months=10_000,
        unemployment_churn_per_month=0.0,
        french_progress_none_per_month=0.0,
        french_progress_a1_per_month=0.0,
        warmup_months=0,  # start from the drawn stock, away from the steady state
    )
    model = CityModel(city, seed=2, months=240, params=params, resident_agents=False)
    start = model.population.unemployment_rate()
    expected, se = implied_steady_state_unemployment(model.population)
    model.run()
    simulated = model.series["unemployment_rate"][-1]
    assert abs(start - expected) > 10 * se, "the test must start away from the steady state"
    assert abs(simulated - expected) < 4 * se, (simulated, expected, se)


def test_french_course_brings_configured_share_to_a1() -> None:
    """A course whose effect is the OFII pass rate (0.68) less what the baseline progression
    gives over 6 months brings participants without French to A1 by its end at that pass rate,
    within 4 binomial standard errors (the pass rate is not the course's effect)."""
    city = generate_city(6, 30_000, seed=21, qpv_share=0.5)
    params = ModelParams(dropout_per_month=0.0)
    duration = 6
    course = ActionSpec(
        association="course",
        specialty="french_course",
        territories=tuple(range(city.size)),
        places=600,
        duration_months=duration,
        true_effect=params.course_a1_share
        - (1 - (1 - params.french_progress_none_per_month) ** duration),
        cost_eur_per_participant_month=250.0,
        end_month=30,
        target=Target(non_french_only=True),
    )
    model = CityModel(
        city, seed=3, months=40, params=params, actions=[course], resident_agents=False
    )
    model.run()
    pop, enr = model.population, model.enrolment
    participants = np.flatnonzero(enr.first_action == 0)
    enrolled = enr.first_enrol_month[participants]
    reached = pop.a1_month[participants]
    assert (pop.initial_french[participants] == FRENCH_NONE).all()
    in_time = (reached != NOT_YET) & (reached <= enrolled + duration - 1)
    share, n = in_time.mean(), len(participants)
    se = np.sqrt(0.68 * 0.32 / n)
    assert n > 500
    assert abs(share - params.course_a1_share) < 4 * se, (share, n)


@pytest.mark.parametrize("field", ["job_hazard_short_per_month", "dropout_per_month"])
def test_probability_parameters_outside_unit_interval_are_rejected(field: str) -> None:
    """A monthly probability above 1 is a user error naming the parameter."""
    from sim.errors import UserInputError

    with pytest.raises(UserInputError, match=field):
        ModelParams().with_overrides(**{field: 1.5})
