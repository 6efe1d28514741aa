"""What the pages show, computed from stored results: the per-need comparison, the report's
figures, a sweep figure, the contract figures; figures as SVG with values on hover.

Nothing here needs Solara, so it is tested on its own.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.dashboard.contracts import FeasibleRegion, TermsSummary
from sim.dashboard.texts import Texts
from sim.delivery.needs import need_keys
from sim.experiments.store import ResultStore
from sim.reading import figures
from sim.reading.analysis import HEADLINE, compare_arms, cost_ratio_parts
from sim.reading.report import BatchData, batch_city, load_batch

NEEDS = need_keys()

# ---------------------------------------------------------------------------- opening results


def databases(db: str | None) -> list[str]:
    """The database given and the other ``*.db`` files beside it, the given one first."""
    if not db:
        return []
    if "://" in db:
        return [db]
    given = Path(db)
    others = sorted(str(p) for p in given.parent.glob("*.db") if p.resolve() != given.resolve())
    return [db, *others]


def batch_choices(db: str) -> list[tuple[int, str, str]]:
    """(id, name, status) of every batch of a database, latest first."""
    with ResultStore(db, read_only=True) as store:
        batches = store.batches()
    return [
        (int(row.id), str(row.name), str(row.status)) for row in batches.iloc[::-1].itertuples()
    ]


def load(db: str, batch: int | None) -> BatchData:
    """One batch's frames, read without ever writing to the database."""
    return load_batch(db, batch)  # opens the database read-only


def point_values(data: BatchData) -> dict[int, dict[str, Any]]:
    """Values of every sweep point (dotted path -> value)."""
    values: dict[int, dict[str, Any]] = {}
    for point, text in zip(data.runs["point"], data.runs["point_values"], strict=True):
        values.setdefault(int(point), json.loads(text) if text else {})
    return values


# ---------------------------------------------------------------------------- per-need table
#: Rows shown under each need's heading, in this order (``{need}`` is the need's key), with the
#: dashboard's own label, or None for the metric's label (which does not name the need).
NEED_ROWS: tuple[tuple[str | None, str], ...] = (
    ("row.true", "true_additional_{need}"),
    ("row.measured", "measured_additional_{need}"),
    (None, "deadweight_share_of_counted_{need}"),
    (None, "public_cost_eur_per_additional_{need}"),
    (None, "society_cost_eur_per_additional_{need}"),
)
#: Rows about the arm as a whole, under "All needs".
OVERALL_ROWS = ("participants", "reach_share_barrier_q4", "creaming_index", "npv_eur")


def comparison_rows(
    data: BatchData, point: int, texts: Texts
) -> tuple[list[str], list[tuple[str, bool, list[str]]]]:
    """The arms side by side for one sweep point, each need's rows under its own heading (the
    per-need metrics share a label, so only the heading tells them apart).

    Returns:
        (arm names, rows): each row is (label, is a heading, one cell text per arm).
    """
    metrics = data.metrics[data.metrics["point"] == point]
    per_need = [
        (need, key, pattern.format(need=need)) for need in NEEDS for key, pattern in NEED_ROWS
    ]
    names = [name for _need, _key, name in per_need] + list(OVERALL_ROWS)
    names = [n for n in names if n in metrics.columns or cost_ratio_parts(n) is not None]
    comparison = compare_arms(metrics, names)
    if comparison.empty:
        return [], []
    arms = figures.arm_order(comparison["arm"].unique())
    labels = texts.labels
    cells: dict[tuple[str, str], str] = {}
    for row in comparison.itertuples():
        unit = HEADLINE.get(str(row.metric), ("", "outcomes"))[1]
        cells[(str(row.arm), str(row.metric))] = labels.cell(
            float(row.mean), float(row.ci_low), float(row.ci_high), unit
        )

    def line(label: str, metric: str) -> tuple[str, bool, list[str]]:
        return label, False, [cells.get((arm, metric), "") for arm in arms]

    rows: list[tuple[str, bool, list[str]]] = []
    for need in NEEDS:
        if f"true_additional_{need}" not in names:
            continue
        rows.append((texts.t(f"need.{need}"), True, []))
        rows.extend(
            line(texts.t(key) if key else labels.metric(name), name)
            for one, key, name in per_need
            if one == need and name in names
        )
    rows.append((texts.t("row.overall"), True, []))
    rows.extend(line(labels.metric(metric), metric) for metric in OVERALL_ROWS if metric in names)
    return [labels.arm(a) for a in arms], rows


