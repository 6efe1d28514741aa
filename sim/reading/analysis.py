"""Comparisons people can read, computed from data frames only (never from the model).

Every arm metric is already a paired difference against the status-quo twin of its replication
(true additional outcomes, avoided costs, NPV, ...), so the comparison of an arm with the status
quo is the mean of those differences across replications with a Student-t 95 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.delivery.needs import all_needs, need_keys
from sim.funding.ledger import PUBLIC_PAYERS

TWIN = "status_quo"

#: Per-need metrics, in the order shown, with a label template ({outcome}: the need's outcome)
#: and a unit. Outcomes of different needs are never added together.
NEED_METRICS: tuple[tuple[str, str, str], ...] = (
    ("true_additional_{need}", "{outcome}: true additional", "outcomes"),
    ("measured_additional_{need}", "  validated by the evaluators", "outcomes"),
    ("deadweight_share_of_counted_{need}", "  deadweight share of those counted", "share"),
    ("public_cost_eur_per_additional_{need}", "  public cost per true additional", "EUR"),
    ("society_cost_eur_per_additional_{need}", "  cost to society per true additional", "EUR"),
)
#: Cost-per-outcome metrics: a ratio of means (spending over outcomes) with a bootstrap interval.
COST_RATIOS = {
    "public_cost_eur_per_additional_{need}": "public_spending_eur_{need}",
    "society_cost_eur_per_additional_{need}": "society_spending_eur_{need}",
}


#: How the shipped needs' outcomes read in a table, counted (a need without one reads as its
#: ``outcome``).
OUTCOME_LABELS = {
    "employment": "jobs held 6 months",
    "french": "French A1 levels reached",
    "rights": "RSA rights claimed",
}


def outcome_label(need: str) -> str:
    """The outcomes of a need, in words (English)."""
    return OUTCOME_LABELS.get(need) or next(n.outcome for n in all_needs() if n.key == need)


def _need_headline() -> dict[str, tuple[str, str]]:
    return {
        metric.format(need=need.key): (label.format(outcome=outcome_label(need.key)), unit)
        for need in all_needs()
        for metric, label, unit in NEED_METRICS
    }


def cost_ratio_parts(metric: str) -> tuple[str, str] | None:
    """(numerator, denominator) of a per-need cost-per-outcome metric, or None."""
    for pattern, numerator in COST_RATIOS.items():
        for need in need_keys():
            if metric == pattern.format(need=need):
                return numerator.format(need=need), f"true_additional_{need}"
    return None


#: Metrics shown side by side, in order, with a short label and a unit.
HEADLINE: dict[str, tuple[str, str]] = {
    "participants": ("participants", "people"),
    **_need_headline(),
    "public_spending_eur": ("public spending", "EUR"),
    "society_cost_eur": ("cost to society", "EUR"),
    "investor_net_eur": ("investor's net result", "EUR"),
    "avoided_public_cost_eur": ("public costs avoided", "EUR"),
    "npv_eur": ("net present value to the public purse", "EUR"),
    "reach_share_barrier_q4": ("participants from the hardest quarter", "share"),
    "creaming_index": ("creaming index (0 = none)", "index"),
    "decision_accuracy": ("right scale/stop decisions", "share"),
    "contract_payments_eur": ("contract payments", "EUR"),
    "investor_lost_money": ("investor lost money", "share of runs"),
    "deadweight_share_of_paid_outcomes": (
        "deadweight share of paid outcomes (runs with payments)",
        "share",
    ),
}


SHARE_UNITS = ("share", "share of runs")
#: Metrics that cannot be negative: their interval is cut at zero.
NON_NEGATIVE = (
    "participants",
    "public_spending_eur",
    "society_cost_eur",
    "contract_payments_eur",
    *(f"measured_additional_{need}" for need in need_keys()),
    *(f"counted_{need}" for need in need_keys()),
)
#: Fewer replications than this give no bootstrap interval (percentiles of so few are noise).
MIN_BOOTSTRAP_REPLICATIONS = 5


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


def proportion_interval(
    flags: pd.Series | np.ndarray, level: float = 0.95
) -> tuple[float, float, float, int]:
    """Share of runs where a yes/no outcome happened, with a Wilson score interval (which stays
    honest when every run agrees, unlike a t interval of zero width)."""
    x = np.asarray(flags, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    interval = stats.binomtest(round(float(x.sum())), n).proportion_ci(level, method="wilson")
    return float(x.mean()), float(interval.low), float(interval.high), n


def _available(frame: pd.DataFrame, metric: str) -> bool:
    """Whether a metric has values in a frame, or (a cost per outcome) the parts of its ratio."""
    parts = cost_ratio_parts(metric)
    if parts is not None:
        return set(parts) <= set(frame.columns)
    return metric in frame.columns and bool(frame[metric].notna().any())


def monetised_values(metrics: pd.DataFrame, values: Mapping[str, float]) -> pd.DataFrame:
    """The optional monetised view: per point and arm, the mean over replications (with its
    interval) of the euro value of each run's true additional outcomes, need by need times
    ``values`` (euros per outcome), summed in euros only; the counts are never replaced.

    Returns:
        One row per point and arm: ``value_eur``, ``ci_low``, ``ci_high``, ``replications``.
    """
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    columns = ["point", "arm", "value_eur", "ci_low", "ci_high", "replications"]
    present = [n for n in need_keys() if f"true_additional_{n}" in done.columns]
    if done.empty or not present:
        return pd.DataFrame(columns=columns)
    worth = sum(
        float(values.get(n, 0.0)) * done[f"true_additional_{n}"].fillna(0.0) for n in present
    )
    rows = []
    for (point, arm), group in done.assign(value_eur=worth).groupby(["point", "arm"], sort=False):
        mean, low, high, n = mean_interval(group["value_eur"])
        rows.append([point, arm, mean, low, high, n])
    return pd.DataFrame(rows, columns=columns)


def compare_arms(metrics: pd.DataFrame, names: list[str] | None = None) -> pd.DataFrame:
    """Arms side by side: per sweep point, arm and metric, the mean across replications of the
    paired difference with the status quo and its 95 % interval.

    Args:
        metrics: wide metrics frame (one row per run: point, replication, arm, status, metrics).
        names: metrics to compare (default: the headline ones present).
    """
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    names = names or [m for m in HEADLINE if _available(done, m)]
    rows: list[dict[str, Any]] = []
    for (point, arm), group in done.groupby(["point", "arm"], sort=False):
        for name in names:
            label, unit = HEADLINE.get(name, (name, ""))
            if unit == "share of runs":
                mean, low, high, n = proportion_interval(group[name])
            elif (parts := cost_ratio_parts(name)) is not None:
                if not set(parts) <= set(group.columns):
                    continue
                mean, low, high, n = ratio_interval(group[parts[0]], group[parts[1]])
            else:
                mean, low, high, n = mean_interval(group[name])
            if n == 0:
                continue
            if unit in SHARE_UNITS:
                low, high = max(low, 0.0), min(high, 1.0)
            elif name in NON_NEGATIVE:
                low = max(low, 0.0)
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
    if n < MIN_BOOTSTRAP_REPLICATIONS:
        return ratio, math.nan, math.nan, n
    rng = np.random.default_rng(0)
    picks = rng.integers(0, n, size=(resamples, n))
    den = b[picks].mean(axis=1)
    valid = den > 0
    if valid.mean() < 1 - (1 - level) / 2:
        # The denominator is often not positive: the interval would be conditional and too narrow.
        return ratio, math.nan, math.nan, n
    boot = a[picks].mean(axis=1)[valid] / den[valid]
    tail = (1 - level) / 2 * 100
    return ratio, float(np.percentile(boot, tail)), float(np.percentile(boot, 100 - tail)), n


def paired_ratio_difference(
    first: pd.DataFrame,
    second: pd.DataFrame,
    numerator: str = "public_spending_eur_employment",
    denominator: str = "true_additional_employment",
    level: float = 0.95,
    resamples: int = 2000,
) -> tuple[float, float, float]:
    """Difference of two arms' ratios of means (second minus first, e.g. spending per additional
    outcome) with a percentile bootstrap that resamples *replications*, keeping each
    replication's two arms together (they share their random draws). Undefined (NaN) when a
    ratio's denominator is not positive in more than the interval's tail share of resamples.

    Args:
        first, second: metrics rows of the two arms, one per replication.
    """
    a = first.set_index("replication")[[numerator, denominator]]
    b = second.set_index("replication")[[numerator, denominator]]
    both = a.merge(b, left_index=True, right_index=True, suffixes=("_a", "_b")).dropna()
    n = len(both)
    if n < MIN_BOOTSTRAP_REPLICATIONS:
        return math.nan, math.nan, math.nan
    values = both.to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, n, size=(resamples, n))
    means = values[picks].mean(axis=1)
    valid = (means[:, 1] > 0) & (means[:, 3] > 0)
    tail = (1 - level) / 2
    if valid.mean() < 1 - tail or values[:, 1].mean() <= 0 or values[:, 3].mean() <= 0:
        return math.nan, math.nan, math.nan
    observed = values.mean(axis=0)
    diff = observed[2] / observed[3] - observed[0] / observed[1]
    boot = means[valid, 2] / means[valid, 3] - means[valid, 0] / means[valid, 1]
    return float(diff), float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail))


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


# ---------------------------------------------------------------------------- figure data
#: Per-territory true additional outcomes, one column per need.
NEED_COLUMNS = tuple(f"true_additional_{need}" for need in need_keys())
#: Mechanism whose runs carry contract metrics.
IMPACT_CONTRACT = "impact_contract"
#: Percentiles of the bands drawn across replications.
BAND_PERCENTILES = (2.5, 97.5)
#: Percentiles of the contract risk summaries (as in ``contract_risks``).
RISK_QUANTILES = (0.05, 0.5, 0.95)

SERIES_BAND_COLUMNS = [
    "point",
    "arm",
    "month",
    "replications",
    "mean",
    "low",
    "high",
    "diff_mean",
    "diff_low",
    "diff_high",
]


def series_bands(series: pd.DataFrame, name: str) -> pd.DataFrame:
    """One monthly series summarised across replications, with its paired difference.

    Args:
        series: long series frame (point, replication, arm, month, name, value).
        name: the series to summarise (e.g. ``sustained_jobs_cumulative``).

    Returns:
        One row per point, arm and month: ``replications`` (values present), ``mean``, ``low``
        and ``high`` (2.5th and 97.5th percentiles across replications), and the same for the
        difference arm minus the status-quo twin of the same point and replication
        (``diff_mean``, ``diff_low``, ``diff_high``; zero for the twin itself, NaN when the twin
        is missing). Empty (with these columns) when the series is absent.
    """
    chosen = series.loc[series["name"] == name, ["point", "replication", "arm", "month", "value"]]
    if chosen.empty:
        return pd.DataFrame(columns=SERIES_BAND_COLUMNS)
    twin = chosen.loc[chosen["arm"] == TWIN, ["point", "replication", "month", "value"]]
    paired = chosen.merge(
        twin.rename(columns={"value": "twin"}), on=["point", "replication", "month"], how="left"
    )
    paired["diff"] = paired["value"] - paired["twin"]
    grouped = paired.groupby(["point", "arm", "month"], sort=True)
    low, high = (p / 100 for p in BAND_PERCENTILES)
    value, diff = grouped["value"], grouped["diff"]
    summary = pd.DataFrame(
        {
            "replications": value.count(),
            "mean": value.mean(),
            "low": value.quantile(low),
            "high": value.quantile(high),
            "diff_mean": diff.mean(),
            "diff_low": diff.quantile(low),
            "diff_high": diff.quantile(high),
        }
    ).reset_index()
    return summary[SERIES_BAND_COLUMNS]


TERRITORY_EFFECT_COLUMNS = [
    "point",
    "arm",
    "territory",
    "qpv",
    "replications",
    *NEED_COLUMNS,
    "participants",
    "unemployment_rate_difference",
]


def territory_effects(territories: pd.DataFrame) -> pd.DataFrame:
    """Mean effects per territory across replications (status-quo twins left out: their effects
    are zero by construction).

    Args:
        territories: per-territory results frame (one row per run and territory).

    Returns:
        One row per point, arm and territory: ``qpv``, ``replications``, the mean true
        additional outcomes of each need (never added up), mean ``participants`` and the mean
        difference of the end-of-run unemployment rate with the twin
        (``unemployment_rate_difference``, a fraction).
    """
    arms = territories[territories["arm"] != TWIN]
    if arms.empty:
        return pd.DataFrame(columns=TERRITORY_EFFECT_COLUMNS)
    arms = arms.assign(
        unemployment_rate_difference=arms["unemployment_rate_end"]
        - arms["unemployment_rate_end_twin"],
    )
    grouped = arms.groupby(["point", "arm", "territory"], sort=True)
    means = grouped[[*NEED_COLUMNS, "participants", "unemployment_rate_difference"]].mean()
    summary = means.assign(
        qpv=grouped["qpv"].first().astype(bool), replications=grouped["replication"].nunique()
    ).reset_index()
    return summary[TERRITORY_EFFECT_COLUMNS]


CASH_FLOW_COLUMNS = [
    "point",
    "arm",
    "month",
    "payer",
    "kind",
    "public",
    "amount_eur",
    "replications",
]


def cash_flow_summary(cash_flows: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean cash flows across replications, per month, payer and kind (payees pooled).

    A replication without a given flow counts as zero for it: sums are divided by the number of
    replications of the point and arm, taken from ``runs`` (its done runs) when given, otherwise
    from the replications present in ``cash_flows``.

    Args:
        cash_flows: cash flow frame (point, replication, arm, month, payer, payee, kind, amount).
        runs: optional runs frame (point, replication, arm, status).

    Returns:
        One row per point, arm, month, payer and kind: ``public`` (the payer is a public one),
        ``amount_eur`` (mean across replications) and ``replications``.
    """
    if cash_flows.empty:
        return pd.DataFrame(columns=CASH_FLOW_COLUMNS)
    keys = ["point", "arm", "month", "payer", "kind"]
    sums = cash_flows.groupby(keys, sort=True)["amount_eur"].sum().reset_index()
    if runs is not None and not runs.empty:
        done = runs[runs["status"] == "done"]
        counts = done.groupby(["point", "arm"])["replication"].nunique()
    else:
        counts = cash_flows.groupby(["point", "arm"])["replication"].nunique()
    sums = sums.merge(counts.rename("replications").reset_index(), on=["point", "arm"], how="left")
    sums["replications"] = sums["replications"].fillna(0).astype(int)
    sums["amount_eur"] = sums["amount_eur"] / sums["replications"].where(
        sums["replications"] > 0, np.nan
    )
    sums["public"] = sums["payer"].isin(PUBLIC_PAYERS)
    return sums[CASH_FLOW_COLUMNS]


