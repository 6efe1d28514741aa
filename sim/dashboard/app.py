"""The workshop page (Solara): Compare, Contract and City, in English or French.

Run it with ``sim dashboard results/demo.db``; the database comes in the ``SIM_DASHBOARD_DB``
environment variable. Every text shown is escaped: Solara's components show text as text, and
the HTML this module writes itself (tables, figures) escapes every value.

A slider move must show its numbers within a few hundred milliseconds on a loaded machine, so
the Contract page is split into components that each read only the state they show: a move
re-renders its slider, the numbers and the figure, never the pickers or the other sliders. Its
figures are drawn in a thread once the terms have stood still for a moment, without tracing
(Solara's default cancellation traces every line, which doubled their cost and held the
interpreter away from the numbers).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import solara
import traitlets
from ipyvuetify.VuetifyTemplate import VuetifyTemplate
from matplotlib.figure import Figure

from sim.dashboard.city import ARMS, COLOURINGS, LiveCity, as_int
from sim.dashboard.contracts import (
    FeasibleRegion,
    RegionCancelled,
    StoredContract,
    TermsOverrides,
    TermsSummary,
    feasible_region,
    settle_replications,
    stored_contracts,
)
from sim.dashboard.drawing import Drawn, FigureWorker, draw_figure
from sim.dashboard.readonly import forbid_writes
from sim.dashboard.texts import Texts
from sim.dashboard.views import (
    REPORT_FIGURES,
    batch_choices,
    comparison_rows,
    contract_numbers_html,
    databases,
    figure_png,
    figure_svg,
    investor_figure,
    load,
    point_values,
    region_figure,
    sweep_figure,
    swept_parameters,
    table_html,
)
from sim.reading.analysis import HEADLINE
from sim.reading.report import BatchData

DB_ENV = "SIM_DASHBOARD_DB"
LOGGER = logging.getLogger(__name__)

# Whatever starts this app (``sim dashboard`` or ``solara run``), it never writes to a database.
forbid_writes()

#: Height of the bar at the top, which a screen of the presentation mode leaves visible.
BAR_HEIGHT_PX = 64

CSS = f"""
.sim-app {{ font-size: 16px; }}
.sim-bar {{ align-items: center; gap: 12px; padding: 6px 12px; background: #243b53; color: white;
  min-height: {BAR_HEIGHT_PX}px; position: sticky; top: 0; z-index: 5; }}
