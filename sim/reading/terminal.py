"""Tables for a terminal: drawn with ``rich``, fitted to the terminal's width.

A table wider than the terminal is split into several tables of whole columns, each repeating
the first (row label) column, rather than being cut or wrapped line by line; a single column
still too wide has its cells folded. Output is plain text (no colour codes), so it reads the same
in a pipe or a file.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Sequence

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

#: Width used when the terminal's is unknown (a pipe without COLUMNS).
DEFAULT_WIDTH = 100


def terminal_width() -> int:
    """The terminal's width in characters (``COLUMNS`` first, as shells set it)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _console(width: int) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )


def _table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        title_style="",
    )
    first = max([len(str(r[0])) for r in rows] + [len(headers[0]) if headers else 0])
    for number, (header, align_right) in enumerate(zip(headers, right, strict=True)):
        table.add_column(
            header,
            justify="right" if align_right else "left",
            overflow="fold",
            min_width=min(first, 20) if number == 0 else None,
            max_width=28 if number == 0 else None,
            no_wrap=number > 0 and not header_only_wraps(header),
        )
    for row in rows:
        table.add_row(*row)
    return table


def header_only_wraps(header: str) -> bool:
    """Whether a column may wrap: only long headers of several words (cells never wrap)."""
    return False


def render(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    width: int | None = None,
    right: Sequence[bool] | None = None,
) -> str:
    """A table as text that fits ``width`` (default: the terminal's).

    Args:
        headers: column headers; the first column labels the rows.
        rows: cells as text.
        title: a line above the (first) table.
        width: characters available.
        right: which columns are right-aligned (default: all but the first).
    """
    width = width or terminal_width()
    right = list(right) if right is not None else [False] + [True] * (len(headers) - 1)
    console = _console(width)
    groups = _column_groups(_console(100_000), headers, rows, right, width)
    if len(groups) > 1:
        # Too wide: put each interval under its mean, which halves the widest cells.
        rows = [[row[0], *[c.replace(" [", "\n[") for c in row[1:]]] for row in rows]
        groups = _column_groups(_console(100_000), headers, rows, right, width)
    for number, group in enumerate(groups):
        columns = [0, *group]
        part_title = title if number == 0 else None
        if len(groups) > 1:
            suffix = f"(columns {number + 1} of {len(groups)})"
            part_title = f"{part_title} {suffix}" if part_title else suffix
        console.print(
            _table(
                part_title,
                [headers[c] for c in columns],
                [[row[c] for c in columns] for row in rows],
                [right[c] for c in columns],
            )
        )
        if number < len(groups) - 1:
            console.print()
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in str(text).splitlines())


def _column_groups(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[bool],
    width: int,
) -> list[list[int]]:
    """Data columns (1..n) in groups whose table, with the first column, fits the width."""
    groups: list[list[int]] = []
    current: list[int] = []
    for column in range(1, len(headers)):
        trial = [*current, column]
        columns = [0, *trial]
        table = _table(
            None,
            [headers[c] for c in columns],
            [[row[c] for c in columns] for row in rows],
            [right[c] for c in columns],
        )
        if current and console.measure(table).maximum > width:
            groups.append(current)
            current = [column]
        else:
            current = trial
    if current:
        groups.append(current)
    return groups or [[]]


def frame_table(
    frame: pd.DataFrame, title: str | None = None, width: int | None = None, index: str = ""
) -> str:
    """A data frame of text cells as a terminal table, its index as the first column."""
    headers = [index, *[str(c) for c in frame.columns]]
    rows = [
        [str(i), *[str(v) for v in row]] for i, row in zip(frame.index, frame.values, strict=True)
    ]
    return render(headers, rows, title=title, width=width)
