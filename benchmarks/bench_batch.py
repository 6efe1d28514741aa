"""Benchmark: batch throughput, in three measures.

``speedup`` (the default): runs per minute of the same batch (the demo scenario's three arms and
their twins, 48 replications: 192 runs, a realistic size on which the second it takes to start the
workers weighs little) into a fresh temporary SQLite database, serial then with 2 local worker
processes; one JSON object per executor, then one with both figures and the speed-up.
Target (issue 5): a speed-up of at least 1.7 with 2 workers.

``cpu``: CPU seconds (user + system) of the whole process tree of one batch per executor (the
batch runs in a child process; this process adopts every orphaned descendant, fork server and
Dask nannies included, and waits for all of them, so that ``RUSAGE_CHILDREN`` counts them all),
and runs per CPU-hour. CPU time rather than wall time: the machine is shared. The last line
compares each executor with local processes. ``--rounds N`` runs the executors N times each,
every other round in reverse order (processes, dask, dask, processes, ...), and compares them
by the median of the rounds' ratios: the same batch's CPU time swings by a tenth from one run
to the next on a shared machine, more than the difference between executors.

``memory``: resident memory of one worker process (this benchmark's child, running the tasks of
the scenario one after the other as a worker does) after its first task and after every later
one, until it has run ``--runs`` runs; and its peak so far (within the tasks).

    python benchmarks/bench_batch.py [--replications 48] [--workers 2]
    python benchmarks/bench_batch.py cpu --scenario scenarios/bordeaux_comparison.toml \\
        --replications 2 --executors processes,dask --rounds 4
    python benchmarks/bench_batch.py memory --scenario scenarios/bordeaux_comparison.toml --runs 50
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from sim.experiments.batch import (  # noqa: E402
    execute_task,
    make_executor,
    prepare_worker,
    run_batch,
)
from sim.experiments.scenario import Scenario, load_scenario  # noqa: E402

# The store (and SQLAlchemy) is imported where a batch runs, not here: every worker process
# runs this script's top level again as it starts (multiprocessing does so with the main module,
# under Dask too), and importing SQLAlchemy there cost each worker about 0.4 CPU seconds that
# `sim run` does not pay (its workers never touch the store).

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DEMO = SCENARIOS / "demo.toml"
#: prctl option: orphaned descendants are re-parented to this process rather than to init.
PR_SET_CHILD_SUBREAPER = 36


# ---------------------------------------------------------------------------- speed-up
def measure(executor: str, workers: int, replications: int, folder: Path) -> dict[str, object]:
    """Run the demo batch once with one executor; return runs per minute. The demo scenario as
    it is (its months, follow-up, city and arms), with ``replications`` replications."""
    from sim.experiments.store import ResultStore

    scenario = dataclasses.replace(shrunk(str(DEMO), replications), name=f"bench_{executor}")
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


def speedup(args: argparse.Namespace) -> None:
    """Measure serial, then processes, and print the speed-up."""
    with tempfile.TemporaryDirectory() as tmp:
        serial = measure("serial", 1, args.replications, Path(tmp))
        print(json.dumps(serial), flush=True)
        parallel = measure("processes", args.workers, args.replications, Path(tmp))
        print(json.dumps(parallel), flush=True)
    ratio = parallel["runs_per_minute"] / serial["runs_per_minute"]  # type: ignore[operator]
    print(
        json.dumps(
            {
                "serial_runs_per_minute": serial["runs_per_minute"],
                "processes_runs_per_minute": parallel["runs_per_minute"],
                "workers": args.workers,
                "speedup": round(ratio, 2),
            }
        )
    )


# ---------------------------------------------------------------------------- CPU per executor
def shrunk(path: str, replications: int | None) -> Scenario:
    """The scenario of ``path``, with ``replications`` replications if given."""
    scenario = load_scenario(path)
    if replications is None:
        return scenario
    return dataclasses.replace(scenario, replications=replications, auto_replications=None)


def one_batch(args: argparse.Namespace) -> None:
    """(In the child process) run one batch and print what it did."""
    from sim.experiments.store import ResultStore

    scenario = shrunk(args.scenario, args.replications)
    with tempfile.TemporaryDirectory() as tmp, ResultStore(str(Path(tmp) / "b.db")) as store:
        executor = make_executor(args.executor, args.workers)
        summary = run_batch(scenario, store, executor, progress=False)
    print(json.dumps({"runs": summary.ran_now, "failed": summary.failed}), flush=True)


def adopt_orphans() -> bool:
    """Make this process the subreaper of its descendants (Linux), so that a worker whose parent
    ended before it is still waited for, and counted, here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reap_descendants(timeout: float = 120.0) -> None:
    """Wait for every remaining descendant (adopted orphans), so their CPU is counted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def cpu_of_batch(args: argparse.Namespace, executor: str) -> dict[str, Any]:
    """CPU seconds of a batch run with ``executor`` in a child process and all its
    descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, __file__, "one-batch", "--scenario", args.scenario]
    command += ["--executor", executor, "--workers", str(args.workers)]
    if args.replications is not None:
        command += ["--replications", str(args.replications)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    reap_descendants()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"the {executor} batch failed:\n{out.stderr}")
    done = json.loads(out.stdout.strip().splitlines()[-1])
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    cpu = user + system
    return {
        "executor": executor,
        "workers": 1 if executor == "serial" else args.workers,
        "runs": done["runs"],
        "failed": done["failed"],
        "cpu_seconds": round(cpu, 1),
        "user_seconds": round(user, 1),
        "system_seconds": round(system, 1),
        "minor_page_faults": after.ru_minflt - before.ru_minflt,
        "wall_seconds": round(seconds, 1),
        "runs_per_cpu_hour": round(3600 * done["runs"] / cpu, 1),
    }


