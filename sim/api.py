"""The notebook-facing entry points: run a scenario, open a results database as data frames.

Example:
    >>> import sim
    >>> results = sim.run_scenario("scenarios/demo.toml", db="results/demo.db")  # doctest: +SKIP
    >>> results.comparison_table()                                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.batch import BatchSummary, make_executor, run_batch
from sim.experiments.scenario import Scenario, load_scenario, scenario_from_dict
from sim.experiments.store import ResultStore, default_db_path, require_existing
from sim.reading.analysis import compare_arms, comparison_table
from sim.reading.i18n import Labels
from sim.reading.names import DisplayNames, display_names
from sim.reading.sweeps import sweep_comparison, sweep_pivot


class Results:
    """One batch of a results database, read as pandas data frames."""

    def __init__(
        self, db: str, batch: int | None = None, summary: BatchSummary | None = None
    ) -> None:
        self.db = db
        self.summary = summary
        require_existing(db)
        with ResultStore(db, read_only=True) as store:
            self.batch = store.batch_id(batch)
            self._frames: dict[str, pd.DataFrame] = {
                "batches": store.batches(),
                "runs": store.runs(self.batch),
                "metrics": store.metrics(self.batch),
                "series": store.series(self.batch),
                "territories": store.territories(self.batch),
                "cash_flows": store.cash_flows(self.batch),
                "pilot_decisions": store.pilot_decisions(self.batch),
                "evaluations": store.evaluations(self.batch),
            }

    def __repr__(self) -> str:
        runs = self.runs
        return (
            f"Results(db={self.db!r}, batch={self.batch}, runs={len(runs)}, "
            f"arms={sorted(runs['arm'].unique()) if len(runs) else []})"
        )

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: identity, status, error, timings, contract (JSON)."""
        return self._frames["runs"]

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per run, one column per metric."""
        return self._frames["metrics"]

    @property
    def series(self) -> pd.DataFrame:
        """Monthly series of every run (long: month, name, value)."""
        return self._frames["series"]

    @property
    def territories(self) -> pd.DataFrame:
        """Per-territory results of every run."""
        return self._frames["territories"]

    @property
    def cash_flows(self) -> pd.DataFrame:
        """Cash flows per month, payer, payee role and kind."""
        return self._frames["cash_flows"]

    @property
    def pilot_decisions(self) -> pd.DataFrame:
        """Scale/stop decisions of calls for projects, with the truth."""
        return self._frames["pilot_decisions"]

    @property
    def evaluations(self) -> pd.DataFrame:
        """Every evaluation: design, estimate, interval, validated outcomes."""
        return self._frames["evaluations"]

    @property
    def batch_info(self) -> pd.Series:
        """The batch's provenance: scenario text and hash, version, commit, seed, times."""
        batches = self._frames["batches"]
        return batches[batches["id"] == self.batch].iloc[0]

    def comparison(self) -> pd.DataFrame:
        """Arms against the status quo: mean and 95 % interval per metric (long)."""
        return compare_arms(self.metrics)

    def comparison_table(self, point: int | None = None) -> pd.DataFrame:
        """Metrics as rows, arms as columns, 'mean [low, high]' cells."""
        return comparison_table(self.comparison(), point)

    @property
    def names(self) -> DisplayNames:
        """The display names the batch's scenario gives its arms and swept parameters."""
        return display_names(str(self.batch_info.get("scenario_text") or ""))

    def labels(self, lang: str = "en") -> Labels:
        """Texts and number formats of one language with this batch's display names: what the
        figures of :mod:`sim.reading.figures` take, e.g.
        ``figures.true_vs_validated(results.metrics, results.labels("fr"))``."""
        return Labels(lang, self.names)

    def sweep_comparison(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Every sweep point in one long table: the swept values (scenario order), the arm, the
        metric, its mean and 95 % interval."""
        return sweep_comparison(self.metrics, self.runs, self.names, metrics)

    def sweep_pivot(self, metric: str, parameter: str) -> pd.DataFrame:
        """One metric's means with a swept parameter's values as columns."""
        return sweep_pivot(self.sweep_comparison([metric]), metric, parameter)


def run_scenario(
    scenario: str | Path | Scenario | Mapping[str, Any],
    db: str | None = None,
    executor: str = "serial",
    workers: int | None = None,
    progress: bool = True,
) -> Results:
    """Run (or resume) a scenario's batch and open its results.

    Args:
        scenario: a TOML path, a ``Scenario``, or a dictionary shaped like a scenario file.
        db: results database (default ``results/<name>.db``).
        executor: ``serial`` (default in notebooks), ``processes`` or ``dask``.
        workers: worker count for processes or dask.
        progress: show a progress bar (a widget in a notebook, text in a terminal).
    """
    if isinstance(scenario, Scenario):
        loaded = scenario
    elif isinstance(scenario, Mapping):
        loaded = scenario_from_dict(scenario)
    else:
        loaded = load_scenario(scenario)
    path = db or default_db_path(loaded.name)
    with ResultStore(path) as store:
        summary = run_batch(loaded, store, make_executor(executor, workers), progress=progress)
    return Results(path, summary.batch_id, summary)


def open_results(db: str, batch: int | None = None) -> Results:
    """Open a results database (the latest batch by default)."""
    return Results(db, batch)
