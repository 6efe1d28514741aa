"""Figures and the figure data in analysis: every figure draws data, in readable French too;
one replication draws no band; missing arm types and sweeps are said; the summaries are right."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import three_arm_scenario
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import imread

import sim
from sim.api import Results
from sim.reading import analysis, figures
from sim.reading.i18n import MESSAGES, Labels

MONTHS = 24
SCENARIO: dict[str, Any] = three_arm_scenario("figures", "Essai des graphiques", MONTHS)
#: One replication, one arm type, a sweep of two points: bands, figures and points to leave out.
SMALL_SWEEP: dict[str, Any] = {
    "name": "small_sweep",
    "months": 12,
    "replications": 1,
    "seed": 9,
    "city": {"source": "demo"},
    "arms": {"planned": {"mechanism": "planned"}},
    "sweep": {
        "method": "grid",
        "grid": {"arms.planned.budget_eur_per_year": [500_000, 1_000_000]},
    },
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A 24-month batch of 2 replications with the three ways of funding and their twins."""
    return sim.run_scenario(SCENARIO, db=str(tmp_path_factory.mktemp("figures") / "f.db"))


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A 12-month sweep of 2 points, 1 replication, a planned programme only."""
    return sim.run_scenario(SMALL_SWEEP, db=str(tmp_path_factory.mktemp("sweep") / "s.db"))


def build_all(results: Results, labels: Labels) -> dict[str, Figure]:
    """Every figure of a batch, by name."""
    city = sim.load_city("demo")
    builders: dict[str, Callable[[], Figure]] = {
        "outcomes": lambda: figures.outcomes_over_time(results.series, labels),
        "validated": lambda: figures.true_vs_validated(results.metrics, labels),
        "cost": lambda: figures.cost_per_outcome(results.metrics, labels),
        "cash_flows": lambda: figures.payer_cash_flows(
            results.cash_flows, results.metrics, labels, runs=results.runs
        ),
        "investor": lambda: figures.investor_returns(results.metrics, labels),
        "reach": lambda: figures.reach_by_barrier(results.metrics, labels),
        "territories": lambda: figures.territory_map(results.territories, city, labels),
        "pilots": lambda: figures.pilot_decisions(results.pilot_decisions, labels),
    }
    return {name: build() for name, build in builders.items()}


def english_fragments() -> list[str]:
    """Clauses of English messages (split at placeholders, line breaks and punctuation) whose
    French message differs: none of them may appear in French output. Clauses French uses too
    (abbreviations such as RSA or QPV, words such as "points") are left out."""
    english, french = MESSAGES["en"], MESSAGES["fr"]
    french_text = "\n".join(french.values())
    pieces = set()
    for key, text in english.items():
        if text == french.get(key):
            continue
        for clause in re.split(r"\{[^}]*\}|[\n.,:;()]", text):
            piece = clause.strip()
            if re.search(r"[A-Za-z]{3,}", piece) and not _has_words(french_text, piece):
                pieces.add(piece)
    return sorted(pieces)


def _has_words(text: str, piece: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(piece) + r"(?!\w)", text) is not None


def english_found(text: str) -> list[str]:
    """English fragments present in a text as whole words."""
    return [piece for piece in english_fragments() if _has_words(text, piece)]


def colours(pixels: np.ndarray) -> int:
    """Distinct colours of an image read by imread (floats in [0, 1], RGB or RGBA)."""
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint32)
    return int(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).size)


# ---------------------------------------------------------------------------- figures
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_figure_draws_data_with_a_sentence_title(results: Results, lang: str) -> None:
    """Each figure of a full batch has drawn lines, bars or shapes and a title of several words."""
    for name, fig in build_all(results, Labels(lang)).items():
        assert isinstance(fig, Figure), name
        drawn = sum(len(ax.lines) + len(ax.patches) + len(ax.collections) for ax in fig.axes)
        assert drawn > 0, name
        assert len(fig.get_suptitle().split()) >= 6, name


def test_french_figures_hold_no_english_text(results: Results) -> None:
    """No English label, title, tick or legend text is left on the French figures."""
    for name, fig in build_all(results, Labels("fr")).items():
        text = "\n".join(figures.figure_texts(fig))
        assert english_found(text) == [], name


def test_figures_leave_no_pyplot_figure_open(results: Results) -> None:
    """Building every figure registers none with pyplot (no global state left open)."""
    import matplotlib.pyplot as plt

    build_all(results, Labels("en"))
    assert plt.get_fignums() == []


def test_english_figures_name_arms_readably(results: Results) -> None:
    """Arms named after their mechanism appear by readable names, never as code names."""
    texts = figures.figure_texts(figures.true_vs_validated(results.metrics, Labels("en")))
    joined = "\n".join(texts)
    assert "social impact contract" in joined
    assert "impact_contract" not in joined
    assert "CIS" not in joined


def test_saved_figure_is_not_blank(results: Results, tmp_path: Path) -> None:
    """A figure saved as PNG holds varied pixels, and as SVG holds drawn paths."""
    fig = figures.reach_by_barrier(results.metrics, Labels("en"))
    fig.savefig(tmp_path / "reach.png", dpi=figures.DPI)
    fig.savefig(tmp_path / "reach.svg")
    pixels = imread(tmp_path / "reach.png")
    assert pixels.std() > 0.02
    assert colours(pixels) > 20
    assert "<path" in (tmp_path / "reach.svg").read_text(encoding="utf-8")


def test_one_replication_draws_no_band_and_says_so(small_sweep: Results) -> None:
    """With one replication, the series figure has no shaded band and its title says why."""
    labels = Labels("en")
    fig = figures.outcomes_over_time(small_sweep.series, labels)
    bands = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert bands == []
    assert labels.t("fig.one_replication") in fig.get_suptitle()


def test_sweep_figures_show_the_first_point_and_say_so(small_sweep: Results) -> None:
    """In a sweep, point figures draw the first point and their title says which."""
    labels = Labels("en")
    fig = figures.reach_by_barrier(small_sweep.metrics, labels)
    assert labels.t("fig.first_point", n=2) in fig.get_suptitle()
    chosen = figures.reach_by_barrier(small_sweep.metrics, labels, point=1)
    assert labels.t("fig.point", point=1) in chosen.get_suptitle()


def test_unknown_sweep_point_is_a_clear_error(small_sweep: Results) -> None:
    """Asking for a sweep point the batch does not have names the points it has."""
    with pytest.raises(sim.errors.UserInputError, match="no sweep point 7"):
        figures.reach_by_barrier(small_sweep.metrics, Labels("en"), point=7)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_figures_without_data_say_why(small_sweep: Results, lang: str) -> None:
    """A batch without contract or call for projects raises NoDataError in the reader's language."""
    labels = Labels(lang)
    with pytest.raises(figures.NoDataError, match=re.escape(labels.t("nodata.contract"))):
        figures.investor_returns(small_sweep.metrics, labels)
    with pytest.raises(figures.NoDataError, match=re.escape(labels.t("nodata.pilots"))):
        figures.pilot_decisions(small_sweep.pilot_decisions, labels)


