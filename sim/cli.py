"""The ``sim`` command line: run scenario batches, list and compare them, run one city."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_at_start(_signum: int, _frame: object) -> None:
    """Ctrl-C while the command is still loading: nothing was started, nothing to keep."""
    os.write(2, b"\nInterrupted while starting; nothing was run.\n")
    os._exit(130)


if (__name__ == "__main__" or os.path.basename(sys.argv[0]) == "sim") and (
    signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    # The command line, not an import: quiet Ctrl-C from the first line until main() takes over
    # (a Ctrl-C ignored by whoever started the command, as with nohup, stays ignored).
    signal.signal(signal.SIGINT, _interrupted_at_start)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TextIO  # noqa: E402

from sim.errors import EnvironmentFault, UserInputError, neutralise, one_line  # noqa: E402

EXAMPLES = """examples:
  sim validate scenarios/demo.toml          check a scenario file without running it
  sim run scenarios/demo.toml               run it on every core into results/demo.db
  sim run scenarios/demo.toml --executor dask --workers 4
  sim list --db results/demo.db             batches stored in a database
  sim compare results/demo.db               arms side by side with 95 % intervals
  sim report results/demo.db --lang fr      an HTML report with figures, in French
  sim demo --city bordeaux --months 120     one status-quo run of a city, summarised
  sim dashboard results/demo.db             the workshop page in the browser (127.0.0.1:8765)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="sim",
        description="Compare ways a city funds social action: planned programme, call for "
        "projects, social impact contract.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sim {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text.replace("%", "%%"),
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command(
        "run",
        "run a scenario batch into a results database",
        "sim run scenarios/demo.toml --executor processes --workers 2",
    )
    run.add_argument("file", help="scenario file (TOML)")
    run.add_argument("--db", help="SQLAlchemy URL or SQLite path (default results/<name>.db)")
    run.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="processes",
        help="where runs execute (default: local processes)",
    )
    run.add_argument("--workers", type=int, default=None, help="workers (default: all cores)")
    run.add_argument("--scheduler", help="address of a Dask scheduler (with --executor dask)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    validate = command(
        "validate",
        "check a scenario file and say what it would run",
        "sim validate scenarios/demo.toml",
    )
    validate.add_argument("file", help="scenario file (TOML)")

    listing = command(
        "list", "list the batches of a results database", "sim list --db results/demo.db"
    )
    listing.add_argument(
        "--db", default=None, help="SQLAlchemy URL or SQLite path (default: every results/*.db)"
    )

    compare = command(
        "compare",
        "arms side by side with 95 % intervals against the status quo",
        "sim compare results/demo.db --format csv",
    )
    compare.add_argument("db", help="SQLAlchemy URL or SQLite path")
    compare.add_argument("--batch", type=int, default=None, help="batch id (default: latest)")
    compare.add_argument(
        "--point", type=int, default=None, help="sweep point (default: all, one table each)"
    )
    compare.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for people (default), csv or json for other tools",
    )

    report = command(
        "report",
        "write an HTML report of a batch, with its figures (en or fr)",
        "sim report results/demo.db --lang fr --out results/demo_report",
    )
    report.add_argument("db", help="SQLAlchemy URL or SQLite path")
    report.add_argument("--batch", type=int, default=None, help="batch id (default: the latest)")
    report.add_argument(
        "--lang", choices=("en", "fr"), default="en", help="language: en (default) or fr"
    )
    report.add_argument(
        "--out", default=None, help="output folder (default: <db name>_report beside the database)"
    )

    demo = command(
        "demo",
        "run one simulation of a city (status quo) and print a summary",
        "sim demo --city demo --months 60 --seed 1",
    )
    demo.add_argument("--city", default="demo", help="built-in city (demo, bordeaux) or CSV path")
    demo.add_argument("--months", type=int, default=60, help="months to simulate (default 60)")
    demo.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")

    dashboard = command(
        "dashboard",
        "the workshop page: compare arms, move a contract's terms, watch a city live",
        "sim dashboard results/demo.db --port 8765",
    )
    dashboard.add_argument(
        "db", nargs="?", default=None, help="results database, opened read-only (SQLite path)"
    )
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback)"
    )
    dashboard.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sim")
    except metadata.PackageNotFoundError:
        return "unknown"


