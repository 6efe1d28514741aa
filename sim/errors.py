"""Errors a user can cause and fix: the CLI prints their message, never a traceback."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any


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


class EnvironmentFault(RuntimeError):
    """The machine or another process stopped a command that was given good input: a full disk,
    a results database that cannot be written, a batch already being run elsewhere. The CLI
    prints the message (what is kept, what to do) and exits with code 3, never a traceback."""


#: Longest value quoted in an error message; longer ones are cut in the middle.
QUOTE_LIMIT = 80

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shorten(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters ("'aaa…(1,000,000 characters)…aa'"),
    without building the whole representation of a huge container first."""
    if isinstance(value, list | tuple | dict | set) and len(value) > limit:
        kind = type(value).__name__
        return f"<{kind} of {len(value):,} items>"
    if isinstance(value, str) and len(value) > limit:
        head, tail = repr(value[: limit // 2]), repr(value[-limit // 4 :])
        return f"{head[:-1]}…({len(value):,} characters)…{tail[1:]}"
    text = repr(value)
    if len(text) > limit:
        return f"{text[: limit // 2]}…({len(text):,} characters)…{text[-limit // 4 :]}"
    return text


def neutralise(text: str) -> str:
    """A string safe to print on a terminal: control characters (escape sequences, carriage
    returns, bidirectional overrides) are written as visible escapes (``\\x1b``); line feeds
    and tabs are kept."""
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def one_line(message: str, limit: int = 2_000) -> str:
    """An error message as one printable line of at most about ``limit`` characters."""
    flat = neutralise(message.replace("\r\n", "\n")).replace("\n", " | ").replace("\t", " ")
    if len(flat) > limit:
        flat = f"{flat[: limit - 60]}…({len(flat):,} characters)…{flat[-40:]}"
    return flat
