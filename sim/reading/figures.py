"""Figures of a batch for people who are not specialists, in English or French.

Every function takes data frames of one batch (as read by :class:`sim.Results` or
:class:`sim.experiments.store.ResultStore`) and a :class:`sim.reading.i18n.Labels`, and returns a
:class:`matplotlib.figure.Figure`. Figures are built with the object-oriented API
(``Figure(...)``, never ``pyplot``): no GUI backend is touched, which is safe on headless machines,
and no global figure is left open. Save one with ``figure.savefig(path)``.

A figure without data to show raises :class:`NoDataError`, whose message (in the labels'
language) says why. In a sweep, figures show the first sweep point unless ``point`` is given, and
say so in their title; the investor's returns pool every point. With one replication, no band or
interval is drawn.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator

from sim.errors import UserInputError
from sim.reading.analysis import (
    TWIN,
    cash_flow_summary,
    compare_arms,
    contract_runs,
    pilot_decision_rates,
    reach_by_quartile,
    series_bands,
    territory_effects,
)
from sim.reading.i18n import Labels
from sim.world.territory import City

#: Series drawn over time by default.
DEFAULT_SERIES = ("sustained_jobs_cumulative", "unemployment_rate")
#: Series that are fractions: drawn in %, their differences in percentage points.
PERCENT_SERIES = ("unemployment_rate", "non_take_up", "french_a1_plus_initial_non_speakers")
#: Colours of arms named after their mechanism; other arms take the palette in order.
ARM_COLOURS = {
    "status_quo": "#6f6f6f",
    "planned": "#1f77b4",
    "call_for_projects": "#e6780b",
    "impact_contract": "#2a9d3a",
}
PALETTE = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728", "#7f7f7f")
ARM_ORDER = ("status_quo", "planned", "call_for_projects", "impact_contract")
KIND_COLOURS = {
    "activity": "#4e79a7",
    "grant": "#f28e2b",
    "outcome_payment": "#59a14f",
    "repayment": "#e15759",
    "transaction": "#b07aa1",
    "evaluation": "#9c755f",
    "incubator": "#edc948",
    "investment": "#76b7b2",
}
OTHER_KIND_COLOUR = "#bab0ac"
RIGHT_COLOUR = "#1b9e77"
WRONG_COLOUR = "#d95f02"
TITLE_WIDTH = 100
#: Characters of an 11.5-point title per inch of figure width.
CHARACTERS_PER_INCH = 9.5
DPI = 100


class NoDataError(ValueError):
    """The batch holds nothing this figure could show (the message says what is missing)."""


# ---------------------------------------------------------------------------- helpers
def arm_order(arms: Iterable[str]) -> list[str]:
    """Arms in reading order: status quo, planned, call for projects, contract, then others."""
    unique = list(dict.fromkeys(arms))
    known = [a for a in ARM_ORDER if a in unique]
    return known + sorted(a for a in unique if a not in ARM_ORDER)


def arm_colours(arms: Sequence[str]) -> dict[str, str]:
    """A colour per arm: fixed for mechanism names, the palette in order for others."""
    others = iter(PALETTE * (len(arms) // len(PALETTE) + 1))
    return {a: ARM_COLOURS[a] if a in ARM_COLOURS else next(others) for a in arms}


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _title(fig: Figure, text: str, notes: Sequence[str | None] = ()) -> None:
    """A sentence as the figure's title, wrapped, with notes (sweep point, noise) below it."""
    width = min(TITLE_WIDTH, int(fig.get_figwidth() * CHARACTERS_PER_INCH))
    title = "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))
    kept = [n for n in notes if n]
    if kept:
        title += "\n(" + "; ".join(kept) + ")"
    fig.suptitle(title, fontsize=11.5)