#: Exit codes: all done, some runs failed, a mistake in the input, the environment stopped the
#: command (disk full, read-only database, batch run by another process), interrupted.
EXIT_OK, EXIT_FAILED_RUNS, EXIT_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def console() -> None:
    """The ``sim`` console script: ``main``, then an exit that a late Ctrl-C cannot turn into a
    traceback (the command is over; only the interpreter's clean-up is left)."""
    code = main()
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code == EXIT_INTERRUPTED:
        # CPython reports an exit by SIGINT (-2) when the interrupt landed in code it ran through
        # its C API (an extension's import), even though it was handled: exit with 130 now that
        # the store is closed and the workers stopped.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` command: the command's exit code, never a traceback for bad
    input, a fault of the environment or Ctrl-C."""
    if signal.getsignal(signal.SIGINT) is _interrupted_at_start:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _say(
            "\nInterrupted while starting: no new run was stored. Running the same command "
            "again starts the batch (or resumes it).",
            sys.stderr,
        )
        return EXIT_INTERRUPTED


def _say(text: str, stream: TextIO | None = None) -> None:
    """Print text that may hold user strings, control characters made visible."""
    print(neutralise(text), file=stream or sys.stdout)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handlers = {
        "run": _run,
        "validate": _validate,
        "list": _list,
        "compare": _compare,
        "report": _report,
        "demo": _demo,
        "dashboard": _dashboard,
    }
    try:
        return handlers[args.command](args)
    except UserInputError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_INPUT
    except EnvironmentFault as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ENVIRONMENT


def _run(args: argparse.Namespace) -> int:
    from sim.experiments.batch import make_executor, run_batch
    from sim.experiments.scenario import load_scenario
    from sim.experiments.store import ResultStore, default_db_path, mask_password

    scenario = load_scenario(args.file)
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers: expected a positive number, got {args.workers}")
    db = args.db or default_db_path(scenario.name)
    command = _rerun_command(args, db)
    shown_db = mask_password(db)
    with ResultStore(db) as store:
        executor = make_executor(args.executor, args.workers, args.scheduler)
        _say(
            f"Scenario '{scenario.name}': {scenario.run_count()} runs "
            f"({len(scenario.points())} point(s) x {scenario.replications} replication(s) x "
            f"{len(scenario.arms) + 1} arms, status quo included) into {store.url}"
        )
        summary = run_batch(scenario, store, executor, progress=not args.no_progress)
    if summary.interrupted:
        _say(
            f"Interrupted. Batch {summary.batch_id}: {summary.ran_now} run(s) stored now, "
            f"{summary.already_done} before, {summary.failed} failed; every finished run is "
            f"kept. To resume, run again:\n  {command}"
        )
        return 130
    _say(
        f"Batch {summary.batch_id}: {summary.ran_now} run(s) now, {summary.already_done} "
        f"already stored, {summary.failed} failed, in {summary.seconds:.1f} s."
    )
    if summary.failed:
        _say(
            f"{summary.failed} run(s) failed; their errors are stored (sim list --db "
            f"{shown_db}). Rerunning the same command retries them:\n  {command}"
        )
        return EXIT_FAILED_RUNS
    _say(f"Compare the arms: sim compare {shown_db}")
    return EXIT_OK


def _rerun_command(args: argparse.Namespace, db: str) -> str:
    """The command that resumes a batch (a database password shown as ***)."""
    from sim.experiments.store import mask_password

    parts = ["sim", "run", args.file, "--db", mask_password(db), "--executor", args.executor]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    return " ".join(parts)


def _validate(args: argparse.Namespace) -> int:
    from sim.experiments.scenario import load_scenario, memory_estimate

    scenario = load_scenario(args.file)
    arms = ", ".join(f"{a.name} ({a.mechanism})" for a in scenario.arms)
    follow_up = (
        f" + {scenario.follow_up_months} months of follow-up" if scenario.follow_up_months else ""
    )
    _say(f"{args.file}: valid.")
    _say(
        f"  scenario '{scenario.name}': city {scenario.city.describe()}, {scenario.months} "
        f"months{follow_up}, {scenario.replications} replication(s), root seed {scenario.seed}"
    )
    _say(f"  arms: status_quo (twin), {arms}")
    if scenario.sweep is not None:
        _say(f"  sweep: {scenario.sweep.method}, {len(scenario.points())} point(s)")
    _say(f"  {scenario.run_count()} runs in all")
    _say(f"  memory: {memory_estimate(scenario).describe()}, one run per worker at a time")
    return 0


def _list(args: argparse.Namespace) -> int:
    from sim.experiments.store import ResultStore, require_existing

    if args.db:
        require_existing(args.db)
    databases = [args.db] if args.db else sorted(str(p) for p in Path("results").glob("*.db"))
    if not databases:
        print("No results database found under results/ (use --db).")
        return 0
    for db in databases:
        with ResultStore(db, read_only=True) as store:
            batches = store.batches()
            _say(f"{store.url}:")
            if batches.empty:
                _say("  (no batch)")
            for row in batches.itertuples():
                runs = store.runs(int(row.id))
                failed = runs[runs["status"] == "failed"]
                status = store.shown_status(int(row.id), str(row.status))
                if status != row.status:
                    status += " (its process ended without closing it; run it again to resume)"
                _say(
                    f"  batch {row.id} '{row.name}': {len(runs) - len(failed)}/"
                    f"{row.planned_runs} runs done, {len(failed)} failed, {status}, "
                    f"started {row.created_at}"
                )
                for run in failed.head(5).itertuples():
                    last = str(run.error).strip().splitlines()[-1] if run.error else ""
                    _say(f"    failed {run.run_key}: {one_line(last, 300)}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from sim.experiments.store import ResultStore, require_existing
    from sim.reading.analysis import compare_arms, comparison_table

    require_existing(args.db)
    with ResultStore(args.db, read_only=True) as store:
        batch = store.batch_id(args.batch)
        metrics = store.metrics(batch)
        if metrics.empty:
            raise UserInputError(f"{args.db}: batch {batch} has no run (see sim list)")
        points = store.runs(batch).drop_duplicates("point").set_index("point")["point_values"]
    comparison = compare_arms(metrics)
    if comparison.empty:
        raise UserInputError(
            f"{args.db}: batch {batch} has no finished arm run to compare (see sim list)"
        )
    if args.point is not None:
        if args.point not in set(comparison["point"]):
            raise UserInputError(
                f"--point: expected one of the batch's sweep points "
                f"{sorted(set(comparison['point']))}, got {args.point}"
            )
        comparison = comparison[comparison["point"] == args.point]
    if args.format == "csv":
        _say(comparison.to_csv(index=False).rstrip("\n"))
    elif args.format == "json":
        print(json.dumps(comparison.to_dict(orient="records"), indent=1, default=str))
    else:
        for point in sorted(comparison["point"].unique()):
            values = points.get(point, "{}")
            heading = (
                f"Sweep point {point}: {values}"
                if values not in ("{}", None)
                else "Arms compared with the status quo"
            )
            _say(f"{heading} (mean over replications [95 % interval])")
            _say(comparison_table(comparison, int(point)).to_string())
            print()
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.reading.report import default_out_dir, write_report

    path = write_report(
        args.db, args.out or default_out_dir(args.db), batch=args.batch, lang=args.lang
    )
    _say(f"Report written to {path} (figures as PNG and SVG in {path.parent / 'figures'})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from sim.experiments.feasibility import (
        MAX_MONTHS,
        check_residents,
        estimate_memory,
    )
    from sim.simulation.model import CityModel
    from sim.world.territory import load_city

    if not 1 <= args.months <= MAX_MONTHS:
        raise UserInputError(
            f"--months: expected a number of months in [1, {MAX_MONTHS}], got {args.months}"
        )
    city = load_city(args.city)
    check_residents(city, args.city)
    estimate = estimate_memory(city.population, {})
    if not estimate.fits:
        raise UserInputError(
            f"--city: {city.population:,} residents need {estimate.describe()}; expected a "
            "city whose run fits in memory"
        )
    started = time.perf_counter()
    model = CityModel(city, seed=args.seed, months=args.months, resident_agents=False)
    model.run()
    elapsed = time.perf_counter() - started
    _say(format_run_summary(model.summary(), elapsed))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from sim.dashboard.server import serve

    if not 0 < args.port < 65536:
        raise UserInputError(f"--port: expected a port between 1 and 65535, got {args.port}")
    return serve(args.db, host=args.host, port=args.port)


def format_run_summary(summary: dict[str, object], elapsed_seconds: float) -> str:
    """A readable summary of one run (no programme: the status quo)."""
    s = summary
    lines = [
        f"City '{s['city']}': {s['residents']:,} working-age residents in "
        f"{s['territories']} micro-territories, {s['months']} months (status quo).",
        f"  Unemployment rate       {s['unemployment_rate_start']:.1%} at the start, "
        f"{s['unemployment_rate_end']:.1%} at the end",
        f"  Jobs held 6 months      {s['sustained_jobs']:,} (a resident can hold several)",
        f"  Reached French A1       {s['reached_a1']:,} residents",
        f"  RSA claimers at the end {s['rsa_claimers_end']:,} "
        f"(non-take-up {s['rsa_non_take_up_end']:.0%})",
        f"  Public cost             EUR {s['public_cost_eur']:,.0f} "
        "(unemployment insurance, RSA, support)",
        f"Simulated in {elapsed_seconds:.1f} s.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    console()