def table_html(columns: Sequence[str], rows: Sequence[tuple[str, bool, Sequence[str]]]) -> str:
    """An HTML table; every text escaped."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for label, heading, cells in rows:
        if heading:
            body.append(f'<tr class="sim-need"><th colspan="{len(columns)}">{esc(label)}</th></tr>')
        else:
            tds = "".join(f"<td>{esc(c)}</td>" for c in cells)
            body.append(f"<tr><th>{esc(label)}</th>{tds}</tr>")
    return (
        f'<table class="sim-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# ---------------------------------------------------------------------------- figures
FigureBuilder = Callable[[BatchData, Texts, int], Figure]


def _map(data: BatchData, texts: Texts, point: int) -> Figure:
    city = batch_city(data)
    if city is None:
        raise figures.NoDataError(texts.labels.t("nodata.city"))
    return figures.territory_map(data.territories, city, texts.labels, point)


#: The report's figures, by key (``figure.<key>`` names them in the menu).
REPORT_FIGURES: dict[str, FigureBuilder] = {
    "outcomes": lambda d, tx, p: figures.outcomes_over_time(d.series, tx.labels, point=p),
    "validated": lambda d, tx, p: figures.true_vs_validated(d.metrics, tx.labels, p),
    "cost": lambda d, tx, p: figures.cost_per_outcome(d.metrics, tx.labels, p),
    "cash_flows": lambda d, tx, p: figures.payer_cash_flows(
        d.cash_flows, d.metrics, tx.labels, point=p, runs=d.runs
    ),
    "investor": lambda d, tx, _p: figures.investor_returns(d.metrics, tx.labels),
    "reach": lambda d, tx, p: figures.reach_by_barrier(d.metrics, tx.labels, p),
    "territories": _map,
    "pilots": lambda d, tx, p: figures.pilot_decisions(d.pilot_decisions, tx.labels, p),
}


def swept_parameters(data: BatchData) -> list[str]:
    """Dotted paths a batch sweeps (empty without a sweep)."""
    values = point_values(data)
    if len(values) < 2:
        return []
    return sorted({path for v in values.values() for path in v})


def sweep_figure(data: BatchData, texts: Texts, parameter: str, metric: str) -> Figure:
    """One metric along one swept parameter, per arm, with 95 % intervals (other swept values
    pooled)."""
    labels = texts.labels
    values = point_values(data)
    comparison = compare_arms(data.metrics, [metric])
    if comparison.empty:
        raise figures.NoDataError(labels.t("nodata.arms"))
    comparison = comparison.assign(
        x=[values.get(int(p), {}).get(parameter) for p in comparison["point"]]
    )
    comparison = comparison[comparison["x"].map(lambda v: isinstance(v, (int, float)))]
    if comparison.empty:
        raise figures.NoDataError(labels.t("nodata.arms"))
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.subplots()
    arms = figures.arm_order(comparison["arm"].unique())
    colours = figures.arm_colours(arms)
    for arm in arms:
        mine = comparison[comparison["arm"] == arm].groupby("x", sort=True)
        x = np.array(list(mine.groups), dtype=float)
        mean = mine["mean"].mean().to_numpy(dtype=float)
        low = mine["ci_low"].mean().to_numpy(dtype=float)
        high = mine["ci_high"].mean().to_numpy(dtype=float)
        ax.plot(x, mean, marker="o", color=colours[arm], label=labels.arm(arm))
        ax.fill_between(x, low, high, color=colours[arm], alpha=0.15)
    ax.set_xlabel(parameter.split(".")[-1])
    ax.set_ylabel(labels.metric(metric))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    pooled = len(swept_parameters(data)) > 1
    title = texts.t("sweep.title", metric=labels.metric(metric), parameter=parameter)
    fig.suptitle(title + (f"\n({texts.t('sweep.other')})" if pooled else ""), fontsize=11.5)
    return fig


def investor_figure(summary: TermsSummary, texts: Texts, target: float) -> Figure:
    """The investor's return per replication on the chosen terms, against the target."""
    labels = texts.labels
    irr = summary.investor_irr()
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    finite = irr[np.isfinite(irr)] * 100.0
    if len(finite):
        ax.hist(finite, bins=int(min(20, max(5, len(finite)))), color="#d62728", edgecolor="white")
    ax.axvline(target * 100.0, color="black", linestyle="--", label=texts.t("fig.returns.target"))
    missing = int(len(irr) - len(finite))
    if missing:
        ax.text(
            0.02,
            0.95,
            texts.t("fig.returns.none", n=labels.integer(missing)),
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )
    ax.set_xlabel(texts.t("fig.returns.x") + " (%)")
    ax.set_ylabel(texts.t("fig.returns.y"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Above the axes: inside, the legend sat on the tallest bar whenever it was at the right.
    ax.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle(texts.t("fig.returns.title"), fontsize=11.5)
    return fig


def contract_numbers_html(
    summary: TermsSummary, texts: Texts, share_wanted: float, elapsed_ms: float
) -> str:
    """The Contract page's numbers as one HTML block (one widget to update at each move, not
    twenty): the payer's NPV, the investor's loss and return, the costs and the Bordeaux rule.
    Every text is escaped."""
    labels = texts.labels
    npv = summary.payer_npv_eur_mean
    irr = summary.investor_irr()
    median = float(np.nanmedian(irr)) if np.isfinite(irr).any() else math.nan
    share = summary.share_payer_below_direct
    holds = share >= share_wanted
    rule = (
        texts.t("result.rule", share=labels.pct(share))
        + " — "
        + texts.t("result.rule_ok" if holds else "result.rule_broken")
    )
    first = _number(
        texts.t("result.payer_npv"),
        labels.eur(npv),
        "sim-npv",
        ("sim-npv-exact", f"({labels.num(npv, 0)} €)"),
    )
    costs = (
        _number(texts.t("result.paid"), labels.eur(summary.payer_cost_eur_mean), "sim-paid"),
        _number(
            texts.t("result.direct"), labels.eur(summary.operating_cost_eur_mean), "sim-direct"
        ),
    )
    elapsed = (
        texts.t("result.replications", n=summary.replications)
        + " · "
        + texts.t("result.elapsed", ms=labels.num(elapsed_ms, 0))
    )
    return (
        '<div class="sim-numbers">'
        + first
        + _number(
            texts.t("result.loss"), labels.pct(summary.probability_investor_loses), "sim-loss"
        )
        + _number(texts.t("result.irr"), labels.pct(median, 1), "sim-irr")
        + '</div><div class="sim-numbers">'
        + "".join(costs)
        + f'</div><div class="sim-rule {"sim-ok" if holds else "sim-broken"}">'
        + html.escape(rule)
        + f'</div><div class="sim-elapsed sim-secondary">{html.escape(elapsed)}</div>'
    )


def _number(label: str, value: str, css: str, exact: tuple[str, str] | None = None) -> str:
    """One number of the Contract page: its label, the value in large type, and optionally the
    exact value below (CSS class, text)."""
    below = f'<div class="{exact[0]}">{html.escape(exact[1])}</div>' if exact else ""
    return (
        f'<div class="sim-number"><div class="sim-number-label">{html.escape(label)}</div>'
        f'<div class="sim-big {css}">{html.escape(value)}</div>{below}</div>'
    )


REGION_COLOURS = ("#d9d9d9", "#fdb863", "#b2abd2", "#1b9e77")


def region_figure(
    region: FeasibleRegion, texts: Texts, share: float, target: float, current: tuple[float, float]
) -> Figure:
    """The price x threshold grid coloured by who is satisfied in ``share`` of replications."""
    labels = texts.labels
    payer = region.payer_ok >= share - 1e-12
    investor = region.investor_ok >= share - 1e-12
    codes = payer.astype(int) + 2 * investor.astype(int)  # 0 neither, 1 payer, 2 investor, 3 both
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    prices, thresholds = np.array(region.prices), np.array(region.thresholds)
    ax.pcolormesh(
        _edges(prices),
        _edges(thresholds),
        codes,
        cmap=ListedColormap(REGION_COLOURS),
        vmin=-0.5,
        vmax=3.5,
    )
    ax.plot(*current, marker="*", markersize=16, color="black", linestyle="")
    ax.set_xlabel(texts.t("fig.region.x"))
    ax.set_ylabel(texts.t("fig.region.y"))
    # Prices read like the page's (15,000 or 15 000, not 15000).
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels.integer(v)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels.num(v)))
    keys = ("fig.region.neither", "fig.region.payer", "fig.region.investor", "fig.region.both")
    handles: list[Any] = [
        Patch(color=c, label=texts.t(k)) for c, k in zip(REGION_COLOURS, keys, strict=True)
    ]
    handles.append(
        Line2D([], [], marker="*", color="black", linestyle="", label=texts.t("fig.region.current"))
    )
    fig.legend(handles=handles, loc="outside right center", frameon=False, fontsize=9)
    fig.suptitle(texts.t("fig.region.title", target=labels.pct(target, 1)), fontsize=11)
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = (centres[1:] + centres[:-1]) / 2
    return np.concatenate(
        [
            [centres[0] - (middle[0] - centres[0])],
            middle,
            [centres[-1] + (centres[-1] - middle[-1])],
        ]
    )


