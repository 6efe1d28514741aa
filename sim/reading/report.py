"""A self-contained HTML report of one batch, in English or French.

``write_report(db, out_dir)`` reads a batch from a results database and writes
``out_dir/report_<lang>.html`` (figures embedded as PNG images, so the file can be mailed alone)
and every figure as PNG and SVG files in ``out_dir/figures/`` (named ``<figure>_<lang>``).

The report says, from the numbers, which way of funding gave the most true additional outcomes
per euro, who was reached, who bore the risk and whether differences are within noise; then it
shows the comparison table, the figures with captions, a glossary and the batch's provenance.
Every text comes from :mod:`sim.reading.i18n`; the template
(``sim/reading/templates/report.html.j2``) escapes every value, the scenario's name and
description included.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sim._version import __version__
from sim.delivery.needs import all_needs, need_keys
from sim.errors import UserInputError
from sim.experiments.store import ResultStore, require_existing
from sim.reading import figures
from sim.reading.analysis import (
    HEADLINE,
    TWIN,
    compare_arms,
    contract_outcomes,
    monetised_values,
    paired_ratio_difference,
    pilot_decision_rates,
)
from sim.reading.i18n import GLOSSARY, Labels
from sim.reading.names import display_names
from sim.reading.sweeps import (
    MIN_REPLICATIONS_FOR_INTERVAL,
    sweep_metrics,
    swept_paths,
    too_few_replications,
)
from sim.world.sources import illustrative_defaults
from sim.world.territory import City, city_from_records

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"
#: Resolution of the PNG figures (dots per inch).
PNG_DPI = 100
#: Mechanisms whose payer bears all the risk (activity paid whatever the results).
PUBLIC_RISK_MECHANISMS = ("planned", "call_for_projects")
#: Share of participants from the hardest quarter without any selection.
NO_SELECTION_SHARE = 0.25


@dataclass
class BatchData:
    """The frames and provenance of one batch."""

    db: str
    url: str
    batch: int
    info: dict[str, Any]
    runs: pd.DataFrame
    metrics: pd.DataFrame
    series: pd.DataFrame
    territories: pd.DataFrame
    cash_flows: pd.DataFrame
    pilot_decisions: pd.DataFrame
    city_table: pd.DataFrame
    chosen_point: int | None = None

    @property
    def points(self) -> list[int]:
        """Sweep points with runs."""
        return sorted(int(p) for p in self.runs["point"].unique())

    @property
    def first_point(self) -> int:
        """The point the report's table, conclusions and most figures show: the one chosen
        (``sim report --point``), else the first."""
        if self.chosen_point is not None:
            return self.chosen_point
        return self.points[0] if self.points else 0

    def point_values(self) -> dict[int, dict[str, Any]]:
        """Values of every sweep point (dotted path -> value); empty without a sweep."""
        values: dict[int, dict[str, Any]] = {}
        for point, text in zip(self.runs["point"], self.runs["point_values"], strict=True):
            if int(point) not in values:
                values[int(point)] = json.loads(text) if text else {}
        return values

    def mechanisms(self) -> dict[str, str]:
        """Mechanism of every arm."""
        pairs = zip(self.runs["arm"], self.runs["mechanism"], strict=True)
        return {str(arm): str(mechanism) for arm, mechanism in pairs}


def load_batch(db: str, batch: int | None = None) -> BatchData:
    """Read one batch (the latest by default) of a results database.

    Args:
        db: SQLite path or SQLAlchemy URL.
        batch: batch id.

    Raises:
        UserInputError: no such database file, no batch in it, or no batch with that id.
    """
    require_existing(db)
    with ResultStore(db, read_only=True) as store:
        batch = store.batch_id(batch)
        batches = store.batches()
        row = batches[batches["id"] == batch].iloc[0].to_dict()
        info = {str(k): _missing_as_none(v) for k, v in row.items()}
        return BatchData(
            db=db,
            url=store.url,
            batch=batch,
            info=info,
            runs=store.runs(batch),
            metrics=store.metrics(batch),
            series=store.series(batch),
            territories=store.territories(batch),
            cash_flows=store.cash_flows(batch),
            pilot_decisions=store.pilot_decisions(batch),
            city_table=store.city_table(batch),
        )


def _missing_as_none(value: Any) -> Any:
    """A stored value with SQL NULL (read back as None or NaN) as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _description(info: dict[str, Any], lang: str) -> str:
    """The scenario's description in the report's language: ``description_fr`` of the stored
    scenario text for French when it has one, else the description as written."""
    if lang == "fr" and info.get("description_fr"):
        return str(info["description_fr"])
    return str(info.get("description") or "")


