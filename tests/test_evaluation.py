"""Evaluation designs on outcomes whose truth is set by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim.delivery.needs import EMPLOYMENT_NEED as EMPLOYMENT
from sim.errors import UserInputError
from sim.funding.evaluation import check_design, evaluate, match_comparisons
from sim.world.params import ModelParams
from sim.world.population import NOT_YET, Population
from sim.world.territory import City


def _population_with_outcomes(city: City, rates: dict[str, float]) -> tuple[Population, dict]:
    """A population where group 'treated' reaches a job held 6 months with one rate and
    'control' with another (seeded draws)."""
    pop = Population(city, ModelParams(), seed=1)
    rng = np.random.default_rng(3)
    rows = rng.permutation(pop.n)[:4000]
    groups = {"treated": rows[:2000], "control": rows[2000:]}
    pop.sustained_job_month[:] = NOT_YET
    pop.last_sustained_job_month[:] = NOT_YET
    for name, members in groups.items():
        hit = members[rng.random(len(members)) < rates[name]]
        pop.sustained_job_month[hit] = 10
        pop.last_sustained_job_month[hit] = 10
    return pop, groups


def test_rct_recovers_the_difference_within_its_standard_error(small_city: City) -> None:
    """Treated 50 %, control 30 %: the RCT estimate is 0.20 within 4 of its standard errors, and
    the standard error is the two-sample binomial one."""
    pop, g = _population_with_outcomes(small_city, {"treated": 0.5, "control": 0.3})
    start = np.zeros(2000, dtype=np.int64)
    result = evaluate(
        "rct", pop, EMPLOYMENT, 20, (g["treated"], start, start), (g["control"], start)
    )
    expected_se = np.sqrt(0.5 * 0.5 / 2000 + 0.3 * 0.7 / 2000)
    assert result.standard_error == pytest.approx(expected_se, rel=0.1)
    assert abs(result.effect_estimate - 0.2) < 4 * expected_se
    assert result.validated_outcomes == pytest.approx(
        result.gross_outcomes - result.counterfactual_outcomes
    )
    assert result.ci_low > 0


def test_none_validates_every_gross_outcome(small_city: City) -> None:
    """Without a counterfactual every outcome among participants is validated."""
    pop, g = _population_with_outcomes(small_city, {"treated": 0.4, "control": 0.4})
    start = np.zeros(2000, dtype=np.int64)
    result = evaluate("none", pop, EMPLOYMENT, 20, (g["treated"], start, start))
    assert result.validated_outcomes == result.gross_outcomes > 0
    assert result.counterfactual_outcomes == 0


def test_pessimistic_historical_baseline_inflates_the_effect(small_city: City) -> None:
    """Halving the published baseline (too pessimistic, as in Utah) raises the estimated
    effect and the validated outcomes."""
    pop, g = _population_with_outcomes(small_city, {"treated": 0.4, "control": 0.4})
    start = np.zeros(2000, dtype=np.int64)
    fair = evaluate("historical_baseline", pop, EMPLOYMENT, 20, (g["treated"], start, start))
    biased = evaluate(
        "historical_baseline", pop, EMPLOYMENT, 20, (g["treated"], start, start), baseline_bias=0.5
    )
    assert biased.counterfactual_outcomes == pytest.approx(fair.counterfactual_outcomes / 2)
    assert biased.effect_estimate > fair.effect_estimate
    assert biased.validated_outcomes > fair.validated_outcomes


def test_matching_pairs_residents_of_the_same_group_and_nearest_barrier(small_city: City) -> None:
    """Each match shares the participant's hazard group and French level and has the nearest
    observed barrier among such candidates."""
    pop = Population(small_city, ModelParams(), seed=2)
    unemployed = np.flatnonzero(~pop.employed)
    participants, pool = unemployed[:50], unemployed[50:]
    observed = pop.barrier.copy()
    matches = match_comparisons(pop, participants, pool, observed)
    cell = pop.hazard_group() * 3 + pop.french
    same_cell = cell[matches] == cell[participants]
    assert same_cell.mean() > 0.9
    for p, m in zip(participants[same_cell], matches[same_cell], strict=True):
        candidates = pool[cell[pool] == cell[p]]
        assert abs(observed[m] - observed[p]) == pytest.approx(
            np.abs(observed[candidates] - observed[p]).min()
        )


def test_unknown_design_is_a_clear_error() -> None:
    """A misspelt design names the valid ones."""
    with pytest.raises(UserInputError, match="comparison_group"):
        check_design("matched")