# ---------------------------------------------------------------------------- SVG and export
def _fmt(value: float, texts: Texts) -> str:
    if not math.isfinite(value):
        return texts.labels.t("na")
    digits = 0 if abs(value) >= 100 else 2
    return texts.labels.num(value, digits)


def _tick_name(ax: Any, x: float) -> str | None:
    for position, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=False):
        if abs(float(position) - x) < 0.26 and label.get_text():
            return str(label.get_text())
    return None


def _tag_tooltips(fig: Figure, texts: Texts) -> dict[str, str | list[str]]:
    """Give the data artists of a figure ids and the texts to show on hover."""
    tips: dict[str, str | list[str]] = {}
    colon = " : " if texts.lang == "fr" else ": "  # French sets a space before the colon
    for ax in fig.axes:
        for artist in ax.patches:
            if isinstance(artist, Rectangle) and artist.get_width() and artist.get_height():
                x = artist.get_x() + artist.get_width() / 2
                name = _tick_name(ax, x)
                label = str(artist.get_label())
                prefix = " · ".join(
                    part for part in (name, None if label.startswith("_") else label) if part
                )
                value = _fmt(float(artist.get_y() + artist.get_height()), texts)
                tip = f"{prefix}{colon}{value}" if prefix else value
                gid = f"simtip{len(tips)}"
                artist.set_gid(gid)
                tips[gid] = tip
        for line in ax.lines:
            if line.get_marker() in (None, "None", "", " "):
                continue
            xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
            if not 0 < len(xs) <= 400:
                continue
            label = str(line.get_label())
            prefix = "" if label.startswith("_") else f"{label} · "
            gid = f"simtip{len(tips)}"
            line.set_gid(gid)
            tips[gid] = [
                f"{prefix}{_fmt(x, texts)}{colon}{_fmt(y, texts)}"
                for x, y in zip(xs, ys, strict=True)
            ]
        for collection in ax.collections:
            if not isinstance(collection, PathCollection):
                continue
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            if not 0 < len(offsets) <= 400:
                continue
            gid = f"simtip{len(tips)}"
            collection.set_gid(gid)
            tips[gid] = [f"{_fmt(x, texts)}{colon}{_fmt(y, texts)}" for x, y in offsets]
    return tips


