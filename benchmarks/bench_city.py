"""Benchmark: the Bordeaux-scale city (260,000 residents) for 120 months, on one core.

Runs the status quo with Resident agents (what a researcher builds), then each funding mechanism
(as batches run them, without Resident agents), each 3 times by default. Prints one JSON object
per arm and, on its last line, a JSON object with every figure: resident-steps per second of CPU
time (median and best run) and of wall time (median), build and run seconds (CPU and wall) and
peak memory (resident set size of the process, MiB). CPU time is the figure to compare: the
machine may be shared, and wall time then measures the neighbours as much as the code.
Targets: every arm >= 20 million resident-steps per CPU second (median), the status quo >= 30
million, at Bordeaux scale; peak memory <= 1 GiB. Each arm says whether it meets its target
(``meets_target``; None for another city).

CPU time does not shield a run from its neighbours either: another process on the machine's
other cores shares their caches and memory, and the same code then takes more CPU time. So each
run also records, on Linux, how much other work the machine did meanwhile, in cores
(``other_work_cores_each``: the machine's busy CPU time, from ``/proc/stat``, less this
process's, per wall second; 0 when nothing else ran, 1 when another core was busy throughout;
above about 0.2, the run was measured beside other work) and the time its virtual CPUs waited
while the hypervisor ran other machines (``steal_cores_each``); None for a run too short to
tell. A low figure measured beside other work can then be told from a slow code.

    python benchmarks/bench_city.py [--city bordeaux_scale] [--months 120] [--repeat 3] [--arms all]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
#: The city the targets are set for, and the resident-steps per CPU second (median) each arm
#: must reach there (the status quo more).
TARGET_CITY = "bordeaux_scale"
TARGET = 20_000_000
STATUS_QUO_TARGET = 30_000_000
#: How far the machine's other work may be misread, in cores, for a run's reading to be kept:
#: the machine counts its CPUs' time in clock ticks, each CPU's count off by up to a tick at
#: either end of the run (on 2 CPUs at 100 ticks a second, runs of 0.4 s or more).
NEIGHBOURS_RESOLUTION_CORES = 0.1
#: Where Linux counts every CPU's time since boot, in clock ticks.
PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class MachineTimes:
    """The machine's CPU time since boot, every CPU together, in seconds: busy (user, nice,
    system, interrupts; guest time is within user and nice) and stolen (a virtual CPU ready to
    run while the hypervisor ran another machine); its number of CPUs and its clock tick.
    In a container that does not virtualise ``/proc/stat``, the machine is the host."""

    busy: float
    steal: float
    cpus: int
    tick: float

    @staticmethod
    def read(path: Path = PROC_STAT) -> MachineTimes | None:
        """The machine's times now, or None where ``path`` cannot be read (not Linux)."""
        try:
            lines = [line.split() for line in path.read_text().splitlines()]
            first = lines[0]
            if first[0] != "cpu" or len(first) < 9:
                return None
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, first[1:9])
        except (OSError, IndexError, ValueError):
            return None
        cpus = sum(1 for fields in lines[1:] if fields and fields[0][:3] == "cpu")
        tick = 1.0 / os.sysconf("SC_CLK_TCK")
        busy = (user + nice + system + irq + softirq) * tick
        return MachineTimes(busy, steal * tick, max(cpus, 1), tick)


@dataclass(frozen=True)
class Neighbours:
    """What else the machine did during a run, in cores (seconds per wall second)."""

    other_work: float
    steal: float

    @staticmethod
    def during(
        before: MachineTimes | None, after: MachineTimes | None, own_cpu: float, wall: float
    ) -> Neighbours | None:
        """From the machine's times around a run, this process's CPU seconds in it and its wall
        seconds; None without the machine's times or for a run too short to tell (its reading
        could be off by more than ``NEIGHBOURS_RESOLUTION_CORES``). Never below 0: the ticks are
        coarse."""
        if before is None or after is None or wall <= 0:
            return None
        if 2 * after.cpus * after.tick / wall > NEIGHBOURS_RESOLUTION_CORES:
            return None
        other = max(0.0, after.busy - before.busy - own_cpu)
        return Neighbours(other / wall, max(0.0, after.steal - before.steal) / wall)


