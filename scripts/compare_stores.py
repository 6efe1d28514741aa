"""Compare the stored results of two batches, table by table and value by value.

Used to show that a change of code that should not change the numbers (a refactoring, a faster
kernel) leaves every stored table identical, bit for bit:

    python scripts/compare_stores.py results_before.db results_after.db

Rows are matched by run key (and by their natural order inside a run); columns that only one side
has are listed, not compared; provenance (ids, times, version, commit, paths) is ignored. Exit code
0 when every shared value is identical (NaN equals NaN), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
from typing import Any

IGNORED = {
    "id",
    "batch_id",
    "run_id",
    "created_at",
    "updated_at",
    "finished_at",
    "started_at",
    "elapsed_seconds",
    "package_version",
    "git_commit",
    "scenario_path",
    "scenario_hash",  # a fingerprint that includes the code's commit
}
CHILD_TABLES = (
    "run_metrics",
    "series",
    "territory_results",
    "cash_flows",
    "pilot_decisions",
    "evaluations",
)


def same(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN, JSON texts compared as data."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and b[:1] in "[{":
        try:
            return bool(json.loads(a) == json.loads(b))
        except json.JSONDecodeError:
            return a == b
    return bool(a == b)


def rows(db: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a table (empty when the table does not exist)."""
    try:
        cursor = db.execute(f"SELECT * FROM {table}")
    except sqlite3.OperationalError:
        return [], []
    return [d[0] for d in cursor.description], cursor.fetchall()


def keyed(db: sqlite3.Connection, table: str) -> tuple[list[str], dict[tuple[Any, ...], dict]]:
    """Rows of a run's child table keyed by (run key, position inside the run)."""
    run_keys = dict(db.execute("SELECT id, run_key FROM runs").fetchall())
    columns, data = rows(db, table)
    if not columns:
        return [], {}
    position: dict[Any, int] = {}
    out = {}
    for row in data:
        record = dict(zip(columns, row, strict=True))
        run = run_keys[record["run_id"]]
        index = position.get(run, 0)
        position[run] = index + 1
        sort_key = (record.get("name"), record.get("month")) if "name" in record else index
        out[(run, sort_key)] = record
    return columns, out


def compare_table(
    a: sqlite3.Connection, b: sqlite3.Connection, table: str, report: list[str]
) -> int:
    """Number of differing values in one table (differences appended to ``report``)."""
    if table in ("batches", "runs"):
        key = "name" if table == "batches" else "run_key"
        cols_a, data_a = rows(a, table)
        cols_b, data_b = rows(b, table)
        map_a = {r[cols_a.index(key)]: dict(zip(cols_a, r, strict=True)) for r in data_a}
        map_b = {r[cols_b.index(key)]: dict(zip(cols_b, r, strict=True)) for r in data_b}
    else:
        cols_a, map_a = keyed(a, table)
        cols_b, map_b = keyed(b, table)
    shared = [c for c in cols_a if c in cols_b and c not in IGNORED]
    only = sorted(set(cols_a) ^ set(cols_b))
    if only:
        report.append(f"{table}: columns on one side only (not compared): {', '.join(only)}")
    differences = 0
    if set(map_a) != set(map_b):
        missing = len(set(map_a) ^ set(map_b))
        report.append(f"{table}: {missing} rows on one side only")
        differences += missing
    for k in sorted(set(map_a) & set(map_b), key=str):
        for c in shared:
            if not same(map_a[k][c], map_b[k][c]):
                differences += 1
                if differences <= 10:
                    report.append(f"{table} {k} {c}: {map_a[k][c]!r} != {map_b[k][c]!r}")
    report.append(f"{table}: {len(map_a)} rows, {differences} differing values")
    return differences


def main(argv: list[str] | None = None) -> int:
    """Compare two results databases; print a summary per table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args(argv)
    a, b = sqlite3.connect(args.before), sqlite3.connect(args.after)
    report: list[str] = []
    total = sum(compare_table(a, b, t, report) for t in ("batches", "runs", *CHILD_TABLES))
    print("\n".join(report))
    print("identical" if total == 0 else f"{total} differing values")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