CONTRACT_OUTCOME_COLUMNS = [
    "point",
    "arm",
    "replications",
    "probability_investor_loses",
    "probability_payer_pays_non_additional",
    "payer_npv_eur_mean",
    "payer_npv_eur_p05",
    "payer_npv_eur_p50",
    "payer_npv_eur_p95",
    "investor_irr_replications",
    "investor_irr_per_year_mean",
    "investor_irr_per_year_p05",
    "investor_irr_per_year_p50",
    "investor_irr_per_year_p95",
    "investor_money_multiple_mean",
    "contract_payments_eur_mean",
    "deadweight_share_of_paid_outcomes_mean",
]


def contract_runs(metrics: pd.DataFrame) -> pd.DataFrame:
    """The done runs of social impact contracts (by mechanism, or by their contract metrics when
    the frame has no mechanism column)."""
    done = metrics[metrics["status"] == "done"] if "status" in metrics.columns else metrics
    if "investor_lost_money" not in done.columns:
        return done.iloc[0:0]
    if "mechanism" in done.columns:
        return done[done["mechanism"] == IMPACT_CONTRACT]
    return done[done["investor_lost_money"].notna()]


def _finite(values: pd.Series) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def contract_outcomes(metrics: pd.DataFrame) -> pd.DataFrame:
    """Who bore the risk of each social impact contract, across its replications.

    The definitions are those of ``contract_risks``, computed from the
    metrics frame: the probability that the investor loses money, the probability that the payer
    pays for outcomes that were not additional, and the 5th, 50th and 95th percentiles of the
    payer's net present value; the same for the investor's internal rate of return (runs where it is
    undefined left out, counted in ``investor_irr_replications``).

    Args:
        metrics: wide metrics frame.

    Returns:
        One row per point and contract arm (columns ``CONTRACT_OUTCOME_COLUMNS``).
    """
    runs = contract_runs(metrics)
    rows: list[dict[str, Any]] = []
    for (point, arm), group in runs.groupby(["point", "arm"], sort=True):
        irr = _finite(group["investor_irr_per_year"])
        row: dict[str, Any] = {
            "point": point,
            "arm": arm,
            **contract_risks(group.to_dict("records")),
            "replications": len(group),
            "investor_irr_replications": len(irr),
            "investor_irr_per_year_mean": float(irr.mean()) if len(irr) else math.nan,
            "investor_money_multiple_mean": _nan_mean(group, "investor_money_multiple"),
            "contract_payments_eur_mean": _nan_mean(group, "contract_payments_eur"),
            "deadweight_share_of_paid_outcomes_mean": _nan_mean(
                group, "deadweight_share_of_paid_outcomes"
            ),
        }
        for q in RISK_QUANTILES:
            suffix = f"p{round(q * 100):02d}"
            row[f"investor_irr_per_year_{suffix}"] = (
                float(np.quantile(irr, q)) if len(irr) else math.nan
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=CONTRACT_OUTCOME_COLUMNS)