SVG_NS = "http://www.w3.org/2000/svg"


def figure_svg(fig: Figure, texts: Texts, tooltips: bool = True) -> str:
    """The figure as an SVG document; with ``tooltips``, bars, markers and points show their
    values on hover (an SVG ``<title>`` each, every text escaped by the XML writer)."""
    tips = _tag_tooltips(fig, texts) if tooltips else {}
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    if not tips:
        return svg
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    for element in root.iter():
        gid = element.get("id")
        if gid is None or gid not in tips:
            continue
        tip = tips[gid]
        if isinstance(tip, str):
            title = ET.Element(f"{{{SVG_NS}}}title")
            title.text = tip
            element.insert(0, title)
            continue
        marks = [e for e in element.iter() if e.tag in (f"{{{SVG_NS}}}use", f"{{{SVG_NS}}}path")]
        marks = [e for e in marks if e.tag == f"{{{SVG_NS}}}use"] or marks[1:]
        for mark, text in zip(marks, tip, strict=False):
            title = ET.SubElement(mark, f"{{{SVG_NS}}}title")
            title.text = text
    return ET.tostring(root, encoding="unicode")


def inline_svg(svg: str) -> str:
    """An SVG document ready to sit inside an HTML page (no XML prolog, scaled to its box)."""
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    return re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r'\1 width="100%"', svg, count=1)


def figure_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
