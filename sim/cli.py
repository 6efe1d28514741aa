"""The ``sim`` command line: run scenario batches, list and compare them, run one city."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sim.errors import UserInputError

EXAMPLES = """examples:
  sim validate scenarios/demo.toml          check a scenario file without running it
  sim run scenarios/demo.toml               run it on every core into results/demo.db
  sim run scenarios/demo.toml --executor dask --workers 4
  sim list --db results/demo.db             batches stored in a database
  sim compare results/demo.db               arms side by side with 95 % intervals
  sim report results/demo.db --lang fr      an HTML report with figures, in French
  sim sensitivity scenarios/robustness.toml which assumptions decide the answer (SALib, PRIM)
  sim demo --city bordeaux --months 120     one status-quo run of a city, summarised
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
        "demo",
        "run one simulation of a city (status quo) and print a summary",
        "sim demo --city demo --months 60 --seed 1",
    )
    demo.add_argument("--city", default="demo", help="built-in city (demo, bordeaux) or CSV path")
    demo.add_argument("--months", type=int, default=60, help="months to simulate (default 60)")
    demo.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script."""
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
        "sensitivity": _sensitivity,
        "demo": _demo,
    }
    try:
        return handlers[args.command](args)
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from sim.experiments.batch import make_executor, run_batch
    from sim.experiments.scenario import load_scenario
    from sim.experiments.store import ResultStore, default_db_path

    scenario = load_scenario(args.file)
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers: expected a positive number, got {args.workers}")
    db = args.db or default_db_path(scenario.name)
    command = _rerun_command(args, db)
    with ResultStore(db) as store:
        executor = make_executor(args.executor, args.workers, args.scheduler)
        print(
            f"Scenario '{scenario.name}': {scenario.run_count()} runs "
            f"({len(scenario.points())} point(s) x {scenario.replications} replication(s) x "
            f"{len(scenario.arms) + 1} arms, status quo included) into {store.url}"
        )
        if scenario.auto_replications is not None:
            from sim.experiments.uncertainty import run_adaptive

            adaptive = run_adaptive(
                scenario,
                store,
                lambda: make_executor(args.executor, args.workers, args.scheduler),
                progress=not args.no_progress,
            )
            print(adaptive.describe())
            summary = adaptive.last
        else:
            summary = run_batch(scenario, store, executor, progress=not args.no_progress)
    if summary.interrupted:
        print(
            f"Interrupted. Batch {summary.batch_id}: {summary.ran_now} run(s) stored now, "
            f"{summary.already_done} before, {summary.failed} failed; every finished run is "
            f"kept. To resume, run again:\n  {command}"
        )
        return 130
    print(
        f"Batch {summary.batch_id}: {summary.ran_now} run(s) now, {summary.already_done} "
        f"already stored, {summary.failed} failed, in {summary.seconds:.1f} s."
    )
    if summary.failed:
        print(
            f"{summary.failed} run(s) failed; their errors are stored (sim list --db {db}). "
            f"Rerunning the same command retries them:\n  {command}"
        )
        return 1
    print(f"Compare the arms: sim compare {db}")
    return 0


def _rerun_command(args: argparse.Namespace, db: str) -> str:
    parts = ["sim", "run", args.file, "--db", db, "--executor", args.executor]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    return " ".join(parts)


def _validate(args: argparse.Namespace) -> int:
    from sim.experiments.scenario import load_scenario

    scenario = load_scenario(args.file)
    arms = ", ".join(f"{a.name} ({a.mechanism})" for a in scenario.arms)
    print(f"{args.file}: valid.")
    print(
        f"  scenario '{scenario.name}': city {scenario.city.describe()}, {scenario.months} "
        f"months, {scenario.replications} replication(s), root seed {scenario.seed}"
    )
    print(f"  arms: status_quo (twin), {arms}")
    if scenario.sweep is not None:
        print(f"  sweep: {scenario.sweep.method}, {len(scenario.points())} point(s)")
    if scenario.design is not None:
        names = ", ".join(u.path for u in scenario.design.uncertainties)
        print(
            f"  uncertainties ({scenario.design.method} design, {len(scenario.points())} "
            f"point(s)): {names}"
        )
    if scenario.auto_replications is not None:
        auto = scenario.auto_replications
        print(
            f"  replications = auto: from {auto.initial}, +{auto.step} at a time up to "
            f"{auto.maximum}, until '{auto.contrast}' is known within +/-{auto.half_width:g}"
        )
    print(f"  {scenario.run_count()} runs in all")
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
        with ResultStore(db) as store:
            batches = store.batches()
            print(f"{store.url}:")
            if batches.empty:
                print("  (no batch)")
            for row in batches.itertuples():
                runs = store.runs(int(row.id))
                failed = runs[runs["status"] == "failed"]
                print(
                    f"  batch {row.id} '{row.name}': {len(runs) - len(failed)}/"
                    f"{row.planned_runs} runs done, {len(failed)} failed, {row.status}, "
                    f"started {row.created_at}"
                )
                for run in failed.head(5).itertuples():
                    last = str(run.error).strip().splitlines()[-1] if run.error else ""
                    print(f"    failed {run.run_key}: {last}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from sim.experiments.store import ResultStore, require_existing
    from sim.reading.analysis import compare_arms, comparison_table

    require_existing(args.db)
    with ResultStore(args.db) as store:
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
        comparison.to_csv(sys.stdout, index=False)
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
            print(f"{heading} (mean over replications [95 % interval])")
            print(comparison_table(comparison, int(point)).to_string())
            print()
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.reading.report import default_out_dir, write_report

    path = write_report(
        args.db, args.out or default_out_dir(args.db), batch=args.batch, lang=args.lang
    )
    print(f"Report written to {path} (figures as PNG and SVG in {path.parent / 'figures'})")
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
    from sim.simulation.model import CityModel

    if args.months < 1:
        raise UserInputError(f"--months: expected a positive number of months, got {args.months}")
    started = time.perf_counter()
    model = CityModel(args.city, seed=args.seed, months=args.months, resident_agents=False)
    model.run()
    elapsed = time.perf_counter() - started
    print(format_run_summary(model.summary(), elapsed))
    return 0


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
    sys.exit(main())