.sim-bar .sim-title {{ font-weight: 600; font-size: 1.1em; margin-right: 16px; }}
.sim-bar .v-btn {{ color: white !important; }}
.sim-bar .v-input--switch label {{ color: white !important; }}
.sim-page {{ padding: 12px 16px; }}
.sim-table {{ border-collapse: collapse; margin: 8px 0 16px; }}
.sim-table th, .sim-table td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; }}
.sim-table td {{ text-align: right; }}
.sim-table tbody th {{ text-align: left; font-weight: normal; }}
.sim-table thead th {{ text-align: center; background: #f0f4f8; }}
.sim-table tr.sim-need th {{ text-align: left; font-weight: 600; background: #fafafa; }}
.sim-figure svg {{ max-width: 100%; height: auto; }}
.sim-contract .sim-figure svg {{ max-width: 900px; }}
.sim-big {{ font-size: 1.5em; font-weight: 600; }}
.sim-numbers {{ display: flex; flex-wrap: wrap; gap: 12px 40px; margin-bottom: 16px; }}
.sim-number-label {{ margin-bottom: 4px; }}
.sim-rule {{ margin-bottom: 8px; }}
.sim-ok {{ color: #1b7837; }} .sim-broken {{ color: #b2182b; }}
.sim-present {{ font-size: 24px; }}
.sim-present .sim-bar {{ height: {BAR_HEIGHT_PX}px; }}
.sim-present .sim-bar .sim-title {{ font-size: 1em; }}
.sim-present .sim-secondary {{ display: none !important; }}
.sim-present .sim-big {{ font-size: 1.8em; }}
.sim-present .sim-page {{ padding-top: 0; padding-bottom: 0; }}
/* Presentation: each screen fills the window under the bar, one figure per screen, and the
   window snaps from screen to screen (Page Down, arrows, wheel). */
html:has(.sim-present) {{ scroll-snap-type: y mandatory; scroll-padding-top: {BAR_HEIGHT_PX}px; }}
.sim-present .sim-screen {{ min-height: calc(100vh - {BAR_HEIGHT_PX}px); padding-top: 8px;
  scroll-snap-align: start; }}
.sim-present .sim-figure-screen {{ height: calc(100vh - {BAR_HEIGHT_PX}px); }}
.sim-present .sim-figure-screen .sim-fill {{ flex: 1 1 0; min-height: 0; }}
.sim-present .sim-figure-screen .sim-figure {{ flex: 1 1 0; min-height: 0; position: relative; }}
.sim-present .sim-figure-screen .sim-figure svg {{ position: absolute; top: 0; left: 0;
  width: 100%; height: 100%; max-width: none; }}
.sim-present .sim-figure-nav .v-btn {{ font-size: 1.4em; min-width: 64px; }}
/* Vuetify sizes its labels in pixels (em inside them is 16px): large type for them too. */
.sim-present .sim-page .v-input .v-label {{ font-size: 20px; height: auto; line-height: 1.3; }}
/* ... and above their slider: beside it, a long French label left the slider a few pixels. */
.sim-present .sim-terms .v-input__slot {{ flex-wrap: wrap; }}
.sim-present .sim-terms .v-input__slot > .v-label {{ flex: 1 0 100%; margin-bottom: 4px; }}
"""

BAR_STYLE = "align-items: center; gap: 12px; padding: 6px 12px; background: #243b53; color: white;"

# ---------------------------------------------------------------------------- session state
lang = solara.reactive("en")
present = solara.reactive(False)
db_choice: solara.Reactive[str | None] = solara.reactive(None)
batch_choice: solara.Reactive[int | None] = solara.reactive(None)
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
def _batches(db: str, stamp: float, period: int) -> list[tuple[int, str, str]]:
    return batch_choices(db)


#: Seconds a list of batches is reused while the file is unchanged: a batch whose process died
#: turns from running to interrupted without a change to the file.
BATCHES_REUSED_SECONDS = 10


def cached_batches(db: str) -> list[tuple[int, str, str]]:
    """The batches of a database (id, name, status as ``ResultStore.batches`` gives it), read
    again when the file changed, or after ``BATCHES_REUSED_SECONDS``."""
    return _batches(db, _stamp(db), int(time.time() // BATCHES_REUSED_SECONDS))


_contracts_cache: dict[int, list[StoredContract]] = {}


def cached_contracts(data: BatchData) -> list[StoredContract]:
    """The stored contracts of a batch (parsed once per loaded batch)."""
    if id(data) not in _contracts_cache:
        _contracts_cache.clear()
        _contracts_cache[id(data)] = stored_contracts(data.runs, data.metrics)
    return _contracts_cache[id(data)]


def _texts() -> Texts:
    return Texts(lang.value)


# ---------------------------------------------------------------------------- figures
#: Draws the Contract page's figures away from the server's interpreter (see drawing.py).
FIGURE_WORKER = FigureWorker()


class Background[T](NamedTuple):
    """The latest result of a background computation, and whether it is that of the current
    dependencies (else it is the previous one, kept on screen until the new one is ready)."""

    value: T | None
    current: bool


def use_background[T](
    work: Callable[[threading.Event], T | None],
    dependencies: Sequence[Any],
    still_seconds: float = 0.0,
) -> Background[T]:
    """Run ``work`` in a thread whenever ``dependencies`` change, once they have not changed
    for ``still_seconds``; the component renders once, when a result arrives.

    Unlike ``solara.use_thread``, starting costs no render (it renders on starting, running
    and finishing: four passes over the whole page per slider move, each a tenth of a second
    on a loaded machine) and nothing is traced: ``work`` gets an event set when its result is
    no longer wanted, and returns None then. A result that comes back after its dependencies
    changed is dropped.
    """
    key = tuple(dependencies)
    done, set_done = solara.use_state(cast(tuple[tuple[Any, ...], T] | None, None), eq=_same)
    lock = solara.use_memo(threading.Lock, [])

    def start() -> Callable[[], None]:
        cancelled = threading.Event()

        def run() -> None:
            if still_seconds and cancelled.wait(still_seconds):
                return
            with lock:  # one drawing at a time per view: a stale one finishes first
                if cancelled.is_set():
                    return
                try:
                    value = work(cancelled)
                except Exception:
                    LOGGER.exception("background work of the dashboard failed")
                    return
            if value is not None and not cancelled.is_set():
                set_done((key, value))

        threading.Thread(target=run, daemon=True).start()
        return cancelled.set

    solara.use_effect(start, list(key))
    if done is None:
        return Background(None, False)
    return Background(done[1], done[0] == key)


def _same(a: object, b: object) -> bool:
    # Identity: a new result always replaces the shown one (results need not compare).
    return a is b


@solara.component
def FigureView(
    build: Callable[[], Figure],
    key: str,
    dependencies: Sequence[Any],
    still_seconds: float = 0.0,
    worker: FigureWorker | None = None,
) -> None:
    """A figure as inline SVG with values on hover, and its PNG and SVG downloads (drawn when
    clicked).

    It is drawn in a thread (or, with ``worker``, in that worker's process: then ``build`` must
    pickle) so that the numbers around it never wait for it; the previous drawing stays until
    the new one is ready. With ``still_seconds``, drawing starts only once the dependencies
    have not changed for that long: a slider moved key after key redraws its figure once, at
    the end, instead of at every step.
    """
    texts = _texts()

    def draw(cancelled: threading.Event) -> Drawn | None:
        try:
            drawn = (worker.draw if worker else draw_figure)(build, key, texts)
        except Exception as error:  # a bug: say so on the page rather than wait forever
            LOGGER.exception("figure %s could not be drawn", key)
            drawn = Drawn(key, False, texts.t("figure.failed", reason=str(error)))
        return None if cancelled.is_set() else drawn

    shown = use_background(draw, [*dependencies, lang.value], still_seconds).value
    # New download callables only with a new drawing: Solara's FileDownload restarts a thread,
    # and renders the page three more times, whenever its callable changes.
    downloads = solara.use_memo(lambda: exports(build, texts), [shown])
    with solara.Column(classes=["sim-fill"], gap="0"):
        if shown is None:
            solara.Text("…", classes=["sim-figure-pending"])
        elif not shown.ok:
            solara.Info(shown.html)
        else:
            FigureDownloads(downloads, key)
            solara.HTML(
                tag="div",
                unsafe_innerHTML=shown.html,
                classes=["sim-figure", *f"sim-figure-{shown.classes}".split()],
            )


class Exports(NamedTuple):
    """A figure's downloads, drawn when clicked."""

    png: Callable[[], bytes]
    svg: Callable[[], bytes]


def exports(build: Callable[[], Figure], texts: Texts) -> Exports:
    """The PNG and SVG of the figure ``build`` draws."""

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

    return Exports(png, svg)


@solara.component
def FigureDownloads(downloads: Exports, key: str) -> None:
    """PNG and SVG downloads of a figure."""
    texts = _texts()
    with solara.Row(classes=["sim-secondary"]):
        solara.FileDownload(
            downloads.png, filename=f"{key}_{texts.lang}.png", label=texts.t("export.png")
        )
        solara.FileDownload(
            downloads.svg, filename=f"{key}_{texts.lang}.svg", label=texts.t("export.svg")
        )
        solara.Text(texts.t("figure.hover"))


ARROW_KEYS_TEMPLATE = """
<template><span class="sim-arrow-keys" style="display: none"></span></template>
<script>
module.exports = {
  mounted() {
    this.listener = (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const target = event.target;
      // Arrows that move a slider or a cursor in a field stay theirs.
      if (target && (target.isContentEditable || target.closest("input, textarea, select, "
          + "[role=slider], [role=listbox], .v-menu__content"))) return;
      event.preventDefault();
      this.arrow(event.key);
    };
    document.addEventListener("keydown", this.listener);
  },
  destroyed() {
    document.removeEventListener("keydown", this.listener);
  },
};
</script>
"""


class ArrowKeys(VuetifyTemplate):
    """Calls ``handler("ArrowLeft")`` or ``handler("ArrowRight")`` when those keys are pressed
    anywhere on the page, outside fields and sliders."""

    template = traitlets.Unicode(ARROW_KEYS_TEMPLATE).tag(sync=True)
    handler = traitlets.Any(None)

    def vue_arrow(self, key: str) -> None:
        """Called by the template's key listener."""
        if self.handler is not None:
            self.handler(key)


# ---------------------------------------------------------------------------- pickers
def chosen_batch() -> tuple[str | None, int | None]:
    """The chosen database and batch id."""
    return db_choice.value or given_db(), batch_choice.value


def batch_label(texts: Texts, batch: tuple[int, str, str]) -> str:
    """'3: name (status)' in the page's language."""
    number, name, status = batch
    return f"{number}: {name} ({texts.labels.status(status)})"


@solara.component
def Pickers() -> None:
    """Selectors of database and batch."""
    texts = _texts()
    db, batch = chosen_batch()
    choices = databases(given_db())
    if not choices or db is None:
        solara.Warning(texts.t("db.none"))
        return
    with solara.Row(classes=["sim-secondary"]):
        solara.Select(texts.t("db.label"), values=choices, value=db, on_value=_set_db)
        batches = cached_batches(db)
        labels = {batch_label(texts, b): b[0] for b in batches}
        if labels:
            ids = list(labels.values())
            current = batch if batch in ids else ids[0]
            solara.Select(
                texts.t("batch.label"),
                values=list(labels),
                value=next(label for label, b in labels.items() if b == current),
                on_value=lambda label: batch_choice.set(labels[label]),
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
    ids = [b[0] for b in batches]
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
        point = point_picker(data)
        ComparisonTable(data, point)
        with solara.Column(classes=["sim-screen", "sim-figure-screen"]):
            ReportFigures(data, point)


def point_picker(data: BatchData) -> int:
    """The sweep point shown (a selector when the batch sweeps)."""
    texts = _texts()
    points = data.points
    point = point_choice.value if point_choice.value in points else data.first_point
    if len(points) < 2:
        return point
    values = point_values(data)
    labels_of = {
        f"{p}: " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(values[p].items())): p
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
    return point


@solara.component
def ComparisonTable(data: BatchData, point: int) -> None:
    """The per-need table of the arms (hidden in presentation mode)."""
    texts = _texts()
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


@solara.component
def ReportFigures(data: BatchData, point: int) -> None:
    """One of the report's figures (or the sweep figure), with previous and next; in
    presentation mode the arrow keys turn them too."""
    texts = _texts()
    keys = list(REPORT_FIGURES)
    parameters = swept_parameters(data)
    if parameters:
        keys.append("sweep")
    names = {texts.t(f"figure.{k}"): k for k in keys}
    chosen = figure_choice.value if figure_choice.value in keys else keys[0]
    index = keys.index(chosen)

    def turn(step: int) -> None:
        figure_choice.set(keys[(index + step) % len(keys)])

    # One root that fills the screen in presentation mode (see CSS): a component with several
    # roots gets a wrapper that no style reaches.
    with solara.Column(classes=["sim-fill"]):
        with solara.Row(classes=["sim-figure-nav"]):
            solara.Select(
                texts.t("figure.label"),
                values=list(names),
                value=texts.t(f"figure.{chosen}"),
                on_value=lambda name: figure_choice.set(names[name]),
            )
            solara.Button(
                "◀", on_click=lambda: turn(-1), text=True, classes=["sim-previous-figure"]
            )
            solara.Button("▶", on_click=lambda: turn(1), text=True, classes=["sim-next-figure"])
        # Always there (a widget that comes and goes would shift the figure's place among its
        # siblings, and Solara would draw it again from scratch); it listens in presentation mode.
        ArrowKeys.element(
            handler=(lambda key: turn(1 if key == "ArrowRight" else -1)) if present.value else None
        )
        if chosen == "sweep":
            SweepFigure(data, parameters)
        else:
            FigureView(
                lambda: REPORT_FIGURES[chosen](data, texts, point),
                chosen,
                [id(data), chosen, point],
            )


@solara.component
def SweepFigure(data: BatchData, parameters: list[str]) -> None:
    """A metric along a swept parameter, both chosen."""
    texts = _texts()
    parameter = sweep_parameter.value if sweep_parameter.value in parameters else parameters[0]
    metric_names = [m for m in HEADLINE if m in data.metrics.columns]
    metric_labels = {texts.labels.metric(m): m for m in metric_names}
    metric = sweep_metric.value if sweep_metric.value in metric_names else metric_names[0]
    with solara.Column(classes=["sim-fill"]):
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


# ---------------------------------------------------------------------------- contract page
price_value: solara.Reactive[float | None] = solara.reactive(None)
threshold_value: solara.Reactive[float | None] = solara.reactive(None)
cap_value: solara.Reactive[float | None] = solara.reactive(None)
max_return_value: solara.Reactive[float | None] = solara.reactive(None)
target_value = solara.reactive(2.0)
share_value = solara.reactive(0.8)
contract_arm: solara.Reactive[str | None] = solara.reactive(None)
region_view = solara.reactive(False)

#: How long the terms must stand still before the Contract page's figure is redrawn: longer than
#: the gap between key presses of someone nudging a slider (a figure drawn in between took the
#: processor from the next move: at 0.25 s the slowest moves took twice as long on a loaded
#: machine), short enough that the figure follows as soon as the hand stops.
STILL_SECONDS = 0.5


@dataclass(frozen=True)
class Terms:
    """The terms shown on the Contract page (the maximum return in % a year, as on its slider)."""

    price: float
    threshold: float
    cap: float
    max_return: float

    def overrides(self) -> TermsOverrides:
        """The terms as the settlement takes them."""
        return TermsOverrides(
            price_eur_per_outcome=self.price,
            threshold_value=self.threshold,
            payment_cap_ratio=self.cap,
            max_return_per_year=self.max_return / 100.0,
        )


def _stored_defaults(contracts: list[StoredContract]) -> Terms:
    first = contracts[0].contract
    terms = first["terms"]
    ratios = [c.contract["terms"]["payment_cap_eur"] / c.contract["capital_eur"] for c in contracts]
    return Terms(
        price=float(terms["price_eur_per_outcome"]),
        threshold=float(terms["threshold_value"]),
        cap=round(float(np.mean(ratios)), 2),
        max_return=float(terms["max_return_per_year"]) * 100.0,
    )


def current_terms(stored: Terms) -> Terms:
    """The terms the sliders show (the stored ones until moved). The component calling this
    re-renders when any of the four moves."""
    chosen = (price_value.value, threshold_value.value, cap_value.value, max_return_value.value)
    defaults = (stored.price, stored.threshold, stored.cap, stored.max_return)
    return Terms(*(d if c is None else c for c, d in zip(chosen, defaults, strict=True)))


def _reset_terms() -> None:
    for reactive in (price_value, threshold_value, cap_value, max_return_value):
        reactive.set(None)


class Settled(NamedTuple):
    """Every replication settled on some terms, and how long that took."""

    summary: TermsSummary
    elapsed_ms: float


_SETTLED_KEEP = 64
_settled: OrderedDict[tuple[int, Terms], tuple[list[StoredContract], Settled]] = OrderedDict()
_settled_lock = threading.Lock()


def settled_on(chosen: list[StoredContract], terms: Terms) -> Settled:
    """Settle the chosen replications on ``terms`` (terms tried again, a slider moved back and
    forth, come from memory). The contracts are kept with the result so that their id, part of
    the key, cannot be reused while the entry lives."""
    key = (id(chosen), terms)
    with _settled_lock:
        if key in _settled:
            _settled.move_to_end(key)
            return _settled[key][1]
    started = time.perf_counter()
    summary = settle_replications(chosen, terms.overrides())
    result = Settled(summary, (time.perf_counter() - started) * 1000.0)
    with _settled_lock:
        _settled[key] = (chosen, result)
        while len(_settled) > _SETTLED_KEEP:
            _settled.popitem(last=False)
    return result


_replications: dict[tuple[int, int, str], tuple[list[StoredContract], list[StoredContract]]] = {}


def contract_replications(
    contracts: list[StoredContract], point: int, arm: str
) -> list[StoredContract]:
    """The replications of one contract arm at one sweep point: the same list at every render,
    so that its id keys the settlements and the feasible region (a new list at each move made
    the region's grid, a second or more of work, start again at every move)."""
    key = (id(contracts), point, arm)  # the entry keeps ``contracts``, hence its id, alive
    if key not in _replications:
        if len(_replications) > 32:
            _replications.clear()
        chosen = [c for c in contracts if c.point == point and c.arm == arm]
        _replications[key] = (contracts, chosen)
    return _replications[key][1]


@solara.component
def ContractPage() -> None:
    """Move a contract's terms; every replication is settled again at once.

    This component reads no term: a move re-renders :func:`ContractLive` only.
    """
    texts = _texts()
    solara.use_effect(FIGURE_WORKER.start, [])
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
        if len(arms) > 1:
            solara.Select(
                texts.t("contract.arm"), values=arms, value=arm, on_value=contract_arm.set
            )
        solara.Text(texts.t("contract.heading"), classes=["sim-big", "sim-secondary"])
        ContractLive(contract_replications(contracts, point, arm))


@solara.component
def ContractLive(chosen: list[StoredContract]) -> None:
    """The sliders, the numbers and the figure of a contract arm.

    The one component that reads the terms and the targets: Solara renders the whole page once
    per component told of a change, so sliders, numbers and figure that each read the terms
    made three passes of a tenth of a second each per move on a loaded machine; here a move
    makes one, and the children get the values they show.
    """
    texts = _texts()
    stored = _stored_defaults(chosen)
    terms = current_terms(stored)
    target = target_value.value / 100.0
    share = share_value.value
    kind = str(chosen[0].contract["terms"]["threshold_kind"])
    settled = settled_on(chosen, terms)
    with solara.Column(classes=["sim-screen", "sim-terms-screen"]), solara.Columns([1, 2]):
        TermsPanel(stored, terms, kind, str(chosen[0].contract["payer"]))
        solara.HTML(
            tag="div",
            unsafe_innerHTML=contract_numbers_html(
                settled.summary, texts, share, settled.elapsed_ms
            ),
            classes=["sim-results"],
        )
    with solara.Column(classes=["sim-screen", "sim-figure-screen"]):
        with solara.Row():  # as wide as its label: stretched, it did not toggle off its label
            solara.Switch(
                label=texts.t("fig.region.title", target=texts.labels.pct(target, 1)),
                value=region_view.value,
                on_value=region_view.set,
                classes=["sim-region-switch"],
            )
        if region_view.value:
            RegionView(chosen, terms, stored, target, share, kind)
        else:
            InvestorFigure(settled.summary, target)


def price_range(stored: Terms) -> tuple[float, float]:
    """The price slider's top and step."""
    top = max(2.0 * stored.price, 20_000.0)
    return top, max(100.0, round(top / 100, -2))


def threshold_range(stored: Terms, kind: str) -> tuple[float, float]:
    """The threshold slider's top and step (outcomes, or a ratio to the counterfactual)."""
    if kind == "absolute":
        return max(2.0 * stored.threshold, 50.0), 1.0
    return 3.0, 0.05


@solara.component
def TermsPanel(stored: Terms, terms: Terms, kind: str, payer: str) -> None:
    """The sliders of the terms, the placeholders still to come and the targets."""
    texts = _texts()
    labels = texts.labels
    price_top, price_step = price_range(stored)
    threshold_top, threshold_step = threshold_range(stored, kind)
    with solara.Column(classes=["sim-terms"]):
        TermSlider(
            "price",
            texts.t("terms.price"),
            terms.price,
            price_value.set,
            (0.0, price_top, price_step),
            labels.eur(terms.price),
        )
        TermSlider(
            "threshold",
            texts.t("terms.threshold", kind=texts.t(f"terms.threshold.{kind}")),
            terms.threshold,
            threshold_value.set,
            (0.0, threshold_top, threshold_step),
            labels.num(terms.threshold),
        )
        TermSlider(
            "cap",
            texts.t("terms.cap"),
            terms.cap,
            cap_value.set,
            (0.0, 3.0, 0.05),
            f"\u00d7 {labels.num(terms.cap, 2)}",
        )
        TermSlider(
            "return",
            texts.t("terms.max_return"),
            terms.max_return,
            max_return_value.set,
            (0.0, 20.0, 0.5),
            labels.pct(terms.max_return / 100.0, 1),
        )
        with solara.Div(classes=["sim-secondary"]):
            solara.SliderFloat(
                f"{texts.t('terms.guarantee')} ({texts.t('terms.later')})",
                value=0.0,
                min=0.0,
                max=1.0,
                step=0.05,
                disabled=True,
            )
            solara.InputText(
                f"{texts.t('terms.payers')} ({texts.t('terms.later')})",
                value=f"{payer}: 100 %",
                disabled=True,
            )
            solara.Button(texts.t("terms.stored"), on_click=_reset_terms, outlined=True)
        with solara.Div(classes=["sim-secondary"]):
            TermSlider(
                "target",
                texts.t("target.return"),
                target_value.value,
                target_value.set,
                (0.0, 10.0, 0.5),
                labels.pct(target_value.value / 100.0, 1),
            )
            TermSlider(
                "share",
                texts.t("target.share"),
                share_value.value,
                share_value.set,
                (0.5, 1.0, 0.05),
                labels.pct(share_value.value),
            )


@solara.component
def TermSlider(
    name: str,
    label: str,
    value: float,
    on_value: Callable[[float], None],
    bounds: tuple[float, float, float],
    shown: str,
) -> None:
    """A slider (bounds: low, top, step) and the value it stands at, as text."""
    low, top, step = bounds
    with solara.Div(classes=[f"sim-slider-{name}"]):
        solara.SliderFloat(label, value=value, min=low, max=top, step=step, on_value=on_value)
        solara.Text(shown, classes=[f"sim-value-{name}"])


def _irr_key(irr: np.ndarray) -> tuple[float | None, ...]:
    """The investor's returns as a comparable key (NaN, which equals nothing, as None)."""
    return tuple(round(float(v), 9) if math.isfinite(v) else None for v in irr)


@solara.component
def InvestorFigure(summary: TermsSummary, target: float) -> None:
    """The investor's return per replication on the terms shown."""
    texts = _texts()
    FigureView(
        partial(investor_figure, summary, texts, target),
        "investor_returns",
        # The figure shows the returns only: terms that leave them unchanged do not redraw it.
        [_irr_key(summary.investor_irr()), target],
        still_seconds=STILL_SECONDS,
        worker=FIGURE_WORKER,
    )


def region_axes(stored: Terms, kind: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The prices and thresholds of the feasible region's grid (the sliders' ranges)."""
    price_top, _step = price_range(stored)
    threshold_top, _step = threshold_range(stored, kind)
    prices = tuple(float(p) for p in np.linspace(0.0, price_top, 11))
    return prices, tuple(float(t) for t in np.linspace(0.0, threshold_top, 9))


@solara.component
def RegionView(
    chosen: list[StoredContract],
    terms: Terms,
    stored: Terms,
    target: float,
    share: float,
    kind: str,
) -> None:
    """The feasible region, computed in a thread (it settles the whole grid) when the terms it
    depends on (cap, maximum return, target) have stood still; the price and the threshold only
    move the star."""
    texts = _texts()
    prices, thresholds = region_axes(stored, kind)
    base = replace(terms.overrides(), price_eur_per_outcome=None, threshold_value=None)

    def compute(cancelled: threading.Event) -> FeasibleRegion | None:
        try:
            return feasible_region(chosen, base, prices, thresholds, target, cancelled.is_set)
        except RegionCancelled:
            return None

    result = use_background(
        compute, [id(chosen), terms.cap, terms.max_return, target], STILL_SECONDS
    )
    region = result.value
    if region is None or not result.current:
        solara.Text(texts.t("fig.region.computing"))
        return
    current = (terms.price, terms.threshold)
    FigureView(
        partial(region_figure, region, texts, share, target, current),
        "feasible_region",
        [id(region), share, current],
        still_seconds=STILL_SECONDS,
        worker=FIGURE_WORKER,
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
        solara.Text(texts.t("city.heading"), classes=["sim-big", "sim-secondary"])
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
        with solara.Column(classes=["sim-screen", "sim-figure-screen"]):
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