def _select_point(
    frame: pd.DataFrame, point: int | None, labels: Labels
) -> tuple[pd.DataFrame, str | None]:
    """The rows of one sweep point (the first by default) and a note saying which, if needed."""
    points = sorted(int(p) for p in frame["point"].unique())
    if not points:
        return frame, None
    if point is None:
        chosen = points[0]
        note = labels.t("fig.first_point", n=len(points)) if len(points) > 1 else None
    else:
        if point not in points:
            raise UserInputError(
                f"no sweep point {point}: the batch has points {points[0]} to {points[-1]}"
            )
        chosen = point
        note = labels.t("fig.point", point=point) if len(points) > 1 else None
    return frame[frame["point"] == chosen], note


def _done_arms(metrics: pd.DataFrame) -> pd.DataFrame:
    """Done runs of every arm but the status quo."""
    return metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]


def _replication_note(replications: int, labels: Labels, bands: str) -> str:
    """How noise is shown: the band or interval note, or 'one replication: no interval'."""
    return labels.t("fig.one_replication") if replications < 2 else labels.t(bands)


class LocalFormatter(Formatter):
    """Tick labels in the labels' number format, with as many decimals as the tick spacing
    needs (``0.05``, ``0.10`` rather than ``0.0``, ``0.1``), unless ``digits`` is fixed."""

    def __init__(
        self,
        labels: Labels,
        scale: float = 1.0,
        digits: int | None = None,
        percent: bool = False,
    ) -> None:
        self.labels = labels
        self.scale = scale
        self.fixed = digits
        self.percent = percent
        self.digits = 0 if digits is None else digits

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        if self.fixed is not None:
            return
        factor = self.scale * (100.0 if self.percent else 1.0)
        values = np.unique(np.round(np.asarray(locs, dtype=float) * factor, 9))
        steps = np.diff(values)
        steps = steps[steps > 0]
        if len(steps) == 0:
            self.digits = 1
            return
        step = float(steps.min())
        self.digits = int(min(4, max(0, math.ceil(-math.log10(step) - 1e-9))))

    def __call__(self, x: float, pos: int | None = None) -> str:
        if self.percent:
            return self.labels.pct(x * self.scale, self.digits)
        return self.labels.num(x * self.scale, self.digits)


def _numbers(labels: Labels, scale: float = 1.0, digits: int | None = None) -> LocalFormatter:
    return LocalFormatter(labels, scale, digits)


def _percent(labels: Labels) -> LocalFormatter:
    return LocalFormatter(labels, percent=True)