def _nan_mean(frame: pd.DataFrame, column: str) -> float:
    if column not in frame.columns:
        return math.nan
    values = _finite(frame[column])
    return float(values.mean()) if len(values) else math.nan


REACH_COLUMNS = ["point", "arm", "quartile", "mean", "ci_low", "ci_high", "replications"]


def reach_by_quartile(metrics: pd.DataFrame) -> pd.DataFrame:
    """Who the participants are: per point, arm and barrier quartile of the initially
    unemployed (1 = most job-ready, 4 = hardest to help), the mean share of participants and
    its 95 % interval across replications (bounded to [0, 1]). Without selection every share
    is 25 %.

    Args:
        metrics: wide metrics frame (columns ``reach_share_barrier_q1`` .. ``q4``).

    Returns:
        Long frame with ``REACH_COLUMNS``; arms without participants are left out.
    """
    columns = [f"reach_share_barrier_q{q}" for q in range(1, 5)]
    if any(c not in metrics.columns for c in columns):
        return pd.DataFrame(columns=REACH_COLUMNS)
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    rows: list[dict[str, Any]] = []
    for (point, arm), group in done.groupby(["point", "arm"], sort=True):
        for quartile, column in enumerate(columns, start=1):
            mean, low, high, n = mean_interval(group[column])
            if n == 0:
                continue
            rows.append(
                {
                    "point": point,
                    "arm": arm,
                    "quartile": quartile,
                    "mean": mean,
                    "ci_low": max(low, 0.0) if math.isfinite(low) else low,
                    "ci_high": min(high, 1.0) if math.isfinite(high) else high,
                    "replications": n,
                }
            )
    return pd.DataFrame(rows, columns=REACH_COLUMNS)