def default_out_dir(db: str) -> Path:
    """Where a report goes by default: next to a SQLite file (``results/demo.db`` ->
    ``results/demo_report``), or ``report`` for a database URL."""
    if "://" in db:
        return Path("report")
    path = Path(db)
    return path.with_name(f"{path.stem}_report")


def batch_city(data: BatchData) -> City | None:
    """The batch's city, from the territory table stored with it; None when the batch has
    none."""
    if data.city_table.empty:
        return None
    return city_from_records(str(data.info.get("name") or ""), data.city_table.to_dict("records"))


# ---------------------------------------------------------------------------- conclusions
def _by_arm(comparison: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float, float, int]]:
    return {
        (str(r.arm), str(r.metric)): (
            float(r.mean),
            float(r.ci_low),
            float(r.ci_high),
            int(r.replications),
        )
        for r in comparison.itertuples()
    }


def conclusions(data: BatchData, labels: Labels) -> list[dict[str, Any]]:
    """Short conclusions written from the numbers of the first sweep point: value for money,
    effects against the status quo (and whether they are within noise), reach, risk and pilot
    decisions. Returns sections, each ``{"title": ..., "items": [sentences]}``."""
    metrics = data.metrics[data.metrics["point"] == data.first_point]
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    if done.empty:
        return []
    cells = _by_arm(compare_arms(done))
    arms = figures.arm_order(done["arm"].unique(), labels.names.arm_order)
    primary = primary_outcome(data)
    sections = [
        {
            "title": labels.t("concl.value_title"),
            "items": _value_for_money(arms, cells, labels, done, primary),
        },
        {"title": labels.t("concl.effects_title"), "items": _effects(arms, cells, labels, done)},
        {"title": labels.t("concl.reach_title"), "items": _reach(arms, cells, labels)},
        {"title": labels.t("concl.risk_title"), "items": _risk(data, metrics, arms, labels)},
        {"title": labels.t("concl.pilots_title"), "items": _pilots(data, labels)},
        {"title": labels.t("concl.money_title"), "items": _monetised(data, labels, arms)},
    ]
    return [
        {"title": s["title"], "items": [figures.capitalised(item) for item in s["items"]]}
        for s in sections
        if s["items"]
    ]


def _finite(x: float) -> bool:
    return math.isfinite(x)


def primary_outcome(data: BatchData) -> str:
    """The need whose outcome the batch's conclusions rank arms on (jobs held 6 months unless
    the scenario says otherwise)."""
    stored = str(data.info.get("primary_outcome") or "employment")
    return stored if stored in need_keys() else "employment"


