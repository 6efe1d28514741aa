"""Benchmark: batch throughput (runs per minute), serial against 2 local worker processes.

Runs the same batch (the demo scenario's three arms and their twins, 48 replications: 192 runs,
a realistic size on which the second it takes to start the workers weighs little) into a fresh
temporary SQLite database with each executor, and prints one JSON object per executor, then on
its last line a JSON object with both figures and the speed-up.
Target (issue 5): a speed-up of at least 1.7 with 2 workers.

    python benchmarks/bench_batch.py [--replications 48] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sim.experiments.batch import make_executor, run_batch  # noqa: E402
from sim.experiments.scenario import load_scenario, scenario_from_dict  # noqa: E402
from sim.experiments.store import ResultStore  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.toml"


def measure(executor: str, workers: int, replications: int, folder: Path) -> dict[str, object]:
    """Run the batch once with one executor; return runs per minute."""
    base = load_scenario(DEMO)
    scenario = scenario_from_dict(
        {
            "name": f"bench_{executor}",
            "months": base.months,
            "replications": replications,
            "seed": base.seed,
            "city": {"source": "demo"},
            "arms": {a.name: {"mechanism": a.mechanism, **a.params} for a in base.arms},
        }
    )
    started = time.perf_counter()
    with ResultStore(str(folder / f"{executor}.db")) as store:
        summary = run_batch(scenario, store, make_executor(executor, workers), progress=False)
    seconds = time.perf_counter() - started
    return {
        "executor": executor,
        "workers": 1 if executor == "serial" else workers,
        "runs": summary.ran_now,
        "failed": summary.failed,
        "seconds": round(seconds, 2),
        "runs_per_minute": round(60 * summary.ran_now / seconds, 1),
    }


def main() -> None:
    """Measure serial, then processes, and print the speed-up."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replications", type=int, default=48)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        serial = measure("serial", 1, args.replications, Path(tmp))
        print(json.dumps(serial), flush=True)
        parallel = measure("processes", args.workers, args.replications, Path(tmp))
        print(json.dumps(parallel), flush=True)
    speedup = parallel["runs_per_minute"] / serial["runs_per_minute"]  # type: ignore[operator]
    print(
        json.dumps(
            {
                "serial_runs_per_minute": serial["runs_per_minute"],
                "processes_runs_per_minute": parallel["runs_per_minute"],
                "workers": args.workers,
                "speedup": round(speedup, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
