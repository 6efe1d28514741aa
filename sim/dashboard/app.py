"""The workshop page (Solara): Compare, Contract and City, in English or French.

Run it with ``sim dashboard results/demo.db``; the database comes in the ``SIM_DASHBOARD_DB``
environment variable. Every text shown is escaped: Solara's components show text as text, and
the HTML this module writes itself (tables, figures) escapes every value.
"""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure

from sim.dashboard.city import ARMS, COLOURINGS, LiveCity, as_int
from sim.dashboard.contracts import (
    StoredContract,
    TermsOverrides,
    feasible_region,
    settle_replications,
    stored_contracts,
)
from sim.dashboard.texts import Texts
from sim.dashboard.views import (
    REPORT_FIGURES,
    batch_choices,
    comparison_rows,
    databases,
    figure_png,
    figure_svg,
    inline_svg,
    load,
    point_values,
    region_figure,
    sweep_figure,
    swept_parameters,
    table_html,
)
from sim.reading.analysis import HEADLINE
from sim.reading.figures import NoDataError
from sim.reading.report import BatchData

DB_ENV = "SIM_DASHBOARD_DB"

CSS = """
.sim-app { font-size: 16px; }
.sim-bar { align-items: center; gap: 12px; padding: 6px 12px; background: #243b53; color: white; }
.sim-bar .sim-title { font-weight: 600; font-size: 1.1em; margin-right: 16px; }
.sim-bar .v-btn { color: white !important; }
.sim-bar .v-input--switch label { color: white !important; }
.sim-page { padding: 12px 16px; }
.sim-table { border-collapse: collapse; margin: 8px 0 16px; }
.sim-table th, .sim-table td { border-bottom: 1px solid #ddd; padding: 4px 10px; }
.sim-table td { text-align: right; }
.sim-table tbody th { text-align: left; font-weight: normal; }
.sim-table thead th { text-align: center; background: #f0f4f8; }
.sim-table tr.sim-need th { text-align: left; font-weight: 600; background: #fafafa; }
.sim-figure svg { max-width: 100%; height: auto; }
.sim-big { font-size: 1.5em; font-weight: 600; }
.sim-ok { color: #1b7837; } .sim-broken { color: #b2182b; }
.sim-present { font-size: 24px; }
.sim-present .sim-figure svg { height: 78vh; width: auto; max-width: 100%; }
.sim-present .sim-secondary { display: none; }
.sim-present .sim-big { font-size: 1.8em; }
"""

BAR_STYLE = "align-items: center; gap: 12px; padding: 6px 12px; background: #243b53; color: white;"

# ---------------------------------------------------------------------------- session state
lang = solara.reactive("en")
present = solara.reactive(False)
db_choice: solara.Reactive[str | None] = solara.reactive(None)
batch_choice: solara.Reactive[str | None] = solara.reactive(None)
point_choice = solara.reactive(0)
figure_choice = solara.reactive("outcomes")
sweep_parameter: solara.Reactive[str | None] = solara.reactive(None)
sweep_metric = solara.reactive("true_additional_employment")


def given_db() -> str | None:
    """The database the server was started with."""
    return os.environ.get(DB_ENV) or None


@lru_cache(maxsize=8)
def _load(db: str, batch: int | None, stamp: float) -> BatchData:
    return load(db, batch)


def _stamp(db: str) -> float:
    return Path(db).stat().st_mtime if "://" not in db and Path(db).exists() else 0.0


def cached_load(db: str, batch: int | None) -> BatchData:
    """A batch's frames, read again only when the file changed."""
    return _load(db, batch, _stamp(db))


@lru_cache(maxsize=8)
def _batches(db: str, stamp: float) -> list[tuple[int, str]]:
    return batch_choices(db)


def cached_batches(db: str) -> list[tuple[int, str]]:
    """The batches of a database, read again only when the file changed."""
    return _batches(db, _stamp(db))


_contracts_cache: dict[int, list[StoredContract]] = {}


def cached_contracts(data: BatchData) -> list[StoredContract]:
    """The stored contracts of a batch (parsed once per loaded batch)."""
    if id(data) not in _contracts_cache:
        _contracts_cache.clear()
        _contracts_cache[id(data)] = stored_contracts(data.runs, data.metrics)
    return _contracts_cache[id(data)]


