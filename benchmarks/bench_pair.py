"""Benchmark: the month loop of two versions of the code, in lockstep, month by month.

On a shared machine the CPU time of a whole run swings by a fifth from one run to the next, so
two versions timed one after the other differ by the machine's phase as much as by the code.
Here each version runs in its own process (``before``: a git revision of this repository,
exported to a temporary directory; ``after``: this working tree), both build the same city with
the same seed, and this process asks them to step one month each in turn (the first to step
alternates every month). Each month's CPU time is paired with the other version's, taken
moments apart. Both run on one core (one at a time): each on its own core, their speeds differed
by up to 16 % with identical code. The version built second also steps about 2 % faster
(measured with identical code), so each arm runs ``--repeat`` times, each version built first in
turn. Prints one JSON object per run: CPU seconds of each version, their ratio, the median
paired difference (ms a month), in how many months the working tree was faster, and whether
both ended in the same state (a hash of every resident's outcomes and the series); then one
per arm with the geometric mean of the ratios.

    python benchmarks/bench_pair.py --before d5cbd70 --arms call_for_projects,planned
    python benchmarks/bench_pair.py --before HEAD --city demo --months 24

``--before HEAD`` against an unchanged working tree is the control: what identical code shows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Budgets sized for a city of 260,000 working-age residents (illustrative), as bench_city.
ARM_PARAMS = {
    "planned": {"budget_eur_per_year": 8_000_000.0},
    "call_for_projects": {"budget_eur_per_year": 8_000_000.0},
}

#: What each version's process runs: build the model, then one month per "step" line read,
#: answering with its CPU seconds; "end" answers with the hash of the final state.
STEPPER = """
import gc, hashlib, json, sys, time
import sim
from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel
city, seed, months, arm, params = json.loads(sys.argv[1])
model = CityModel(city, seed=seed, months=months, mechanism=make_mechanism(arm, **params),
                  resident_agents=False)
gc.collect()
gc.freeze()  # as a run does: the collector's passes skip what was built
print("ready", sim.__file__, flush=True)
for line in sys.stdin:
    if line.strip() == "end":
        pop, digest = model.population, hashlib.sha256()
        for name in ("employed", "public_cost_eur", "rsa_claimed", "french"):
            digest.update(getattr(pop, name).tobytes())
        for name in sorted(model.series):
            digest.update(model.series[name].tobytes())
        print(digest.hexdigest()[:16], flush=True)
        break
    started = time.process_time()
    model.step()
    print(time.process_time() - started, flush=True)
"""


def export_revision(revision: str, into: Path) -> Path:
    """The ``sim`` package of ``revision`` of this repository, written under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "sim"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


class Version:
    """One version's stepping process (its ``sim`` found on ``path``)."""

    def __init__(self, path: Path, setup: list[object]) -> None:
        env = dict(os.environ, PYTHONPATH=str(path), OMP_NUM_THREADS="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", STEPPER, json.dumps(setup)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=path,  # python -c looks in its working directory first
        )
        _share_one_core(self.process.pid)
        #: Where this version's package was found ("ready" and its path: built).
        self.found = self._read().split(maxsplit=1)[1]

    def step(self) -> float:
        """Step one month; its CPU seconds."""
        return float(self._ask("step"))

    def end(self) -> str:
        """The hash of the final state; the process ends."""
        digest = self._ask("end")
        self.process.communicate()  # closes its pipes
        return digest

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a version's process ended early (exit {self.process.wait()})")
        return line.strip()


def _share_one_core(pid: int) -> None:
    """Run ``pid`` on this process's first core: both versions then step on the same core (one
    at a time), not each on its own, whose speed and neighbours on a virtual machine differ."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {min(os.sched_getaffinity(0))})


def compare(
    arm: str, before: Path, after: Path, before_built_first: bool, args: argparse.Namespace
) -> dict[str, object]:
    """Step both versions of one arm in lockstep; their paired monthly CPU times."""
    setup = [args.city, args.seed, args.months, arm, ARM_PARAMS.get(arm, {})]
    if before_built_first:
        old = Version(before, setup)
        new = Version(after, setup)
    else:
        new = Version(after, setup)
        old = Version(before, setup)
    for version, path in ((old, before), (new, after)):
        if not Path(version.found).is_relative_to(path):
            raise RuntimeError(f"a version's sim came from {version.found}, not from {path}")
    old_ms, new_ms = [], []
    for month in range(args.months):
        if month % 2:  # each steps first every other month
            new_ms.append(new.step() * 1e3)
            old_ms.append(old.step() * 1e3)
        else:
            old_ms.append(old.step() * 1e3)
            new_ms.append(new.step() * 1e3)
    differences = [n - o for n, o in zip(new_ms, old_ms, strict=True)]
    return {
        "arm": arm,
        "months": args.months,
        "before_cpu_seconds": round(sum(old_ms) / 1e3, 3),
        "after_cpu_seconds": round(sum(new_ms) / 1e3, 3),
        "after_over_before": round(sum(new_ms) / sum(old_ms), 3),
        "median_difference_ms_per_month": round(statistics.median(differences), 3),
        "months_after_faster": sum(d < 0 for d in differences),
        "before_built_first": before_built_first,
        "same_final_state": old.end() == new.end(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--city", default="bordeaux_scale")
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--arms", default="call_for_projects,planned")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per arm, built first in turn (default 2)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        before = export_revision(args.before, Path(scratch))
        for arm in args.arms.split(","):
            runs = [compare(arm, before, REPO, r % 2 == 0, args) for r in range(args.repeat)]
            for run in runs:
                print(json.dumps(run), flush=True)
            print(json.dumps(summary(arm, runs)), flush=True)


def summary(arm: str, runs: list[dict[str, object]]) -> dict[str, object]:
    """The runs of one arm together: the geometric mean of their ratios, in which the build
    order's bias cancels when as many runs built each version first."""
    ratios = [float(str(run["after_over_before"])) for run in runs]
    return {
        "arm": arm,
        "runs": len(runs),
        "after_over_before_geometric_mean": round(statistics.geometric_mean(ratios), 3),
        "after_over_before": ratios,
        "same_final_state": all(run["same_final_state"] for run in runs),
    }


if __name__ == "__main__":
    main()
