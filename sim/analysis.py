"""Comparisons people can read, computed from data frames only (never from the model).

Every arm metric is already a paired difference against the status-quo twin of its replication
(true additional outcomes, avoided costs, NPV, ...), so the comparison of an arm with the status
quo is the mean of those differences across replications with a Student-t 95 % interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

TWIN = "status_quo"

#: Metrics shown side by side, in order, with a short label and a unit.
HEADLINE: dict[str, tuple[str, str]] = {
    "participants": ("participants", "people"),
    "true_additional_outcomes": ("true additional outcomes", "outcomes"),
    "true_additional_employment": ("  of which jobs held 6 months", "outcomes"),
    "true_additional_french": ("  of which French A1 reached", "outcomes"),
    "true_additional_rights": ("  of which RSA rights claimed", "outcomes"),
    "measured_additional_outcomes": ("outcomes the evaluators validated", "outcomes"),
    "deadweight_share_of_counted": ("deadweight share of counted outcomes", "share"),
    "public_spending_eur": ("public spending", "EUR"),
    "avoided_public_cost_eur": ("public costs avoided", "EUR"),
    "npv_eur": ("net present value to the public purse", "EUR"),
    "cost_eur_per_additional_outcome": ("spending per true additional outcome", "EUR"),
    "reach_share_barrier_q4": ("participants from the hardest quarter", "share"),
    "creaming_index": ("creaming index (0 = none)", "index"),
    "decision_accuracy": ("right scale/stop decisions", "share"),
    "contract_payments_eur": ("contract payments", "EUR"),
    "investor_lost_money": ("investor lost money", "share of runs"),
    "deadweight_share_of_paid_outcomes": ("deadweight share of paid outcomes", "share"),
}


SHARE_UNITS = ("share", "share of runs")


def mean_interval(
    values: pd.Series | np.ndarray, level: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean, lower and upper bounds of a Student-t interval, and the number of finite values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def compare_arms(metrics: pd.DataFrame, names: list[str] | None = None) -> pd.DataFrame:
    """Arms side by side: per sweep point, arm and metric, the mean across replications of the
    paired difference with the status quo and its 95 % interval.

    Args:
        metrics: wide metrics frame (one row per run: point, replication, arm, status, metrics).
        names: metrics to compare (default: the headline ones present).
    """
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    names = names or [m for m in HEADLINE if m in done.columns and done[m].notna().any()]
    rows: list[dict[str, Any]] = []
    for (point, arm), group in done.groupby(["point", "arm"], sort=False):
        for name in names:
            if name == "cost_eur_per_additional_outcome":
                mean, low, high, n = ratio_interval(
                    group["public_spending_eur"], group["true_additional_outcomes"]
                )
            else:
                mean, low, high, n = mean_interval(group[name])
            if n == 0:
                continue
            label, unit = HEADLINE.get(name, (name, ""))
            if unit in SHARE_UNITS:
                low, high = max(low, 0.0), min(high, 1.0)
            rows.append(
                {
                    "point": point,
                    "arm": arm,
                    "metric": name,
                    "label": label,
                    "unit": unit,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "replications": n,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "point",
            "arm",
            "metric",
            "label",
            "unit",
            "mean",
            "ci_low",
            "ci_high",
            "replications",
        ],
    )


def ratio_interval(
    numerator: pd.Series, denominator: pd.Series, level: float = 0.95, resamples: int = 2000
) -> tuple[float, float, float, int]:
    """Ratio of means (e.g. spending per additional outcome) with a percentile bootstrap interval
    over replications (seeded, so the same data give the same interval). Undefined when the
    denominator's mean is not positive."""
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    if n == 0 or b.mean() <= 0:
        return math.nan, math.nan, math.nan, n
    ratio = float(a.mean() / b.mean())
    if n < 2:
        return ratio, math.nan, math.nan, n
    rng = np.random.default_rng(0)
    picks = rng.integers(0, n, size=(resamples, n))
    den = b[picks].mean(axis=1)
    valid = den > 0
    boot = a[picks].mean(axis=1)[valid] / den[valid]
    tail = (1 - level) / 2 * 100
    return ratio, float(np.percentile(boot, tail)), float(np.percentile(boot, 100 - tail)), n


def comparison_table(comparison: pd.DataFrame, point: int | None = None) -> pd.DataFrame:
    """Metrics as rows and arms as columns, each cell 'mean [low, high]', for one sweep point."""
    if comparison.empty:
        return pd.DataFrame()
    chosen = comparison[
        comparison["point"] == (comparison["point"].min() if point is None else point)
    ]
    cells = chosen.assign(
        cell=[format_cell(r.mean, r.ci_low, r.ci_high, r.unit) for r in chosen.itertuples()]
    )
    table = cells.pivot_table(
        index=["metric", "label"], columns="arm", values="cell", aggfunc="first", sort=False
    )
    order = [m for m in HEADLINE if m in table.index.get_level_values(0)]
    order += [m for m in table.index.get_level_values(0) if m not in order]
    table = table.reindex(order, level=0)
    table.index = table.index.get_level_values(1)
    table.columns.name = None
    return table.fillna("")


def format_cell(mean: float, low: float, high: float, unit: str) -> str:
    """'12.3 [10.1, 14.5]' with figures rounded for reading."""

    def fmt(x: float) -> str:
        if not math.isfinite(x):
            return "n/a"
        if unit in SHARE_UNITS:
            return f"{x:.0%}"
        if unit == "index":
            return f"{x:.2f}"
        if abs(x) >= 10_000:
            return f"{x:,.0f}"
        return f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"

    if not math.isfinite(low):
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"