def test_investor_returns_pool_sweep_points_and_print_the_loss_probability() -> None:
    """The investor's figure pools every sweep point and writes the probability of loss."""
    metrics = pd.DataFrame(
        {
            "point": [0, 0, 1, 1],
            "replication": [0, 1, 0, 1],
            "arm": ["impact_contract"] * 4,
            "mechanism": ["impact_contract"] * 4,
            "status": ["done"] * 4,
            "investor_irr_per_year": [0.04, -0.2, math.nan, 0.05],
            "investor_money_multiple": [1.1, 0.6, 0.0, 1.15],
            "investor_lost_money": [0.0, 1.0, 1.0, 0.0],
        }
    )
    labels = Labels("en")
    fig = figures.investor_returns(metrics, labels)
    title = fig.get_suptitle()
    assert labels.t("fig.pooled", n=2) in title
    assert "50%" in title
    texts = "\n".join(figures.figure_texts(fig))
    assert labels.t("fig.investor.loss_box", share="50%") in texts


# ---------------------------------------------------------------------------- figure data
def test_series_bands_difference_is_paired_with_the_twin(results: Results) -> None:
    """The band's mean difference is the mean over replications of arm minus twin, same month."""
    name = "sustained_jobs_cumulative"
    bands = analysis.series_bands(results.series, name)
    series = results.series[results.series["name"] == name]
    wide = series.pivot_table(index=["replication", "month"], columns="arm", values="value")
    expected = (wide["planned"] - wide["status_quo"]).groupby(level="month").mean()
    planned = bands[bands["arm"] == "planned"].set_index("month")["diff_mean"]
    np.testing.assert_allclose(planned.to_numpy(), expected.to_numpy())
    twin = bands[bands["arm"] == "status_quo"]
    assert (twin["diff_mean"] == 0).all()
    assert (bands["low"] <= bands["mean"] + 1e-9).all()
    assert (bands["mean"] <= bands["high"] + 1e-9).all()
    assert set(bands["month"]) == set(range(MONTHS + 1))