def _value_for_money(
    arms: list[str],
    cells: dict[tuple[str, str], tuple[float, float, float, int]],
    labels: Labels,
    done: pd.DataFrame,
    primary: str = "employment",
) -> list[str]:
    """Arms ranked on public spending per true additional outcome of the primary need, the
    ranking judged on the paired difference; then every arm's cost to society."""
    outcome = labels.t(f"outcome.{primary}")
    metric = f"public_cost_eur_per_additional_{primary}"
    nothing = (math.nan, math.nan, math.nan, 0)
    costs = {arm: cells.get((arm, metric), nothing) for arm in arms}
    defined = sorted((c[0], arm) for arm, c in costs.items() if _finite(c[0]))
    lead = labels.t("concl.primary", outcome=outcome)
    if not defined:
        return [lead + " " + labels.t("concl.no_best", outcome=outcome)]
    best = defined[0][1]
    mean, low, high, _n = costs[best]
    if len(arms) == 1:
        key = "concl.single" if _finite(low) and _finite(high) else "concl.single_no_interval"
        return [
            lead
            + " "
            + labels.t(
                key,
                arm=labels.arm(best),
                outcome=outcome,
                cost=labels.eurs([mean, low, high])[0],
                low=labels.eurs([mean, low, high])[1],
                high=labels.eurs([mean, low, high])[2],
            )
        ]
    if _finite(low) and _finite(high):
        text = labels.t(
            "concl.best",
            arm=labels.arm(best),
            outcome=outcome,
            cost=labels.eurs([mean, low, high])[0],
            low=labels.eurs([mean, low, high])[1],
            high=labels.eurs([mean, low, high])[2],
        )
    else:
        text = labels.t(
            "concl.best_no_interval", arm=labels.arm(best), outcome=outcome, cost=labels.eur(mean)
        )
    others = []
    for arm in arms:
        if arm == best:
            continue
        if _finite(costs[arm][0]):
            others.append(
                labels.t("concl.other_cost", arm=labels.arm(arm), cost=labels.eur(costs[arm][0]))
            )
        else:
            others.append(labels.t("concl.other_undefined", arm=labels.arm(arm)))
    items = [lead, text]
    if others:
        items.append(labels.t("concl.others", others=labels.join(others)))
    if len(defined) > 1:
        # The arms share their random draws: judge the ranking on the paired difference.
        runner_up = defined[1][1]
        _diff, low_diff, _high = paired_ratio_difference(
            done[done["arm"] == best],
            done[done["arm"] == runner_up],
            numerator=f"public_spending_eur_{primary}",
            denominator=f"true_additional_{primary}",
        )
        if _finite(low_diff) and low_diff > 0:
            items.append(labels.t("concl.rank_clear"))
        else:
            items.append(labels.t("concl.rank_uncertain", arm=labels.arm(runner_up)))
    society = [
        labels.t("concl.other_cost", arm=labels.arm(arm), cost=labels.eur(cell[0]))
        for arm in arms
        if _finite(
            (cell := cells.get((arm, f"society_cost_eur_per_additional_{primary}"), nothing))[0]
        )
    ]
    if society:
        items.append(labels.t("concl.society", costs=labels.join(society)))
    return [" ".join(items)]


def _effects(
    arms: list[str],
    cells: dict[tuple[str, str], tuple[float, float, float, int]],
    labels: Labels,
    done: pd.DataFrame,
) -> list[str]:
    """Per arm and per need the arm acted on (or changed), its true additional outcomes with
    their interval, what its evaluators validated, and the deadweight of counted outcomes."""
    items = []
    for arm in arms:
        for need in need_keys():
            sentence = _effect(arm, need, cells, labels, done)
            if sentence:
                items.append(sentence)
    return items


def _effect(
    arm: str,
    need: str,
    cells: dict[tuple[str, str], tuple[float, float, float, int]],
    labels: Labels,
    done: pd.DataFrame,
) -> str:
    """One arm's effect on one need, or "" when the arm neither acted on it nor changed it."""
    nothing = (math.nan, math.nan, math.nan, 0)
    if (arm, f"true_additional_{need}") not in cells:
        return ""
    mean, low, high, n = cells[(arm, f"true_additional_{need}")]
    spend_column = f"public_spending_eur_{need}"
    mine = done[done["arm"] == arm]
    spend = float(mine[spend_column].mean()) if spend_column in mine else math.nan
    if not (mean or (_finite(spend) and spend > 0)):
        return ""
    validated = cells.get((arm, f"measured_additional_{need}"), nothing)[0]
    values = {
        "arm": labels.arm(arm),
        "outcome": labels.t(f"outcome.{need}"),
        "n": labels.num(mean),
        "spend": labels.eur(spend),
        "validated": labels.num(validated),
    }
    if n >= 2 and _finite(low) and _finite(high):
        sentence = labels.t("concl.outcomes", low=labels.num(low), high=labels.num(high), **values)
        verdict = labels.t("concl.noise" if low <= 0 <= high else "concl.clear")
    else:
        sentence = labels.t("concl.outcomes_no_interval", **values)
        verdict = labels.t("concl.one_replication")
    parts = [sentence, verdict]
    share = cells.get((arm, f"deadweight_share_of_counted_{need}"), nothing)[0]
    if _finite(share):
        parts.append(labels.t("concl.deadweight", share=labels.pct(share)))
    return " ".join(parts)


def stored_values(data: BatchData) -> dict[str, float]:
    """The batch's euro values per outcome (its scenario's ``[values]`` and the needs' defaults),
    as stored with it."""
    text = str(data.info.get("values_eur_per_outcome") or "{}")
    try:
        stored = json.loads(text)
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in stored.items() if isinstance(v, int | float)}


