"""Benchmark: the Bordeaux-scale city (260,000 residents) for 120 months, on one core.

Runs the status quo with Resident agents (what a researcher builds), then each funding mechanism
(as batches run them, without Resident agents), each 3 times by default. Prints one JSON object
per arm and, on its last line, a JSON object with every figure: resident-steps per second of CPU
time (median and best run) and of wall time (median), build and run seconds (CPU and wall) and
peak memory (resident set size of the process, MiB). CPU time is the figure to compare: the
machine may be shared, and wall time then measures the neighbours as much as the code.
Targets: every arm >= 20 million resident-steps per CPU second (median), the status quo >= 30
million; peak memory <= 1 GiB.

    python benchmarks/bench_city.py [--city bordeaux] [--months 120] [--repeat 3] [--arms all]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import time

# One core, as the target says: keep numpy's thread pools from using the second one.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sim.funding.registry import MECHANISMS, make_mechanism  # noqa: E402
from sim.simulation.model import CityModel  # noqa: E402

#: Budgets sized for a city of 260,000 working-age residents (illustrative).
ARM_PARAMS = {
    "planned": {"budget_eur_per_year": 8_000_000.0},
    "call_for_projects": {"budget_eur_per_year": 8_000_000.0},
}


def measure(
    city: str, months: int, seed: int, arm: str, resident_agents: bool, repeat: int
) -> dict[str, object]:
    """Build and run one city under one arm ``repeat`` times: median and best, CPU and wall.

    On a shared machine, the median of CPU times is the steady figure; the best run says what
    the code does undisturbed, the wall times what a user waits.
    """
    builds, runs, run_walls, build_walls = [], [], [], []
    for _ in range(repeat):
        started, started_wall = time.process_time(), time.perf_counter()
        mechanism = make_mechanism(arm, **ARM_PARAMS.get(arm, {}))
        model = CityModel(
            city, seed=seed, months=months, mechanism=mechanism, resident_agents=resident_agents
        )
        built, built_wall = time.process_time(), time.perf_counter()
        model.run()
        builds.append(built - started)
        build_walls.append(built_wall - started_wall)
        runs.append(time.process_time() - built)
        run_walls.append(time.perf_counter() - built_wall)
        residents, actions = model.population.n, len(model.actions)
        del model
        # A model with Resident agents is cyclic garbage: collected here, untimed, so that the
        # next build or run does not pay for it.
        gc.collect()
    steps = residents * months
    return {
        "arm": arm,
        "resident_agents": resident_agents,
        "residents": residents,
        "months": months,
        "actions": actions,
        "repeats": repeat,
        "resident_steps_per_cpu_second_median": round(steps / statistics.median(runs)),
        "resident_steps_per_cpu_second_best": round(steps / min(runs)),
        "resident_steps_per_wall_second_median": round(steps / statistics.median(run_walls)),
        "build_cpu_seconds": round(statistics.median(builds), 3),
        "build_wall_seconds": round(statistics.median(build_walls), 3),
        "run_cpu_seconds": round(statistics.median(runs), 3),
        "run_wall_seconds": round(statistics.median(run_walls), 3),
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Parse arguments, measure each arm, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--city", default="bordeaux_scale")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per arm (best is reported)")
    parser.add_argument(
        "--arms",
        default="all",
        help="comma-separated mechanisms, or 'all' (default), or 'status_quo'",
    )
    args = parser.parse_args()
    arms = sorted(MECHANISMS) if args.arms == "all" else args.arms.split(",")
    arms = ["status_quo", *[a for a in arms if a != "status_quo"]]
    figures = []
    for arm in arms:
        print(f"{arm}: {args.city}, {args.months} months ...", flush=True)
        result = measure(
            args.city,
            args.months,
            args.seed,
            arm,
            resident_agents=arm == "status_quo",
            repeat=args.repeat,
        )
        print(json.dumps(result), flush=True)
        figures.append(result)
    print(json.dumps({"city": args.city, "arms": figures}))


if __name__ == "__main__":
    main()
