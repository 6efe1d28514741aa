"""The dashboard's computations, without a browser: re-settling stored contracts, the per-need
comparison, figures with values on hover (here and in a worker process), read-only opening
(SQLite files, and PostgreSQL sessions without a server), the command line."""

from __future__ import annotations

import json
import re
import sqlite3
import types
from functools import partial
from pathlib import Path

import pytest
from helpers import three_arm_scenario
from sqlalchemy import create_engine

import sim
from sim.dashboard import contracts as dc
from sim.dashboard import readonly, views
from sim.dashboard.drawing import FigureWorker, draw_figure
from sim.dashboard.server import is_loopback
from sim.dashboard.texts import TEXTS, Texts
from sim.funding.settlement import ContractTerms, EvaluatedPeriod, settle


@pytest.fixture(scope="module")
def batch_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small three-arm batch whose description holds markup."""
    db = str(tmp_path_factory.mktemp("dash") / "dash.db")
    sim.run_scenario(three_arm_scenario("dash", "<b>bold</b> & <script>x()</script>"), db=db)
    return db


def test_resettle_on_stored_terms_gives_the_stored_settlement(batch_db: str) -> None:
    data = views.load(batch_db, None)
    stored = dc.stored_contracts(data.runs, data.metrics)
    assert len(stored) == 2
    for one in stored:
        again = dc.resettle(one.contract, dc.TermsOverrides())
        assert again.to_dict() == one.contract["settlement"]
        assert dc.payer_npv_eur(one, again) == pytest.approx(one.npv_eur)


def test_resettle_equals_settle_on_the_same_terms(batch_db: str) -> None:
    data = views.load(batch_db, None)
    one = dc.stored_contracts(data.runs, data.metrics)[0]
    record = one.contract
    overrides = dc.TermsOverrides(
        price_eur_per_outcome=9_000.0,
        threshold_value=3.0,
        payment_cap_ratio=0.8,
        max_return_per_year=0.04,
    )
    terms = ContractTerms(
        price_eur_per_outcome=9_000.0,
        payment_cap_eur=0.8 * record["capital_eur"],
        max_return_per_year=0.04,
        threshold_kind=record["terms"]["threshold_kind"],
        threshold_value=3.0,
        payment_months=tuple(record["terms"]["payment_months"]),
        contract_months=record["terms"]["contract_months"],
    )
    periods = [
        EvaluatedPeriod(p["month"], p["validated_outcomes"], p["counterfactual_outcomes"])
        for p in record["periods"]
    ]
    expected = settle(terms, periods, [tuple(d) for d in record["drawdowns"]])
    assert dc.resettle(record, overrides) == expected
    # A higher price never lowers what the payer pays.
    dearer = dc.resettle(record, dc.TermsOverrides(price_eur_per_outcome=90_000.0))
    cheaper = dc.resettle(record, dc.TermsOverrides(price_eur_per_outcome=1_000.0))
    assert dearer.total_paid_eur >= cheaper.total_paid_eur


def test_placeholders_refuse_what_the_settlement_cannot_do_yet(batch_db: str) -> None:
    data = views.load(batch_db, None)
    record = dc.stored_contracts(data.runs, data.metrics)[0].contract
    with pytest.raises(NotImplementedError):
        dc.resettle(record, dc.TermsOverrides(guarantee_share=0.2))
    with pytest.raises(NotImplementedError):
        dc.resettle(record, dc.TermsOverrides(payer_shares={"city": 0.5, "state": 0.5}))
    assert dc.resettle(record, dc.TermsOverrides(payer_shares={record["payer"]: 1.0}))


def test_summary_and_feasible_region(batch_db: str) -> None:
    data = views.load(batch_db, None)
    stored = dc.stored_contracts(data.runs, data.metrics)
    summary = dc.settle_replications(stored, dc.TermsOverrides(price_eur_per_outcome=0.0))
    assert summary.replications == 2
    assert summary.probability_investor_loses == 1.0  # paid nothing: the investor loses
    assert summary.share_payer_below_direct == 1.0
    region = dc.feasible_region(
        stored,
        dc.TermsOverrides(),
        prices=(0.0, 50_000.0),
        thresholds=(0.0, 5.0),
        target_return_per_year=0.0,
    )
    assert region.payer_ok.shape == (2, 2)
    assert (region.investor_ok[:, 0] == 0.0).all()  # price 0: never repaid


def test_comparison_per_need_escapes_and_translates(batch_db: str) -> None:
    data = views.load(batch_db, None)
    arms, rows = views.comparison_rows(data, 0, Texts("fr"))
    assert "contrat à impact social" in arms
    headings = [label for label, heading, _ in rows if heading]
    assert headings[:3] == [
        "Emplois tenus 6 mois",
        "Niveau A1 de français atteint",
        "Droits au RSA ouverts",
    ]
    table = views.table_html(["<i>x</i>", *arms], rows)
    assert "<i>" not in table
    assert "&lt;i&gt;" in table


def test_each_need_has_its_own_rows(batch_db: str) -> None:
    """The per-need metrics share a label: each sits under its need's heading, never in a list
    of look-alike rows under "All needs"."""
    data = views.load(batch_db, None)
    _arms, rows = views.comparison_rows(data, 0, Texts("en"))
    groups: dict[str, list[str]] = {}
    for label, heading, _cells in rows:
        if heading:
            current = groups.setdefault(label, [])
        else:
            current.append(label)
    deadweight = Texts("en").labels.metric("deadweight_share_of_counted_employment")
    assert deadweight in groups["Jobs held 6 months"]
    assert all(len(labels) == len(set(labels)) for labels in groups.values())
    assert deadweight not in groups["All needs"]
    assert "participants" in groups["All needs"]


def test_contract_numbers_are_one_escaped_block(batch_db: str) -> None:
    data = views.load(batch_db, None)
    stored = dc.stored_contracts(data.runs, data.metrics)
    summary = dc.settle_replications(stored, dc.TermsOverrides(price_eur_per_outcome=0.0))
    block = views.contract_numbers_html(summary, Texts("fr"), 0.8, 12.0)
    assert 'class="sim-npv-exact"' in block
    assert "VAN du payeur" in block
    assert "réglé en 12 ms" in block
    assert "Règle de Bordeaux" in block
    assert "sim-ok" in block  # paid nothing: cheaper than the service
    assert "<script" not in block


def test_batches_are_named_in_the_page_language(batch_db: str) -> None:
    (_batch, name, status), *_ = views.batch_choices(batch_db)
    assert (name, status) == ("dash", "finished")
    assert Texts("fr").labels.status(status) != status


def test_a_worker_process_draws_the_contract_figures(batch_db: str) -> None:
    """The Contract page's figures are drawn in another process, and come back as the same
    inline SVG with values on hover."""
    data = views.load(batch_db, None)
    region = dc.feasible_region(
        dc.stored_contracts(data.runs, data.metrics),
        dc.TermsOverrides(),
        prices=(0.0, 50_000.0),
        thresholds=(0.0, 5.0),
        target_return_per_year=0.02,
    )
    texts = Texts("fr")
    build = partial(views.region_figure, region, texts, 0.8, 0.02, (25_000.0, 2.0))
    worker = FigureWorker()
    try:
        drawn = worker.draw(build, "region", texts)
    finally:
        worker.close()
    assert drawn.ok
    assert drawn.classes == "region sim-figure-fr"
    assert drawn.html.startswith("<svg")
    hover = re.findall(r"<title>(.*?)</title>", drawn.html)
    assert hover == ["25\u202f000 : 2,00"]  # the star of the current terms
    # The same as drawn here (ids inside the SVG are drawn at random in each process).
    assert hover == re.findall(r"<title>(.*?)</title>", draw_figure(build, "region", texts).html)


# ---------------------------------------------------------------------------- read-only
class _FakeCursor:
    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    def execute(self, sql: str) -> None:
        self.sent.append(sql)

    def close(self) -> None:
        pass


class _FakeConnection:
    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    def cursor(self) -> _FakeCursor:
        return _FakeCursor(self.sent)

    def commit(self) -> None:
        self.sent.append("COMMIT")


def _fake_postgresql_driver(sent: list[str]) -> types.SimpleNamespace:
    """A DBAPI module standing for a PostgreSQL driver: it records what a connection is sent."""
    return types.SimpleNamespace(
        connect=lambda *args, **kwargs: _FakeConnection(sent),
        paramstyle="format",
        apilevel="2.0",
        threadsafety=1,
        Error=Exception,
        __version__="1.31.0",
    )


def test_postgresql_sessions_of_the_dashboard_are_read_only() -> None:
    """Without a PostgreSQL server: an engine made after ``forbid_writes`` connects through
    ``connect_read_only``, which makes the session read-only before anything else is sent."""
    sent: list[str] = []
    readonly.forbid_writes()
    readonly.forbid_writes()  # once only
    try:
        engine = create_engine(
            "postgresql+pg8000://reader@db.example/sim", module=_fake_postgresql_driver(sent)
        )
        hooks = list(engine.dialect.dispatch.do_connect)
        assert hooks.count(readonly.connect_read_only) == 1
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        # What SQLAlchemy does for each new connection of the pool.
        connection = hooks[0](engine.dialect, None, list(cargs), dict(cparams))
        assert isinstance(connection, _FakeConnection)
        assert sent == [readonly.READ_ONLY_SESSION, "COMMIT"]
    finally:
        readonly.allow_writes()
    assert readonly.connect_read_only not in list(engine.dialect.dispatch.do_connect)


def test_sqlite_is_left_to_the_store(batch_db: str) -> None:
    sqlite = create_engine("sqlite://")
    assert readonly.connect_read_only(sqlite.dialect, None, [], {}) is None
    readonly.forbid_writes()
    try:
        assert not views.load(batch_db, None).metrics.empty  # opened read-only by the store
    finally:
        readonly.allow_writes()


def test_every_text_has_both_languages() -> None:
    assert all(len(pair) == 2 and all(pair) for pair in TEXTS.values())
    assert Texts("fr").t("nav.contract") == "Contrat"


@pytest.mark.parametrize("key", list(views.REPORT_FIGURES))
def test_report_figures_render_as_svg_with_hover_values(batch_db: str, key: str) -> None:
    data = views.load(batch_db, None)
    texts = Texts("en")
    try:
        fig = views.REPORT_FIGURES[key](data, texts, 0)
    except views.figures.NoDataError:
        pytest.skip(f"{key}: no data in the small batch")
    svg = views.inline_svg(views.figure_svg(fig, texts))
    assert svg.startswith("<svg")
    if key in ("validated", "cost", "reach", "investor"):
        assert "<title>" in svg
    assert views.figure_png(fig).startswith(b"\x89PNG")


def test_reading_a_database_never_writes(batch_db: str, tmp_path: Path) -> None:
    """The dashboard reads a results file without changing a byte of it."""
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(batch_db).read_bytes())
    before = copy.read_bytes()
    data = views.load(str(copy), None)
    assert not data.metrics.empty
    assert copy.read_bytes() == before
    connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError):
        connection.execute("CREATE TABLE x (y)")
    connection.close()


def test_sweep_figure(tmp_path: Path) -> None:
    scenario = three_arm_scenario("dash_sweep", "sweep")
    scenario["arms"] = {"impact_contract": scenario["arms"]["impact_contract"]}
    scenario["replications"] = 1
    scenario["months"] = 24
    scenario["sweep"] = {
        "method": "grid",
        "grid": {"arms.impact_contract.price_eur_per_outcome": [5_000, 20_000]},
    }
    db = str(tmp_path / "sweep.db")
    sim.run_scenario(scenario, db=db)
    data = views.load(db, None)
    assert views.swept_parameters(data) == ["arms.impact_contract.price_eur_per_outcome"]
    fig = views.sweep_figure(
        data, Texts("en"), "arms.impact_contract.price_eur_per_outcome", "contract_payments_eur"
    )
    assert "<title>" in views.figure_svg(fig, Texts("en"))


def test_live_city_twin_matches_until_the_programme_acts() -> None:
    from sim.dashboard.city import LiveCity

    live = LiveCity("impact_contract", months=6)
    live.step()
    assert live.month == 1
    assert live.twin.month == 1
    # Same seed: month 0 is identical in both runs.
    assert (live.model.territory_unemployment[0] == live.twin.territory_unemployment[0]).all()
    fig = live.figure(Texts("fr"), "enrolment")
    assert "Mois 1 sur 6" in fig.get_suptitle()
    # The scale of the map reads like its labels: percentages, French separators.
    fig = live.figure(Texts("fr"), "unemployment")
    scale = next(ax for ax in fig.axes if ax.get_label() == "<colorbar>")
    assert scale.yaxis.get_major_formatter()(0.125, 0) == "12\u202f%"


def test_loopback() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "localhost", "::1"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "192.168.1.5"))


def test_cli_refuses_a_missing_database(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    assert main(["dashboard", "no/such.db", "--port", "8765"]) == 2
    assert "no such results database" in capsys.readouterr().err


def test_stored_contract_json_round_trip(batch_db: str) -> None:
    data = views.load(batch_db, None)
    row = data.runs[data.runs["mechanism"] == "impact_contract"].iloc[0]
    assert json.loads(row["contract"])["terms"]["price_eur_per_outcome"] > 0