def measure(
    city: str, months: int, seed: int, arm: str, resident_agents: bool, repeat: int
) -> dict[str, object]:
    """Build and run one city under one arm ``repeat`` times: median and best, CPU and wall.

    On a shared machine, the median of CPU times is the steady figure; the best run says what
    the code does undisturbed, the wall times what a user waits.
    """
    builds, runs, run_walls, build_walls = [], [], [], []
    neighbours: list[Neighbours | None] = []
    for _ in range(repeat):
        started, started_wall = time.process_time(), time.perf_counter()
        mechanism = make_mechanism(arm, **ARM_PARAMS.get(arm, {}))
        model = CityModel(
            city, seed=seed, months=months, mechanism=mechanism, resident_agents=resident_agents
        )
        machine_before = MachineTimes.read()
        built, built_wall = time.process_time(), time.perf_counter()
        model.run()
        builds.append(built - started)
        build_walls.append(built_wall - started_wall)
        runs.append(time.process_time() - built)
        run_walls.append(time.perf_counter() - built_wall)
        neighbours.append(
            Neighbours.during(machine_before, MachineTimes.read(), runs[-1], run_walls[-1])
        )
        residents, actions = model.population.n, len(model.actions)
        del model
        # A model with Resident agents is cyclic garbage: collected here, untimed, so that the
        # next build or run does not pay for it.
        gc.collect()
    steps = residents * months
    target = target_for(city, arm)
    median = steps / statistics.median(runs)
    return {
        "arm": arm,
        "resident_agents": resident_agents,
        "residents": residents,
        "months": months,
        "actions": actions,
        "repeats": repeat,
        "resident_steps_per_cpu_second_median": round(median),
        "target": target,
        "meets_target": None if target is None else median >= target,
        "resident_steps_per_cpu_second_best": round(steps / min(runs)),
        "resident_steps_per_wall_second_median": round(steps / statistics.median(run_walls)),
        "build_cpu_seconds": round(statistics.median(builds), 3),
        "build_wall_seconds": round(statistics.median(build_walls), 3),
        "run_cpu_seconds": round(statistics.median(runs), 3),
        "run_wall_seconds": round(statistics.median(run_walls), 3),
        "run_cpu_seconds_each": [round(r, 3) for r in runs],
        "other_work_cores_each": [
            None if n is None else round(n.other_work, 2) for n in neighbours
        ],
        "steal_cores_each": [None if n is None else round(n.steal, 2) for n in neighbours],
        "machine_cpus": os.cpu_count(),
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per arm (the median and the best are reported)"
    )
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
        print(verdict(result), file=sys.stderr, flush=True)
        figures.append(result)
    print(json.dumps({"city": args.city, "arms": figures}))


def target_for(city: str, arm: str) -> int | None:
    """The arm's target in resident-steps per CPU second, or None for a city other than
    ``TARGET_CITY`` (the targets are set for its size)."""
    if city != TARGET_CITY:
        return None
    return STATUS_QUO_TARGET if arm == "status_quo" else TARGET


def verdict(result: dict[str, Any]) -> str:
    """One line for a reader: the arm's median against its target, and the other work seen."""
    median, target = result["resident_steps_per_cpu_second_median"], result["target"]
    line = f"{result['arm']}: {median / 1e6:.1f} M resident-steps per CPU s (median)"
    if target is not None:
        met = "met" if result["meets_target"] else "NOT met"
        line += f", target {target / 1e6:.0f} M {met}"
    others = [cores for cores in result["other_work_cores_each"] if cores is not None]
    if others:
        line += f"; other work on the machine meanwhile: {max(others):.2f} cores at most"
    return line


if __name__ == "__main__":
    main()