PILOT_RATE_COLUMNS = [
    "point",
    "arm",
    "truly_works",
    "decision",
    "correct",
    "decisions",
    "replications",
    "per_replication",
    "share",
]
PILOT_DECISIONS = ("scale", "stop")


def pilot_decision_rates(pilot_decisions: pd.DataFrame) -> pd.DataFrame:
    """Scale/stop decisions of calls for projects against the truth.

    Args:
        pilot_decisions: pilot decision frame (point, replication, arm, truly_works, decision).

    Returns:
        One row per point, arm, truth (``truly_works``) and decision (``scale`` and ``stop``
        always present, with zero counts when they never happened): ``correct`` (scaling a pilot
        that works or stopping one that does not), ``decisions`` (count over all replications),
        ``replications`` (of the arm with decisions), ``per_replication`` and ``share`` (of the
        pilots with the same truth; NaN when there are none).
    """
    if pilot_decisions.empty:
        return pd.DataFrame(columns=PILOT_RATE_COLUMNS)
    frame = pilot_decisions.assign(truly_works=pilot_decisions["truly_works"].astype(bool))
    decisions = list(PILOT_DECISIONS) + sorted(
        d for d in frame["decision"].unique() if d not in PILOT_DECISIONS
    )
    rows: list[dict[str, Any]] = []
    for (point, arm), group in frame.groupby(["point", "arm"], sort=True):
        replications = group["replication"].nunique()
        for truth in (True, False):
            same = group[group["truly_works"] == truth]
            for decision in decisions:
                picked = same[same["decision"] == decision]
                if len(picked) and "correct" in picked.columns:
                    correct = bool(picked["correct"].astype(bool).all())
                else:
                    correct = (decision == "scale") == truth
                rows.append(
                    {
                        "point": point,
                        "arm": arm,
                        "truly_works": truth,
                        "decision": decision,
                        "correct": correct,
                        "decisions": len(picked),
                        "replications": replications,
                        "per_replication": len(picked) / replications,
                        "share": len(picked) / len(same) if len(same) else math.nan,
                    }
                )
    return pd.DataFrame(rows, columns=PILOT_RATE_COLUMNS)


def contract_risks(per_replication: list[dict[str, float]]) -> dict[str, float]:
    """Across replications of a contract: probability that the investor loses, probability that
    the payer pays for non-additional outcomes, and the distribution of the payer's NPV."""
    if not per_replication:
        return {}
    npv = np.array([m["npv_eur"] for m in per_replication])
    return {
        "replications": float(len(per_replication)),
        "probability_investor_loses": float(
            np.mean([m["investor_lost_money"] for m in per_replication])
        ),
        "probability_payer_pays_non_additional": float(
            np.mean([m["paid_for_non_additional_outcomes"] for m in per_replication])
        ),
        "payer_npv_eur_mean": float(npv.mean()),
        "payer_npv_eur_p05": float(np.quantile(npv, 0.05)),
        "payer_npv_eur_p50": float(np.quantile(npv, 0.5)),
        "payer_npv_eur_p95": float(np.quantile(npv, 0.95)),
    }