def _texts() -> Texts:
    return Texts(lang.value)


def _escaped(text: str) -> str:
    return html.escape(text)


# ---------------------------------------------------------------------------- shared parts
@solara.component
def FigureView(build: Callable[[], Figure], key: str, dependencies: list[Any]) -> None:
    """A figure as inline SVG with values on hover, drawn in a thread so that the numbers around
    it never wait for it (the previous drawing stays until the new one is ready), and its PNG and
    SVG downloads (drawn when clicked)."""
    texts = _texts()
    last = solara.use_ref(None)

    def render() -> tuple[str, bool, str]:
        try:
            fig = build()
        except NoDataError as error:
            return (
                f"{key} sim-figure-{texts.lang}",
                False,
                texts.t("figure.nodata", reason=str(error)),
            )
        svg = inline_svg(figure_svg(fig, texts, tooltips=True))
        fig.clear()
        return f"{key} sim-figure-{texts.lang}", True, svg

    result = solara.use_thread(render, dependencies=[*dependencies, lang.value])
    if result.state == solara.ResultState.FINISHED and result.value is not None:
        last.current = result.value
    if last.current is None:
        solara.Text("…", classes=["sim-figure-pending"])
        return
    shown_key, ok, shown = last.current
    if not ok:
        solara.Info(shown)
        return

    def png() -> bytes:
        fig = build()
        data = figure_png(fig)
        fig.clear()
        return data

    def svg() -> bytes:
        fig = build()
        data = figure_svg(fig, texts, tooltips=False).encode()
        fig.clear()
        return data

    with solara.Row(classes=["sim-secondary"]):
        solara.FileDownload(png, filename=f"{key}_{lang.value}.png", label=texts.t("export.png"))
        solara.FileDownload(svg, filename=f"{key}_{lang.value}.svg", label=texts.t("export.svg"))
        solara.Text(texts.t("figure.hover"))
    solara.HTML(
        tag="div",
        unsafe_innerHTML=shown,
        classes=["sim-figure", *f"sim-figure-{shown_key}".split()],
    )


def chosen_batch() -> tuple[str | None, int | None]:
    """The chosen database and batch id."""
    db = db_choice.value or given_db()
    batch = batch_choice.value
    return db, int(batch.split(":")[0]) if batch else None


@solara.component
def Pickers() -> None:
    """Selectors of database and batch."""
    texts = _texts()
    db, _batch = chosen_batch()
    choices = databases(given_db())
    if not choices or db is None:
        solara.Warning(texts.t("db.none"))
        return
    with solara.Row(classes=["sim-secondary"]):
        solara.Select(texts.t("db.label"), values=choices, value=db, on_value=_set_db)
        batches = cached_batches(db)
        names = [name for _id, name in batches]
        current = (
            batch_choice.value if batch_choice.value in names else (names[0] if names else None)
        )
        if names:
            solara.Select(
                texts.t("batch.label"), values=names, value=current, on_value=batch_choice.set
            )


def _set_db(value: str | None) -> None:
    db_choice.set(value)
    batch_choice.set(None)
    point_choice.set(0)


def current_data() -> BatchData | None:
    """The chosen batch's frames, or None when there is none."""
    db, batch = chosen_batch()
    if db is None:
        return None
    batches = cached_batches(db)
    if not batches:
        return None
    ids = [b for b, _name in batches]
    return cached_load(db, batch if batch in ids else ids[0])


