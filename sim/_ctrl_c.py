"""Ctrl-C while the ``sim`` command starts: it ends the command at once with one line.

Until a command has something to stop cleanly (a batch's workers, its results store), Ctrl-C
ends it at once (exit 130), wherever the interpreter is: loading the simulator takes seconds,
and an exception raised there could print a traceback, or be lost (Python runs a signal handler
wherever the main thread is, also inside a weak reference's callback, where an exception is
dropped). ``sim/__init__`` installs it first thing in the ``sim`` command (not in a program
that imports sim); the command gives Ctrl-C back to Python (``KeyboardInterrupt``) once it can
stop cleanly.
"""

from __future__ import annotations

import os
import signal
import sys

#: Python's options that take a value as the next argument (``-X importtime``).
_OPTIONS_WITH_VALUE = ("-X", "-W")


def interrupted_while_starting(_signum: int, _frame: object) -> None:
    """Ctrl-C while the command is still loading: nothing was started, nothing to keep."""
    os.write(2, b"\nInterrupted while starting; nothing was run.\n")
    os._exit(130)


def is_the_sim_command() -> bool:
    """Whether this process is the ``sim`` command: its console script, or ``python -m sim.cli``
    (not a program, notebook, worker or test that imports sim)."""
    if os.path.basename(sys.argv[0]) == "sim":
        return True
    arguments = iter(sys.orig_argv[1:])
    for argument in arguments:
        if argument == "-m":
            return next(arguments, None) == "sim.cli"
        if argument.startswith("-m"):
            return argument == "-msim.cli"
        if argument in _OPTIONS_WITH_VALUE:
            next(arguments, None)
        elif argument == "-c" or not argument.startswith("-"):
            return False  # code, a script or a module of its own
    return False


def quit_on_ctrl_c() -> None:
    """Ctrl-C ends the process at once (``interrupted_while_starting``) from now on, where
    Python's own handling is in place: a Ctrl-C ignored by whoever started the command (as with
    ``nohup``) stays ignored."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_while_starting)


def raise_on_ctrl_c() -> bool:
    """Ctrl-C raises ``KeyboardInterrupt`` again from now on (where ``quit_on_ctrl_c`` had taken
    it): the command can stop cleanly. Whether it had (this process is the command line)."""
    if signal.getsignal(signal.SIGINT) is not interrupted_while_starting:
        return False
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return True


def ignore_ctrl_c() -> None:
    """Ignore Ctrl-C from now on: the command's work is over, only closing is left (what Ctrl-C
    would stop is done)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
