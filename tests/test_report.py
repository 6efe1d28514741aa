"""The HTML report: both languages, figure files, no English in French, escaping, conclusions
from the numbers, clear errors; and the number formats of each language."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import three_arm_scenario
from matplotlib.image import imread

import sim
from sim.api import Results
from sim.errors import UserInputError
from sim.reading.analysis import HEADLINE, TWIN, compare_arms
from sim.reading.i18n import MESSAGES, NNBSP, Labels
from sim.reading.names import DisplayNames
from sim.reading.report import FIGURE_KEYS, BatchData, conclusions, write_report

NAME = "démo <script>alert(1)</script>"
DESCRIPTION = "Essai <b>gras</b> & co"
SCENARIO: dict[str, Any] = three_arm_scenario(NAME, DESCRIPTION)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """A 24-month batch of 2 replications with the three ways of funding and their twins."""
    return sim.run_scenario(SCENARIO, db=str(tmp_path_factory.mktemp("report") / "r.db"))


@pytest.fixture(scope="module")
def reports(batch: Results, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The batch's report in English and French, written to one folder."""
    out = tmp_path_factory.mktemp("out")
    return {lang: write_report(batch.db, out, lang=lang) for lang in ("en", "fr")}


def visible_text(page: str) -> str:
    """The text a reader sees, without tags, styles, code spans and embedded images."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', "", page)
    page = re.sub(r'alt="([^"]*)"', r"> \1 <", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def section(page: str, name: str) -> str:
    """The visible text of one section of the report."""
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.S)
    assert match is not None, name
    return visible_text(match.group(1))


def english_clauses() -> list[str]:
    """Clauses of English messages whose French message differs and that French never uses."""
    english, french = MESSAGES["en"], MESSAGES["fr"]
    french_text = "\n".join(french.values())
    clauses = set()
    for key, text in english.items():
        if text == french.get(key):
            continue
        for clause in re.split(r"\{[^}]*\}|[\n.,:;()]", text):
            piece = clause.strip()
            if re.search(r"[A-Za-z]{3,}", piece) and not re.search(
                r"(?<!\w)" + re.escape(piece) + r"(?!\w)", french_text
            ):
                clauses.add(piece)
    return sorted(clauses)


def colours(pixels: np.ndarray) -> int:
    """Distinct colours of an image read by imread (floats in [0, 1], RGB or RGBA)."""
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint32)
    return int(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).size)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_report_renders_in_both_languages(reports: dict[str, Path], lang: str) -> None:
    """report_<lang>.html is written, declares its language and has every section's title."""
    path = reports[lang]
    assert path.name == f"report_{lang}.html"
    page = path.read_text(encoding="utf-8")
    labels = Labels(lang)
    assert f'<html lang="{lang}">' in page
    text = visible_text(page)
    for key in ("report.conclusions", "report.table", "report.figures", "report.glossary"):
        assert labels.t(key) in text
    for key in ("twin", "true", "deadweight", "creaming", "validated"):
        assert labels.t(f"glossary.{key}") in text
    assert labels.arm("impact_contract") in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_figure_is_written_as_png_and_svg(reports: dict[str, Path], lang: str) -> None:
    """Each figure has a non-blank PNG and an SVG with drawn paths, and is embedded in the HTML."""
    folder = reports[lang].parent / "figures"
    for key in FIGURE_KEYS:
        png, svg = folder / f"{key}_{lang}.png", folder / f"{key}_{lang}.svg"
        assert png.stat().st_size > 10_000, key
        pixels = imread(png)
        assert pixels.std() > 0.02, key
        assert colours(pixels) > 20, key
        text = svg.read_text(encoding="utf-8")
        assert "<svg" in text, key
        assert text.count("<path") > 10, key
    page = reports[lang].read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == len(FIGURE_KEYS)


def test_french_report_holds_no_english_text(reports: dict[str, Path]) -> None:
    """No English message text is left in the French report (code spans and user text aside)."""
    text = visible_text(reports["fr"].read_text(encoding="utf-8"))
    text = text.replace(NAME, " ").replace(DESCRIPTION, " ")
    found = [c for c in english_clauses() if re.search(r"(?<!\w)" + re.escape(c) + r"(?!\w)", text)]
    assert found == []


