"""Figures drawn for the page (inline SVG with values on hover), here or in a worker process.

Matplotlib draws in Python: a figure drawn in a thread of the server holds the interpreter
for half a second or more on a loaded machine, and a slider moved meanwhile waited for it to
show its numbers (up to twice as long). The Contract page therefore draws its figures in a
separate process (:class:`FigureWorker`); the server only waits for the answer, which leaves
the interpreter to the numbers. Nothing here needs Solara.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

from matplotlib.figure import Figure

from sim.dashboard.texts import Texts
from sim.dashboard.views import figure_svg, inline_svg
from sim.reading.figures import NoDataError

#: How often a worker process checks that the server is still there.
PARENT_CHECK_SECONDS = 2.0


class Drawn(NamedTuple):
    """A figure drawn for the page: its CSS classes, whether there was data, and its HTML (the
    inline SVG, or the reason there is no figure)."""

    classes: str
    ok: bool
    html: str


def draw_figure(build: Callable[[], Figure], key: str, texts: Texts) -> Drawn:
    """Build a figure and turn it into inline SVG with values on hover."""
    classes = f"{key} sim-figure-{texts.lang}"
    try:
        fig = build()
    except NoDataError as error:
        return Drawn(classes, False, texts.t("figure.nodata", reason=str(error)))
    svg = inline_svg(figure_svg(fig, texts, tooltips=True))
    fig.clear()
    return Drawn(classes, True, svg)


def _ready() -> bool:
    return True


def _exit_with(parent: int) -> None:
    """In the worker: end when the server that started it is gone. A process pool's worker
    holds both ends of its task queue, so it would otherwise wait forever after a server
    killed without a clean shutdown."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="sim-exit-with-server").start()


class FigureWorker:
    """One process that draws figures, started on first use and again if it died.

    ``build`` and its arguments travel to the process by pickling: a module-level function in a
    ``functools.partial`` with small arguments (a contract's summary, not a batch's frames).
    The process is started with "spawn": forking a server that runs threads is not safe.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=_exit_with,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def start(self) -> None:
        """Start the process now (it imports matplotlib: seconds that the first figure would
        otherwise wait)."""
        self._running().submit(_ready)

    def draw(self, build: Callable[[], Figure], key: str, texts: Texts) -> Drawn:
        """Draw in the worker process (here, once, if that process died)."""
        pool = self._running()
        try:
            return pool.submit(draw_figure, build, key, texts).result()
        except BrokenProcessPool:
            self._forget(pool)
            return draw_figure(build, key, texts)

    def close(self) -> None:
        """Stop the process (a new one starts on the next drawing)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