def test_territory_effects_keep_needs_apart(results: Results) -> None:
    """Per territory, each need's true additional outcomes are kept apart (never summed), and
    over territories they add up to the run's metric of that need, averaged."""
    effects = analysis.territory_effects(results.territories)
    assert "status_quo" not in set(effects["arm"])
    assert "true_additional_outcomes" not in effects.columns
    for column in analysis.NEED_COLUMNS:
        total = effects.groupby("arm")[column].sum()
        metric = results.metrics.groupby("arm")[column].mean()
        np.testing.assert_allclose(total.to_numpy(), metric[total.index].to_numpy())


def test_cash_flow_summary_counts_a_missing_flow_as_zero() -> None:
    """A flow present in one replication of two has half its amount as mean."""
    flows = pd.DataFrame(
        {
            "point": [0, 0, 0],
            "replication": [0, 1, 0],
            "arm": ["planned"] * 3,
            "month": [1, 1, 2],
            "payer": ["city", "city", "city"],
            "payee": ["association"] * 3,
            "kind": ["activity", "activity", "evaluation"],
            "amount_eur": [100.0, 300.0, 50.0],
        }
    )
    summary = analysis.cash_flow_summary(flows).set_index(["month", "kind"])
    assert summary.loc[(1, "activity"), "amount_eur"] == pytest.approx(200.0)
    assert summary.loc[(2, "evaluation"), "amount_eur"] == pytest.approx(25.0)
    assert summary["public"].all()


def test_cash_flow_summary_matches_public_spending(results: Results) -> None:
    """Public cash flows summed over months equal the mean public spending metric."""
    summary = analysis.cash_flow_summary(results.cash_flows, results.runs)
    public = summary[summary["public"]].groupby("arm")["amount_eur"].sum()
    spending = results.metrics.groupby("arm")["public_spending_eur"].mean()
    for arm, total in public.items():
        assert total == pytest.approx(spending[arm])


def test_reach_by_quartile_shares_sum_to_one(results: Results) -> None:
    """The four quartile shares of each arm add up to one."""
    reach = analysis.reach_by_quartile(results.metrics)
    sums = reach.groupby(["point", "arm"])["mean"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert set(reach["quartile"]) == {1, 2, 3, 4}


def test_pilot_decision_rates_count_every_decision(results: Results) -> None:
    """Every pilot decision is counted once, with scaling a working pilot as right."""
    rates = analysis.pilot_decision_rates(results.pilot_decisions)
    assert rates["decisions"].sum() == len(results.pilot_decisions)
    right = rates[rates["correct"]]
    assert set(zip(right["truly_works"], right["decision"], strict=True)) == {
        (True, "scale"),
        (False, "stop"),
    }
    assert len(rates) == 4
