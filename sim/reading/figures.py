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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator
from matplotlib.transforms import Bbox

from sim.errors import UserInputError
from sim.reading.analysis import (
    HEADLINE,
    TWIN,
    cash_flow_summary,
    compare_arms,
    contract_runs,
    cost_ratio_parts,
    pilot_decision_rates,
    reach_by_quartile,
    series_bands,
    territory_effects,
)
from sim.reading.i18n import Labels
from sim.reading.sweeps import along_parameter, sweep_metrics, swept_paths, two_parameter_grid
from sim.world.territory import City

#: Series drawn over time by default.
DEFAULT_SERIES = ("sustained_jobs_cumulative", "unemployment_rate")
#: Series that are fractions: drawn in %, their differences in percentage points.
PERCENT_SERIES = ("unemployment_rate", "non_take_up", "french_a1_plus_initial_non_speakers")
#: Colours of arms named after their mechanism (Okabe & Ito's colour-blind-safe set); other arms
#: take the palette in order, skipping colours already taken.
ARM_COLOURS = {
    "status_quo": "#7a7a7a",
    "planned": "#0072B2",
    "call_for_projects": "#E69F00",
    "impact_contract": "#009E73",
}
#: Twelve colours distinct to readers with any common colour-vision deficiency: Okabe & Ito's
#: (yellow left out: unreadable on white), then Paul Tol's "muted" scheme.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#332288",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#661100",
)
#: Line styles that tell apart arms beyond the palette (and help in black and white).
LINE_STYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
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
def arm_order(arms: Iterable[str], scenario_order: Sequence[str] = ()) -> list[str]:
    """Arms in reading order: the status quo first, then the order of the scenario file when
    known (``scenario_order``), else planned, call for projects, contract, then the others."""
    unique = list(dict.fromkeys(str(a) for a in arms))
    first = [TWIN] if TWIN in unique else []
    listed = [a for a in scenario_order if a in unique and a != TWIN]
    known = [a for a in ARM_ORDER if a in unique and a not in first + listed]
    rest = sorted(a for a in unique if a not in first + listed + known)
    return first + listed + known + rest


