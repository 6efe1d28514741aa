"""Benchmark: CPU cost of a contract-terms sweep against one point of it.

Runs ``sim run`` on a scenario with a sweep (by default the shipped contract-terms sweep), then on
the same scenario reduced to its first sweep point (every swept path given its first value only),
each into a fresh temporary database, and measures the CPU seconds (user + system) of each whole
command, worker processes included, with ``resource.getrusage(RUSAGE_CHILDREN)``. Prints one JSON
object per command, then on its last line the ratio sweep / one point.

Target (issue 11): a sweep that only changes settlement terms costs at most 1.5 x one point,
whatever its number of points (each replication is simulated once and re-settled at every point).

    python benchmarks/bench_settlement_sweep.py [scenarios/cis_terms_sweep.toml]
        [--repeat 1]

Runs use the serial executor: every CPU second is then spent in the measured command. With local
worker processes the workers are children of a fork server that the command does not wait for, so
``RUSAGE_CHILDREN`` (and ``time``) would miss their CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "cis_terms_sweep.toml"


def one_point_text(text: str) -> tuple[str, int]:
    """The scenario text with every swept path reduced to its first value, and the number of
    points of the full sweep."""
    data = tomllib.loads(text)
    grid = data.get("sweep", {}).get("grid")
    if not grid:
        raise SystemExit("the scenario needs a [sweep.grid]")
    head = text[: text.index("[sweep]")]
    lines = ["[sweep]", 'method = "grid"', "", "[sweep.grid]"]
    points = 1
    for path, values in grid.items():
        lines.append(f'"{path}" = [{json.dumps(values[0])}]')
        points *= len(values)
    return head + "\n".join(lines) + "\n", points


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU seconds of a command and every process it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(scenario: Path, executor: str, folder: Path, label: str) -> dict[str, object]:
    """CPU seconds of one ``sim run`` of ``scenario`` into a fresh database."""
    sim = shutil.which("sim", path=str(Path(sys.executable).parent)) or "sim"
    db = folder / f"{label}.db"
    command = [sim, "run", str(scenario), "--db", str(db), "--no-progress", "--executor", executor]
    seconds = cpu_seconds(command)
    return {"run": label, "executor": executor, "cpu_seconds": round(seconds, 2)}


def main() -> None:
    """Measure the whole sweep and its first point; print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=1, help="keep the lowest of N runs")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    scenario = Path(args.scenario)
    text, points = one_point_text(scenario.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        single = folder / "one_point.toml"
        single.write_text(text, encoding="utf-8")
        # Relative city paths resolve from the scenario's folder.
        if str(tomllib.loads(text).get("city", {}).get("source", "")).endswith(".csv"):
            single = scenario.parent / f".one_point_{os.getpid()}.toml"
            single.write_text(text, encoding="utf-8")
        try:
            best: dict[str, dict[str, object]] = {}
            for attempt in range(args.repeat):
                for label, path in (("sweep", scenario), ("one_point", single)):
                    result = measure(path, "serial", folder, f"{label}_{attempt}")
                    result["run"] = label
                    known = best.get(label)
                    if known is None or float(str(result["cpu_seconds"])) < float(
                        str(known["cpu_seconds"])
                    ):
                        best[label] = result
        finally:
            if single.parent != folder:
                single.unlink(missing_ok=True)
    for result in best.values():
        print(json.dumps(result))
    sweep = float(str(best["sweep"]["cpu_seconds"]))
    one = float(str(best["one_point"]["cpu_seconds"]))
    print(
        json.dumps(
            {
                "scenario": scenario.name,
                "points": points,
                "sweep_cpu_seconds": sweep,
                "one_point_cpu_seconds": one,
                "ratio": round(sweep / one, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
