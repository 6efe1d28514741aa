"""The command line: help with examples, readable summaries, errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`sim --help` lists an example command."""
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "sim try-city" in capsys.readouterr().out


def test_try_city_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """`sim try-city` (alias `sim demo`) runs the demo city and prints its unemployment rate
    and public cost."""
    assert main(["try-city", "--months", "6"]) == 0
    out = capsys.readouterr().out
    assert "30,000 working-age residents" in out
    assert "Unemployment rate" in out
    assert "Public cost" in out


def test_bad_city_table_is_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken city table gives exit code 2 and one message naming file, row and field."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "territory_id,name,working_age_population,unemployment_rate,long_term_share,"
        "rsa_share,non_french_share,qpv,neighbours\nA,Alpha,100,0.1,0.4,0.02,1.7,0,\n"
    )
    assert main(["demo", "--city", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: bad.csv, row 2, field 'non_french_share': expected a share in [0, 1], got 1.7"
    )
    assert "Traceback" not in err