def arm_colours(arms: Sequence[str]) -> dict[str, str]:
    """A colour per arm, all distinct up to 12 arms besides the status quo: fixed for mechanism
    names, the palette in order (skipping the colours already taken) for the others."""
    taken = {ARM_COLOURS[a] for a in arms if a in ARM_COLOURS}
    free = [c for c in PALETTE if c not in taken]
    others = iter(free * (len(arms) // max(len(free), 1) + 1))
    return {a: ARM_COLOURS[a] if a in ARM_COLOURS else next(others) for a in arms}


def arm_styles(arms: Sequence[str]) -> dict[str, Any]:
    """A line style per arm: solid while colours are distinct, then varied; dashed for the
    status quo."""
    styles: dict[str, Any] = {}
    others = [a for a in arms if a != TWIN]
    for index, arm in enumerate(others):
        styles[arm] = LINE_STYLES[(index // len(PALETTE)) % len(LINE_STYLES)]
    if TWIN in arms:
        styles[TWIN] = "--"
    return styles


def _legend_below(fig: Figure, handles: Sequence[Any], texts: Sequence[str]) -> None:
    """A legend under the axes (outside the data), in as many columns as fit the width."""
    longest = max((len(t) for t in texts), default=10)
    fit = max(1, int(fig.get_figwidth() * 72 / (7.0 * longest + 40)))
    fig.legend(
        handles, texts, loc="outside lower center", ncols=min(len(texts), fit, 4), frameon=False
    )


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer to measure texts with (no GUI, no pyplot)
    return fig


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
    """Tick labels in the labels' number format, with as many decimals as the ticks need to be
    written exactly (``0.05``, ``0.10``, ``0.15``, never ``0.1``, ``0.1``, ``0.2``), unless
    ``digits`` is fixed."""

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
        values = np.asarray(locs, dtype=float) * factor
        values = values[np.isfinite(values)]
        span = float(np.abs(values).max()) if len(values) else 1.0
        tolerance = max(span, 1.0) * 1e-9
        self.digits = 6
        for digits in range(7):
            if np.all(np.abs(np.round(values, digits) - values) <= tolerance):
                self.digits = digits
                break

    def __call__(self, x: float, pos: int | None = None) -> str:
        if self.percent:
            return self.labels.pct(x * self.scale, self.digits)
        return self.labels.num(x * self.scale, self.digits)


def _numbers(labels: Labels, scale: float = 1.0, digits: int | None = None) -> LocalFormatter:
    return LocalFormatter(labels, scale, digits)


def _round_ticks(axis: Any, labels: Labels, integer: bool = False, scale: float = 1.0) -> None:
    """Ticks at round steps (1, 2 or 5 times a power of ten) written in the labels' format with
    just the decimals they need: no tick label is repeated."""
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10], integer=integer))
    axis.set_major_formatter(LocalFormatter(labels, scale))


#: Units of amounts of money on an axis, by size: (divisor, message key).
MONEY_UNITS = ((1e6, "money.millions"), (1e3, "money.thousands"), (1.0, "money.euros"))


def money_unit(largest: float, labels: Labels) -> tuple[float, str]:
    """The divisor and name of the unit in which amounts up to ``largest`` read best (one unit
    for the whole axis): euros, thousands of euros or millions of euros."""
    size = abs(largest) if math.isfinite(largest) else 0.0
    for divisor, key in MONEY_UNITS:
        if size >= 2 * divisor or divisor == 1.0:
            return divisor, labels.t(key)
    return 1.0, labels.t("money.euros")


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
    present = [n for n in names if n in frame.columns or cost_ratio_parts(n) is not None]
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
    with bands holding 95 % of the replications. When the arms' levels cannot be told apart at
    the scale of the level panel (a difference of a few residents on a city's total), the level
    panel draws the status quo alone and says so: the differences are on the right.

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
    arms = arm_order(frame["arm"].unique(), labels.names.arm_order)
    if not [a for a in arms if a != TWIN]:
        raise NoDataError(labels.t("nodata.arms"))
    colours = arm_colours(arms)
    styles = arm_styles(arms)
    legend_rows = math.ceil(len(arms) / 3)
    fig = _figure(11, 3.2 * len(names) + 1.6 + 0.25 * legend_rows)
    axes = fig.subplots(len(names), 2, squeeze=False, sharex=True)
    replications = int(frame.groupby(["arm", "month"])["replication"].nunique().min())
    handles: dict[str, Any] = {}
    for row, name in enumerate(names):
        bands = series_bands(frame, name)
        scale = 100.0 if name in PERCENT_SERIES else 1.0
        level_ax, diff_ax = axes[row]
        spread = float(np.nanmax(np.abs(bands["diff_mean"].to_numpy(dtype=float)), initial=0.0))
        level_range = float(np.nanmax(bands["mean"]) - np.nanmin(bands["mean"])) or 1.0
        merged = spread < 0.02 * level_range
        for arm in arms:
            mine = bands[bands["arm"] == arm]
            style = {
                "color": colours[arm],
                "linewidth": 1.8,
                "linestyle": styles[arm],
                "label": labels.arm(arm),
            }
            if arm == TWIN or not merged:
                line = _line_with_band(level_ax, mine, "", scale, style, replications >= 2)
                handles.setdefault(arm, line)
            if arm != TWIN:
                line = _line_with_band(diff_ax, mine, "diff_", scale, style, replications >= 2)
                handles.setdefault(arm, line)
        if merged:
            level_ax.text(
                0.02,
                0.96,
                labels.t("fig.outcomes.merged"),
                transform=level_ax.transAxes,
                va="top",
                fontsize=8.5,
                wrap=True,
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "alpha": 0.9},
            )
        diff_ax.axhline(0.0, color="black", linewidth=0.8)
        unit_key = f"series.{name}.unit"
        unit = labels.t(unit_key) if labels.has(unit_key) else ""
        diff_unit = labels.t("unit.percentage_points") if name in PERCENT_SERIES else unit
        label_key = f"series.{name}"
        title = labels.t(label_key) if labels.has(label_key) else name
        level_ax.set_title(
            "\n".join(textwrap.wrap(labels.t("fig.outcomes.level", series=title), 60)),
            loc="left",
            fontsize=10,
        )
        diff_ax.set_title(
            "\n".join(textwrap.wrap(labels.t("fig.outcomes.difference"), 60)),
            loc="left",
            fontsize=9.5,
        )
        level_ax.set_ylabel(unit)
        diff_ax.set_ylabel(labels.t("fig.outcomes.difference_unit", unit=diff_unit))
        for ax in (level_ax, diff_ax):
            _round_ticks(ax.yaxis, labels)
            _round_ticks(ax.xaxis, labels, integer=True)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel(labels.t("fig.month"))
    ordered = [a for a in arms if a in handles]
    _legend_below(fig, [handles[a] for a in ordered], [labels.arm(a) for a in ordered])
    _title(
        fig,
        labels.t("fig.outcomes.title"),
        [note, _replication_note(replications, labels, "fig.bands")],
    )
    return fig


def true_vs_validated(
    metrics: pd.DataFrame, labels: Labels, point: int | None = None, need: str = "employment"
) -> Figure:
    """Paired horizontal bars per arm (any number of arms, one row each) for one need's
    outcome: true additional outcomes (arm minus twin) and the outcomes its evaluators
    validated, with the deadweight share of counted outcomes under each arm's name."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    names = [f"true_additional_{need}", f"measured_additional_{need}"]
    comparison = _comparison(frame, [*names, f"deadweight_share_of_counted_{need}"])
    outcome = labels.t(f"outcome.{need}")
    arms = arm_order(frame["arm"].unique(), labels.names.arm_order)
    colours = arm_colours(arms)
    fig = _figure(10, 1.9 + 0.85 * len(arms))
    ax = fig.add_subplot()
    y = np.arange(len(arms), dtype=float)[::-1]
    height = 0.36
    replications = 0
    every: list[float] = []
    for offset, name, hatch, alpha in ((0.19, names[0], "", 1.0), (-0.19, names[1], "//", 0.45)):
        cells = [_cell(comparison, arm, name) for arm in arms]
        means = [c[0] if math.isfinite(c[0]) else 0.0 for c in cells]
        replications = max(replications, *(c[3] for c in cells))
        every += means + [c[2] for c in cells if math.isfinite(c[2])]
        every += [c[1] for c in cells if math.isfinite(c[1])]
        bars = ax.barh(
            y + offset,
            means,
            height,
            color=[colours[a] for a in arms],
            alpha=alpha,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            xerr=_errors(means, [c[1] for c in cells], [c[2] for c in cells]),
            capsize=3,
            error_kw={"elinewidth": 1.0},
        )
        tops = [c[2] if math.isfinite(c[2]) else m for c, m in zip(cells, means, strict=True)]
        for bar, mean, top in zip(bars, means, tops, strict=True):
            ax.annotate(
                labels.num(mean),
                (max(top, mean, 0.0), bar.get_y() + bar.get_height() / 2),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    ticks = []
    for arm in arms:
        share = _cell(comparison, arm, f"deadweight_share_of_counted_{need}")[0]
        tick = "\n".join(textwrap.wrap(labels.arm(arm), 34))
        if math.isfinite(share):
            tick += "\n" + labels.t("fig.validated.deadweight", share=labels.pct(share))
        ticks.append(tick)
    ax.set_yticks(y, ticks, fontsize=8.5)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(labels.t("fig.validated.ylabel", outcome=outcome))
    _round_ticks(ax.xaxis, labels)
    low, high = min([*every, 0.0]), max([*every, 0.0])
    ax.set_xlim(low - 0.05 * (high - low), high + 0.18 * (high - low or 1.0))
    ax.set_ylim(-0.7, len(arms) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    _plain_and_hatched_legend(
        fig, labels.t("fig.validated.true"), labels.t("fig.validated.measured")
    )
    _title(
        fig,
        labels.t("fig.validated.title", outcome=capitalised(outcome)),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def cost_per_outcome(
    metrics: pd.DataFrame, labels: Labels, point: int | None = None, need: str = "employment"
) -> Figure:
    """Spending per true additional outcome of one need, per arm, with bootstrap intervals:
    public spending (plain bars) and the cost to society (hatched: every payer, the investor's
    loss included)."""
    done = _done_arms(metrics)
    if done.empty:
        raise NoDataError(labels.t("nodata.arms"))
    frame, note = _select_point(done, point, labels)
    public = f"public_cost_eur_per_additional_{need}"
    society = f"society_cost_eur_per_additional_{need}"
    comparison = _comparison(frame, [public, society])
    arms = arm_order(frame["arm"].unique(), labels.names.arm_order)
    rows = [(public, "", 1.0, 0.19), (society, "//", 0.45, -0.19)]
    cells = {name: [_cell(comparison, arm, name) for arm in arms] for name, *_ in rows}
    finite = [c for name in cells for c in cells[name] if math.isfinite(c[0])]
    if not finite:
        raise NoDataError(labels.t("nodata.cost"))
    colours = arm_colours(arms)
    fig = _figure(10, 1.6 + 0.85 * len(arms) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(arms), dtype=float)[::-1]
    highest = max((c[2] if math.isfinite(c[2]) else c[0]) for c in finite)
    divisor, unit = money_unit(highest, labels)
    for name, hatch, alpha, offset in rows:
        mine = cells[name]
        means = [c[0] if math.isfinite(c[0]) else 0.0 for c in mine]
        ax.barh(
            y + offset,
            np.array(means) / divisor,
            0.36,
            color=[colours[a] for a in arms],
            alpha=alpha,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            xerr=_scaled(_errors(means, [c[1] for c in mine], [c[2] for c in mine]), 1 / divisor),
            capsize=3,
            error_kw={"elinewidth": 1.0},
        )
        texts = labels.eurs([c[0] for c in mine])
        for position, cell, text in zip(y + offset, mine, texts, strict=True):
            end = cell[2] if math.isfinite(cell[2]) else cell[0]
            ax.annotate(
                text if math.isfinite(cell[0]) else labels.t("fig.cost.undefined"),
                (max(end, 0.0) / divisor if math.isfinite(end) else 0.0, position),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    ax.set_yticks(y, ["\n".join(textwrap.wrap(labels.arm(a), 34)) for a in arms], fontsize=9)
    ax.set_xlabel(labels.t("fig.cost.xlabel", unit=unit))
    _round_ticks(ax.xaxis, labels)
    ax.set_xlim(0, highest / divisor * 1.5)
    ax.set_ylim(-0.6, len(arms) - 0.4)
    ax.grid(axis="x", alpha=0.3)
    replications = max(c[3] for c in finite)
    _plain_and_hatched_legend(fig, labels.t("fig.cost.public"), labels.t("fig.cost.society"))
    _title(
        fig,
        labels.t("fig.cost.title", outcome=capitalised(labels.t(f"outcome.{need}"))),
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
    """Public spending per month stacked by kind, one panel per arm on one shared scale, and each
    arm's net present value to the public purse (mean and 95 % interval)."""
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
    arms = arm_order(frame["arm"].unique(), labels.names.arm_order)
    colours = arm_colours(arms)
    kinds = [k for k in KIND_COLOURS if k in set(public["kind"])]
    kinds += sorted(set(public["kind"]) - set(kinds))
    months = np.arange(int(public["month"].min()), int(public["month"].max()) + 1)
    monthly = public.groupby(["arm", "month"])["amount_eur"].sum()
    divisor, unit = money_unit(float(monthly.abs().max()) if len(monthly) else 0.0, labels)
    fig = _figure(12, 1.5 * len(arms) + 2.6)
    grid = fig.add_gridspec(len(arms), 2, width_ratios=(2.3, 1.0))
    first = None
    for row, arm in enumerate(arms):
        ax = fig.add_subplot(grid[row, 0], sharex=first, sharey=first)
        first = first or ax
        mine = public[public["arm"] == arm]
        table = mine.pivot_table(
            index="month", columns="kind", values="amount_eur", aggfunc="sum"
        ).reindex(index=months, fill_value=0.0)
        bottom = np.zeros(len(months))
        for kind in kinds:
            if kind not in table.columns:
                continue
            values = table[kind].fillna(0.0).to_numpy() / divisor
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
        ax.set_title(labels.arm(arm), loc="left", fontsize=9.5, color="black")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(_numbers(labels))
        _round_ticks(ax.xaxis, labels, integer=True)
        ax.grid(axis="y", alpha=0.3)
        if row < len(arms) - 1:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel(labels.t("fig.month"))
    fig.supylabel(labels.t("fig.cash.ylabel", unit=unit), fontsize=9.5)
    npv_ax = fig.add_subplot(grid[:, 1])
    comparison = _comparison(frame, ["npv_eur"])
    cells = [_cell(comparison, arm, "npv_eur") for arm in arms]
    y = np.arange(len(arms), dtype=float)[::-1]
    means = [c[0] if math.isfinite(c[0]) else 0.0 for c in cells]
    reach = [abs(v) for c in cells for v in c[:3] if math.isfinite(v)]
    npv_divisor, npv_unit = money_unit(max(reach, default=0.0), labels)
    npv_ax.barh(
        y,
        np.array(means) / npv_divisor,
        0.6,
        color=[colours[a] for a in arms],
        xerr=_scaled(_errors(means, [c[1] for c in cells], [c[2] for c in cells]), 1 / npv_divisor),
        capsize=4,
    )
    for position, text in zip(y, labels.eurs(means), strict=True):
        npv_ax.annotate(
            text, (0.0, position + 0.32), ha="center", va="bottom", fontsize=8, clip_on=False
        )
    npv_ax.axvline(0.0, color="black", linewidth=0.8)
    npv_ax.set_yticks(y, ["\n".join(textwrap.wrap(labels.arm(a), 24)) for a in arms], fontsize=8.5)
    npv_ax.set_title(labels.t("fig.cash.npv_title"), fontsize=9.5)
    npv_ax.set_xlabel(labels.t("fig.cash.npv_xlabel", unit=npv_unit))
    npv_ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    npv_ax.xaxis.set_major_formatter(_numbers(labels))
    npv_ax.margins(x=0.3)
    npv_ax.set_ylim(-0.6, len(arms) - 0.2)
    npv_ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=KIND_COLOURS.get(k, OTHER_KIND_COLOUR)) for k in kinds]
    _legend_below(fig, handles, [labels.kind(k) for k in kinds])
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
    multiple_ax.set_title(
        labels.t("fig.investor.multiple")
        + "\n"
        + labels.t("fig.investor.loss_box", share=labels.pct(loss)),
        loc="left",
    )
    multiple_ax.set_xlabel(labels.t("fig.investor.multiple_xlabel"))
    for ax in (irr_ax, multiple_ax):
        ax.set_ylabel(labels.t("fig.investor.ylabel"))
        _round_ticks(ax.yaxis, labels, integer=True)
        _round_ticks(ax.xaxis, labels)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.35)
    _legend_below(
        fig,
        [Line2D([], [], color="black", linestyle="--")],
        [labels.t("fig.investor.break_even")],
    )
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
    arms = arm_order(reach["arm"].unique(), labels.names.arm_order)
    colours = arm_colours(arms)
    fig = _figure(max(10.0, 0.75 * len(arms) + 4.0), 5.4 + 0.25 * math.ceil(len(arms) / 3))
    ax = fig.add_subplot()
    width = 0.84 / len(arms)
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
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(_percent(labels))
    top = float(np.nanmax(reach[["mean", "ci_high"]].to_numpy(dtype=float)))
    ax.set_ylim(0, max(0.5, top + 0.05))
    ax.grid(axis="y", alpha=0.3)
    handles, texts = ax.get_legend_handles_labels()
    _legend_below(fig, handles, texts)
    replications = int(reach["replications"].max())
    _title(
        fig,
        labels.t("fig.reach.title"),
        [note, _replication_note(replications, labels, "fig.error_bars")],
    )
    return fig


