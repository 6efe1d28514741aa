"""Figures hold at any size: from 2 to 12 arms and from 4 to 100 territories, no text overlaps
another, none leaves the figure, tick labels are never repeated, and arms keep distinct colours.

The batches are synthetic data frames shaped like a results store's (no simulation is run), so
that every size can be drawn in a few seconds.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from sim.reading import figures
from sim.reading.i18n import Labels
from sim.reading.names import DisplayNames
from sim.world.territory import City, generate_city

MONTHS = 24
REPLICATIONS = 4
MECHANISMS = ("impact_contract", "planned", "call_for_projects")


def arm_names(n: int) -> list[str]:
    """``n`` arms besides the status quo, with long, realistic names."""
    return [f"design_{i:02d}_with_a_long_name" for i in range(n)]


def names_for(arms: list[str]) -> DisplayNames:
    mechanisms = {a: MECHANISMS[i % 3] for i, a in enumerate(arms)}
    labels = {a: {"en": f"Design {i + 1}: evaluation with creaming"} for i, a in enumerate(arms)}
    for i, a in enumerate(arms):
        labels[a]["fr"] = f"Méthode {i + 1} : évaluation avec écrémage"
    return DisplayNames(arms=labels, mechanisms=mechanisms)


def synthetic_batch(n_arms: int, city: City, points: int = 1) -> dict[str, pd.DataFrame]:
    """Frames of a batch with ``n_arms`` arms (plus the twin) on ``city``."""
    rng = np.random.default_rng(n_arms)
    arms = arm_names(n_arms)
    mechanisms = {a: MECHANISMS[i % 3] for i, a in enumerate(arms)}
    metrics, series, territories, flows, pilots, runs = [], [], [], [], [], []
    for point, replication, arm in itertools.product(
        range(points), range(REPLICATIONS), ["status_quo", *arms]
    ):
        mechanism = mechanisms.get(arm, "status_quo")
        effect = 0.0 if arm == "status_quo" else rng.uniform(5, 200)
        runs.append(
            {
                "point": point,
                "replication": replication,
                "arm": arm,
                "mechanism": mechanism,
                "status": "done",
                "point_values": json.dumps({"arms.x.price_eur_per_outcome": 1000 * (point + 1)}),
            }
        )
        reach = rng.dirichlet(np.ones(4))
        metrics.append(
            {
                "point": point,
                "replication": replication,
                "arm": arm,
                "mechanism": mechanism,
                "status": "done",
                "true_additional_employment": effect,
                "measured_additional_employment": effect * rng.uniform(0.5, 4),
                "deadweight_share_of_counted_employment": rng.uniform(0.5, 0.9),
                "public_spending_eur": (spent := rng.uniform(2e5, 3e6)),
                "public_spending_eur_employment": spent,
                "society_spending_eur_employment": spent * rng.uniform(1.0, 1.4),
                "npv_eur": rng.uniform(-3e6, 1e5),
                **{f"reach_share_barrier_q{q + 1}": reach[q] for q in range(4)},
                "investor_irr_per_year": rng.uniform(-0.3, 0.05),
                "investor_money_multiple": rng.uniform(0.9, 1.15),
                "investor_lost_money": float(rng.uniform() < 0.4),
                "paid_for_non_additional_outcomes": float(rng.uniform() < 0.5),
                "contract_payments_eur": rng.uniform(0, 1e6),
            }
        )
        for month in range(MONTHS + 1):
            series.append(
                (
                    point,
                    replication,
                    arm,
                    month,
                    "sustained_jobs_cumulative",
                    900.0 * month + effect * month / MONTHS,
                )
            )
            series.append(
                (
                    point,
                    replication,
                    arm,
                    month,
                    "unemployment_rate",
                    0.1 - 0.0001 * effect * month / MONTHS,
                )
            )
        if arm != "status_quo":
            for t in city.territories:
                territories.append(
                    {
                        "point": point,
                        "replication": replication,
                        "arm": arm,
                        "territory": t.territory_id,
                        "qpv": t.qpv,
                        "participants": 10,
                        "true_additional_employment": rng.normal(2, 20),
                        "true_additional_french": 0.0,
                        "true_additional_rights": 0.0,
                        "unemployment_rate_end": 0.1,
                        "unemployment_rate_end_twin": 0.1,
                    }
                )
            for month in range(1, MONTHS + 1):
                flows.append(
                    (
                        point,
                        replication,
                        arm,
                        month,
                        "city",
                        "association",
                        "activity",
                        2_000.0 + 100 * month,
                    )
                )
            for pilot in range(6):
                works = bool(pilot % 3 == 0)
                decision = "scale" if rng.uniform() < 0.5 else "stop"
                pilots.append(
                    {
                        "point": point,
                        "replication": replication,
                        "arm": arm,
                        "truly_works": works,
                        "decision": decision,
                        "correct": (decision == "scale") == works,
                    }
                )
    columns = ["point", "replication", "arm", "month", "name", "value"]
    flow_columns = ["point", "replication", "arm", "month", "payer", "payee", "kind", "amount_eur"]
    return {
        "metrics": pd.DataFrame(metrics),
        "series": pd.DataFrame(series, columns=columns),
        "territories": pd.DataFrame(territories),
        "cash_flows": pd.DataFrame(flows, columns=flow_columns),
        "pilot_decisions": pd.DataFrame(pilots),
        "runs": pd.DataFrame(runs),
    }


def every_figure(batch: dict[str, pd.DataFrame], city: City, labels: Labels) -> dict[str, Figure]:
    return {
        "outcomes": figures.outcomes_over_time(batch["series"], labels),
        "validated": figures.true_vs_validated(batch["metrics"], labels),
        "cost": figures.cost_per_outcome(batch["metrics"], labels),
        "cash_flows": figures.payer_cash_flows(
            batch["cash_flows"], batch["metrics"], labels, runs=batch["runs"]
        ),
        "investor": figures.investor_returns(batch["metrics"], labels),
        "reach": figures.reach_by_barrier(batch["metrics"], labels),
        "territories": figures.territory_map(batch["territories"], city, labels),
        "pilots": figures.pilot_decisions(batch["pilot_decisions"], labels),
    }


def visible_texts(fig: Figure) -> list[tuple[Text, Bbox]]:
    """Every visible, non-empty text of a drawn figure with its extent in pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    hidden = _clipped_ticks(fig)
    found = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        axes = text.axes
        if axes is not None and not axes.get_visible():
            continue
        if text in hidden:
            continue
        found.append((text, text.get_window_extent(renderer)))
    return found


