"""Errors a user can cause and fix: the CLI prints their message, never a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserInputError(ValueError):
    """Bad input from a user's file or argument; the message says where and what was expected."""


class TerritoryDataError(UserInputError):
    """A territory table that cannot describe a city."""

    def __init__(self, source: str, row: int | None, field: str, problem: str) -> None:
        where = f"{source}, row {row}" if row is not None else source
        super().__init__(f"{where}, field '{field}': {problem}")
        self.source = source
        self.row = row
        self.field = field
        self.problem = problem


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest valid name, or '' when none is close: a spelling
    neighbour first, else a name that starts with or contains what was typed."""
    options = list(valid)
    close = difflib.get_close_matches(name, options, n=1)
    if not close and name:
        close = [o for o in options if o.startswith(name)] or [o for o in options if name in o]
    return f" (did you mean '{close[0]}'?)" if close else ""
