"""The status quo holds its diagnosis: the warm-up starts the city from the steady state of its
hazards, so that with no programme each territory keeps its unemployment rate, long-term share
and non-take-up, and each calibration group finds jobs at its configured rate over the whole run.

Tolerances: the bound the model promises (0.3 point of unemployment, 3 points of long-term share
and of non-take-up) plus 4 standard errors of the quantity tested, taken from replications
(territory values) or binomial (pooled exit rates), at a size that keeps the tests fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from sim.simulation.model import CityModel
from sim.world.calibration import GROUP_NAMES, ExitTally, configured_hazards, territory_state
from sim.world.params import ModelParams
from sim.world.territory import City, generate_city, load_city

BOUNDS = {"unemployment_rate": 0.003, "long_term_share": 0.03, "non_take_up": 0.03}
REPLICATIONS = 6
MONTHS = 36


@dataclass
class Runs:
    """Status-quo runs of one city: per replication, the territory state of every month."""

    city: City
    params: ModelParams
    states: list[list[dict[str, np.ndarray]]] = field(default_factory=list)
    tally: ExitTally = field(default_factory=ExitTally)
    returned: int = 0
    at_risk_of_return: int = 0


def _run(city: City, seeds: range, months: int) -> Runs:
    runs = Runs(city, ModelParams())
    for seed in seeds:
        model = CityModel(city, seed=seed, months=months, resident_agents=False)
        pop = model.population
        states = [territory_state(pop)]
        while model.month < months:
            runs.tally.before(pop)
            left = pop.rsa_left & ~pop.employed
            model.step()
            runs.tally.after(pop)
            at_risk = left & ~pop.employed
            runs.at_risk_of_return += int(at_risk.sum())
            runs.returned += int((at_risk & pop.rsa_eligible).sum())
            states.append(territory_state(pop))
        runs.states.append(states)
    return runs


@pytest.fixture(scope="module")
def small_runs() -> Runs:
    """A city of 4 territories and 10,000 residents, 6 replications of 36 months."""
    return _run(generate_city(4, 10_000, seed=5, qpv_share=0.5), range(REPLICATIONS), MONTHS)


def _target(runs: Runs, name: str) -> np.ndarray:
    if name == "non_take_up":
        return np.full(runs.city.size, runs.params.rsa_non_take_up)
    return np.asarray(runs.city.column(name), dtype=np.float64)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_each_territory_holds_its_diagnosis(small_runs: Runs, name: str) -> None:
    """Per territory, the mean over the run (months 1-36) and the value at month 36 stay within
    the bound of the diagnosis (configured non-take-up), up to 4 standard errors over
    replications; and month 36 does not drift from month 0."""
    target = _target(small_runs, name)
    over_run = np.array([np.mean([s[name] for s in run[1:]], axis=0) for run in small_runs.states])
    last = np.array([run[-1][name] for run in small_runs.states])
    drift = last - np.array([run[0][name] for run in small_runs.states])
    for values, what in ((over_run, "mean"), (last, "last month")):
        deviation = values.mean(axis=0) - target
        se = values.std(axis=0, ddof=1) / np.sqrt(REPLICATIONS)
        assert (np.abs(deviation) < BOUNDS[name] + 4 * se).all(), (what, deviation, se)
    se = drift.std(axis=0, ddof=1) / np.sqrt(REPLICATIONS)
    assert (np.abs(drift.mean(axis=0)) < BOUNDS[name] + 4 * se).all(), (drift.mean(axis=0), se)


def test_exit_hazards_match_configured_values_over_the_run(small_runs: Runs) -> None:
    """Job-finding rates of the short-term, long-term unemployed and RSA-eligible, pooled over
    every month of every replication, equal 5.8 %, 3.0 % and 1.0 % within 4 binomial s.e."""
    hazards = configured_hazards(small_runs.params)
    tally = small_runs.tally
    rates, se = tally.rates(), tally.standard_errors(hazards)
    assert (tally.at_risk > 10_000).all(), tally.at_risk
    for name, rate, h, s in zip(GROUP_NAMES, rates, hazards, se, strict=True):
        assert abs(rate - h) < 4 * s, (name, rate, h, s)


def test_unemployment_insurance_goes_to_the_sourced_share(small_runs: Runs) -> None:
    """About 40 % of registered jobseekers are paid unemployment insurance (DARES): the city's
    mean over the run is within 3 points of it, up to 4 standard errors over replications."""
    shares = []
    for run in small_runs.states:
        paid = [
            np.average(
                s["are_paid_jobseeker_share"],
                weights=s["unemployment_rate"] * small_runs.city.column("working_age_population"),
            )
            for s in run[1:]
        ]
        shares.append(np.mean(paid))
    se = np.std(shares, ddof=1) / np.sqrt(REPLICATIONS)
    assert abs(np.mean(shares) - small_runs.params.are_paid_jobseeker_share) < 0.03 + 4 * se


def test_rsa_leavers_return_at_the_configured_hazard(small_runs: Runs) -> None:
    """Those who left RSA for another reason than a job and are still out of work return to it at
    1.15 % a month (DREES: half return within 5 years), within 4 binomial standard errors."""
    h, n = small_runs.params.rsa_reentry_per_month, small_runs.at_risk_of_return
    assert n > 5_000
    rate = small_runs.returned / n
    assert abs(rate - h) < 4 * np.sqrt(h * (1 - h) / n), (rate, n)


def test_warm_up_is_reproducible_and_programme_free() -> None:
    """Two builds with one seed start from identical residents; another seed differs; a fixed
    non-default warm-up length changes the start (the warm-up really runs)."""
    city = generate_city(3, 3_000, seed=8)
    a = CityModel(city, seed=3, months=1, resident_agents=False).population
    b = CityModel(city, seed=3, months=1, resident_agents=False).population
    for key in ("employed", "duration", "rsa_eligible", "rsa_claimed", "insured", "rsa_left"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    c = CityModel(city, seed=4, months=1, resident_agents=False).population
    assert not np.array_equal(a.employed, c.employed)
    d = Runs(city, ModelParams(warmup_months=0))
    cold = CityModel(city, seed=3, months=1, params=d.params, resident_agents=False).population
    assert not np.array_equal(a.duration, cold.duration)


@pytest.mark.slow
def test_bordeaux_scale_city_holds_its_diagnosis_for_120_months() -> None:
    """The Bordeaux-scale city (260,000 residents) over 120 months: at every month, the city's
    unemployment rate within 0.3 point, long-term share and non-take-up within 3 points of the
    diagnosis, up to 4 stationary standard deviations of a city of this size (sqrt(x (1 - x) /
    n), n the residents, unemployed or eligible); each territory's mean over months 61-120
    within the same bounds plus 4 stationary standard deviations of the territory; exit rates of
    the three groups over the whole run within 4 binomial standard errors."""
    runs = _run(load_city("bordeaux_scale"), range(1, 2), 120)
    sizes = runs.city.column("working_age_population").astype(np.float64)
    u = runs.city.column("unemployment_rate")
    counts = {
        "unemployment_rate": sizes,
        "long_term_share": sizes * u,
        "non_take_up": sizes * runs.city.column("rsa_share") / (1 - runs.params.rsa_non_take_up),
    }
    for name, bound in BOUNDS.items():
        target = _target(runs, name)
        city_target = np.average(target, weights=counts[name])
        city_sd = np.sqrt(city_target * (1 - city_target) / counts[name].sum())
        for run in runs.states:
            city_values = np.array([np.average(s[name], weights=counts[name]) for s in run])
            deviation = np.abs(city_values - city_target).max()
            assert deviation < bound + 4 * city_sd, (name, deviation, city_sd)
            late = np.mean([s[name] for s in run[61:]], axis=0)
            sd = np.sqrt(target * (1 - target) / counts[name])
            assert (np.abs(late - target) < bound + 4 * sd).all(), (name, late - target, sd)
    hazards = configured_hazards(runs.params)
    errors = runs.tally.standard_errors(hazards)
    assert (np.abs(runs.tally.rates() - hazards) < 4 * errors).all(), runs.tally.rates()
