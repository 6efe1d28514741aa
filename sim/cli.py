"""The ``sim`` command line: run scenario batches, list and compare them, run one city."""

from __future__ import annotations

import os
import signal
import sys

from sim import _ctrl_c

if __name__ == "__main__" or _ctrl_c.is_the_sim_command():
    # The command line, not an import (sim/__init__ has done this already, unless started in a
    # way it does not recognise): a Ctrl-C while it loads ends it with one line.
    _ctrl_c.quit_on_ctrl_c()

import argparse
import contextlib
import json
import shlex
import shutil
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from sim.errors import (
    EnvironmentFault,
    UserInputError,
    did_you_mean,
    neutralise,
    one_line,
)

EXAMPLES = """examples:
  sim validate scenarios/demo.toml          check a scenario file without running it
  sim run scenarios/demo.toml               run it on every core into results/demo.db
  sim run scenarios/demo.toml --executor dask --workers 4
  sim list --db results/demo.db             batches stored in a database
  sim compare --db results/demo.db          arms side by side with 95 % intervals
  sim compare --db results/cis_terms_sweep.db --metric npv_eur --by threshold_value
  sim report --db results/demo.db --lang fr an HTML report with figures, in French
  sim try-city --city bordeaux --months 120 one status-quo run of a city, summarised
  sim design-contract --db results/demo.db contract terms that work for the payer and investor
  sim sensitivity scenarios/robustness.toml which assumptions decide the answer (SALib, PRIM)
  sim dashboard results/demo.db             the workshop page in the browser (127.0.0.1:8765)

After `make demo`, call sim as .venv/bin/sim, or activate the environment first
(source .venv/bin/activate).
"""
#: Exit code of a command whose output pipe was closed early (as a shell reports SIGPIPE).
EXIT_PIPE_CLOSED = 141


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
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print only results and errors (no progress, notes or warnings)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, help_text: str, example: str, aliases: Sequence[str] = ()
    ) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            aliases=list(aliases),
            help=help_text.replace("%", "%%"),
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
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
    _database_arguments(compare)
    compare.add_argument("--batch", type=int, default=None, help="batch id (default: latest)")
    compare.add_argument(
        "--point",
        type=int,
        default=None,
        help="one sweep point in detail: every metric, arms side by side (default: every "
        "point in one table)",
    )
    compare.add_argument(
        "--metric",
        action="append",
        default=None,
        metavar="NAME",
        help="metric to show (repeatable; e.g. npv_eur). On a sweep, one metric gives a pivot "
        "by swept parameter",
    )
    compare.add_argument(
        "--by",
        default=None,
        metavar="PARAMETER",
        help="swept parameter whose values are the pivot's columns (a dotted path or its last "
        "part; default: the first swept parameter)",
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
    _database_arguments(report)
    report.add_argument("--batch", type=int, default=None, help="batch id (default: the latest)")
    report.add_argument(
        "--point",
        type=int,
        default=None,
        help="sweep point the detailed table, conclusions and figures show (default: the first)",
    )
    report.add_argument(
        "--lang", choices=("en", "fr"), default="en", help="language: en (default) or fr"
    )
    report.add_argument(
        "--out", default=None, help="output folder (default: <db name>_report beside the database)"
    )

    design = command(
        "design-contract",
        "find contract terms where the payer's NPV, the investor's return and the rule 'repaying "
        "costs less than the service' hold, from a batch's stored contract outcomes",
        "sim design-contract --db results/demo.db --investor-return 0.03 --lang fr",
    )
    _database_arguments(design)
    design.add_argument("--batch", type=int, default=None, help="batch id (default: the latest)")
    design.add_argument("--arm", default=None, help="contract arm (default: the first)")
    design.add_argument("--point", type=int, default=None, help="sweep point (default: first)")
    design.add_argument(
        "--payer-npv-probability",
        type=float,
        default=0.5,
        help="P(payer's NPV > 0) at least this (default 0.5)",
    )
    design.add_argument(
        "--investor-return", type=float, default=0.03, help="investor's target (default 0.03)"
    )
    design.add_argument(
        "--investor-probability",
        type=float,
        default=0.5,
        help="P(investor reaches its target) at least this (default 0.5)",
    )
    design.add_argument(
        "--rule-probability",
        type=float,
        default=1.0,
        help="P(payer's cost < the service's cost) at least this (default 1)",
    )
    design.add_argument("--lang", choices=("en", "fr"), default="en", help="en or fr")
    design.add_argument(
        "--out", default=None, help="folder for the figure and the table (default: beside the db)"
    )

    sensitivity = command(
        "sensitivity",
        "run a scenario's uncertainty design as a batch (resumable), then report Morris or "
        "Sobol indices, feature scores and PRIM boxes, in English or French",
        "sim sensitivity scenarios/robustness.toml --lang fr",
    )
    sensitivity.add_argument("file", help="scenario file (TOML) with [uncertainties]")
    sensitivity.add_argument(
        "--db", help="SQLAlchemy URL or SQLite path (default results/<name>.db)"
    )
    sensitivity.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="processes",
        help="where runs execute (default: local processes)",
    )
    sensitivity.add_argument(
        "--workers", type=int, default=None, help="workers (default: all cores)"
    )
    sensitivity.add_argument(
        "--scheduler", help="address of a Dask scheduler (with --executor dask)"
    )
    sensitivity.add_argument("--no-progress", action="store_true", help="no progress bar")
    sensitivity.add_argument(
        "--outcome",
        action="append",
        default=None,
        help="an outcome, e.g. 'impact_contract - planned: public_spending_eur / "
        "true_additional_employment' (repeatable; default: the scenario's [sensitivity] outcomes)",
    )
    sensitivity.add_argument(
        "--discover",
        action="append",
        default=None,
        help="a condition for PRIM, e.g. 'impact_contract: investor_lost_money > 0.5' "
        "(repeatable; default: the scenario's [sensitivity] discover)",
    )
    sensitivity.add_argument(
        "--lang", choices=("en", "fr"), default="en", help="language: en (default) or fr"
    )
    sensitivity.add_argument(
        "--out", default=None, help="output folder (default: <db name>_sensitivity beside it)"
    )
    sensitivity.add_argument(
        "--ema", default=None, help="also save the batch as EMA Workbench results (.tar.gz)"
    )

    demo = command(
        "try-city",
        "run one simulation of a city (status quo, no batch stored) and print a summary",
        "sim try-city --city demo --months 60 --seed 1",
        aliases=("demo",),
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


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db`` (as every command names the database), and the older positional spelling."""
    parser.add_argument(
        "--db", default=None, help="results database: SQLite path or SQLAlchemy URL"
    )
    parser.add_argument("old_db", nargs="?", default=None, metavar="DB", help=argparse.SUPPRESS)


def _database(args: argparse.Namespace) -> str:
    """The database named by ``--db`` (or, deprecated, as a positional argument)."""
    if args.old_db is not None:
        from sim.experiments.store import mask_password

        shown = mask_password(str(args.old_db))
        if args.db is not None and args.db != args.old_db:
            raise UserInputError(
                f"two databases given: {shown} and --db {mask_password(str(args.db))}"
            )
        _note(
            args,
            f"note: name the database with --db (sim {args.command} --db {shown}); "
            "the form without --db will be removed",
        )
        return str(args.old_db)
    if args.db is None:
        raise UserInputError(f"sim {args.command}: give the results database with --db PATH")
    return str(args.db)


def _note(args: argparse.Namespace, text: str) -> None:
    """A note or warning on standard error, unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` command: the command's exit code, never a traceback for bad
    input, a fault of the environment or Ctrl-C."""
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
        "try-city": _demo,
        "design-contract": _design_contract,
        "sensitivity": _sensitivity,
        "demo": _demo,
        "dashboard": _dashboard,
    }
    if args.command not in ("run", "sensitivity"):
        _ctrl_c.raise_on_ctrl_c()  # those two do once their batch starts
    try:
        code = handlers[args.command](args)
        sys.stdout.flush()
        return code
    except UserInputError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_INPUT
    except EnvironmentFault as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE_CLOSED


def _silence_stdout() -> None:
    """After the reader of our output went away (``sim ... | head``): send what is left to
    /dev/null so that Python's final flush raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
    quiet = getattr(args, "quiet", False)
    with ResultStore(db) as store:
        if not quiet:
            _say(
                f"Scenario '{scenario.name}': {scenario.run_count()} runs "
                f"({len(scenario.points())} point(s) x {scenario.replications} replication(s) x "
                f"{len(scenario.arms) + 1} arms, status quo included) into {store.url}"
            )
        progress = not (args.no_progress or quiet)
        if scenario.auto_replications is not None:
            from sim.experiments.uncertainty import run_adaptive

            command_line = _ctrl_c.raise_on_ctrl_c()  # the batch stops cleanly from here
            adaptive = run_adaptive(
                scenario,
                store,
                lambda: make_executor(args.executor, args.workers, args.scheduler),
                progress=progress,
            )
            summary = adaptive.last
        else:
            executor = make_executor(args.executor, args.workers, args.scheduler)
            command_line = _ctrl_c.raise_on_ctrl_c()  # the batch stops cleanly from here
            summary = run_batch(scenario, store, executor, progress=progress)
        if command_line:
            _ctrl_c.ignore_ctrl_c()  # the batch is over: what is left is closing the store
        if scenario.auto_replications is not None:
            _say(adaptive.describe())
    if summary.interrupted:
        _say(
            f"Interrupted. Batch {summary.batch_id}: {summary.ran_now} run(s) stored now, "
            f"{summary.already_done} before, {summary.failed} failed; every finished run is "
            f"kept. To resume, run again:\n  {command}"
        )
        return 130
    if not quiet:
        _say(
            f"Batch {summary.batch_id}: {summary.ran_now} run(s) now, {summary.already_done} "
            f"already stored, {summary.failed} failed, in {summary.seconds:.1f} s."
        )
    if summary.failed:
        _say(
            f"{summary.failed} run(s) failed; their errors are stored "
            f"({_program()} list --db {shlex.quote(shown_db)}). "
            f"Rerunning the same command retries them:\n  {command}",
            sys.stderr if quiet else sys.stdout,
        )
        return EXIT_FAILED_RUNS
    if not quiet:
        _say(f"Compare the arms: {_program()} compare --db {shlex.quote(shown_db)}")
    return EXIT_OK


def _program() -> str:
    """How to call ``sim`` again from this shell: ``sim`` when that name on the PATH is this
    program, else the path it was started by (e.g. ``.venv/bin/sim``), else ``python -m``."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == "sim":
        found = shutil.which("sim")
        if found and Path(found).resolve() == started.resolve():
            return "sim"
        if started.is_file():
            text = str(started)
            if not started.is_absolute() and "/" not in text:
                text = f"./{text}"
            return shlex.quote(text)
    return f"{shlex.quote(sys.executable)} -m sim.cli"


def _rerun_command(args: argparse.Namespace, db: str) -> str:
    """The command that resumes a batch (a database password shown as ***)."""
    from sim.experiments.store import mask_password

    parts = ["run", args.file, "--db", mask_password(db), "--executor", args.executor]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    return " ".join([_program(), *(shlex.quote(p) for p in parts)])


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
    if scenario.design is not None:
        names = ", ".join(u.path for u in scenario.design.uncertainties)
        _say(
            f"  uncertainties ({scenario.design.method} design, {len(scenario.points())} "
            f"point(s)): {names}"
        )
    if scenario.auto_replications is not None:
        auto = scenario.auto_replications
        _say(
            f"  replications = auto: from {auto.initial}, +{auto.step} at a time up to "
            f"{auto.maximum}, until '{auto.contrast}' is known within +/-{auto.half_width:g}"
        )
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
                _say(
                    f"  batch {row.id} '{row.name}': {len(runs) - len(failed)}/"
                    f"{row.planned_runs} runs done, {len(failed)} failed, "
                    f"{_status_text(row.status, row.stored_status)}, started {row.created_at}"
                )
                for run in failed.head(5).itertuples():
                    last = str(run.error).strip().splitlines()[-1] if run.error else ""
                    _say(f"    failed {run.run_key}: {one_line(last, 300)}")
    return 0


def _status_text(status: str, stored_status: str) -> str:
    """A batch's status as ``ResultStore.batches`` gives it, and why when it is not the stored
    one (a batch left running by a process that is gone)."""
    if status != stored_status:
        return f"{status} (its process ended without closing it; run it again to resume)"
    return status


def _compare(args: argparse.Namespace) -> int:
    from sim.experiments.store import ResultStore, require_existing
    from sim.reading.analysis import HEADLINE, compare_arms
    from sim.reading.i18n import Labels
    from sim.reading.names import display_names
    from sim.reading.sweeps import sweep_comparison, sweep_metrics, too_few_replications

    db = _database(args)
    require_existing(db)
    with ResultStore(db, read_only=True) as store:
        batch = store.batch_id(args.batch)
        metrics = store.metrics(batch)
        if metrics.empty:
            raise UserInputError(f"{db}: batch {batch} has no run (see sim list --db {db})")
        runs = store.runs(batch)
        batches = store.batches()
    info = batches[batches["id"] == batch].iloc[0]
    names = display_names(str(info.get("scenario_text") or ""))
    labels = Labels("en", names)
    if compare_arms(metrics).empty:
        raise UserInputError(
            f"{db}: batch {batch} has no finished arm run to compare (see sim list --db {db})"
        )
    known = [c for c in metrics.columns if c in HEADLINE or metrics[c].dtype.kind == "f"]
    for name in args.metric or []:
        if name not in metrics.columns:
            raise UserInputError(
                f"--metric: no metric {name!r} in the batch{did_you_mean(name, known)}"
            )
    comparison = sweep_comparison(metrics, runs, names, args.metric)
    points = sorted(int(p) for p in comparison["point"].unique())
    swept = [c for c in comparison.columns[1 : list(comparison.columns).index("arm")]]
    if args.point is not None:
        if args.point not in points:
            raise UserInputError(
                f"--point: expected one of the batch's sweep points {points[0]} to "
                f"{points[-1]}, got {args.point}"
            )
        comparison = comparison[comparison["point"] == args.point]
    fewest = too_few_replications(metrics)
    if fewest is not None:
        _note(
            args,
            f"warning: only {fewest} replication(s) per arm: the 95 % intervals are wide and "
            "not reliable; add replications to the scenario before concluding",
        )
    if info["status"] != "finished":
        done = int((runs["status"] == "done").sum())
        _note(
            args,
            f"note: batch {batch} is {_status_text(info['status'], info['stored_status'])}; "
            f"the comparison covers its {done} run(s) done of {info['planned_runs']} planned",
        )
    if args.format in ("csv", "json"):
        out = comparison.assign(arm_label=[labels.arm(str(a)) for a in comparison["arm"]])
        columns = list(out.columns)
        columns.insert(columns.index("arm") + 1, columns.pop(columns.index("arm_label")))
        out = out[columns]
        if args.format == "csv":
            out.to_csv(sys.stdout, index=False)
        else:
            print(json.dumps(out.to_dict(orient="records"), indent=1, default=str))
        return 0
    if swept and args.point is None:
        metric_names = args.metric or sweep_metrics(metrics)
        if len(metric_names) == 1:
            print(_pivot_text(comparison, metric_names[0], swept, args.by, labels))
        else:
            print(_sweep_text(comparison, metric_names, swept, labels))
        from sim.reading.terminal import terminal_width

        hint = (
            f"{len(points)} sweep points. One point in detail: add --point N; one metric "
            "by swept parameter: --metric NAME [--by PARAMETER]."
        )
        print("\n" + "\n".join(textwrap.wrap(hint, terminal_width())))
        return 0
    for point in points if args.point is None else [args.point]:
        mine = comparison[comparison["point"] == point]
        heading = "Arms compared with the status quo (mean over replications [95 % interval])"
        if swept:
            values = mine.iloc[0]
            heading = f"Sweep point {point}: " + "; ".join(
                f"{labels.parameter(p)} = {_value_text(values[p])}" for p in swept
            )
            heading += " (mean over replications [95 % interval])"
        print(_metrics_by_arm_text(mine, labels, heading))
    return 0


def _unit_suffix(unit: str) -> str:
    return " (€)" if unit == "EUR" else ""


def _value_text(value: Any) -> str:
    """A swept value for reading: whole numbers with thousands separated."""
    if isinstance(value, bool) or value is None:
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:g}"


def _metrics_by_arm_text(comparison: Any, labels: Any, heading: str) -> str:
    """Metrics as rows (with their unit), arms as columns, cells ``mean [low, high]``."""
    from sim.reading.figures import arm_order
    from sim.reading.terminal import render

    arms = arm_order(comparison["arm"].unique(), labels.names.arm_order)
    metrics = list(dict.fromkeys(comparison["metric"]))
    cells = {
        (r.metric, r.arm): labels.cell(r.mean, r.ci_low, r.ci_high, r.unit)
        for r in comparison.itertuples()
    }
    units = dict(zip(comparison["metric"], comparison["unit"], strict=True))
    rows = []
    for metric in metrics:
        label = labels.metric(metric) + _unit_suffix(units[metric])
        if _is_sub(metric):
            label = "  " + label
        rows.append([label, *[cells.get((metric, arm), "") for arm in arms]])
    return render(["", *[labels.arm(a) for a in arms]], rows, title=heading)


def _is_sub(metric: str) -> bool:
    """Whether a headline metric is a part of the one above it (``of which ...``)."""
    from sim.reading.analysis import HEADLINE

    return HEADLINE.get(metric, ("", ""))[0].startswith(" ")


def _sweep_text(comparison: Any, metric_names: list[str], swept: list[str], labels: Any) -> str:
    """Every sweep point in one table: swept values, then one column per metric."""
    from sim.reading.terminal import render

    several_arms = comparison["arm"].nunique() > 1
    chosen = comparison[comparison["metric"].isin(metric_names)]
    units = dict(zip(chosen["metric"], chosen["unit"], strict=True))
    metric_names = [m for m in metric_names if m in units]
    headers = ["point", *[labels.parameter(p) for p in swept]]
    if several_arms:
        headers.append("arm")
    headers += [labels.metric(m) + _unit_suffix(units[m]) for m in metric_names]
    rows = []
    for (point, arm), group in chosen.groupby(["point", "arm"], sort=True):
        first = group.iloc[0]
        cells = {
            r.metric: labels.cell(r.mean, r.ci_low, r.ci_high, r.unit) for r in group.itertuples()
        }
        row = [str(point), *[_value_text(first[p]) for p in swept]]
        if several_arms:
            row.append(labels.arm(str(arm)))
        rows.append(row + [cells.get(m, "") for m in metric_names])
    right = [True] * len(headers)
    if several_arms:
        right[len(swept) + 1] = False
    return render(
        headers,
        rows,
        title="Arms compared with the status quo at every sweep point "
        "(mean over replications [95 % interval])",
        right=right,
    )


def _pivot_text(comparison: Any, metric: str, swept: list[str], by: str | None, labels: Any) -> str:
    """One metric of a sweep as a pivot: a swept parameter's values as columns."""
    from sim.reading.sweeps import sweep_pivot
    from sim.reading.terminal import render

    parameter = swept[0] if by is None else _swept_path(by, swept)
    table = sweep_pivot(comparison, metric, parameter)
    unit = str(comparison.loc[comparison["metric"] == metric, "unit"].iloc[0])
    index_names = [n for n in table.index.names if n is not None] if len(swept) > 1 else []
    headers = [" / ".join(labels.parameter(n) if n != "arm" else "arm" for n in index_names)]
    headers += [f"{labels.parameter(parameter)} = {_value_text(v)}" for v in table.columns]
    rows = []
    for key, values in zip(table.index, table.to_numpy(), strict=True):
        parts = key if isinstance(key, tuple) else (key,)
        label = " / ".join(
            labels.arm(str(v)) if n == "arm" else _value_text(v)
            for n, v in zip(index_names or ["metric"], parts, strict=False)
        )
        rows.append(
            [
                label if index_names else labels.metric(metric),
                *[labels.value(float(v), unit) for v in values],
            ]
        )
    title = (
        f"{labels.metric(metric)}{_unit_suffix(unit)} by {labels.parameter(parameter)} "
        "(mean over replications)"
    )
    return render(headers, rows, title=title)


def _swept_path(name: str, swept: list[str]) -> str:
    """A swept parameter named by its dotted path or its last part."""
    if name in swept:
        return name
    matches = [p for p in swept if p.split(".")[-1] == name]
    if len(matches) == 1:
        return matches[0]
    raise UserInputError(
        f"--by: expected a swept parameter ({', '.join(swept)}), got {name!r}"
        f"{did_you_mean(name, swept + [p.split('.')[-1] for p in swept])}"
    )


def _report(args: argparse.Namespace) -> int:
    from sim.reading.report import default_out_dir, write_report

    db = _database(args)
    path = write_report(
        db, args.out or default_out_dir(db), batch=args.batch, lang=args.lang, point=args.point
    )
    if not getattr(args, "quiet", False):
        _say(f"Report written to {path} (figures as PNG and SVG in {path.parent / 'figures'})")
    return 0


def _design_contract(args: argparse.Namespace) -> int:
    from sim.reading.design import Constraints, design_contract, design_figure
    from sim.reading.i18n import Labels

    constraints = Constraints(
        payer_npv_probability=args.payer_npv_probability,
        investor_return_per_year=args.investor_return,
        investor_probability=args.investor_probability,
        rule_probability=args.rule_probability,
    )
    db = _database(args)
    design = design_contract(db, args.batch, args.arm, args.point, constraints)
    labels = Labels(args.lang)
    _say(design.summary(labels))
    db_path = Path(db.split("///", 1)[-1])
    out = Path(args.out) if args.out else db_path.parent / f"{db_path.stem}_design"
    out.mkdir(parents=True, exist_ok=True)
    figure = out / f"contract_design_{args.lang}.png"
    design_figure(design, labels).savefig(figure)
    table = out / "contract_design_terms.csv"
    design.grid.to_csv(table, index=False)
    _say(f"Figure: {figure}; every terms tried: {table}")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.experiments.batch import make_executor, run_batch
    from sim.experiments.scenario import load_scenario
    from sim.experiments.store import ResultStore, default_db_path
    from sim.experiments.uncertainty import run_adaptive
    from sim.reading import sensitivity as sa

    scenario = load_scenario(args.file)
    if scenario.design is None:
        raise UserInputError(f"{args.file}: no [uncertainties]: nothing to analyse")
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers: expected a positive number, got {args.workers}")
    db = args.db or default_db_path(scenario.name)
    design = scenario.design
    print(
        f"Scenario '{scenario.name}': {design.method} design, {len(design.uncertainties)} "
        f"uncertainties, {len(scenario.points())} point(s) x {scenario.replications} "
        f"replication(s) x {len(scenario.arms) + 1} arms = {scenario.run_count()} runs into {db}"
    )
    with ResultStore(db) as store:
        if scenario.auto_replications is not None:
            _ctrl_c.raise_on_ctrl_c()  # the batch stops cleanly from here
            adaptive = run_adaptive(
                scenario,
                store,
                lambda: make_executor(args.executor, args.workers, args.scheduler),
                progress=not args.no_progress,
            )
            print(adaptive.describe())
            summary = adaptive.last
        else:
            executor = make_executor(args.executor, args.workers, args.scheduler)
            _ctrl_c.raise_on_ctrl_c()  # the batch stops cleanly from here
            summary = run_batch(scenario, store, executor, progress=not args.no_progress)
        print(
            f"Batch {summary.batch_id}: {summary.ran_now} run(s) now, {summary.already_done} "
            f"already stored, {summary.failed} failed, in {summary.seconds:.1f} s."
        )
        if summary.interrupted or summary.failed:
            print(
                f"The batch is not complete; run the same command again to resume:\n  "
                f"sim sensitivity {args.file} --db {db}"
            )
            return 130 if summary.interrupted else 1
        runs = store.runs(summary.batch_id)
        metrics = store.metrics(summary.batch_id)
        text = str(store.batches().set_index("id").loc[summary.batch_id, "scenario_text"])
    stored = sa.design_of(text, args.file)
    outcomes = args.outcome or list(stored.outcomes) or sa.default_outcomes(metrics)
    conditions = args.discover if args.discover is not None else list(stored.discover)
    x = sa.design_table(runs, stored)
    report = sa.analyse(
        stored, x, metrics, outcomes, conditions, batch=summary.batch_id, name=scenario.name
    )
    out = (
        Path(args.out)
        if args.out
        else Path(db).with_suffix("").parent / (Path(db).stem + "_sensitivity")
    )
    written = sa.write_report(report, out, args.lang)
    print(sa.summary_text(report, args.lang))
    if args.ema:
        sa.save_ema(sa.to_ema(runs, metrics, stored), Path(args.ema))
        print(f"EMA Workbench results: {args.ema} (ema_workbench.load_results reads them)")
    print(f"Tables, figures and summary in {out} ({len(written)} files)")
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
