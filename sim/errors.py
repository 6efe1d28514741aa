"""Errors a user can cause and fix: the CLI prints their message, never a traceback."""

from __future__ import annotations


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