def _monetised(data: BatchData, labels: Labels, arms: list[str]) -> list[str]:
    """The optional monetised view: the values used, then each arm's outcomes in euros."""
    values = stored_values(data)
    if not any(values.values()):
        return []
    defaults = {n.key: n for n in all_needs()}
    pairs = []
    for need, value in values.items():
        if need not in defaults:
            continue
        pair = labels.t(
            "concl.money_pair", outcome=labels.t(f"outcome.{need}"), value=labels.eur(value)
        )
        source = defaults[need].value_source
        if value and value == defaults[need].value_eur_per_outcome and source.startswith("["):
            pair += " " + source.split()[0]  # the default's tag ([S], [C], [E]: docs/sources.md)
        pairs.append(pair)
    items = [labels.t("concl.money_values", values=labels.join(pairs))]
    frame = monetised_values(data.metrics[data.metrics["point"] == data.first_point], values)
    done = data.metrics[data.metrics["status"] == "done"]
    for row in frame.set_index("arm").reindex(arms).dropna(subset=["value_eur"]).itertuples():
        spend = float(done[done["arm"] == row.Index]["public_spending_eur"].mean())
        texts = labels.eurs([row.value_eur, row.ci_low, row.ci_high])
        items.append(
            labels.t(
                "concl.money_arm",
                arm=labels.arm(str(row.Index)),
                value=texts[0],
                low=texts[1],
                high=texts[2],
                spend=labels.eur(spend),
            )
        )
    return [" ".join(items[:1]), *items[1:]]


def _reach(
    arms: list[str], cells: dict[tuple[str, str], tuple[float, float, float, int]], labels: Labels
) -> list[str]:
    items = []
    for arm in arms:
        key = (arm, "reach_share_barrier_q4")
        if key not in cells or not _finite(cells[key][0]):
            continue
        mean, low, high, n = cells[key]
        text = labels.t("concl.reach", arm=labels.arm(arm), share=labels.pct(mean))
        if n < 2 or not (_finite(low) and _finite(high)):
            text += labels.t("concl.reach_plain")
        elif low > NO_SELECTION_SHARE:
            text += labels.t("concl.reach_over")
        elif high < NO_SELECTION_SHARE:
            text += labels.t("concl.reach_under")
        else:
            text += labels.t("concl.reach_even")
        items.append(text)
    return items


def _risk(data: BatchData, metrics: pd.DataFrame, arms: list[str], labels: Labels) -> list[str]:
    items = []
    for row in contract_outcomes(metrics).itertuples():
        npv = labels.eurs(
            [
                float(row.payer_npv_eur_mean),
                float(row.payer_npv_eur_p05),
                float(row.payer_npv_eur_p95),
            ]
        )
        items.append(
            labels.t(
                "concl.risk_contract",
                arm=labels.arm(str(row.arm)),
                p_loss=labels.pct(float(row.probability_investor_loses)),
                n=labels.integer(float(row.replications)),
                p_non=labels.pct(float(row.probability_payer_pays_non_additional)),
                npv=npv[0],
                p05=npv[1],
                p95=npv[2],
            )
        )
    every_point = contract_outcomes(data.metrics)
    if every_point["point"].nunique() > 1:
        for arm, group in every_point.groupby("arm", sort=True):
            items.append(
                labels.t(
                    "concl.risk_sweep",
                    arm=labels.arm(str(arm)),
                    points=labels.integer(group["point"].nunique()),
                    loss_low=labels.pct(group["probability_investor_loses"].min()),
                    loss_high=labels.pct(group["probability_investor_loses"].max()),
                    non_low=labels.pct(group["probability_payer_pays_non_additional"].min()),
                    non_high=labels.pct(group["probability_payer_pays_non_additional"].max()),
                    npv_low=labels.eurs(
                        [group["payer_npv_eur_mean"].min(), group["payer_npv_eur_mean"].max()]
                    )[0],
                    npv_high=labels.eurs(
                        [group["payer_npv_eur_mean"].min(), group["payer_npv_eur_mean"].max()]
                    )[1],
                )
            )
    mechanisms = data.mechanisms()
    public = [labels.arm(a) for a in arms if mechanisms.get(a) in PUBLIC_RISK_MECHANISMS]
    if public:
        items.append(labels.t("concl.risk_public", arms=labels.join(public)))
    return items


