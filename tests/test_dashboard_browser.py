"""The workshop page in a real browser (Chromium driven by Playwright): each page opens, the
language switches, a contract slider re-settles every replication, the live city steps and plays.

The server starts once per session (``sim dashboard`` on a free port in a subprocess). Without
Playwright or Chromium the tests are skipped, saying why. Screenshots of every page in both
languages go to the temporary folder (``sim-dashboard-screenshots``), never into the project.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import three_arm_scenario

import sim
from sim.dashboard.contracts import stored_contracts
from sim.dashboard.server import free_port
from sim.dashboard.views import load
from sim.funding.discounting import npv_eur
from sim.funding.settlement import ContractTerms, EvaluatedPeriod, settle

CHROMIUM = os.environ.get("SIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESCRIPTION = "Workshop <b>batch</b> & <script>alert(1)</script>"
SHOTS = Path(tempfile.gettempdir()) / "sim-dashboard-screenshots"
TIMEOUT_MS = 60_000


def _browser_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: Playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(
            f"browser tests skipped: no Chromium at {CHROMIUM} "
            "(apt-get install chromium, or set SIM_CHROMIUM)"
        )
    return sync_playwright


@pytest.fixture(scope="session")
def dashboard_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("dashboard") / "workshop.db")
    scenario = three_arm_scenario("workshop", DESCRIPTION)
    scenario["replications"] = 3
    scenario["city"] = {"generate": {"territories": 6, "residents": 6000, "seed": 2}}
    sim.run_scenario(scenario, db=db)
    return db


@pytest.fixture(scope="session")
def server(dashboard_db: str) -> Iterator[str]:
    """``sim dashboard`` on a free port, until the session ends."""
    _browser_or_skip()
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115  (open for the whole session)
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "dashboard", dashboard_db, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the dashboard did not start:\n{log.read().decode()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()


def _open(page: Any, server: str, path: str) -> None:
    page.goto(server + path)
    page.wait_for_selector(".sim-page")


def _shot(page: Any, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_pages_open_in_both_languages(page: Any, server: str) -> None:
    _open(page, server, "/")
    page.wait_for_selector(".sim-comparison table")
    assert "Jobs held 6 months" in page.inner_text(".sim-comparison")
    # The batch's description is shown as text, its markup escaped.
    assert page.inner_text(".sim-description") == DESCRIPTION
    assert page.locator(".sim-description b, .sim-description script").count() == 0
    page.wait_for_selector(".sim-figure-outcomes svg")
    page.click(".sim-next-figure")
    page.wait_for_selector(".sim-figure-validated svg")
    assert page.locator(".sim-figure svg title").count() > 0  # values on hover
    _shot(page, "compare_en")
    page.click(".sim-lang-fr")
    page.wait_for_selector("text=Emplois tenus 6 mois")
    page.wait_for_selector(".sim-figure-validated.sim-figure-fr svg")
    assert "COMPARER" in page.inner_text(".sim-bar").upper()
    _shot(page, "compare_fr")
    for name, french, english in (
        ("contract", "VAN du payeur", "Payer's NPV"),
        ("city", "jumeau statu quo", "status-quo twin"),
    ):
        page.click(f".sim-nav-{name}")
        page.wait_for_selector(f".sim-{name}")
        page.wait_for_selector(f"text={french}")
        page.wait_for_selector(".sim-figure.sim-figure-fr svg")
        _shot(page, f"{name}_fr")
        page.click(".sim-lang-en")
        page.wait_for_selector(f"text={english}")
        page.wait_for_selector(".sim-figure.sim-figure-en svg")
        assert french not in page.inner_text(f".sim-{name}")
        _shot(page, f"{name}_en")
        page.click(".sim-lang-fr")
        page.wait_for_selector(f"text={french}")
    page.click(".sim-present-switch")
    page.wait_for_selector(".sim-present")
    _shot(page, "city_fr_presentation")


def _euros(text: str) -> float:
    """An amount shown in English (``€12,300`` or ``(-1,641,763 €)``) as a number."""
    digits = re.sub(r"[^0-9.\-]", "", text)
    return float(digits)


def _expected_payer_npv(db: str, price: float, threshold: float) -> float:
    """The payer's mean NPV over the contract's replications with ``price`` and ``threshold``,
    from ``settle``."""
    data = load(db, None)
    values = []
    for stored in stored_contracts(data.runs, data.metrics):
        record = stored.contract
        terms = dict(record["terms"], payment_months=tuple(record["terms"]["payment_months"]))
        terms["price_eur_per_outcome"] = price
        terms["threshold_value"] = threshold
        terms["payment_cap_eur"] = (
            round(
                float(
                    np.mean(
                        [
                            s.contract["terms"]["payment_cap_eur"] / s.contract["capital_eur"]
                            for s in stored_contracts(data.runs, data.metrics)
                        ]
                    )
                ),
                2,
            )
            * record["capital_eur"]
        )
        periods = [
            EvaluatedPeriod(p["month"], p["validated_outcomes"], p["counterfactual_outcomes"])
            for p in record["periods"]
        ]
        new = settle(ContractTerms(**terms), periods, [tuple(d) for d in record["drawdowns"]])

        def present(payments: Any, rate: float = stored.discount_rate_per_year) -> float:
            flows = np.zeros(max([int(m) for m, _ in payments], default=0) + 1)
            for month, amount in payments:
                flows[int(month)] += amount
            return npv_eur(flows, rate)

        values.append(
            stored.npv_eur + present(record["settlement"]["payments"]) - present(new.payments)
        )
    return float(np.mean(values))


#: In the page: the time of each key pressed on the price slider, of the first change of the
#: payer's NPV shown after it, and of the next frame drawn (what the issue measures: from the
#: change to the NPV on screen, without Playwright's own round trips).
TIME_MOVES_IN_PAGE = """() => {
  const thumb = document.querySelector('.sim-slider-price [role=slider]');
  const npv = () => document.querySelector('.sim-npv-exact');
  window.simMoves = [];
  thumb.addEventListener('keydown', () => window.simMoves.push({start: performance.now()}), true);
  let last = npv().innerText;
  new MutationObserver(() => {
    const now = npv() && npv().innerText;
    if (!now || now === last) return;
    last = now;
    const move = window.simMoves[window.simMoves.length - 1];
    if (move && move.shown === undefined) {
      move.shown = performance.now();
      requestAnimationFrame(() => { move.drawn = performance.now(); });
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

SLIDER_MOVES = 8


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "max_ms": round(max(values), 1),
        "all_ms": [round(v) for v in values],
    }


def test_contract_slider_resettles_live(page: Any, server: str, dashboard_db: str) -> None:
    _open(page, server, "/contract")
    page.wait_for_selector(".sim-npv-exact")
    # Threshold 0 first: with the stored threshold the small batch pays nothing, and the NPV
    # would not move with the price.
    threshold = page.locator(".sim-slider-threshold [role=slider]")
    threshold.focus()
    threshold.press("Home")
    page.wait_for_function(
        "() => document.querySelector('.sim-value-threshold').innerText === '0.0'"
    )
    thumb = page.locator(".sim-slider-price [role=slider]")
    thumb.focus()
    page.evaluate(TIME_MOVES_IN_PAGE)
    timings = []
    for _ in range(SLIDER_MOVES):
        price_before = page.inner_text(".sim-value-price")
        npv_before = page.inner_text(".sim-npv-exact")
        started = time.perf_counter()
        thumb.press("ArrowRight")
        # The measure is the NPV shown for the new price (not the slider's own label).
        page.wait_for_function(
            "([price, npv]) => document.querySelector('.sim-value-price').innerText !== price"
            " && document.querySelector('.sim-npv-exact').innerText !== npv",
            arg=[price_before, npv_before],
        )
        timings.append((time.perf_counter() - started) * 1000.0)
    page.wait_for_timeout(300)
    in_page = page.evaluate(
        "() => window.simMoves.map(m => [m.shown - m.start, m.drawn - m.start])"
    )
    price = _euros(page.inner_text(".sim-value-price"))
    shown = _euros(page.inner_text(".sim-npv-exact"))
    expected = _expected_payer_npv(dashboard_db, price, 0.0)
    assert math.isclose(shown, expected, abs_tol=1.0), (shown, expected, price)
    report = {
        "moves": SLIDER_MOVES,
        "key_to_npv_shown_in_page": _spread([shown_ms for shown_ms, _ in in_page]),
        "key_to_npv_drawn_in_page": _spread([drawn_ms for _, drawn_ms in in_page]),
        "press_to_npv_seen_by_playwright": _spread(timings),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "slider_response.json").write_text(json.dumps(report, indent=1))
    print(f"\nslider response: {json.dumps(report)}")
    # The target is 300 ms (reported above); the ceiling asserted is looser, so that a
    # machine loaded by other work does not fail the test.
    assert statistics.median(timings) < 1000.0
    # The feasible region is drawn on demand.
    page.click(".sim-region-switch")
    page.wait_for_selector(".sim-figure-feasible_region svg", timeout=TIMEOUT_MS)
    _shot(page, "contract_region_en")


def _figure_fits_the_window(page: Any) -> None:
    """The shown figure is whole in the window, under the bar, and fills most of its height."""
    box = page.evaluate(
        "() => { const r = document.querySelector('.sim-figure svg').getBoundingClientRect();"
        " const bar = document.querySelector('.sim-bar').getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, height: r.height, bar: bar.bottom,"
        " window: innerHeight}; }"
    )
    assert box["top"] >= box["bar"] - 1, box
    assert box["bottom"] <= box["window"] + 1, box
    assert box["height"] >= 0.55 * box["window"], box


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_presentation_shows_one_figure_per_screen(page: Any, server: str, lang: str) -> None:
    _open(page, server, "/")
    page.click(f".sim-lang-{lang}")
    page.wait_for_selector(f".sim-figure-outcomes.sim-figure-{lang} svg")
    page.click(".sim-present-switch")
    page.wait_for_selector(".sim-present")
    assert not page.is_visible(".sim-comparison")  # the table is for the normal mode
    _figure_fits_the_window(page)
    _shot(page, f"compare_{lang}_presentation", full_page=False)
    page.keyboard.press("ArrowRight")  # arrows turn the figures
    page.wait_for_selector(".sim-figure-validated svg")
    _figure_fits_the_window(page)
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(".sim-figure-outcomes svg")
    page.click(".sim-nav-contract")
    page.wait_for_selector(".sim-npv-exact")
    _shot(page, f"contract_{lang}_presentation", full_page=False)
    # The figure has its own screen below the terms and the numbers.
    page.wait_for_selector(f".sim-figure-investor_returns.sim-figure-{lang} svg")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("PageDown")  # the window snaps to the next screen
    page.wait_for_timeout(800)
    _figure_fits_the_window(page)
    _shot(page, f"contract_{lang}_presentation_figure", full_page=False)
    page.click(".sim-region-switch")
    page.wait_for_selector(f".sim-figure-feasible_region.sim-figure-{lang} svg")
    _figure_fits_the_window(page)
    _shot(page, f"contract_{lang}_presentation_region", full_page=False)
    page.click(".sim-nav-city")
    page.wait_for_selector(f".sim-figure-city.sim-figure-{lang} svg")
    _figure_fits_the_window(page)
    _shot(page, f"city_{lang}_presentation", full_page=False)


def test_live_city_steps_and_plays(page: Any, server: str) -> None:
    _open(page, server, "/city")
    page.wait_for_selector("text=Month 0 of 48")
    page.click(".sim-step")
    page.wait_for_selector("text=Month 1 of 48")
    page.click(".sim-play")
    page.wait_for_function(
        "() => /Month ([3-9]|[1-4][0-9]) of 48/"
        ".test(document.querySelector('.sim-month').innerText)"
    )
    page.click(".sim-play")  # pause
    month = page.inner_text(".sim-month")
    page.wait_for_timeout(1200)
    assert page.inner_text(".sim-month") == month
    assert "minus twin" in page.inner_text(".sim-difference")
