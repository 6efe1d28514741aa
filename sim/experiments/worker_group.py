"""Imported first by the fork server that starts ``sim run``'s worker processes: it moves the fork
server, hence every worker forked from it, into a process group of its own.

Ctrl-C in a terminal signals the whole foreground process group. In their own group, workers are
not interrupted in the middle of a start-up or of a task (which printed tracebacks after the
clean message); the parent alone handles Ctrl-C and stops them. Workers still end when the parent
dies, however it dies: each watches it (``sim.experiments.batch.watch_owner``).
"""

from __future__ import annotations

import contextlib
import os
import sys


def _in_fork_server() -> bool:
    """Whether this process is a multiprocessing fork server (started as ``python -c``)."""
    return sys.argv[:1] == ["-c"] and "multiprocessing.forkserver" in sys.modules


if _in_fork_server() and hasattr(os, "setpgrp"):
    with contextlib.suppress(OSError):
        os.setpgrp()