def _pilots(data: BatchData, labels: Labels) -> list[str]:
    decisions = data.pilot_decisions
    if decisions.empty:
        return []
    rates = pilot_decision_rates(decisions[decisions["point"] == data.first_point])
    items = []
    for arm in figures.arm_order(rates["arm"].unique(), labels.names.arm_order):
        mine = rates[rates["arm"] == arm]
        total = int(mine["decisions"].sum())
        if total == 0:
            continue
        right = int(mine.loc[mine["correct"], "decisions"].sum())
        false_scale = int(
            mine.loc[~mine["truly_works"] & (mine["decision"] == "scale"), "decisions"].sum()
        )
        false_stop = int(
            mine.loc[mine["truly_works"] & (mine["decision"] == "stop"), "decisions"].sum()
        )
        items.append(
            labels.t(
                "concl.pilots",
                arm=labels.arm(arm),
                accuracy=labels.pct(right / total),
                total=labels.integer(total),
                false_scale=labels.integer(false_scale),
                false_stop=labels.integer(false_stop),
                n=labels.integer(int(mine["replications"].max())),
            )
        )
    return items


# ---------------------------------------------------------------------------- tables
def _untouched_needs(
    cells: dict[tuple[str, str], tuple[float, float, float, int]], arms: list[str]
) -> list[str]:
    """Needs whose outcomes no arm changed nor had validated: their rows would all read zero."""
    untouched = []
    for need in need_keys():
        values = [
            cells.get((arm, f"{stem}_{need}"), (0.0, 0.0, 0.0, 0))[0]
            for arm in arms
            for stem in ("true_additional", "measured_additional")
        ]
        if all(v == 0 or not _finite(v) for v in values):
            untouched.append(need)
    return untouched


def comparison_rows(data: BatchData, labels: Labels, point: int | None = None) -> dict[str, Any]:
    """The comparison table of one sweep point (default: the report's point): headline metrics
    as rows (translated labels and units), arms as columns, cells ``mean [low, high]``."""
    chosen = data.first_point if point is None else point
    metrics = data.metrics[data.metrics["point"] == chosen]
    comparison = compare_arms(metrics)
    if comparison.empty:
        return {"arms": [], "rows": [], "replications": 0}
    arms = figures.arm_order(comparison["arm"].unique(), labels.names.arm_order)
    cells = _by_arm(comparison)
    names = [m for m in HEADLINE if m in set(comparison["metric"])]
    names += [m for m in dict.fromkeys(comparison["metric"]) if m not in names]
    untouched = _untouched_needs(cells, arms)
    names = [m for m in names if not any(m.endswith(f"_{need}") for need in untouched)]
    rows = []
    for name in names:
        label, unit = HEADLINE.get(name, (name, ""))
        row_cells = []
        for arm in arms:
            if (arm, name) in cells:
                mean, low, high, _n = cells[(arm, name)]
                row_cells.append(labels.cell(mean, low, high, unit))
            else:
                row_cells.append("")
        rows.append(
            {
                "label": labels.metric(name),
                "unit": labels.unit(unit),
                "sub": label.startswith(" "),
                "cells": row_cells,
            }
        )
    return {
        "arms": [{"name": labels.arm(a), "key": a} for a in arms],
        "rows": rows,
        "replications": int(comparison["replications"].max()),
    }


def risk_rows(data: BatchData, labels: Labels) -> dict[str, Any]:
    """Who bore the risk of every social impact contract, per sweep point."""
    outcomes = contract_outcomes(data.metrics)
    order = figures.arm_order(outcomes["arm"].unique(), labels.names.arm_order)
    outcomes = outcomes.assign(rank=outcomes["arm"].map({a: i for i, a in enumerate(order)}))
    outcomes = outcomes.sort_values(["point", "rank"], kind="stable")
    values = data.point_values()
    paths = swept_paths(data.runs, labels.names) if len(values) > 1 else []
    rows = []
    for row in outcomes.itertuples():
        point_values = values.get(int(row.point), {})
        rows.append(
            {
                "point": int(row.point),
                "values": [_plain_value(point_values.get(p), labels) for p in paths],
                "arm": labels.arm(str(row.arm)),
                "replications": labels.integer(float(row.replications)),
                "loses": labels.pct(float(row.probability_investor_loses)),
                "non_additional": labels.pct(float(row.probability_payer_pays_non_additional)),
                "npv": labels.cell(
                    float(row.payer_npv_eur_mean),
                    float(row.payer_npv_eur_p05),
                    float(row.payer_npv_eur_p95),
                    "EUR",
                ),
                "multiple": labels.num(float(row.investor_money_multiple_mean), 2),
            }
        )
    return {"paths": [labels.parameter(p) for p in paths], "rows": rows}