def test_french_numbers_use_french_format(reports: dict[str, Path]) -> None:
    """French tables write percentages as '12 %' and intervals with ';', never '12%'."""
    text = section(reports["fr"].read_text(encoding="utf-8"), "comparison")
    assert re.search(r"\d" + NNBSP + "%", text)
    assert f"{NNBSP}; " in text
    assert not re.search(r"\d%", text)
    assert not re.search(r"\d,\d{3}(?!\d)", text.replace(" ", ""))  # no English thousands


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_scenario_name_and_description_are_escaped(reports: dict[str, Path], lang: str) -> None:
    """HTML in the scenario's name or description is shown as text, never run."""
    page = reports[lang].read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>gras</b>" not in page
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; co" in page


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_conclusions_name_the_arm_with_the_best_cost(
    batch: Results, reports: dict[str, Path], lang: str
) -> None:
    """The first conclusion names the arm with the lowest public cost per true additional job
    held 6 months (the primary outcome) by its readable name."""
    comparison = compare_arms(batch.metrics)
    cost = comparison[comparison["metric"] == "public_cost_eur_per_additional_employment"]
    cost = cost.dropna(subset=["mean"])
    best = str(cost.loc[cost["mean"].idxmin(), "arm"])
    labels = Labels(lang)
    name = labels.arm(best)
    assert name != best
    outcome = labels.t("outcome.employment")
    lead = labels.t("concl.best", arm=name, outcome=outcome, cost="", low="", high="")
    lead = lead.split(name)[0] + name
    text = " ".join(section(reports[lang].read_text(encoding="utf-8"), "conclusions").split())
    assert " ".join(lead.split()) in text


def test_conclusions_say_who_bore_the_risk(reports: dict[str, Path]) -> None:
    """Conclusions give who bore the risk, the reach against 25 % and whether effects are noise."""
    text = " ".join(section(reports["en"].read_text(encoding="utf-8"), "conclusions").split())
    assert "the investor lost money in" in text
    assert "paid for outcomes that were not additional" in text
    assert "25 % would mean no selection" in text


def words(text: str) -> str:
    """A text with every run of spaces (narrow no-break ones included) as one space."""
    return " ".join(text.split())


def conclusion_items(page: str, title: str) -> list[str]:
    """The visible text of each item under one title of the conclusions."""
    match = re.search(r'<section id="conclusions">(.*?)</section>', page, flags=re.S)
    assert match is not None
    found = re.search(
        r"<h3>" + re.escape(html.escape(title)) + r"</h3>\s*<ul[^>]*>(.*?)</ul>",
        match.group(1),
        flags=re.S,
    )
    assert found is not None, title
    return [
        words(visible_text(item))
        for item in re.findall(r"<li>(.*?)</li>", found.group(1), flags=re.S)
    ]


def effect_verdicts(
    items: list[str], labels: Labels, arms: list[str], need: str = "employment"
) -> dict[str, str]:
    """For each arm, the verdict ('noise', 'clear' or 'one_replication') its effect sentence
    on one need (jobs held 6 months by default) ends with."""
    verdicts: dict[str, str] = {}
    outcome = labels.t(f"outcome.{need}")
    for arm in arms:
        name = labels.arm(arm)
        after_name = labels.t("concl.outcomes").split("{arm}")[1].split("{n}")[0]
        lead = words(name[:1].upper() + name[1:] + after_name)
        mine = [item for item in items if words(item).startswith(lead) and outcome in words(item)]
        assert len(mine) == 1, (arm, items)
        found = [
            key
            for key in ("noise", "clear", "one_replication")
            if words(labels.t(f"concl.{key}")) in words(mine[0])
        ]
        assert len(found) == 1, (arm, mine[0])
        verdicts[arm] = found[0]
    return verdicts


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_effect_verdicts_follow_the_comparison_table(
    batch: Results, reports: dict[str, Path], lang: str
) -> None:
    """Each arm's effect sentence calls the difference with the status quo noise exactly when
    the comparison table's 95 % interval of true additional jobs contains zero."""
    comparison = compare_arms(batch.metrics)
    rows = comparison[comparison["metric"] == "true_additional_employment"]
    expected = {
        str(r.arm): "noise" if r.ci_low <= 0 <= r.ci_high else "clear" for r in rows.itertuples()
    }
    assert len(expected) == 3
    labels = Labels(lang)
    page = reports[lang].read_text(encoding="utf-8")
    items = conclusion_items(page, labels.t("concl.effects_title"))
    assert effect_verdicts(items, labels, sorted(expected)) == expected