def territory_map(
    territories: pd.DataFrame,
    city: City,
    labels: Labels,
    point: int | None = None,
    need: str = "employment",
) -> Figure:
    """The micro-territory network on the city map, one panel per arm, coloured by the mean true
    additional outcomes of one need per 1,000 working-age residents; priority neighbourhoods
    (QPV) outlined.

    Territories are placed by the table's positions (``x``, ``y``; a spring layout when the table
    has none); nodes are sized to the distance between neighbours so that they never cover each
    other; territory labels are drawn only where they overlap no other label. The colour scale is
    shared by the panels and reaches the 95th percentile of the effects (larger ones take the
    end colour), so that one outlier does not wash out the other territories.

    Args:
        territories: per-territory results frame.
        city: the batch's city (positions ``x``, ``y`` and neighbours).
        labels: texts of one language.
        point: sweep point (default: the first).
        need: the need whose outcomes colour the map (the scenario's primary outcome, say).
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
    arms = arm_order(effects["arm"].unique(), labels.names.arm_order)
    population = np.array([t.working_age_population for t in city.territories], dtype=float)
    values = {}
    for arm in arms:
        mine = effects[effects["arm"] == arm].set_index("territory")
        outcomes = mine[f"true_additional_{need}"].reindex(ids).to_numpy(dtype=float)
        values[arm] = outcomes / np.maximum(population, 1.0) * 1000.0
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    extent = float(np.percentile(np.abs(finite), 95)) if len(finite) else 1.0
    extent = extent or (float(np.abs(finite).max()) if len(finite) else 1.0) or 1.0
    norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=-extent, vmax=extent)
    cmap = mpl.colormaps["RdBu"]
    graph = city.graph()
    positions = np.array([(t.x, t.y) for t in city.territories], dtype=float)
    if np.allclose(positions, 0.0):
        layout = nx.spring_layout(graph, seed=0)
        positions = np.array([layout[i] for i in range(len(ids))], dtype=float)
    pos = {i: (float(x), float(y)) for i, (x, y) in enumerate(positions)}
    qpv = [t.qpv for t in city.territories]
    columns = min(4 if len(arms) > 6 else 3, len(arms))
    rows = math.ceil(len(arms) / columns)
    panel = 4.2 if len(ids) <= 40 else 4.8
    fig = _figure(panel * columns + 1.4, panel * rows + 1.8)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    size = _node_size(positions, panel)
    for ax, arm in zip(axes, arms, strict=False):
        colours = [cmap(norm(v)) if math.isfinite(v) else "#dddddd" for v in values[arm]]
        nx.draw_networkx_edges(graph, pos, ax=ax, edge_color="#c8c8c8", width=0.7)
        nx.draw_networkx_nodes(
            graph,
            pos,
            ax=ax,
            nodelist=list(range(len(ids))),
            node_color=colours,
            node_size=size,
            edgecolors=["black" if q else "#808080" for q in qpv],
            linewidths=[2.0 if q else 0.5 for q in qpv],
        )
        ax.set_title("\n".join(textwrap.wrap(labels.arm(arm), 36)), fontsize=9.5)
        ax.set_axis_off()
        ax.margins(0.08)
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    thousand = labels.integer(1000)
    colorbar = fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap),
        ax=list(axes[: len(arms)]),
        label=labels.t("fig.map.colorbar", thousand=thousand, outcome=labels.t(f"outcome.{need}")),
        shrink=0.8,
        extend="both" if float(np.abs(finite).max(initial=0.0)) > extent else "neither",
    )
    colorbar.ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    colorbar.ax.yaxis.set_major_formatter(_numbers(labels))
    _legend_below(
        fig,
        [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=11,
                markerfacecolor="white",
                markeredgecolor="black",
                markeredgewidth=2.6,
            ),
            Line2D([], [], color="#b0b0b0"),
        ],
        [labels.t("fig.map.qpv"), labels.t("fig.map.edges")],
    )
    replications = int(effects["replications"].max())
    notes = [note, labels.t("fig.one_replication") if replications < 2 else None]
    outcome = labels.t(f"outcome.{need}")
    _title(fig, labels.t("fig.map.title", thousand=thousand, outcome=outcome), notes)
    fig.draw_without_rendering()  # the layout is final: place the labels where they fit
    for ax, arm in zip(axes, arms, strict=False):
        strength = [abs(float(norm(v)) - 0.5) if math.isfinite(v) else 0.0 for v in values[arm]]
        _place_labels(ax, positions, ids, strength, math.sqrt(size))
    return fig


def _node_size(positions: np.ndarray, panel_inches: float) -> float:
    """Marker area (points squared) so that a node's diameter is at most about 70 % of the
    typical distance between a territory and its nearest neighbour on a panel."""
    if len(positions) < 2:
        return 400.0
    span = float(np.ptp(positions, axis=0).max()) or 1.0
    gaps = np.sqrt(((positions[:, None, :] - positions[None, :, :]) ** 2).sum(axis=-1))
    np.fill_diagonal(gaps, np.inf)
    nearest = float(np.median(gaps.min(axis=1)))
    points_per_unit = panel_inches * 0.75 * 72 / span
    diameter = float(np.clip(0.7 * nearest * points_per_unit, 5.0, 24.0))
    return diameter**2


def _place_labels(
    ax: Any, positions: np.ndarray, ids: Sequence[str], strength: Sequence[float], node: float
) -> None:
    """Territory labels beside their nodes, the strongest effects first; a label that would
    overlap a label already placed tries the other sides of its node, and is left out when no
    side is free (so labels never cover each other, at any number of territories)."""
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Bbox] = []
    offset = node / 2 + 1.5
    sides: tuple[tuple[float, float, str, str], ...] = (
        (0.0, offset, "center", "bottom"),
        (0.0, -offset, "center", "top"),
        (offset, 0.0, "left", "center"),
        (-offset, 0.0, "right", "center"),
    )
    for i in sorted(range(len(ids)), key=lambda k: -strength[k]):
        for dx, dy, ha, va in sides:
            text = ax.annotate(
                ids[i],
                positions[i],
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=6.5,
                color="#222222",
            )
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if any(box.overlaps(other) for other in placed):
                text.remove()
                continue
            placed.append(box)
            break


def pilot_decisions(decisions: pd.DataFrame, labels: Labels, point: int | None = None) -> Figure:
    """Scale-up and stop decisions of calls for projects, against whether each pilot truly
    works: right decisions in one colour, wrong ones in another."""
    if decisions.empty:
        raise NoDataError(labels.t("nodata.pilots"))
    frame, note = _select_point(decisions, point, labels)
    rates = pilot_decision_rates(frame)
    if rates.empty:
        raise NoDataError(labels.t("nodata.pilots"))
    arms = arm_order(rates["arm"].unique(), labels.names.arm_order)
    columns = min(len(arms), 3)
    rows = math.ceil(len(arms) / columns)
    fig = _figure(max(8.0, 4.6 * columns + 1.0), 4.6 * rows + 1.2)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    replications = int(rates["replications"].max())
    for ax, arm in zip(axes, arms, strict=False):
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
        ax.set_xticks(
            [0, 1],
            [
                "\n".join(textwrap.wrap(labels.t(key), 20))
                for key in ("fig.pilots.works", "fig.pilots.idle")
            ],
        )
        ax.set_ylabel(labels.t("fig.pilots.ylabel"))
        _round_ticks(ax.yaxis, labels, integer=True)
        ax.margins(y=0.25)
        ax.set_title("\n".join(textwrap.wrap(labels.arm(arm), 40)), fontsize=10)
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
) -> Any:
    """A mean line (columns ``{prefix}mean``) and, with enough replications, its shaded 95 %
    band (``{prefix}low`` to ``{prefix}high``). Returns the line."""
    (line,) = ax.plot(frame["month"], frame[f"{prefix}mean"] * scale, **style)
    if band:
        ax.fill_between(
            frame["month"],
            frame[f"{prefix}low"] * scale,
            frame[f"{prefix}high"] * scale,
            color=style["color"],
            alpha=0.15,
            linewidth=0,
        )
    return line


# ---------------------------------------------------------------------------- sweeps
def sweep_effects(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    labels: Labels,
    metric_names: Sequence[str] | None = None,
) -> Figure:
    """How the key metrics move along each swept parameter: one row of panels per metric, one
    column per swept parameter (in the scenario's order). Each panel draws, per arm, the metric
    at each value of the parameter averaged over the other swept parameters, with its 95 %
    interval over replications as a band.

    Args:
        metrics: wide metrics frame of a sweep.
        runs: runs frame (its ``point_values`` give each point's values).
        labels: texts of one language (with the batch's display names).
        metric_names: metrics to draw (default: :data:`sim.reading.sweeps.SWEEP_METRICS`).
    """
    paths = swept_paths(runs, labels.names)
    if not paths:
        raise NoDataError(labels.t("nodata.sweep"))
    names = list(metric_names or sweep_metrics(metrics))
    if not names:
        raise NoDataError(labels.t("nodata.arms"))
    arms = arm_order(_done_arms(metrics)["arm"].unique(), labels.names.arm_order)
    colours = arm_colours(arms)
    fig = _figure(max(8.0, 3.6 * len(paths) + 1.2), 2.6 * len(names) + 1.8)
    axes = fig.subplots(len(names), len(paths), squeeze=False)
    replications = 0
    for row, name in enumerate(names):
        unit = HEADLINE.get(name, ("", ""))[1]
        for column, path in enumerate(paths):
            ax = axes[row][column]
            along = along_parameter(metrics, runs, name, path)
            for arm in arms:
                mine = along[along["arm"] == arm].sort_values("value")
                if mine.empty:
                    continue
                x = mine["value"].to_numpy(dtype=float)
                ax.plot(
                    x,
                    mine["mean"],
                    marker="o",
                    markersize=4,
                    color=colours[arm],
                    label=labels.arm(arm),
                )
                if (mine["replications"] >= 2).all():
                    ax.fill_between(
                        x, mine["ci_low"], mine["ci_high"], color=colours[arm], alpha=0.18, lw=0
                    )
                replications = max(replications, int(mine["replications"].max()))
            if unit in ("EUR",):
                largest = float(along[["mean", "ci_low", "ci_high"]].abs().max().max())
                divisor, money = money_unit(largest, labels)
                ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
                ax.yaxis.set_major_formatter(_numbers(labels, scale=1 / divisor))
                ylabel = money
            elif unit in ("share", "share of runs"):
                ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
                ax.yaxis.set_major_formatter(_percent(labels))
                ax.set_ylim(-0.03, 1.03)
                ylabel = "%"
            else:
                _round_ticks(ax.yaxis, labels)
                ylabel = labels.unit(unit)
            values = sorted({float(v) for v in along["value"]})
            ax.set_xticks(values)
            ax.xaxis.set_major_formatter(LocalFormatter(labels))
            ax.tick_params(axis="x", labelrotation=0, labelsize=8)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(alpha=0.3)
            if unit not in ("share", "share of runs") and len(along):
                low = float(np.nanmin(along[["mean", "ci_low"]].to_numpy(dtype=float)))
                high = float(np.nanmax(along[["mean", "ci_high"]].to_numpy(dtype=float)))
                if low <= 0 <= high:
                    ax.axhline(0.0, color="black", linewidth=0.7)
            if column == 0:
                title = "\n".join(textwrap.wrap(labels.metric(name), 34))
                ax.set_ylabel(f"{title}\n({ylabel})", fontsize=8.5)
            if row == len(names) - 1:
                ax.set_xlabel("\n".join(textwrap.wrap(labels.parameter(path), 36)), fontsize=9)
    handles, texts = axes[0][0].get_legend_handles_labels()
    if len(arms) > 1 or len(paths) > 1:
        _legend_below(fig, handles, texts)
    notes = [
        labels.t("fig.sweep.averaged") if len(paths) > 1 else None,
        _replication_note(replications, labels, "fig.sweep.bands"),
    ]
    _title(fig, labels.t("fig.sweep.title", n=labels.integer(runs["point"].nunique())), notes)
    return fig


def sweep_heatmap(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    labels: Labels,
    metric: str = "npv_eur",
    arm: str | None = None,
) -> Figure:
    """A metric over the first two swept parameters (the others averaged), one cell per pair of
    values with its mean written in it, for one arm (default: the first)."""
    paths = swept_paths(runs, labels.names)
    if len(paths) < 2:
        raise NoDataError(labels.t("nodata.sweep2"))
    done = _done_arms(metrics)
    if done.empty or metric not in done.columns:
        raise NoDataError(labels.t("nodata.arms"))
    arm = arm or arm_order(done["arm"].unique(), labels.names.arm_order)[0]
    grid = two_parameter_grid(metrics, runs, metric, paths[1], paths[0], arm)
    if grid.empty:
        raise NoDataError(labels.t("nodata.arms"))
    unit = HEADLINE.get(metric, ("", ""))[1]
    values = grid.to_numpy(dtype=float)
    fig = _figure(max(7.0, 1.3 * grid.shape[1] + 3.5), max(4.0, 0.7 * grid.shape[0] + 2.6))
    ax = fig.add_subplot()
    extent = float(np.nanmax(np.abs(values))) or 1.0
    crosses = np.nanmin(values) < 0 < np.nanmax(values)
    norm: Normalize = (
        TwoSlopeNorm(vcenter=0.0, vmin=-extent, vmax=extent)
        if crosses
        else Normalize(float(np.nanmin(values)), float(np.nanmax(values)))
    )
    cmap = mpl.colormaps["RdBu" if crosses else "viridis"]
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto", origin="lower")
    if unit == "EUR":
        texts = np.array(labels.eurs(list(values.ravel()))).reshape(values.shape)
    else:
        texts = np.vectorize(lambda v: labels.value(float(v), unit))(values)
    for (i, j), text in np.ndenumerate(texts):
        shade = norm(values[i, j])
        dark = abs(float(shade) - 0.5) > 0.3 if crosses else float(shade) < 0.5
        ax.text(
            j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
        )
    ax.set_xticks(range(grid.shape[1]), [_plain(v, labels) for v in grid.columns], fontsize=8.5)
    ax.set_yticks(range(grid.shape[0]), [_plain(v, labels) for v in grid.index], fontsize=8.5)
    ax.set_xlabel(labels.parameter(paths[0]))
    ax.set_ylabel(labels.parameter(paths[1]))
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9)
    colorbar.ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    if unit == "EUR":
        divisor, money = money_unit(extent, labels)
        colorbar.ax.yaxis.set_major_formatter(_numbers(labels, scale=1 / divisor))
        colorbar.set_label(money)
    elif unit in ("share", "share of runs"):
        colorbar.ax.yaxis.set_major_formatter(_percent(labels))
    else:
        colorbar.ax.yaxis.set_major_formatter(_numbers(labels))
    notes = [labels.arm(arm), labels.t("fig.sweep.averaged") if len(paths) > 2 else None]
    _title(fig, labels.t("fig.sweep.heatmap", metric=labels.metric(metric)), notes)
    return fig


def _plain(value: Any, labels: Labels) -> str:
    """A swept value as a tick label."""
    number = float(value)
    if number.is_integer():
        return labels.integer(number)
    return labels.num(number, 2).rstrip("0").rstrip(",.") if "." in f"{number}" else str(value)


def _plain_and_hatched_legend(fig: Figure, plain: str, hatched: str) -> None:
    """The legend of paired bars: plain bars and their hatched, paler partners."""
    _legend_below(
        fig,
        [
            Patch(facecolor="#999999", edgecolor="black"),
            Patch(facecolor="#999999", alpha=0.45, hatch="//", edgecolor="black"),
        ],
        [plain, hatched],
    )


def capitalised(text: str) -> str:
    """The text with its first letter in upper case (the rest as written)."""
    return text[:1].upper() + text[1:]