def sweep_rows(data: BatchData, labels: Labels) -> dict[str, Any]:
    """Every sweep point in one table: the swept values (scenario order), then the key metrics
    of each arm, ``mean [low, high]``; and each point's full comparison table (shown on demand
    in the report)."""
    paths = swept_paths(data.runs, labels.names)
    if len(data.points) < 2 or not paths:
        return {"paths": [], "metrics": [], "rows": [], "details": []}
    names = sweep_metrics(data.metrics)
    comparison = compare_arms(data.metrics, names)
    values = data.point_values()
    several = comparison["arm"].nunique() > 1
    rows = []
    for (point, arm), group in comparison.groupby(["point", "arm"], sort=True):
        cells = {
            r.metric: labels.cell(r.mean, r.ci_low, r.ci_high, r.unit) for r in group.itertuples()
        }
        rows.append(
            {
                "point": int(point),
                "values": [_plain_value(values.get(int(point), {}).get(p), labels) for p in paths],
                "arm": labels.arm(str(arm)) if several else None,
                "cells": [cells.get(m, "") for m in names],
            }
        )
    units = dict(zip(comparison["metric"], comparison["unit"], strict=True))
    details = []
    for point in data.points:
        point_values = values.get(point, {})
        details.append(
            {
                "point": point,
                "values": "; ".join(
                    f"{labels.parameter(p)} = {_plain_value(point_values.get(p), labels)}"
                    for p in paths
                ),
                "table": comparison_rows(data, labels, point),
            }
        )
    return {
        "paths": [labels.parameter(p) for p in paths],
        "several_arms": several,
        "metrics": [
            {"label": labels.metric(m), "unit": labels.unit(units.get(m, ""))} for m in names
        ],
        "rows": rows,
        "details": details,
    }


def render_sweep_figures(
    data: BatchData, labels: Labels, figures_dir: Path
) -> list[dict[str, Any]]:
    """The sweep's figures (key metrics along each swept parameter; a heat map of the payer's
    net present value over two parameters), saved and embedded like the others."""
    if len(data.points) < 2:
        return []
    figures_dir.mkdir(parents=True, exist_ok=True)
    builders: list[tuple[str, str, Callable[[], Any]]] = [
        (
            "sweep",
            "caption.sweep",
            lambda: figures.sweep_effects(data.metrics, data.runs, labels),
        ),
        (
            "sweep_heatmap",
            "caption.sweep_heatmap",
            lambda: figures.sweep_heatmap(data.metrics, data.runs, labels, "npv_eur"),
        ),
    ]
    entries = []
    for key, caption_key, build in builders:
        try:
            fig = build()
        except figures.NoDataError:
            continue
        entries.append(_saved(fig, key, labels.t(caption_key), labels, figures_dir, False))
    return entries


def _saved(
    fig: Any, key: str, caption: str, labels: Labels, figures_dir: Path, sweep_first: bool
) -> dict[str, Any]:
    """Save a figure as PNG and SVG and describe it for the template."""
    title = " ".join(fig.get_suptitle().split())
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    stem = f"{key}_{labels.lang}"
    (figures_dir / f"{stem}.png").write_bytes(png.getvalue())
    fig.savefig(figures_dir / f"{stem}.svg", format="svg", metadata={"Date": None})
    fig.clear()  # figures are not pyplot's: clearing frees their artists at once
    return {
        "key": key,
        "title": title,
        "caption": caption,
        "sweep_first": sweep_first,
        "image": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
        "png": f"{figures_dir.name}/{stem}.png",
        "svg": f"{figures_dir.name}/{stem}.svg",
        "skipped": None,
    }