def _clipped_ticks(fig: Figure) -> set[Text]:
    """Tick labels of ticks outside their axis's view (matplotlib does not draw them)."""
    hidden: set[Text] = set()
    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            for tick in axis.get_major_ticks():
                if (
                    not low - 1e-9 * abs(high - low)
                    <= tick.get_loc()
                    <= high + 1e-9 * abs(high - low)
                ):
                    hidden.update({tick.label1, tick.label2})
    return hidden


def overlaps(fig: Figure) -> list[str]:
    """Pairs of texts whose extents overlap (by more than a pixel each way), and texts that
    leave the figure."""
    texts = visible_texts(fig)
    width, height = fig.canvas.get_width_height()  # after visible_texts drew it
    frame = Bbox.from_bounds(-1, -1, width + 2, height + 2)
    problems = [
        f"outside the figure: {t.get_text()!r}"
        for t, box in texts
        if not (frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1))
    ]
    boxes = np.array([box.padded(-1).extents for _, box in texts]).reshape(-1, 4)
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    both = (
        (x0[:, None] < x1[None, :])
        & (x0[None, :] < x1[:, None])
        & (y0[:, None] < y1[None, :])
        & (y0[None, :] < y1[:, None])
    )
    for i, j in zip(*np.nonzero(np.triu(both, k=1)), strict=True):
        problems.append(f"{texts[i][0].get_text()!r} overlaps {texts[j][0].get_text()!r}")
    return problems


def repeated_ticks(fig: Figure) -> list[str]:
    """Axes whose visible tick labels repeat a text."""
    FigureCanvasAgg(fig).draw()
    hidden = _clipped_ticks(fig)
    problems = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            shown = [
                t.get_text()
                for t in axis.get_ticklabels()
                if t.get_visible() and t.get_text() and t not in hidden
            ]
            if len(shown) != len(set(shown)):
                problems.append(f"{ax.get_title() or ax.get_ylabel()}: {shown}")
    return problems


@pytest.mark.parametrize(
    ("n_arms", "n_territories", "lang"),
    [
        (2, 4, "en"),
        (8, 100, "fr"),
        pytest.param(12, 100, "en", marks=pytest.mark.slow),
        (12, 12, "fr"),
    ],
)
def test_figures_have_no_overlapping_or_repeated_text(
    n_arms: int, n_territories: int, lang: str
) -> None:
    """Every figure, with 2 to 12 arms and 4 to 100 territories, in English and French."""
    city = generate_city(n_territories, 200 * n_territories, seed=3)
    batch = synthetic_batch(n_arms - 1, city)
    labels = Labels(lang, names_for(arm_names(n_arms - 1)))
    for name, fig in every_figure(batch, city, labels).items():
        assert overlaps(fig) == [], name
        assert repeated_ticks(fig) == [], name


@pytest.mark.parametrize("n_arms", [2, 8, 12])
def test_arm_colours_stay_distinct(n_arms: int) -> None:
    """Up to 12 arms, with or without mechanism names, never share a colour."""
    for arms in (
        ["status_quo", *arm_names(n_arms - 1)],
        ["status_quo", *MECHANISMS, *arm_names(n_arms - 4)],
    ):
        arms = arms[:n_arms]
        colours = figures.arm_colours(arms)
        assert len(set(colours.values())) == len(arms), arms


def test_sweep_figures_hold() -> None:
    """The sweep figure of a one-parameter sweep draws each point without overlapping text."""
    city = generate_city(4, 800, seed=3)
    batch = synthetic_batch(2, city, points=4)
    labels = Labels("en", names_for(arm_names(2)))
    fig = figures.sweep_effects(batch["metrics"], batch["runs"], labels)
    assert overlaps(fig) == []
    assert repeated_ticks(fig) == []


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        ([0.9, 0.95, 1.0, 1.05, 1.1], ["0.90", "0.95", "1.00", "1.05", "1.10"]),
        ([-0.025, -0.05, -0.075], ["-0.025", "-0.050", "-0.075"]),
        ([0.0, 200.0, 400.0], ["0", "200", "400"]),
    ],
)
def test_tick_formatter_never_repeats_a_label(locations: list[float], expected: list[str]) -> None:
    """Ticks are written with as many decimals as they need to be exact."""
    formatter = figures.LocalFormatter(Labels("en"))
    formatter.set_locs(locations)
    assert [formatter(x) for x in locations] == expected