def _batch_data(outcomes: dict[str, list[float]], spending_eur: float) -> BatchData:
    """A batch of one sweep point made of given true additional outcomes per arm and
    replication, each run spending the same amount, with the status-quo twin."""
    rows = []
    for arm, values in {**outcomes, TWIN: [0.0] * len(next(iter(outcomes.values())))}.items():
        spend = 0.0 if arm == TWIN else spending_eur
        for replication, value in enumerate(values):
            rows.append(
                {
                    "point": 0,
                    "replication": replication,
                    "arm": arm,
                    "mechanism": "planned" if arm != TWIN else TWIN,
                    "status": "done",
                    "true_additional_employment": value,
                    "measured_additional_employment": max(value, 0.0),
                    "public_spending_eur": spend,
                    "public_spending_eur_employment": spend,
                }
            )
    metrics = pd.DataFrame(rows)
    runs = metrics[["point", "arm", "mechanism"]].assign(point_values="")
    empty = pd.DataFrame()
    return BatchData(
        db="constructed",
        url="constructed",
        batch=1,
        info={},
        runs=runs,
        metrics=metrics.drop(columns="mechanism"),
        series=empty,
        territories=empty,
        cash_flows=empty,
        pilot_decisions=pd.DataFrame(columns=["point"]),
        city_table=empty,
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_conclusions_give_the_verdict_the_numbers_imply(lang: str) -> None:
    """Constructed replications with known answers: an arm whose outcomes are all far above
    zero is called clear, one whose outcomes change sign is called noise, and the arm with the
    lowest spending per outcome, cheaper replication by replication than the next, is named best
    with a clear ranking."""
    data = _batch_data(
        {
            "planned": [40.0, 44.0, 38.0, 42.0, 41.0, 39.0],
            "call_for_projects": [-6.0, 9.0, 7.0, -4.0, 8.0, -2.0],
            "second_plan": [20.0, 22.0, 19.0, 21.0, 20.0, 18.0],
        },
        spending_eur=1_000_000.0,
    )
    labels = Labels(lang)
    sections = {s["title"]: s["items"] for s in conclusions(data, labels)}
    effects = [" ".join(i.split()) for i in sections[labels.t("concl.effects_title")]]
    assert effect_verdicts(effects, labels, ["planned", "call_for_projects", "second_plan"]) == {
        "planned": "clear",
        "call_for_projects": "noise",
        "second_plan": "clear",
    }
    (value,) = sections[labels.t("concl.value_title")]
    outcome = labels.t("outcome.employment")
    assert value.startswith(labels.t("concl.primary", outcome=outcome))
    lead = labels.t(
        "concl.best", arm=labels.arm("planned"), outcome=outcome, cost="", low="", high=""
    )
    assert lead.split(labels.arm("planned"))[0] in value
    best = value.split(lead.split(labels.arm("planned"))[0])[1]
    assert best.startswith(labels.arm("planned"))
    assert " ".join(labels.t("concl.rank_clear").split()) in " ".join(value.split())


def test_provenance_names_the_batch(batch: Results, reports: dict[str, Path]) -> None:
    """The provenance lists the batch's scenario hash, seed, months and the runs done."""
    page = reports["en"].read_text(encoding="utf-8")
    info = batch.batch_info
    assert str(info["scenario_hash"]) in page
    text = section(page, "provenance")
    assert "Root random seed" in text
    assert "8 / 0 / 8" in text


def test_unknown_language_is_a_clear_error(batch: Results, tmp_path: Path) -> None:
    """An unknown language is a user error naming the languages there are."""
    with pytest.raises(UserInputError, match=r"unknown language 'de'.*en, fr"):
        write_report(batch.db, tmp_path, lang="de")
    assert not (tmp_path / "report_de.html").exists()


def test_missing_batch_or_database_names_the_database(batch: Results, tmp_path: Path) -> None:
    """A missing batch or database file is a user error naming the database; none is created."""
    with pytest.raises(UserInputError, match=re.escape(batch.db) + r".*no batch 99"):
        write_report(batch.db, tmp_path, batch=99)
    missing = tmp_path / "nothing.db"
    with pytest.raises(UserInputError, match=re.escape(str(missing))):
        write_report(str(missing), tmp_path)
    assert not missing.exists()


def test_report_says_which_figures_have_no_data(tmp_path: Path) -> None:
    """A planned-only batch leaves out contract and pilot figures, says why, writes the others."""
    scenario = {
        "name": "planned_only",
        "months": 12,
        "replications": 1,
        "seed": 3,
        "arms": {"planned": {"mechanism": "planned"}},
    }
    results = sim.run_scenario(scenario, db=str(tmp_path / "p.db"))
    path = write_report(results.db, tmp_path / "out", lang="fr")
    labels = Labels("fr")
    text = visible_text(path.read_text(encoding="utf-8"))
    assert labels.t("nodata.contract") in text
    assert labels.t("nodata.pilots") in text
    assert labels.t("concl.one_replication") in text
    assert (tmp_path / "out" / "figures" / "outcomes_fr.png").exists()
    assert not (tmp_path / "out" / "figures" / "investor_fr.png").exists()


# ---------------------------------------------------------------------------- languages
def test_numbers_are_written_the_readers_way() -> None:
    """English writes 1,234.5, 12% and €1,234; French writes 1 234,5, 12 % and 1 234 €."""
    en, fr = Labels("en"), Labels("fr")
    assert en.num(1234.5, 1) == "1,234.5"
    assert fr.num(1234.5, 1) == f"1{NNBSP}234,5"
    assert en.pct(0.12) == "12%"
    assert fr.pct(0.12) == f"12{NNBSP}%"
    assert en.eur(1234.0) == "€1,234"
    assert en.eur(-2_500_000.0) == "-€2.50 million"
    assert fr.eur(1234.0) == f"1{NNBSP}234{NNBSP}€"
    # One decimal, halves to even as Python's formatting does (0.25 and 2.75 are exact).
    assert fr.cell(1.5, 0.25, 2.75, "outcomes") == f"1,5 [0,2{NNBSP}; 2,8]"
    assert en.num(float("nan")) == "n/a"


def test_catalogues_cover_the_same_messages_and_every_headline_metric() -> None:
    """Both languages have the same message ids, and a label for every headline metric."""
    assert set(MESSAGES["en"]) == set(MESSAGES["fr"])
    for lang in ("en", "fr"):
        for name in HEADLINE:
            assert MESSAGES[lang].get(f"metric.{name}"), (lang, name)
    assert all(text for text in MESSAGES["fr"].values())


def test_arm_names_are_readable_only_for_mechanism_names() -> None:
    """Arms named after a mechanism get its readable name; other arms their name in words with
    their mechanism's name, unless the scenario gives them a label."""
    assert Labels("en").arm("impact_contract") == "social impact contract"
    assert Labels("fr").arm("impact_contract") == "contrat à impact social"
    assert Labels("fr").arm("cis_cheap") == "cis cheap"
    names = DisplayNames(
        arms={"rct": {"en": "Randomised trial", "fr": "Essai randomisé"}},
        mechanisms={"cis_cheap": "impact_contract", "rct": "impact_contract"},
    )
    assert Labels("fr", names).arm("cis_cheap") == "cis cheap (contrat à impact social)"
    assert Labels("fr", names).arm("rct") == "Essai randomisé"
    assert Labels("en", names).arm("rct") == "Randomised trial"


def test_unknown_language_labels_are_refused() -> None:
    """Labels for a language without a catalogue raise a user error."""
    with pytest.raises(UserInputError, match="unknown language"):
        Labels("de")