def _plain_value(value: Any, labels: Labels) -> str:
    """A sweep value for reading (numbers in the labels' format)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return labels.integer(value)
    if isinstance(value, float):
        text = f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
        return text.replace(",", "\u202f").replace(".", ",") if labels.lang == "fr" else text
    return str(value)


def provenance(data: BatchData, labels: Labels) -> list[dict[str, Any]]:
    """Where the results come from: batch, scenario, code, seed, size, runs and dates."""
    info = data.info
    runs = data.runs
    done = int((runs["status"] == "done").sum()) if len(runs) else 0
    failed = int((runs["status"] == "failed").sum()) if len(runs) else 0
    unknown = labels.t("prov.unknown")

    def row(key: str, value: Any, code: bool = False) -> dict[str, Any]:
        return {"label": labels.t(key), "value": str(value), "code": code}

    return [
        row("prov.batch", data.batch),
        row("prov.database", data.url, code=True),
        row("prov.scenario_path", info.get("scenario_path") or unknown, code=True),
        row("prov.hash", info.get("scenario_hash") or unknown, code=True),
        row("prov.version", info.get("package_version") or unknown),
        row("prov.commit", info.get("git_commit") or unknown, code=bool(info.get("git_commit"))),
        row("prov.seed", info.get("root_seed"), code=True),
        row("prov.months", labels.integer(float(info.get("months") or 0))),
        row("prov.replications", labels.integer(float(info.get("replications") or 0))),
        row("prov.points", labels.integer(len(data.points))),
        row(
            "prov.runs",
            f"{labels.integer(done)} / {labels.integer(failed)} / "
            f"{labels.integer(float(info.get('planned_runs') or 0))}",
        ),
        row("prov.status", labels.status(str(info.get("status") or ""))),
        row("prov.created", labels.date(info.get("created_at"))),
        row("prov.finished", labels.date(info.get("finished_at"))),
        row("prov.report", labels.date(datetime.now(UTC).isoformat())),
        row("prov.report_version", __version__),
        row("prov.primary", labels.t(f"outcome.{primary_outcome(data)}")),
        row("prov.city", _city_provenance(data, labels)),
        row("prov.illustrative", ", ".join(illustrative_defaults()), code=True),
    ]


def _city_provenance(data: BatchData, labels: Labels) -> str:
    """Whether the batch's city is illustrative (and in which figures), from its stored table."""
    table = data.city_table
    if table.empty:
        return labels.t("prov.city_unknown")
    illustrative = table.get("illustrative")
    if illustrative is None or not illustrative.fillna(True).astype(bool).any():
        return labels.t("prov.city_sourced")
    fields: list[str] = []
    for text in table.get("sources", pd.Series(dtype=str)).fillna(""):
        fields += [f.split("=")[0] for f in str(text).split(" | ") if f.endswith("=illustrative")]
    shown = ", ".join(sorted(set(fields))) or labels.t("prov.all_fields")
    return labels.t("prov.city_illustrative", fields=shown)


# ---------------------------------------------------------------------------- figures
FigureBuilder = Callable[[BatchData, Labels, City | None], Any]


def _figure_specs() -> list[tuple[str, str, bool, FigureBuilder]]:
    """(key, caption key, pools sweep points, builder) of every figure, in report order."""

    def city_map(data: BatchData, labels: Labels, city: City | None) -> Any:
        if city is None:
            raise figures.NoDataError(labels.t("nodata.city"))
        return figures.territory_map(
            data.territories, city, labels, point=data.first_point, need=primary_outcome(data)
        )

    return [
        (
            "outcomes",
            "caption.outcomes",
            False,
            lambda d, lb, _c: figures.outcomes_over_time(d.series, lb, point=d.first_point),
        ),
        *[
            (
                f"validated_{need}",
                "caption.validated",
                False,
                _per_need(figures.true_vs_validated, need),
            )
            for need in need_keys()
        ],
        *[
            (f"cost_{need}", "caption.cost", False, _per_need(figures.cost_per_outcome, need))
            for need in need_keys()
        ],
        (
            "cash_flows",
            "caption.cash",
            False,
            lambda d, lb, _c: figures.payer_cash_flows(
                d.cash_flows, d.metrics, lb, point=d.first_point, runs=d.runs
            ),
        ),
        (
            "investor",
            "caption.investor",
            True,
            lambda d, lb, _c: figures.investor_returns(d.metrics, lb),
        ),
        (
            "reach",
            "caption.reach",
            False,
            lambda d, lb, _c: figures.reach_by_barrier(d.metrics, lb, point=d.first_point),
        ),
        ("territories", "caption.map", False, city_map),
        (
            "pilots",
            "caption.pilots",
            False,
            lambda d, lb, _c: figures.pilot_decisions(d.pilot_decisions, lb, point=d.first_point),
        ),
    ]


