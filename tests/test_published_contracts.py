"""The library of published contracts: settling each contract's published outcome under its
terms finds the published payments and investors' result within the precision of the sources."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sim.funding.contract_library import (
    PublishedContract,
    check_results,
    load_contract,
    load_library,
    settle_contract,
)
from sim.funding.settlement import EvaluatedPeriod

FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "contracts"
FILES = sorted(FOLDER.glob("*.toml"))


def test_the_library_holds_the_eight_contracts_and_a_french_cis() -> None:
    contracts = load_library(FOLDER)
    assert len(contracts) == 8
    assert any(c.country == "FR" for c in contracts)
    published = [c.key for c in contracts if c.outcome_published]
    assert set(published) >= {"peterborough", "rikers_able", "utah_preschool", "educate_girls_dib"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_settling_the_published_outcome_finds_the_published_figures(path: Path) -> None:
    contract = load_contract(path)
    failed = [
        f"{check.figure}: published {check.published!r}, settled {value!r}"
        for check, value, ok in check_results(contract)
        if not ok
    ]
    assert failed == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_file_keeps_its_sources_and_what_it_assumed(path: Path) -> None:
    contract = load_contract(path)
    ids = {source["id"] for source in contract.sources}
    assert contract.sources
    assert contract.assumed
    assert contract.description_fr
    for check in contract.checks:
        assert check.source, f"check {check.figure!r} names no source"
        for source in check.source.split(", "):
            assert source in ids, f"check {check.figure!r} cites unknown source {source!r}"
    for assumed in contract.assumed:
        assert {"term", "value", "why"} <= set(assumed)


def _with_period(contract: PublishedContract, **metrics: float) -> PublishedContract:
    period = contract.periods[-1]
    return replace(contract, periods=(EvaluatedPeriod(period.month, metrics=metrics),))


def test_cravate_premium_only_if_the_result_indicator_is_met() -> None:
    """+2.9 points: capital back, no premium; half the people supported: a quarter of the
    capital less (the assumed proportional rule)."""
    cravate = load_contract(FOLDER / "cravate_solidaire.toml")
    missed = _with_period(
        cravate,
        people_supported=900,
        volunteers_trained_on_discrimination=140,
        return_to_work_pp=2.9,
    )
    assert settle_contract(missed).total_paid_eur == pytest.approx(450_000.0)
    half = _with_period(
        cravate,
        people_supported=450,
        volunteers_trained_on_discrimination=140,
        return_to_work_pp=3.0,
    )
    assert settle_contract(half).total_paid_eur == pytest.approx(0.75 * 450_000 + 15_000)


def test_rikers_tier_amounts_that_were_published() -> None:
    """10 % breaks even ($9.6m), 20 % pays the maximum ($11.712m); below 8.5 % nothing."""
    rikers = load_contract(FOLDER / "rikers_able.toml")
    for reduction, expected in ((0.10, 9_600_000.0), (0.20, 11_712_000.0), (0.08, 0.0)):
        outcome = replace(rikers, periods=(EvaluatedPeriod(36, 100 * reduction, 100.0),))
        assert settle_contract(outcome).total_paid_eur == pytest.approx(expected)