# ---------------------------------------------------------------------------- compare page
@solara.component
def ComparePage() -> None:
    """The arms side by side per need, the report's figures, and sweeps."""
    texts = _texts()
    with solara.Column(classes=["sim-page", "sim-compare"]):
        Pickers()
        data = current_data()
        if data is None:
            return
        description = str(data.info.get("description") or "")
        solara.Text(description, classes=["sim-description", "sim-secondary"])
        done = int((data.runs["status"] == "done").sum())
        solara.Text(
            texts.t(
                "batch.runs",
                done=texts.labels.integer(done),
                replications=texts.labels.integer(float(data.info.get("replications") or 0)),
                months=texts.labels.integer(float(data.info.get("months") or 0)),
            ),
            classes=["sim-secondary"],
        )
        points = data.points
        point = point_choice.value if point_choice.value in points else data.first_point
        values = point_values(data)
        if len(points) > 1:
            labels_of = {
                f"{p}: "
                + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(values[p].items())): p
                for p in points
            }
            current = next(k for k, p in labels_of.items() if p == point)
            with solara.Div(classes=["sim-secondary"]):
                solara.Select(
                    texts.t("point.label"),
                    values=list(labels_of),
                    value=current,
                    on_value=lambda k: point_choice.set(labels_of[k]),
                )
        arms, rows = comparison_rows(data, point, texts)
        with solara.Div(classes=["sim-secondary"]):
            solara.Text(texts.t("compare.heading"), classes=["sim-big"])
            if arms:
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=table_html([texts.t("metric.column"), *arms], rows),
                    classes=["sim-comparison"],
                )
            else:
                solara.Info(texts.t("compare.none"))
        keys = list(REPORT_FIGURES)
        parameters = swept_parameters(data)
        if parameters:
            keys.append("sweep")
        names = {texts.t(f"figure.{k}"): k for k in keys}
        chosen = figure_choice.value if figure_choice.value in keys else keys[0]
        with solara.Row():
            solara.Select(
                texts.t("figure.label"),
                values=list(names),
                value=texts.t(f"figure.{chosen}"),
                on_value=lambda name: figure_choice.set(names[name]),
            )
            index = keys.index(chosen)
            solara.Button("◀", on_click=lambda: figure_choice.set(keys[index - 1]), text=True)
            solara.Button(
                "▶",
                on_click=lambda: figure_choice.set(keys[(index + 1) % len(keys)]),
                text=True,
                classes=["sim-next-figure"],
            )
        if chosen == "sweep":
            parameter = (
                sweep_parameter.value if sweep_parameter.value in parameters else parameters[0]
            )
            metric_names = [m for m in HEADLINE if m in data.metrics.columns]
            metric_labels = {texts.labels.metric(m): m for m in metric_names}
            metric = sweep_metric.value if sweep_metric.value in metric_names else metric_names[0]
            with solara.Row(classes=["sim-secondary"]):
                solara.Select(
                    texts.t("sweep.parameter"),
                    values=parameters,
                    value=parameter,
                    on_value=sweep_parameter.set,
                )
                solara.Select(
                    texts.t("sweep.metric"),
                    values=list(metric_labels),
                    value=texts.labels.metric(metric),
                    on_value=lambda name: sweep_metric.set(metric_labels[name]),
                )
            FigureView(
                lambda: sweep_figure(data, texts, parameter, metric),
                "sweep",
                [id(data), parameter, metric],
            )
        else:
            FigureView(
                lambda: REPORT_FIGURES[chosen](data, texts, point),
                chosen,
                [id(data), chosen, point],
            )


# ---------------------------------------------------------------------------- contract page
def _stored_defaults(contracts: list[StoredContract]) -> dict[str, float]:
    first = contracts[0].contract
    terms = first["terms"]
    ratios = [c.contract["terms"]["payment_cap_eur"] / c.contract["capital_eur"] for c in contracts]
    return {
        "price": float(terms["price_eur_per_outcome"]),
        "threshold": float(terms["threshold_value"]),
        "cap": round(float(np.mean(ratios)), 2),
        "max_return": float(terms["max_return_per_year"]) * 100.0,
    }


price_value: solara.Reactive[float | None] = solara.reactive(None)
threshold_value: solara.Reactive[float | None] = solara.reactive(None)
cap_value: solara.Reactive[float | None] = solara.reactive(None)
max_return_value: solara.Reactive[float | None] = solara.reactive(None)
target_value = solara.reactive(2.0)
share_value = solara.reactive(0.8)
contract_arm: solara.Reactive[str | None] = solara.reactive(None)
region_view = solara.reactive(False)


def _reset_terms() -> None:
    for reactive in (price_value, threshold_value, cap_value, max_return_value):
        reactive.set(None)