def _errors(means: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> Any:
    """Asymmetric error bars, or None when no interval is finite."""
    low = np.array(
        [m - lo if math.isfinite(lo) else 0.0 for m, lo in zip(means, lows, strict=True)]
    )
    high = np.array(
        [hi - m if math.isfinite(hi) else 0.0 for m, hi in zip(means, highs, strict=True)]
    )
    if not (np.any(low) or np.any(high)):
        return None
    return np.vstack([np.maximum(low, 0.0), np.maximum(high, 0.0)])


def _comparison(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """compare_arms on the metrics present, indexed by (arm, metric)."""
    present = [n for n in names if n in frame.columns or n == "cost_eur_per_additional_outcome"]
    comparison = compare_arms(frame, present)
    return comparison.set_index(["arm", "metric"])


def _cell(comparison: pd.DataFrame, arm: str, metric: str) -> tuple[float, float, float, int]:
    if (arm, metric) not in comparison.index:
        return math.nan, math.nan, math.nan, 0
    row = comparison.loc[(arm, metric)]
    return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"]), int(row["replications"])


# ---------------------------------------------------------------------------- figures
def outcomes_over_time(
    series: pd.DataFrame,
    labels: Labels,
    names: Sequence[str] = DEFAULT_SERIES,
    point: int | None = None,
) -> Figure:
    """Monthly outcomes per arm (left) and their difference from the status-quo twin (right),
    with bands holding 95 % of the replications.

    Args:
        series: long series frame.
        labels: texts of one language.
        names: series to draw, one row of panels each (those absent are left out).
        point: sweep point (default: the first).
    """
    if series.empty:
        raise NoDataError(labels.t("nodata.series"))
    frame, note = _select_point(series, point, labels)
    names = [n for n in names if (frame["name"] == n).any()]
    if not names:
        raise NoDataError(labels.t("nodata.series"))
    arms = arm_order(frame["arm"].unique())
    if not [a for a in arms if a != TWIN]:
        raise NoDataError(labels.t("nodata.arms"))
    colours = arm_colours(arms)
    fig = _figure(11, 3.2 * len(names) + 1.6)
    axes = fig.subplots(len(names), 2, squeeze=False, sharex=True)
    replications = int(frame.groupby(["arm", "month"])["replication"].nunique().min())
    for row, name in enumerate(names):
        bands = series_bands(frame, name)
        scale = 100.0 if name in PERCENT_SERIES else 1.0
        level_ax, diff_ax = axes[row]
        for arm in arms:
            mine = bands[bands["arm"] == arm]
            style = {"color": colours[arm], "linewidth": 1.8, "label": labels.arm(arm)}
            if arm == TWIN:
                style |= {"linestyle": "--"}
            _line_with_band(level_ax, mine, "", scale, style, replications >= 2)
            if arm != TWIN:
                _line_with_band(diff_ax, mine, "diff_", scale, style, replications >= 2)
        diff_ax.axhline(0.0, color="black", linewidth=0.8)
        unit_key = f"series.{name}.unit"
        unit = labels.t(unit_key) if labels.has(unit_key) else ""
        diff_unit = labels.t("unit.percentage_points") if name in PERCENT_SERIES else unit
        label_key = f"series.{name}"
        title = labels.t(label_key) if labels.has(label_key) else name
        level_ax.set_title(labels.t("fig.outcomes.level", series=title), loc="left")
        diff_ax.set_title(labels.t("fig.outcomes.difference"), loc="left", fontsize=9.5)
        level_ax.set_ylabel(unit)
        diff_ax.set_ylabel(labels.t("fig.outcomes.difference_unit", unit=diff_unit))
        for ax in (level_ax, diff_ax):
            ax.yaxis.set_major_formatter(_numbers(labels))
            ax.xaxis.set_major_formatter(_numbers(labels, digits=0))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel(labels.t("fig.month"))
    handles, texts = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, texts, loc="outside lower center", ncols=len(arms), frameon=False)
    _title(
        fig,
        labels.t("fig.outcomes.title"),
        [note, _replication_note(replications, labels, "fig.bands")],
    )
    return fig


def true_vs_validated(metrics: pd.DataFrame, labels: Labels, point: int | None = None) -> Figure:
    """Paired bars per arm: true additional outcomes (arm minus twin) and the outcomes its
    evaluators validated, with the deadweight share of counted outcomes under each arm."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    names = ["true_additional_outcomes", "measured_additional_outcomes"]
    comparison = _comparison(frame, [*names, "deadweight_share_of_counted"])
    arms = arm_order(frame["arm"].unique())
    colours = arm_colours(arms)
    fig = _figure(10, 5.6)
    ax = fig.add_subplot()
    x = np.arange(len(arms), dtype=float)
    width = 0.38
    replications = 0
    for offset, name, hatch, alpha in ((-0.2, names[0], "", 1.0), (0.2, names[1], "//", 0.45)):
        cells = [_cell(comparison, arm, name) for arm in arms]
        means = [c[0] if math.isfinite(c[0]) else 0.0 for c in cells]
        replications = max(replications, *(c[3] for c in cells))
        bars = ax.bar(
            x + offset,
            means,
            width,
            color=[colours[a] for a in arms],
            alpha=alpha,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            yerr=_errors(means, [c[1] for c in cells], [c[2] for c in cells]),
            capsize=4,
            error_kw={"elinewidth": 1.0},
        )
        ax.bar_label(bars, labels=[labels.num(m) for m in means], padding=3, fontsize=8.5)
    ticks = []
    for arm in arms:
        share = _cell(comparison, arm, "deadweight_share_of_counted")[0]
        tick = labels.arm(arm)
        if math.isfinite(share):
            tick += "\n" + labels.t("fig.validated.deadweight", share=labels.pct(share))
        ticks.append(tick)
    ax.set_xticks(x, ticks, fontsize=9)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel(labels.t("fig.validated.ylabel"))
    ax.yaxis.set_major_formatter(_numbers(labels))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        handles=[
            Patch(facecolor="#999999", edgecolor="black", label=labels.t("fig.validated.true")),
            Patch(
                facecolor="#999999",
                alpha=0.45,
                hatch="//",
                edgecolor="black",
                label=labels.t("fig.validated.measured"),
            ),
        ],
        # Below the plot: bars and their labels can reach any height.
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=2,
        frameon=False,
    )
    _title(
        fig,
        labels.t("fig.validated.title"),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def cost_per_outcome(metrics: pd.DataFrame, labels: Labels, point: int | None = None) -> Figure:
    """Public spending per true additional outcome per arm, with its bootstrap interval."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    comparison = _comparison(frame, ["cost_eur_per_additional_outcome"])
    arms = arm_order(frame["arm"].unique())
    cells = [_cell(comparison, arm, "cost_eur_per_additional_outcome") for arm in arms]
    if not any(math.isfinite(c[0]) for c in cells):
        raise NoDataError(labels.t("nodata.cost"))
    colours = arm_colours(arms)
    fig = _figure(10, 1.2 + 0.9 * len(arms) + 1.2)
    ax = fig.add_subplot()
    y = np.arange(len(arms), dtype=float)[::-1]
    means = [c[0] if math.isfinite(c[0]) else 0.0 for c in cells]
    bars = ax.barh(
        y,
        means,
        0.6,
        color=[colours[a] for a in arms],
        xerr=_errors(means, [c[1] for c in cells], [c[2] for c in cells]),
        capsize=4,
        error_kw={"elinewidth": 1.0},
    )
    ax.bar_label(
        bars,
        labels=[
            labels.eur(c[0]) if math.isfinite(c[0]) else labels.t("fig.cost.undefined")
            for c in cells
        ],
        padding=6,
        fontsize=9,
    )
    ax.set_yticks(y, [labels.arm(a) for a in arms])
    ax.set_xlabel(labels.t("fig.cost.xlabel"))
    ax.xaxis.set_major_formatter(_numbers(labels, digits=0))
    highest = max((c[2] if math.isfinite(c[2]) else c[0]) for c in cells if math.isfinite(c[0]))
    ax.set_xlim(0, highest * 1.45)
    ax.grid(axis="x", alpha=0.3)
    replications = max(c[3] for c in cells)
    _title(
        fig,
        labels.t("fig.cost.title"),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def payer_cash_flows(
    cash_flows: pd.DataFrame,
    metrics: pd.DataFrame,
    labels: Labels,
    point: int | None = None,
    runs: pd.DataFrame | None = None,
) -> Figure:
    """Public spending per month stacked by kind, one panel per arm, and each arm's net present
    value to the public purse (mean and 95 % interval)."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    chosen = int(frame["point"].iloc[0])
    flows = cash_flows[cash_flows["point"] == chosen] if not cash_flows.empty else cash_flows
    summary = cash_flow_summary(flows, runs)
    public = summary[summary["public"] & (summary["arm"] != TWIN)] if len(summary) else summary
    if public.empty:
        raise NoDataError(labels.t("nodata.cash"))
    arms = arm_order(frame["arm"].unique())
    colours = arm_colours(arms)
    kinds = [k for k in KIND_COLOURS if k in set(public["kind"])]
    kinds += sorted(set(public["kind"]) - set(kinds))
    months = np.arange(int(public["month"].min()), int(public["month"].max()) + 1)
    fig = _figure(12, 1.9 * len(arms) + 2.2)
    grid = fig.add_gridspec(len(arms), 2, width_ratios=(2.3, 1.0))
    first = None
    for row, arm in enumerate(arms):
        ax = fig.add_subplot(grid[row, 0], sharex=first)
        first = first or ax
        mine = public[public["arm"] == arm]
        table = mine.pivot_table(
            index="month", columns="kind", values="amount_eur", aggfunc="sum"
        ).reindex(index=months, fill_value=0.0)
        bottom = np.zeros(len(months))
        for kind in kinds:
            if kind not in table.columns:
                continue
            values = table[kind].fillna(0.0).to_numpy() / 1000.0
            ax.fill_between(
                months,
                bottom,
                bottom + values,
                step="mid",
                color=KIND_COLOURS.get(kind, OTHER_KIND_COLOUR),
                linewidth=0,
                label=labels.kind(kind),
            )
            bottom += values
        if mine.empty:
            ax.text(0.5, 0.5, labels.t("fig.cash.none"), ha="center", transform=ax.transAxes)
        ax.set_title(labels.arm(arm), loc="left", fontsize=10, color=colours[arm])
        ax.set_ylabel(labels.t("fig.cash.ylabel"), fontsize=8.5)
        ax.yaxis.set_major_formatter(_numbers(labels, digits=0))
        ax.xaxis.set_major_formatter(_numbers(labels, digits=0))
        ax.grid(axis="y", alpha=0.3)
        if row < len(arms) - 1:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel(labels.t("fig.month"))
    npv_ax = fig.add_subplot(grid[:, 1])
    comparison = _comparison(frame, ["npv_eur"])
    cells = [_cell(comparison, arm, "npv_eur") for arm in arms]
    y = np.arange(len(arms), dtype=float)[::-1]
    means = [c[0] if math.isfinite(c[0]) else 0.0 for c in cells]
    bars = npv_ax.barh(
        y,
        np.array(means) / 1000.0,
        0.6,
        color=[colours[a] for a in arms],
        xerr=_scaled(_errors(means, [c[1] for c in cells], [c[2] for c in cells]), 1e-3),
        capsize=4,
    )
    for bar, mean in zip(bars, means, strict=True):
        npv_ax.text(
            0.0,
            bar.get_y() + bar.get_height() + 0.04,
            f" {labels.eur(mean)} ",
            ha="right" if mean < 0 else "left",
            va="bottom",
            fontsize=8.5,
        )
    npv_ax.axvline(0.0, color="black", linewidth=0.8)
    npv_ax.set_yticks(y, [labels.arm(a) for a in arms], fontsize=9)
    npv_ax.set_title(labels.t("fig.cash.npv_title"), fontsize=9.5)
    npv_ax.set_xlabel(labels.t("fig.cash.npv_xlabel"))
    npv_ax.xaxis.set_major_formatter(_numbers(labels, digits=0))
    npv_ax.margins(x=0.15, y=0.08)
    npv_ax.grid(axis="x", alpha=0.3)
    handles = [
        Patch(color=KIND_COLOURS.get(k, OTHER_KIND_COLOUR), label=labels.kind(k)) for k in kinds
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(kinds), 4), frameon=False)
    replications = max((c[3] for c in cells), default=0)
    _title(
        fig,
        labels.t("fig.cash.title"),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def _scaled(errors: Any, factor: float) -> Any:
    return None if errors is None else errors * factor


def investor_returns(metrics: pd.DataFrame, labels: Labels) -> Figure:
    """Distribution of the investor's internal rate of return and money multiple over every
    replication and sweep point of the batch's social impact contracts, with the probability
    that the investor loses money."""
    runs = contract_runs(metrics)
    if runs.empty:
        raise NoDataError(labels.t("nodata.contract"))
    n = len(runs)
    loss = float(np.nanmean(runs["investor_lost_money"]))
    points = runs["point"].nunique()
    irr = np.asarray(runs["investor_irr_per_year"], dtype=float)
    irr = irr[np.isfinite(irr)] * 100.0
    multiple = np.asarray(runs["investor_money_multiple"], dtype=float)
    multiple = multiple[np.isfinite(multiple)]
    fig = _figure(11, 4.8)
    irr_ax, multiple_ax = fig.subplots(1, 2)
    colour = ARM_COLOURS["impact_contract"]
    if len(irr):
        irr_ax.hist(irr, bins=_bins(irr), color=colour, edgecolor="white")
    irr_ax.axvline(0.0, color="black", linestyle="--", label=labels.t("fig.investor.break_even"))
    if len(irr) < n:
        irr_ax.text(
            0.03,
            0.97,
            labels.t("fig.investor.irr_undefined", k=labels.integer(n - len(irr)), n=n),
            transform=irr_ax.transAxes,
            va="top",
            fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "#999999"},
        )
    irr_ax.set_title(labels.t("fig.investor.irr"), loc="left")
    irr_ax.set_xlabel(labels.t("fig.investor.irr_xlabel"))
    if len(multiple):
        multiple_ax.hist(multiple, bins=_bins(multiple), color=colour, edgecolor="white")
    multiple_ax.axvline(
        1.0, color="black", linestyle="--", label=labels.t("fig.investor.break_even")
    )
    multiple_ax.text(
        0.97,
        0.97,
        labels.t("fig.investor.loss_box", share=labels.pct(loss)),
        transform=multiple_ax.transAxes,
        ha="right",
        va="top",
        fontsize=9,
        bbox={"facecolor": "#fff4e5", "edgecolor": WRONG_COLOUR},
    )
    multiple_ax.set_title(labels.t("fig.investor.multiple"), loc="left")
    multiple_ax.set_xlabel(labels.t("fig.investor.multiple_xlabel"))
    for ax in (irr_ax, multiple_ax):
        ax.set_ylabel(labels.t("fig.investor.ylabel"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(_numbers(labels, digits=0))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="center right", frameon=False, fontsize=8.5)
    irr_ax.xaxis.set_major_formatter(_numbers(labels, digits=0))
    multiple_ax.xaxis.set_major_formatter(_numbers(labels, digits=1))
    notes = [labels.t("fig.pooled", n=points) if points > 1 else None]
    if n < 2:
        notes.append(labels.t("fig.one_replication"))
    _title(
        fig,
        labels.t("fig.investor.title", n=labels.integer(n), share=labels.pct(loss)),
        notes,
    )
    return fig


def _bins(values: np.ndarray) -> int:
    return int(min(20, max(5, len(values))))


def reach_by_barrier(metrics: pd.DataFrame, labels: Labels, point: int | None = None) -> Figure:
    """Share of participants from each barrier quartile of the initially unemployed, per arm,
    with a dashed line at 25 % (no selection)."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    reach = reach_by_quartile(frame)
    if reach.empty:
        raise NoDataError(labels.t("nodata.reach"))
    arms = arm_order(reach["arm"].unique())
    colours = arm_colours(arms)
    fig = _figure(10, 5.4)
    ax = fig.add_subplot()
    width = 0.8 / len(arms)
    for j, arm in enumerate(arms):
        mine = reach[reach["arm"] == arm].set_index("quartile").reindex(range(1, 5))
        means = mine["mean"].fillna(0.0).tolist()
        ax.bar(
            np.arange(4) + (j - (len(arms) - 1) / 2) * width,
            means,
            width * 0.95,
            color=colours[arm],
            label=labels.arm(arm),
            yerr=_errors(means, mine["ci_low"].tolist(), mine["ci_high"].tolist()),
            capsize=3,
            error_kw={"elinewidth": 0.9},
        )
    ax.axhline(
        0.25,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=labels.t("fig.reach.no_selection"),
    )
    ax.set_xticks(range(4), [labels.t(f"fig.reach.q{q}") for q in range(1, 5)])
    ax.set_xlabel(labels.t("fig.reach.xlabel"))
    ax.set_ylabel(labels.t("fig.reach.ylabel"))
    ax.yaxis.set_major_formatter(_percent(labels))
    top = float(np.nanmax(reach[["mean", "ci_high"]].to_numpy(dtype=float)))
    ax.set_ylim(0, max(0.5, top + 0.08))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", frameon=False)
    replications = int(reach["replications"].max())
    _title(
        fig,
        labels.t("fig.reach.title"),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def territory_map(
    territories: pd.DataFrame, city: City, labels: Labels, point: int | None = None
) -> Figure:
    """The micro-territory network on the city map, one panel per arm, coloured by the mean true
    additional outcomes per 1,000 working-age residents; priority neighbourhoods (QPV) outlined.

    Args:
        territories: per-territory results frame.
        city: the batch's city (positions ``x``, ``y`` and neighbours).
        labels: texts of one language.
        point: sweep point (default: the first).
    """
    if territories.empty:
        raise NoDataError(labels.t("nodata.territories"))
    frame, note = _select_point(territories, point, labels)
    effects = territory_effects(frame)
    if effects.empty:
        raise NoDataError(labels.t("nodata.arms"))
    ids = [t.territory_id for t in city.territories]
    if not set(effects["territory"]) & set(ids):
        raise NoDataError(labels.t("nodata.city"))
    arms = arm_order(effects["arm"].unique())
    population = np.array([t.working_age_population for t in city.territories], dtype=float)
    values = {}
    for arm in arms:
        mine = effects[effects["arm"] == arm].set_index("territory")
        outcomes = mine["true_additional_outcomes"].reindex(ids).to_numpy(dtype=float)
        values[arm] = outcomes / np.maximum(population, 1.0) * 1000.0
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    extent = float(np.abs(finite).max()) if len(finite) else 1.0
    extent = extent or 1.0
    norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=-extent, vmax=extent)
    cmap = mpl.colormaps["RdBu"]
    graph = city.graph()
    pos = {i: (t.x, t.y) for i, t in enumerate(city.territories)}
    if all(t.x == 0.0 and t.y == 0.0 for t in city.territories):
        pos = nx.spring_layout(graph, seed=0)
    qpv = [t.qpv for t in city.territories]
    columns = min(3, len(arms))
    rows = math.ceil(len(arms) / columns)
    fig = _figure(4.2 * columns + 1.4, 4.0 * rows + 1.6)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    size = max(120.0, 700.0 - 12.0 * len(ids))
    for ax, arm in zip(axes, arms, strict=False):
        colours = [cmap(norm(v)) if math.isfinite(v) else "#dddddd" for v in values[arm]]
        nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="#b0b0b0", width=1.0)
        nx.draw_networkx_nodes(
            graph,
            pos,
            ax=ax,
            nodelist=list(range(len(ids))),
            node_color=colours,
            node_size=size,
            edgecolors=["black" if q else "#808080" for q in qpv],
            linewidths=[2.6 if q else 0.6 for q in qpv],
        )
        if len(ids) <= 40:
            shade = [abs(float(norm(v)) - 0.5) if math.isfinite(v) else 0.0 for v in values[arm]]
            for dark in (False, True):
                picked = {i: ids[i] for i in range(len(ids)) if (shade[i] > 0.3) == dark}
                nx.draw_networkx_labels(
                    graph,
                    pos,
                    labels=picked,
                    ax=ax,
                    font_size=6.5,
                    font_color="white" if dark else "black",
                )
        ax.set_title(labels.arm(arm), fontsize=10)
        ax.set_axis_off()
        ax.margins(0.08)
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    thousand = labels.integer(1000)
    fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap),
        ax=list(axes[: len(arms)]),
        label=labels.t("fig.map.colorbar", thousand=thousand),
        shrink=0.8,
        format=_numbers(labels),
    )
    fig.legend(
        handles=[
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=11,
                markerfacecolor="white",
                markeredgecolor="black",
                markeredgewidth=2.6,
                label=labels.t("fig.map.qpv"),
            ),
            Line2D([], [], color="#b0b0b0", label=labels.t("fig.map.edges")),
        ],
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )
    replications = int(effects["replications"].max())
    notes = [note, labels.t("fig.one_replication") if replications < 2 else None]
    _title(fig, labels.t("fig.map.title", thousand=thousand), notes)
    return fig


