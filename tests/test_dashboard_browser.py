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


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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


def _expected_payer_npv(db: str, price: float) -> float:
    """The payer's mean NPV over the contract's replications with ``price``, from ``settle``."""
    data = load(db, None)
    values = []
    for stored in stored_contracts(data.runs, data.metrics):
        record = stored.contract
        terms = dict(record["terms"], payment_months=tuple(record["terms"]["payment_months"]))
        terms["price_eur_per_outcome"] = price
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


def test_contract_slider_resettles_live(page: Any, server: str, dashboard_db: str) -> None:
    _open(page, server, "/contract")
    page.wait_for_selector(".sim-npv-exact")
    thumb = page.locator(".sim-slider-price [role=slider]")
    thumb.focus()
    timings = []
    for _ in range(5):
        before = page.inner_text(".sim-value-price")
        started = time.perf_counter()
        thumb.press("ArrowRight")
        page.wait_for_function(
            "before => document.querySelector('.sim-value-price').innerText !== before", arg=before
        )
        timings.append((time.perf_counter() - started) * 1000.0)
    page.wait_for_timeout(200)
    price = _euros(page.inner_text(".sim-value-price"))
    shown = _euros(page.inner_text(".sim-npv-exact"))
    expected = _expected_payer_npv(dashboard_db, price)
    assert math.isclose(shown, expected, abs_tol=1.0), (shown, expected, price)
    SHOTS.mkdir(exist_ok=True)
    report = {"slider_ms": timings, "median_ms": statistics.median(timings)}
    (SHOTS / "slider_response.json").write_text(json.dumps(report))
    print(f"\nslider response (ms): {[round(t) for t in timings]}")
    assert statistics.median(timings) < 1000.0
    # The feasible region is drawn on demand.
    page.click(".sim-region-switch")
    page.wait_for_selector(".sim-figure-feasible_region svg", timeout=TIMEOUT_MS)
    _shot(page, "contract_region_en")


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
