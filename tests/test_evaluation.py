"""Evaluation designs on outcomes whose truth is set by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.delivery.needs import EMPLOYMENT_NEED as EMPLOYMENT
from sim.errors import UserInputError
from sim.funding.evaluation import (
    DURATION_BANDS_MONTHS,
    NOT_YET_ENROLLED,
    check_design,
    evaluate,
    kaplan_meier_incidence,
    match_comparisons,
)
from sim.world.params import ModelParams
from sim.world.population import NOT_YET, Population
from sim.world.territory import City

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


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
    """Each match shares the participant's hazard group, French level and band of months out of
    work, and has the nearest observed barrier among such candidates."""
    pop = Population(small_city, ModelParams(), seed=2)
    unemployed = np.flatnonzero(~pop.employed)
    participants, pool = unemployed[:50], unemployed[50:]
    observed = pop.barrier.copy()
    matches = match_comparisons(pop, participants, pool, observed)
    band = np.searchsorted(DURATION_BANDS_MONTHS, pop.duration, side="right")
    cell = (pop.hazard_group() * 3 + pop.french) * 4 + band
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


def test_kaplan_meier_incidence_matches_hand_counts() -> None:
    """Five people: outcomes in months 0 and 2, one censored after 1 month, two followed 4
    months without outcome. At risk 5, 3, 3, 2: F(1) = 1/5, F(3) = 1 - 4/5 * 2/3."""
    event = np.array([0, 2, -1, -1, -1])
    length = np.array([4, 4, 1, 4, 4])
    curve = kaplan_meier_incidence(event, length, 4)
    assert curve[0] == 0.0
    assert curve[1] == pytest.approx(0.2)
    assert curve[2] == pytest.approx(0.2)
    assert curve[3] == pytest.approx(1 - 0.8 * 2 / 3)
    assert curve[4] == pytest.approx(1 - 0.8 * 2 / 3)


def test_censoring_at_enrolment_recovers_the_comparison_rate(small_city: City) -> None:
    """Comparisons reach a job held 6 months at a constant monthly hazard; half of those still
    without one join an action midway. Counting their later outcomes (what enrolment causes)
    or dropping them (what it selects) biases the rate; censoring them at enrolment recovers
    it within 4 binomial standard errors, and the record says so."""
    pop = Population(small_city, ModelParams(), seed=1)
    rng = np.random.default_rng(7)
    n, months, hazard = 3000, 20, 0.03
    rows = rng.permutation(pop.n)[:n]
    start = np.ones(n, dtype=np.int64)
    when = 1 + rng.geometric(hazard, n) - 1  # month of the outcome, from month 1
    pop.sustained_job_month[:] = NOT_YET
    pop.last_sustained_job_month[:] = NOT_YET
    enrolled = np.where((when > 10) & (rng.random(n) < 0.5), 10, -1)
    # After enrolment, the action doubles the chance of an outcome by the end.
    boosted = (enrolled > 0) & (rng.random(n) < 0.5)
    when = np.where(boosted, 10 + rng.integers(0, 10, n), when)
    pop.sustained_job_month[rows] = np.where(when <= months, when, NOT_YET)
    pop.last_sustained_job_month[rows] = pop.sustained_job_month[rows]
    truth = 1 - (1 - hazard) ** months
    treated = (rows[:10], start[:10], start[:10])
    result = evaluate(
        "comparison_group",
        pop,
        EMPLOYMENT,
        months,
        treated,
        (rows, start),
        comparison_enrolled=enrolled,
        comparison_source=NOT_YET_ENROLLED,
    )
    rate = result.counterfactual_outcomes / result.n_treated
    se = np.sqrt(truth * (1 - truth) / n)
    assert abs(rate - truth) < 4 * se, (rate, truth)
    naive = evaluate("comparison_group", pop, EMPLOYMENT, months, treated, (rows, start))
    assert naive.counterfactual_outcomes / naive.n_treated - truth > 4 * se
    assert result.comparison_censored == int((enrolled > 0).sum())
    assert "censored" in result.comparison_caveat


@pytest.mark.slow
def test_comparison_estimate_lands_on_the_twin_truth() -> None:
    """The shipped evaluation scenario's comparison-group arm without creaming, at small scale
    (a small generated city, 24 months, 30 replications): the mean of (estimate - twin truth)
    over replications is within 2 of its standard errors, the truth per participant being the
    arm-twin difference in their outcome over the same windows."""
    from sim.experiments.metrics import outcome_after
    from sim.experiments.scenario import load_scenario
    from sim.funding.registry import make_mechanism
    from sim.simulation.run import simulate
    from sim.world.rng import replication_seeds
    from sim.world.territory import generate_city

    scenario = load_scenario(SCENARIOS / "evaluation_designs.toml")
    arm = next(a for a in scenario.arms if a.name == "comparison")
    assert arm.params["creaming_degree"] == 0.0
    months = 24
    params = {**arm.params, "places": 60, "payment_months": [months], "contract_months": months}
    city = generate_city(6, 8_000, seed=11, qpv_share=0.5)
    differences = []
    for seed in replication_seeds(3, 30):
        run = simulate(city, make_mechanism(arm.mechanism, **params), int(seed), months)
        twin = simulate(city, make_mechanism("status_quo"), int(seed), months)
        final = run.evaluations[-1]
        rows = np.flatnonzero(run.residents["first_action"] == 0)
        start = run.residents["first_enrol_month"][rows].astype(np.int64)
        gain = outcome_after(run, "employment", start, rows, months).astype(float) - (
            outcome_after(twin, "employment", start, rows, months)
        )
        differences.append(final.effect_estimate - gain.mean())
    mean = float(np.mean(differences))
    se = float(np.std(differences, ddof=1) / np.sqrt(len(differences)))
    assert abs(mean) < 2 * se, (mean, se)