def pilot_decisions(decisions: pd.DataFrame, labels: Labels, point: int | None = None) -> Figure:
    """Scale-up and stop decisions of calls for projects, against whether each pilot truly
    works: right decisions in one colour, wrong ones in another."""
    if decisions.empty:
        raise NoDataError(labels.t("nodata.pilots"))
    frame, note = _select_point(decisions, point, labels)
    rates = pilot_decision_rates(frame)
    if rates.empty:
        raise NoDataError(labels.t("nodata.pilots"))
    arms = arm_order(rates["arm"].unique())
    fig = _figure(max(8.0, 5.2 * len(arms) + 1.0), 5.4)
    axes = np.atleast_1d(fig.subplots(1, len(arms), squeeze=False).ravel())
    replications = int(rates["replications"].max())
    for ax, arm in zip(axes, arms, strict=True):
        mine = rates[rates["arm"] == arm]
        for group, truth in enumerate((True, False)):
            for offset, decision in ((-0.2, "scale"), (0.2, "stop")):
                row = mine[(mine["truly_works"] == truth) & (mine["decision"] == decision)]
                count = int(row["decisions"].sum())
                right = bool(row["correct"].iloc[0]) if len(row) else (decision == "scale") == truth
                bar = ax.bar(
                    group + offset,
                    count,
                    0.36,
                    color=RIGHT_COLOUR if right else WRONG_COLOUR,
                    edgecolor="black",
                    linewidth=0.6,
                )
                ax.bar_label(
                    bar,
                    labels=[f"{labels.t(f'fig.pilots.{decision}')}\n{labels.integer(count)}"],
                    padding=2,
                    fontsize=8.5,
                )
        ax.set_xticks([0, 1], [labels.t("fig.pilots.works"), labels.t("fig.pilots.idle")])
        ax.set_ylabel(labels.t("fig.pilots.ylabel"))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(_numbers(labels, digits=0))
        ax.margins(y=0.25)
        ax.set_title(labels.arm(arm), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.legend(
        handles=[
            Patch(color=RIGHT_COLOUR, label=labels.t("fig.pilots.right")),
            Patch(color=WRONG_COLOUR, label=labels.t("fig.pilots.wrong")),
        ],
        loc="outside lower center",
        ncols=2,
        frameon=False,
    )
    notes = [note, labels.t("fig.one_replication") if replications < 2 else None]
    _title(fig, labels.t("fig.pilots.title", n=labels.integer(replications)), notes)
    return fig


def figure_texts(fig: Figure) -> list[str]:
    """Every text drawn on a figure (titles, labels, ticks, legends, annotations), e.g. to check
    its language). Draws the figure first so that tick labels exist."""
    fig.draw_without_rendering()
    return [t.get_text() for t in fig.findobj(mpl.text.Text) if t.get_text()]


def _line_with_band(
    ax: Any, frame: pd.DataFrame, prefix: str, scale: float, style: dict[str, Any], band: bool
) -> None:
    """A mean line (columns ``{prefix}mean``) and, with enough replications, its shaded 95 %
    band (``{prefix}low`` to ``{prefix}high``)."""
    ax.plot(frame["month"], frame[f"{prefix}mean"] * scale, **style)
    if band:
        ax.fill_between(
            frame["month"],
            frame[f"{prefix}low"] * scale,
            frame[f"{prefix}high"] * scale,
            color=style["color"],
            alpha=0.15,
            linewidth=0,
        )