@solara.component
def ContractPage() -> None:
    """Move a contract's terms; every replication is settled again at once."""
    texts = _texts()
    labels = texts.labels
    with solara.Column(classes=["sim-page", "sim-contract"]):
        Pickers()
        data = current_data()
        if data is None:
            return
        contracts = cached_contracts(data)
        if not contracts:
            solara.Warning(texts.t("contract.none"))
            return
        points = sorted({c.point for c in contracts})
        point = point_choice.value if point_choice.value in points else points[0]
        arms = sorted({c.arm for c in contracts if c.point == point})
        arm = contract_arm.value if contract_arm.value in arms else arms[0]
        chosen = [c for c in contracts if c.point == point and c.arm == arm]
        if len(arms) > 1:
            solara.Select(
                texts.t("contract.arm"), values=arms, value=arm, on_value=contract_arm.set
            )
        defaults = _stored_defaults(chosen)
        price = defaults["price"] if price_value.value is None else price_value.value
        threshold = (
            defaults["threshold"] if threshold_value.value is None else threshold_value.value
        )
        cap = defaults["cap"] if cap_value.value is None else cap_value.value
        max_return = (
            defaults["max_return"] if max_return_value.value is None else max_return_value.value
        )
        kind = str(chosen[0].contract["terms"]["threshold_kind"])
        overrides = TermsOverrides(
            price_eur_per_outcome=price,
            threshold_value=threshold,
            payment_cap_ratio=cap,
            max_return_per_year=max_return / 100.0,
        )
        started = time.perf_counter()
        summary = settle_replications(chosen, overrides)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        target = target_value.value / 100.0
        solara.Text(texts.t("contract.heading"), classes=["sim-big", "sim-secondary"])
        with solara.Columns([1, 2]):
            with solara.Column(classes=["sim-terms"]):
                price_max = max(2.0 * defaults["price"], 20_000.0)
                with solara.Div(classes=["sim-slider-price"]):
                    solara.SliderFloat(
                        texts.t("terms.price"),
                        value=price,
                        min=0.0,
                        max=price_max,
                        step=max(100.0, round(price_max / 100, -2)),
                        on_value=price_value.set,
                    )
                    solara.Text(labels.eur(price), classes=["sim-value-price"])
                if kind == "absolute":
                    top = max(2.0 * defaults["threshold"], 50.0)
                    step = 1.0
                else:
                    top, step = 3.0, 0.05
                with solara.Div(classes=["sim-slider-threshold"]):
                    solara.SliderFloat(
                        texts.t("terms.threshold", kind=texts.t(f"terms.threshold.{kind}")),
                        value=threshold,
                        min=0.0,
                        max=top,
                        step=step,
                        on_value=threshold_value.set,
                    )
                    solara.Text(labels.num(threshold), classes=["sim-value-threshold"])
                with solara.Div(classes=["sim-slider-cap"]):
                    solara.SliderFloat(
                        texts.t("terms.cap"),
                        value=cap,
                        min=0.0,
                        max=3.0,
                        step=0.05,
                        on_value=cap_value.set,
                    )
                    solara.Text(f"\u00d7 {labels.num(cap, 2)}", classes=["sim-value-cap"])
                with solara.Div(classes=["sim-slider-return"]):
                    solara.SliderFloat(
                        texts.t("terms.max_return"),
                        value=max_return,
                        min=0.0,
                        max=20.0,
                        step=0.5,
                        on_value=max_return_value.set,
                    )
                    solara.Text(labels.pct(max_return / 100.0, 1), classes=["sim-value-return"])
                with solara.Div(classes=["sim-secondary"]):
                    solara.SliderFloat(
                        f"{texts.t('terms.guarantee')} ({texts.t('terms.later')})",
                        value=0.0,
                        min=0.0,
                        max=1.0,
                        step=0.05,
                        disabled=True,
                    )
                    payer = str(chosen[0].contract["payer"])
                    solara.InputText(
                        f"{texts.t('terms.payers')} ({texts.t('terms.later')})",
                        value=f"{payer}: 100 %",
                        disabled=True,
                    )
                    solara.Button(texts.t("terms.stored"), on_click=_reset_terms, outlined=True)
                with solara.Div(classes=["sim-secondary"]):
                    solara.SliderFloat(
                        texts.t("target.return"), value=target_value, min=0.0, max=10.0, step=0.5
                    )
                    solara.SliderFloat(
                        texts.t("target.share"), value=share_value, min=0.5, max=1.0, step=0.05
                    )
            with solara.Column(classes=["sim-results"]):
                npv = summary.payer_npv_eur_mean
                irr = summary.investor_irr()
                median = float(np.nanmedian(irr)) if np.isfinite(irr).any() else math.nan
                with solara.Row():
                    with solara.Column():
                        solara.Text(texts.t("result.payer_npv"))
                        solara.Text(labels.eur(npv), classes=["sim-big", "sim-npv"])
                        solara.Text(f"({labels.num(npv, 0)} €)", classes=["sim-npv-exact"])
                    with solara.Column():
                        solara.Text(texts.t("result.loss"))
                        solara.Text(
                            labels.pct(summary.probability_investor_loses),
                            classes=["sim-big", "sim-loss"],
                        )
                    with solara.Column():
                        solara.Text(texts.t("result.irr"))
                        solara.Text(labels.pct(median, 1), classes=["sim-big", "sim-irr"])
                with solara.Row():
                    with solara.Column():
                        solara.Text(texts.t("result.paid"))
                        solara.Text(labels.eur(summary.payer_cost_eur_mean), classes=["sim-big"])
                    with solara.Column():
                        solara.Text(texts.t("result.direct"))
                        solara.Text(
                            labels.eur(summary.operating_cost_eur_mean), classes=["sim-big"]
                        )
                share = summary.share_payer_below_direct
                holds = share >= share_value.value
                solara.Text(
                    texts.t("result.rule", share=labels.pct(share))
                    + " — "
                    + texts.t("result.rule_ok" if holds else "result.rule_broken"),
                    classes=["sim-rule", "sim-ok" if holds else "sim-broken"],
                )
                solara.Text(
                    texts.t("result.replications", n=summary.replications)
                    + " · "
                    + texts.t("result.elapsed", ms=labels.num(elapsed_ms, 0)),
                    classes=["sim-elapsed", "sim-secondary"],
                )
                with solara.Row(classes=["sim-secondary"]):
                    solara.Switch(
                        label=texts.t("fig.region.title", target=labels.pct(target, 1)),
                        value=region_view,
                        classes=["sim-region-switch"],
                    )
                if region_view.value:
                    RegionView(chosen, overrides, defaults, target, (price, threshold), kind)
                else:
                    from sim.dashboard.views import investor_figure

                    FigureView(
                        lambda: investor_figure(summary, texts, target),
                        "investor_returns",
                        [id(chosen), price, threshold, cap, max_return, target],
                    )


