"""The ``sim`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from sim.errors import UserInputError

EXAMPLES = """examples:
  sim demo                      run the demo city for 60 months and print a summary
  sim demo --city bordeaux --months 120 --seed 7
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run one simulation of a city and print a summary",
        epilog="example:\n  sim demo --city demo --months 60 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--city", default="demo", help="built-in city (demo, bordeaux) or CSV path")
    demo.add_argument("--months", type=int, default=60, help="months to simulate (default 60)")
    demo.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            return _demo(args)
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2


def _demo(args: argparse.Namespace) -> int:
    from sim.model import CityModel

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
        f"  Jobs held 6 months      {s['sustained_jobs']:,} residents",
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
