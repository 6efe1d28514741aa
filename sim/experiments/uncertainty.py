"""Batches under uncertainty: a design's points run as a sweep, and replications added until
the primary paired contrast is known well enough.

A design (``[uncertainties]`` with ``[sensitivity]``) is expanded by the scenario like a sweep:
each point sets model or arm parameters, and every point reuses the same replication seeds, so
the arms of a replication and the points of a design all share their random draws. Running it is
an ordinary batch (resumable, any executor, into the store).

``replications = "auto"`` runs ``initial`` replications, measures the half-width of the primary
contrast's interval at every point, and adds ``step`` replications at a time until every
half-width is at most the target or ``maximum`` is reached. Replication seeds are spawned in a
fixed order (``sim.world.rng.replication_seeds``: the first n seeds of a batch of m > n are
those of a batch of n), and run keys do not depend on the batch size, so each round only adds
runs, an interrupted batch resumes, and the final batch is the fixed batch of its size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sim.experiments.batch import CTRL_C, BatchSummary, Executor, run_batch
from sim.experiments.design import contrast_interval, parse_outcome, stop_decision
from sim.experiments.scenario import Scenario
from sim.experiments.store import ResultStore


@dataclass
class AdaptiveSummary:
    """What an adaptive batch did: its rounds, why it stopped, the last summary."""

    replications: int
    reason: str
    half_width: float
    target: float
    rounds: list[tuple[int, float]]
    last: BatchSummary

    @property
    def interrupted(self) -> bool:
        """Whether the last round was interrupted."""
        return self.last.interrupted

    def describe(self) -> str:
        """One sentence for people."""
        trail = ", ".join(f"{n}: {w:.3g}" for n, w in self.rounds)
        return (
            f"replications = auto: {self.reason} at {self.replications} replications "
            f"(widest half-width {self.half_width:.3g}, target {self.target:.3g}; "
            f"replications: half-width {trail})"
        )


def primary_half_widths(metrics: pd.DataFrame, contrast: str, level: float = 0.95) -> pd.DataFrame:
    """Estimate and half-width of the primary contrast at every point of a batch."""
    return contrast_interval(metrics, parse_outcome(contrast), level)


def run_adaptive(
    scenario: Scenario,
    store: ResultStore,
    make_executor: Callable[[], Executor],
    progress: bool = True,
) -> AdaptiveSummary:
    """Run a scenario with ``replications = "auto"`` round by round into one batch.

    Args:
        scenario: a scenario whose ``auto_replications`` is set.
        store: the results store.
        make_executor: a new executor for each round (a round shuts its executor down).
        progress: show a progress bar.
    """
    auto = scenario.auto_replications
    if auto is None:
        raise ValueError("run_adaptive needs a scenario with replications = 'auto'")
    n = auto.initial
    rounds: list[tuple[int, float]] = []
    with CTRL_C.remembered():  # a Ctrl-C between two rounds ends the batch as within one
        executor = make_executor()
        while True:
            current = dataclasses.replace(scenario, replications=n)
            summary = run_batch(current, store, executor, progress=progress)
            widest = float("nan")
            stop, reason = True, "interrupted"
            with CTRL_C.held_back(raise_at_end=False):
                store.set_batch_size(summary.batch_id, n, current.run_count())
                if not summary.interrupted:
                    metrics = store.metrics(summary.batch_id)
                    widths = primary_half_widths(metrics, auto.contrast, auto.level)["half_width"]
                    widest = float(widths.max()) if len(widths) else widest
                    rounds.append((n, widest))
                    stop, reason, n_next = stop_decision(widths.tolist(), n, auto)
                    if not stop:
                        executor = make_executor()
            if stop:  # enough replications, or interrupted within the round
                return AdaptiveSummary(n, reason, widest, auto.half_width, rounds, summary)
            if CTRL_C.pressed:  # between two rounds
                executor.shutdown()
                summary = dataclasses.replace(summary, interrupted=True)
                return AdaptiveSummary(n, "interrupted", widest, auto.half_width, rounds, summary)
            n = n_next
