"""Reading a sweep: one comparison across its points, pivots by swept parameter, and how a metric
moves along each swept parameter. Data frames only (never the model).

A batch's sweep points are stored with their values (``runs.point_values``, JSON); the swept
parameters are listed here in the order the scenario file gives them (see
:mod:`sim.reading.names`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.reading.analysis import (
    HEADLINE,
    NON_NEGATIVE,
    SHARE_UNITS,
    TWIN,
    compare_arms,
    mean_interval,
)
from sim.reading.names import DisplayNames, ordered_paths

#: Metrics shown along a sweep, in order (those present in the batch).
SWEEP_METRICS = (
    "true_additional_employment",
    "public_cost_eur_per_additional_employment",
    "npv_eur",
    "contract_payments_eur",
    "investor_lost_money",
    "public_spending_eur",
)
#: Fewer replications than this make a 95 % interval too wide to mean much.
MIN_REPLICATIONS_FOR_INTERVAL = 5


def point_values(runs: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Values of every sweep point (dotted path -> value); ``{}`` for a batch without sweep."""
    values: dict[int, dict[str, Any]] = {}
    if runs.empty or "point_values" not in runs.columns:
        return values
    for point, text in zip(runs["point"], runs["point_values"], strict=True):
        if int(point) not in values:
            values[int(point)] = json.loads(text) if text else {}
    return values


def swept_paths(runs: pd.DataFrame, names: DisplayNames | None = None) -> list[str]:
    """The swept parameters of a batch, in the scenario's order."""
    found = {p for v in point_values(runs).values() for p in v}
    return ordered_paths(names or DisplayNames(), found)


def points_frame(runs: pd.DataFrame, names: DisplayNames | None = None) -> pd.DataFrame:
    """One row per sweep point: ``point`` and one column per swept parameter (scenario order)."""
    values = point_values(runs)
    paths = swept_paths(runs, names)
    rows = [{"point": p, **{k: v.get(k) for k in paths}} for p, v in sorted(values.items())]
    return pd.DataFrame(rows, columns=["point", *paths])


def sweep_comparison(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    names: DisplayNames | None = None,
    metric_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Arms against the status quo at every sweep point, in one long table.

    Returns:
        :func:`sim.reading.analysis.compare_arms`'s columns with the point's value of each swept
        parameter after ``point`` (scenario order), and labels without leading spaces.
    """
    comparison = compare_arms(metrics, list(metric_names) if metric_names else None)
    comparison["label"] = comparison["label"].str.strip()
    points = points_frame(runs, names)
    if points.shape[1] == 1:
        return comparison
    merged = comparison.merge(points, on="point", how="left")
    paths = list(points.columns[1:])
    order = ["point", *paths, *[c for c in comparison.columns if c != "point"]]
    return merged[order]


def sweep_pivot(comparison: pd.DataFrame, metric: str, parameter: str) -> pd.DataFrame:
    """One metric of a sweep comparison as a pivot: the swept ``parameter``'s values as columns,
    every combination of the other swept parameters (and the arm, when there are several) as
    rows; cells are the mean over replications.

    Raises:
        KeyError: the metric or the parameter is not in the comparison.
    """
    if parameter not in comparison.columns:
        raise KeyError(parameter)
    chosen = comparison[comparison["metric"] == metric]
    if chosen.empty:
        raise KeyError(metric)
    start = list(comparison.columns).index("point") + 1
    paths = list(comparison.columns[start : list(comparison.columns).index("arm")])
    rows = [p for p in paths if p != parameter]
    if chosen["arm"].nunique() > 1:
        rows = ["arm", *rows]
    if not rows:
        table = chosen.pivot_table(index="metric", columns=parameter, values="mean", sort=True)
        table.index = [metric]
        return table
    return chosen.pivot_table(index=rows, columns=parameter, values="mean", sort=True)


def sweep_metrics(metrics: pd.DataFrame) -> list[str]:
    """The metrics of :data:`SWEEP_METRICS` that the batch's arm runs have."""
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    return [m for m in SWEEP_METRICS if m in done.columns and done[m].notna().any()]


MARGINAL_COLUMNS = ["arm", "value", "mean", "ci_low", "ci_high", "replications", "points"]


def along_parameter(
    metrics: pd.DataFrame, runs: pd.DataFrame, metric: str, parameter: str
) -> pd.DataFrame:
    """How a metric moves along one swept parameter, the other swept parameters averaged.

    For each arm and value of ``parameter``, each replication's metric is averaged over the sweep
    points with that value (replications share their random draws across points); the mean of
    these averages and its Student-t 95 % interval over replications are returned. With one
    swept parameter, this is the metric at each point.

    Returns:
        One row per arm and value: ``value``, ``mean``, ``ci_low``, ``ci_high``,
        ``replications`` and ``points`` (sweep points averaged).
    """
    values = point_values(runs)
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    if done.empty or metric not in done.columns:
        return pd.DataFrame(columns=MARGINAL_COLUMNS)
    frame = done[["point", "replication", "arm", metric]].copy()
    frame["value"] = [values.get(int(p), {}).get(parameter) for p in frame["point"]]
    frame = frame.dropna(subset=["value"])
    unit = HEADLINE.get(metric, ("", ""))[1]
    rows: list[dict[str, Any]] = []
    for (arm, value), group in frame.groupby(["arm", "value"], sort=True):
        per_replication = group.groupby("replication")[metric].mean()
        mean, low, high, n = mean_interval(per_replication)
        if n == 0:
            continue
        if unit in SHARE_UNITS:
            low, high = max(low, 0.0), min(high, 1.0)
        elif metric in NON_NEGATIVE and math.isfinite(low):
            low = max(low, 0.0)
        rows.append(
            {
                "arm": arm,
                "value": value,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "replications": n,
                "points": group["point"].nunique(),
            }
        )
    return pd.DataFrame(rows, columns=MARGINAL_COLUMNS)


def two_parameter_grid(
    metrics: pd.DataFrame, runs: pd.DataFrame, metric: str, rows: str, columns: str, arm: str
) -> pd.DataFrame:
    """Mean of a metric over replications (and over the other swept parameters) for every pair
    of values of two swept parameters, for one arm: ``rows`` values as index, ``columns`` values
    as columns (for a heat map)."""
    values = point_values(runs)
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] == arm)]
    if done.empty or metric not in done.columns:
        return pd.DataFrame()
    frame = done[["point", metric]].copy()
    frame["row"] = [values.get(int(p), {}).get(rows) for p in frame["point"]]
    frame["column"] = [values.get(int(p), {}).get(columns) for p in frame["point"]]
    return frame.pivot_table(index="row", columns="column", values=metric, aggfunc="mean")


def too_few_replications(metrics: pd.DataFrame) -> int | None:
    """The fewest done replications of an arm at a sweep point when below
    :data:`MIN_REPLICATIONS_FOR_INTERVAL` (intervals then mean little), else None."""
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    if done.empty:
        return None
    fewest = int(done.groupby(["point", "arm"])["replication"].nunique().min())
    return fewest if fewest < MIN_REPLICATIONS_FOR_INTERVAL else None


def finite_values(values: Sequence[float]) -> np.ndarray:
    """The finite numbers of a sequence, as an array."""
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]