@solara.component
def RegionView(
    chosen: list[StoredContract],
    overrides: TermsOverrides,
    defaults: dict[str, float],
    target: float,
    current: tuple[float, float],
    kind: str,
) -> None:
    """The feasible region, computed in a thread (it settles the whole grid)."""
    texts = _texts()
    prices = tuple(float(p) for p in np.linspace(0.0, max(2.0 * defaults["price"], 20_000.0), 11))
    if kind == "absolute":
        thresholds = tuple(
            float(t) for t in np.linspace(0.0, max(2.0 * defaults["threshold"], 50.0), 9)
        )
    else:
        thresholds = tuple(float(t) for t in np.linspace(0.0, 3.0, 9))
    base = replace(overrides, price_eur_per_outcome=None, threshold_value=None)

    def compute() -> Any:
        return feasible_region(chosen, base, prices, thresholds, target)

    result = solara.use_thread(
        compute, dependencies=[id(chosen), base.payment_cap_ratio, base.max_return_per_year, target]
    )
    region = result.value
    if region is None or result.state != solara.ResultState.FINISHED:
        solara.Text(texts.t("fig.region.computing"))
        return
    FigureView(
        lambda: region_figure(region, texts, share_value.value, target, current),
        "feasible_region",
        [id(region), share_value.value, current],
    )


# ---------------------------------------------------------------------------- city page
city_arm = solara.reactive("impact_contract")
city_colouring = solara.reactive("unemployment")
playing = solara.reactive(False)
tick = solara.reactive(0)
PLAY_INTERVAL_SECONDS = 0.4


