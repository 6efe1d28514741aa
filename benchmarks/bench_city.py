"""Benchmark: the Bordeaux-scale city (260,000 residents) for 120 months, on one core.

Prints progress, then a JSON object on its last line: resident-steps per second, build seconds,
run seconds and peak memory (resident set size, MiB). Targets (issue 2): >= 10 million
resident-steps per second, build <= 5 s, peak memory <= 1 GiB.

    python benchmarks/bench_city.py [--city bordeaux] [--months 120] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

# One core, as the target says: keep numpy's thread pools from using the second one.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sim.model import CityModel  # noqa: E402


def measure(city: str, months: int, seed: int) -> dict[str, float | int | str]:
    """Build and run one city; return the figures."""
    started = time.perf_counter()
    model = CityModel(city, seed=seed, months=months)
    built = time.perf_counter()
    model.run()
    finished = time.perf_counter()
    residents = model.population.n
    return {
        "city": city,
        "residents": residents,
        "months": months,
        "resident_steps_per_second": round(residents * months / (finished - built)),
        "build_seconds": round(built - started, 3),
        "run_seconds": round(finished - built, 3),
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--city", default="bordeaux")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"Running {args.city} for {args.months} months (status quo, Resident agents on)...")
    print(json.dumps(measure(args.city, args.months, args.seed)))


if __name__ == "__main__":
    main()
