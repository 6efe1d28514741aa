"""Calibration check: does the status quo hold its diagnosis over 120 months?

Runs a city with no programme and prints, as Markdown tables, the city's diagnosis against the
simulation at month 0 and month 120 and averaged over the run (unemployment rate, long-term
share of the unemployed, RSA claimers, non-take-up, share of registered jobseekers paid
unemployment insurance), the realised job-finding rate of each calibration group over the whole
run against its configured hazard with its binomial standard error, and the territories' largest
deviations (averaged over the last 60 months, against the stationary standard deviation of a
territory of that size, sqrt(u (1 - u) / n)).

    python benchmarks/calibration_120_months.py [--city bordeaux] [--months 120] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from sim.simulation.model import CityModel  # noqa: E402
from sim.world.calibration import (  # noqa: E402
    GROUP_NAMES,
    ExitTally,
    configured_hazards,
    territory_state,
)

METRICS = (
    "unemployment_rate",
    "long_term_share",
    "rsa_share",
    "non_take_up",
    "are_paid_jobseeker_share",
)


def main() -> None:
    """Run the city, print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--city", default="bordeaux")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    model = CityModel(args.city, seed=args.seed, months=args.months, resident_agents=False)
    build = time.perf_counter() - started
    pop, p = model.population, model.params
    sizes = pop.territory_sizes.astype(np.float64)
    city = model.city
    diagnosis = {
        "unemployment_rate": city.column("unemployment_rate"),
        "long_term_share": city.column("long_term_share"),
        "rsa_share": city.column("rsa_share"),
        "non_take_up": np.full(city.size, p.rsa_non_take_up),
        "are_paid_jobseeker_share": np.full(city.size, p.are_paid_jobseeker_share),
    }
    # City-wide figures weight territories by their residents (unemployment, RSA), unemployed
    # (long-term share), eligible (non-take-up) or registered jobseekers (insurance).
    states = [territory_state(pop)]
    tally = ExitTally()
    while model.month < args.months:
        tally.before(pop)
        model.step()
        tally.after(pop)
        states.append(territory_state(pop))
    run = time.perf_counter() - started - build

    def city_value(state: dict[str, np.ndarray], name: str) -> float:
        u = state["unemployment_rate"]
        weights = {
            "unemployment_rate": sizes,
            "long_term_share": sizes * u,
            "rsa_share": sizes,
            "non_take_up": sizes * state["rsa_share"] / np.maximum(1 - state["non_take_up"], 1e-9),
            "are_paid_jobseeker_share": sizes * u,
        }[name]
        return float(np.average(state[name], weights=weights))

    print(
        f"{args.city}: {pop.n:,} residents, {city.size} territories, seed {args.seed}, "
        f"{args.months} months, no programme (build {build:.2f} s, run {run:.2f} s)\n"
    )
    print(f"| city-wide | diagnosis | month 0 | month {args.months} | mean of months 1-120 |")
    print("|---|---|---|---|---|")
    for name in METRICS:
        target = city_value({**states[0], name: diagnosis[name]}, name)
        over_run = np.mean([city_value(s, name) for s in states[1:]])
        print(
            f"| {name} | {target:.4f} | {city_value(states[0], name):.4f} | "
            f"{city_value(states[-1], name):.4f} | {over_run:.4f} |"
        )
    hazards = configured_hazards(p)
    rates, errors = tally.rates(), tally.standard_errors(hazards)
    print(f"\n| job finding over months 1-{args.months} | configured | realised | binomial s.e. |")
    print("|---|---|---|---|")
    for name, h, rate, se, n in zip(
        GROUP_NAMES, hazards, rates, errors, tally.at_risk, strict=True
    ):
        print(f"| {name} ({n:,} resident-months) | {h:.4f} | {rate:.5f} | {se:.5f} |")
    late = states[max(1, len(states) - 60) :]
    print(
        "\n| territories, mean of the last 60 months | largest deviation from the diagnosis "
        "| mean absolute deviation | territories beyond 3 stationary s.d. |"
    )
    print("|---|---|---|---|")
    for name in ("unemployment_rate", "long_term_share", "non_take_up"):
        mean = np.mean([s[name] for s in late], axis=0)
        deviation = mean - diagnosis[name]
        u = diagnosis["unemployment_rate"]
        count = {
            "unemployment_rate": sizes,
            "long_term_share": sizes * u,
            "non_take_up": sizes * diagnosis["rsa_share"] / (1 - p.rsa_non_take_up),
        }[name]
        target = diagnosis[name]
        sd = np.sqrt(target * (1 - target) / np.maximum(count, 1))
        beyond = int((np.abs(deviation) > 3 * sd).sum())
        worst = int(np.argmax(np.abs(deviation)))
        print(
            f"| {name} | {deviation[worst]:+.4f} ({city.territories[worst].territory_id}, "
            f"s.d. {sd[worst]:.4f}) | {np.abs(deviation).mean():.4f} | {beyond} of {city.size} |"
        )


if __name__ == "__main__":
    main()