@solara.component
def CityPage() -> None:
    """A small city live: an arm and its status-quo twin, month by month."""
    texts = _texts()
    labels = texts.labels
    live, set_live = solara.use_state(None)
    if live is None or live.arm != city_arm.value:
        live = LiveCity(city_arm.value)
        set_live(live)
        playing.set(False)

    def play_loop() -> None:
        while playing.value and not live.done:
            time.sleep(PLAY_INTERVAL_SECONDS)
            live.step()
            tick.set(tick.value + 1)
        if live.done:
            playing.set(False)

    solara.use_thread(play_loop, dependencies=[playing.value, id(live)])

    def step() -> None:
        live.step()
        tick.set(tick.value + 1)

    def reset() -> None:
        playing.set(False)
        set_live(LiveCity(city_arm.value))
        tick.set(tick.value + 1)

    with solara.Column(classes=["sim-page", "sim-city"]):
        solara.Text(texts.t("city.heading"), classes=["sim-big"])
        solara.Text(texts.t("city.explain"), classes=["sim-secondary"])
        arm_names = {labels.arm(a): a for a in ARMS}
        colour_names = {texts.t(f"city.colour.{c}"): c for c in COLOURINGS}
        with solara.Row(classes=["sim-secondary"]):
            solara.Select(
                texts.t("city.arm"),
                values=list(arm_names),
                value=labels.arm(city_arm.value),
                on_value=lambda name: city_arm.set(arm_names[name]),
            )
            solara.Select(
                texts.t("city.colour"),
                values=list(colour_names),
                value=texts.t(f"city.colour.{city_colouring.value}"),
                on_value=lambda name: city_colouring.set(colour_names[name]),
            )
        with solara.Row():
            solara.Button(
                texts.t("city.pause") if playing.value else texts.t("city.play"),
                on_click=lambda: playing.set(not playing.value),
                disabled=live.done,
                color="primary",
                classes=["sim-play"],
            )
            solara.Button(
                texts.t("city.step"),
                on_click=step,
                disabled=playing.value or live.done,
                classes=["sim-step"],
            )
            solara.Button(texts.t("city.reset"), on_click=reset, classes=["sim-reset"])
            solara.Text(
                texts.t("city.month", month=live.month, months=live.months),
                classes=["sim-month", "sim-big"],
            )
        jobs, enrolled = live.difference()
        solara.Text(
            texts.t(
                "city.difference",
                arm=labels.arm(live.arm),
                jobs=as_int(jobs),
                enrolled=as_int(enrolled),
            ),
            classes=["sim-difference"],
        )
        FigureView(
            lambda: live.figure(texts, city_colouring.value),
            "city",
            [id(live), live.month, city_colouring.value, tick.value],
        )


# ---------------------------------------------------------------------------- layout and routes
@solara.component
def Layout(children: list[Any] = []) -> None:  # noqa: B006  (Solara's signature)
    """The bar (title, pages, language, presentation mode) above the page."""
    texts = _texts()
    _route, routes = solara.use_route()
    solara.Style(CSS)
    solara.Title(texts.t("app.title"))
    with solara.Column(
        classes=["sim-app", "sim-present" if present.value else "sim-normal"], gap="0"
    ):
        with solara.Row(classes=["sim-bar"], style=BAR_STYLE):
            solara.Text(texts.t("app.title"), classes=["sim-title"], style="font-weight: 600;")
            for route in routes:
                with solara.Link(solara.resolve_path(route)):
                    solara.Button(
                        texts.t(f"nav.{route.label}"),
                        text=True,
                        classes=[f"sim-nav-{route.label}"],
                        style="color: white;",
                    )
            solara.v.Spacer()
            for code, name in (("en", "English"), ("fr", "Français")):
                solara.Button(
                    name,
                    text=code != lang.value,
                    outlined=code == lang.value,
                    on_click=lambda code=code: lang.set(code),
                    classes=[f"sim-lang-{code}"],
                    style="color: white;",
                )
            solara.Switch(
                label=texts.t("present.label"), value=present, classes=["sim-present-switch"]
            )
        solara.Column(children=children)


routes = [
    solara.Route(path="/", component=ComparePage, label="compare", layout=Layout),
    solara.Route(path="contract", component=ContractPage, label="contract"),
    solara.Route(path="city", component=CityPage, label="city"),
]
