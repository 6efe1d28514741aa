"""Benchmark: how the build and the run scale with the city's size, up to a metropolis.

Cities of about 30,000, 260,000, 1 million and 2.6 million working-age residents: the
Bordeaux-scale table (40 territories) with every territory's population scaled (``--kind
scaled``, the default: the same diagnosis at every size), or a generated city of about 6,500
residents per territory (``--kind generated``). Each size is measured in a fresh subprocess so
that its peak memory is its own: the build of ``CityModel(city, seed, months,
resident_agents=False)`` (population, warm-up, social network, associations), then the status
quo run for ``--months`` months. Prints one JSON object per size (wall and CPU seconds of the
build and of the run, resident-steps per wall and per CPU second, peak resident set size in
MiB), then a Markdown table. Targets: a city of 2.6 million builds in <= 10 s, with a peak
<= 1 GiB.

    python benchmarks/bench_scaling.py [--sizes 30000,260000,1000000,2600000] [--months 12]
        [--kind scaled|generated] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace

# One core, as the targets say: keep numpy's thread pools from using the second one.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from sim.simulation.model import CityModel  # noqa: E402
from sim.world.territory import City, generate_city, load_city  # noqa: E402

SIZES = (30_000, 260_000, 1_000_000, 2_600_000)
#: Residents per territory of a generated city (Bordeaux-scale: 260,000 on 40 territories).
RESIDENTS_PER_TERRITORY = 6_500


def scaled_city(residents: int) -> City:
    """The Bordeaux-scale table with every population scaled so that the total is ``residents``
    exactly (largest remainders get the leftover residents; at least one per territory)."""
    base = load_city("bordeaux_scale")
    populations = np.array([t.working_age_population for t in base.territories], dtype=np.int64)
    exact = populations * residents / populations.sum()
    scaled = np.maximum(1, np.floor(exact).astype(np.int64))
    leftover = residents - int(scaled.sum())
    scaled[np.argsort(scaled - exact)[:leftover]] += 1
    territories = tuple(
        replace(t, working_age_population=int(p))
        for t, p in zip(base.territories, scaled, strict=True)
    )
    return City(name=f"bordeaux_scale_x{residents}", territories=territories, source="scaled")


def make_city(kind: str, residents: int) -> City:
    """A city of ``residents`` working-age residents of the given kind."""
    if kind == "generated":
        territories = max(1, round(residents / RESIDENTS_PER_TERRITORY))
        return generate_city(territories, residents, seed=33, qpv_share=0.27)
    return scaled_city(residents)


def peak_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(kind: str, residents: int, months: int, seed: int) -> dict[str, object]:
    """Build one city without Resident agents and run the status quo (in this process)."""
    city = make_city(kind, residents)
    before_build = peak_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    model = CityModel(city, seed=seed, months=months, resident_agents=False)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    build_peak = peak_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    model.run()
    run_wall, run_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "kind": kind,
        "residents": model.population.n,
        "territories": city.size,
        "months": months,
        "network_ties": int(model.social_network.nnz // 2),
        "build_seconds": round(build_wall, 3),
        "build_cpu_seconds": round(build_cpu, 3),
        "run_seconds": round(run_wall, 3),
        "run_cpu_seconds": round(run_cpu, 3),
        "resident_steps_per_second": round(model.population.n * months / run_wall),
        # On a shared machine, wall seconds measure the neighbours too; CPU seconds less so.
        "resident_steps_per_cpu_second": round(model.population.n * months / run_cpu),
        "peak_memory_before_build_mib": before_build,
        "peak_memory_build_mib": build_peak,
        "peak_memory_mib": peak_mib(),
    }


def in_fresh_process(kind: str, residents: int, months: int, seed: int) -> dict[str, object]:
    """Measure one size in a child process of its own, so that its peak memory is its own."""
    command = [sys.executable, __file__, "--one", str(residents), "--kind", kind]
    command += ["--months", str(months), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def markdown_table(figures: list[dict[str, object]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| residents | territories | build s (CPU s) | build peak MiB | run s (CPU s), months "
        "| resident-steps/s (per CPU s) | peak MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        lines.append(
            f"| {f['residents']:,} | {f['territories']} "
            f"| {f['build_seconds']} ({f['build_cpu_seconds']}) | {f['peak_memory_build_mib']} "
            f"| {f['run_seconds']} ({f['run_cpu_seconds']}), {f['months']} "
            f"| {f['resident_steps_per_second']:,} ({f['resident_steps_per_cpu_second']:,}) "
            f"| {f['peak_memory_mib']} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, measure each size in its own process, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in SIZES),
        help="comma-separated numbers of residents",
    )
    parser.add_argument("--months", type=int, default=12, help="months of the status-quo run")
    parser.add_argument("--kind", choices=("scaled", "generated"), default="scaled")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child's one size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.kind, args.one, args.months, args.seed)), flush=True)
        return
    figures = []
    for residents in (int(s) for s in args.sizes.split(",")):
        print(f"{args.kind} city of {residents:,} residents, {args.months} months ...", flush=True)
        result = in_fresh_process(args.kind, residents, args.months, args.seed)
        print(json.dumps(result), flush=True)
        figures.append(result)
    print(markdown_table(figures))


if __name__ == "__main__":
    main()