def cpu(args: argparse.Namespace) -> None:
    """CPU of the same batch with each executor, and each against local processes."""
    if not adopt_orphans():
        print("warning: cannot adopt orphans here; workers may be missed", file=sys.stderr)
    names = list(dict.fromkeys(args.executors.split(",")))
    figures: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        # Every other round in reverse order: a machine getting faster or slower during the
        # rounds weighs on each executor alike.
        for executor in names if round_ % 2 == 0 else names[::-1]:
            batch = cpu_of_batch(args, executor)
            if args.rounds > 1:
                batch["round"] = round_ + 1
            figures[executor].append(batch)
            print(json.dumps(batch), flush=True)
    print(json.dumps(cpu_summary(Path(args.scenario).name, args.replications, figures)))


def cpu_summary(
    scenario: str, replications: int | None, figures: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Runs per CPU-hour of each executor (median of its rounds) and, with local processes
    among them, each executor's CPU against theirs: the median of the rounds' ratios (each
    round's batch against the same round's processes batch), and every ratio when there are
    several rounds."""
    summary: dict[str, Any] = {
        "scenario": scenario,
        "replications": replications,
        "runs_per_cpu_hour": {
            name: round(statistics.median(f["runs_per_cpu_hour"] for f in batches), 1)
            for name, batches in figures.items()
        },
    }
    if "processes" in figures:
        ratios = {
            name: [
                round(f["cpu_seconds"] / base["cpu_seconds"], 3)
                for f, base in zip(batches, figures["processes"], strict=True)
            ]
            for name, batches in figures.items()
        }
        summary["cpu_against_processes"] = {
            name: round(statistics.median(values), 3) for name, values in ratios.items()
        }
        if len(figures["processes"]) > 1:
            summary["rounds"] = len(figures["processes"])
            summary["cpu_against_processes_by_round"] = ratios
    return summary


# ---------------------------------------------------------------------------- worker memory
def resident_mib(field: str = "VmRSS") -> float:
    """This process's resident set size (Linux), MiB; ``VmHWM``: its peak so far."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker_loop(args: argparse.Namespace) -> None:
    """(In the child process) set up as a worker, then run tasks as a worker does until
    ``--runs`` runs are done, printing the resident memory after each task. The first task is
    the first twin alone: the memory after one run."""
    prepare_worker(os.getppid(), "", False)
    per_replication = sum(len(task.keys) for task in shrunk(args.scenario, 1).expand())
    tasks = shrunk(args.scenario, -(-args.runs // per_replication)).expand()
    first = dataclasses.replace(tasks[0], twin_records=tasks[0].twin_records[:1], arms=())
    runs = 0
    for task in [first, *tasks]:
        results = execute_task(task)
        runs += len(results)
        failed = sum(r.status != "done" for r in results)
        del results
        rss, peak = round(resident_mib(), 1), round(resident_mib("VmHWM"), 1)
        print(json.dumps({"runs": runs, "failed": failed, "rss_mib": rss, "peak_rss_mib": peak}))
        sys.stdout.flush()
        if runs >= args.runs:
            break


def memory(args: argparse.Namespace) -> None:
    """Resident memory of one worker after its first task and after ``--runs`` runs."""
    command = [sys.executable, __file__, "worker-loop", "--scenario", args.scenario]
    command += ["--runs", str(args.runs)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the worker failed:\n{out.stderr}")
    points = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for point in points:
        print(json.dumps(point), flush=True)
    first, last = points[0], points[-1]
    replication = points[1]
    print(
        json.dumps(
            {
                "scenario": Path(args.scenario).name,
                "rss_mib_after_1_run": first["rss_mib"],
                f"rss_mib_after_{replication['runs']}_runs": replication["rss_mib"],
                f"rss_mib_after_{last['runs']}_runs": last["rss_mib"],
                "growth_from_1_run": round(last["rss_mib"] / first["rss_mib"] - 1.0, 3),
                "growth_from_first_replication": round(
                    last["rss_mib"] / replication["rss_mib"] - 1.0, 3
                ),
                "peak_rss_mib": last["peak_rss_mib"],
                "failed": sum(p["failed"] for p in points),
            }
        )
    )


def main() -> None:
    """Parse the command line and run one measure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "measure",
        nargs="?",
        default="speedup",
        choices=("speedup", "cpu", "memory", "one-batch", "worker-loop"),
    )
    parser.add_argument("--scenario", default=str(SCENARIOS / "bordeaux_comparison.toml"))
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executors", default="processes,dask")
    parser.add_argument("--rounds", type=int, default=1, help="(cpu) batches per executor")
    parser.add_argument("--executor", default="processes", help="(one-batch)")
    parser.add_argument("--runs", type=int, default=50, help="(memory)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    if args.measure == "speedup":
        args.replications = args.replications or 48
        speedup(args)
    elif args.measure == "cpu":
        cpu(args)
    elif args.measure == "memory":
        memory(args)
    elif args.measure == "one-batch":
        one_batch(args)
    else:
        worker_loop(args)


if __name__ == "__main__":
    main()