def _per_need(draw: Callable[..., Any], need: str) -> FigureBuilder:
    """A per-need figure's builder: left out (with the reason) when no arm changed that need's
    outcomes nor had any validated."""

    def build(data: BatchData, labels: Labels, _city: City | None) -> Any:
        columns = [f"true_additional_{need}", f"measured_additional_{need}"]
        arms = data.metrics[data.metrics["arm"] != TWIN]
        present = [c for c in columns if c in arms.columns]
        if not present or not arms[present].fillna(0).to_numpy().any():
            raise figures.NoDataError(labels.t("nodata.need", outcome=labels.t(f"outcome.{need}")))
        return draw(data.metrics, labels, point=data.first_point, need=need)

    return build


#: Figures of a report, in order (their files are ``figures/<key>_<lang>.png`` and ``.svg``).
FIGURE_KEYS = tuple(spec[0] for spec in _figure_specs())


def render_figures(data: BatchData, labels: Labels, figures_dir: Path) -> list[dict[str, Any]]:
    """Build, save (PNG and SVG) and embed every figure; figures without data are listed with
    the reason they are left out."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    city = batch_city(data)
    points = len(data.points)
    thousand = labels.integer(1000)
    entries: list[dict[str, Any]] = []
    for key, caption_key, pooled, build in _figure_specs():
        caption = labels.t(
            caption_key,
            thousand=thousand,
            outcome=labels.t(f"outcome.{primary_outcome(data)}"),
        )
        if points > 1:
            caption += " " + (
                labels.t("caption.pooled", n=points)
                if pooled
                else labels.t("caption.point", point=data.first_point, n=points)
            )
        try:
            fig = build(data, labels, city)
        except figures.NoDataError as error:
            entries.append({"key": key, "skipped": labels.t("nodata.skipped", reason=str(error))})
            continue
        entries.append(_saved(fig, key, caption, labels, figures_dir, points > 1 and not pooled))
    return entries


# ---------------------------------------------------------------------------- the report
def environment() -> Environment:
    """The Jinja2 environment of the report templates (every value escaped)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def write_report(
    db: str,
    out_dir: str | Path,
    batch: int | None = None,
    lang: str = "en",
    point: int | None = None,
) -> Path:
    """Write the HTML report of a batch and its figures.

    Args:
        db: results database (SQLite path or SQLAlchemy URL).
        out_dir: folder of the report (created if missing).
        batch: batch id (default: the latest).
        lang: ``en`` or ``fr``.
        point: the sweep point the detailed table, conclusions and figures show (default: the
            first); a sweep's report also shows every point along each swept parameter.

    Returns:
        The path of ``out_dir/report_<lang>.html``.

    Raises:
        UserInputError: unknown language, missing database or batch.
    """
    data = load_batch(db, batch)
    labels = Labels(lang, display_names(str(data.info.get("scenario_text") or "")))
    if point is not None:
        if point not in data.points:
            raise UserInputError(
                f"--point: expected one of the batch's sweep points {data.points[0]} to "
                f"{data.points[-1]}, got {point}"
            )
        data.chosen_point = point
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = render_figures(data, labels, out / "figures")
    sweep_entries = render_sweep_figures(data, labels, out / "figures")
    fewest = too_few_replications(data.metrics)
    values = data.point_values()
    first_values = values.get(data.first_point, {}) if len(data.points) > 1 else {}
    context = {
        "lang": lang,
        "t": labels.t,
        "title": labels.t("report.title", name=str(data.info.get("name") or "")),
        "description": _description(data.info, lang),
        "sweep_points": len(data.points),
        "sweep_point": data.first_point,
        "sweep_values": [
            {"path": labels.parameter(path), "value": _plain_value(first_values.get(path), labels)}
            for path in swept_paths(data.runs, labels.names)
            if path in first_values
        ],
        "sweep": sweep_rows(data, labels),
        "sweep_figures": sweep_entries,
        "few_replications": (
            labels.t("report.few_replications", n=fewest, min=MIN_REPLICATIONS_FOR_INTERVAL)
            if fewest is not None
            else None
        ),
        "conclusions": conclusions(data, labels),
        "table": comparison_rows(data, labels),
        "risk": risk_rows(data, labels),
        "figures": entries,
        "glossary": [
            {"term": labels.t(f"glossary.{key}"), "text": labels.t(f"glossary.{key}.text")}
            for key in GLOSSARY
        ],
        "provenance": provenance(data, labels),
    }
    html = environment().get_template(TEMPLATE).render(**context)
    path = out / f"report_{lang}.html"
    path.write_text(html, encoding="utf-8")
    return path
