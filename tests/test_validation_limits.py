"""Validation is total and bounded: every value a run could not use is refused up front (exit 2,
one line naming the file and the key), in time that grows linearly with the input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import UserInputError, neutralise, shorten
from sim.experiments.scenario import parse_scenario, scenario_from_dict
from sim.world import territory
from sim.world.territory import DATA_DIR, generate_city

GOOD = """
name = "t"
months = 24
replications = 3
seed = 5

[city.generate]
territories = 4
residents = 2000
seed = 1

[arms.plan]
mechanism = "planned"
budget_eur_per_year = 100000

[arms.cis]
mechanism = "impact_contract"
places = 20
payment_months = [12, 24]
contract_months = 24
"""
HEADER = (
    "territory_id,name,working_age_population,unemployment_rate,long_term_share,"
    "rsa_share,non_french_share,qpv,neighbours\n"
)


def _with_city(source: str) -> str:
    return GOOD.replace(
        "[city.generate]\nterritories = 4\nresidents = 2000\nseed = 1",
        f'[city]\nsource = "{source}"',
    )


def _error(text: str) -> str:
    with pytest.raises(UserInputError) as info:
        parse_scenario(text, source="s.toml")
    message = str(info.value)
    assert message.startswith("s.toml: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('mechanism = "planned"', "mechanism = []", "arms.plan.mechanism: expected one of"),
        ('mechanism = "planned"', "mechanism = {a = 1}", "arms.plan.mechanism: expected one of"),
        (
            "places = 20",
            'places = 20\noperator = "nobody"',
            "arms.cis.operator: expected an association of the city in every replication",
        ),
        (
            "budget_eur_per_year = 100000",
            "budget_eur_per_year = 0",
            "arms.plan.budget_eur_per_year: expected a yearly budget above EUR",
        ),
        (
            "seed = 5",
            "seed = 5\n[params]\nlong_term_months = 0",
            "params.long_term_months: expected a number in [1, 120], got 0",
        ),
        (
            "seed = 5",
            "seed = 5\n[params]\neffect_persistence_months = 1000000000",
            "params.effect_persistence_months: expected a number in [0, 600]",
        ),
        (
            "seed = 5",
            "seed = 5\n[params]\ncross_territory_ties_per_resident = 1e6",
            "params.cross_territory_ties_per_resident: expected a number in [0, 100]",
        ),
        (
            "seed = 5",
            "seed = 5\n[params]\nrsa_eur_per_month = 1e308",
            "params.rsa_eur_per_month: expected a number in [0, 1e+12], got 1e+308",
        ),
        (
            "places = 20",
            "places = 20\neffect_factor = 1.7e308",
            "arms.cis.effect_factor: expected a number in [0, 200]",
        ),
        (
            "places = 20",
            'places = 20\ntarget = { rsa_only = "false" }',
            "arms.cis.target: expected a table of true/false flags, got {'rsa_only': 'false'}",
        ),
        (
            "budget_eur_per_year = 100000",
            'budget_eur_per_year = 100000\nspecialty_shares = { french_course = "1" }',
            "arms.plan.specialty_shares: expected a table of numbers",
        ),
    ],
)
def test_values_every_run_would_fail_on_are_refused(old: str, new: str, message: str) -> None:
    """Each value the fuzzer found accepted by validation but failing every run (or a type
    error traceback) is now one error naming the key."""
    assert old in GOOD
    assert message in _error(GOOD.replace(old, new, 1))


def test_a_one_territory_city_without_the_contracts_specialty_is_refused(tmp_path: Path) -> None:
    """A contract in a city where some replication has no association of its outcome's
    specialty would fail that replication: refused, naming the replication."""
    table = tmp_path / "one.csv"
    table.write_text(HEADER + "A,Alpha,3000,0.1,0.4,0.02,0.1,1,\n")
    data = {
        "name": "one",
        "months": 24,
        "replications": 20,
        "city": {"source": str(table)},
        "arms": {
            "cis": {
                "mechanism": "impact_contract",
                "outcome": "french_a1",
                "payment_months": [12, 24],
                "contract_months": 24,
            }
        },
    }
    with pytest.raises(UserInputError, match=r"arms\.cis\.outcome: .*has no 'french_course'"):
        scenario_from_dict(data, source="s.toml")


def test_a_city_too_large_for_memory_states_the_estimate(tmp_path: Path) -> None:
    """A territory of 10^10 residents is refused; a city whose run needs more memory than the
    machine has is refused with the estimate."""
    table = tmp_path / "huge.csv"
    table.write_text(HEADER + "A,Alpha,10000000000,0.1,0.4,0.02,0.1,1,\n")
    with pytest.raises(UserInputError, match="10,000,000,000 residents; expected at most"):
        parse_scenario(_with_city(str(table)))
    dense = GOOD.replace("seed = 5", "seed = 5\n[params]\nnetwork_degree = 100")
    dense = dense.replace("residents = 2000", "residents = 5000000")
    message = _error(dense.replace("territories = 4", "territories = 40"))
    assert "need about" in message
    assert "per run (this machine has" in message


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (HEADER + "A,Alpha,100,0.1,0.4,0.02,0.1,0," + "x" * 200_000 + "\n", "row 2, field 'line'"),
        (
            HEADER.replace("qpv,", "qpv,unemployment_rate,")
            + "A,Alpha,100,0.1,0.4,0.02,0.1,0,0.5,\n",
            "field 'unemployment_rate': this column appears twice",
        ),
        (HEADER + "A,Alpha,100,0.1,0.4,0.02,0.1," + "z" * 5000 + ",\n", "characters)"),
    ],
    ids=["field-over-csv-limit", "duplicated-column", "long-bad-value"],
)
def test_bad_city_tables_give_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    """A field over the csv module's limit, a duplicated column (the last one used to win) and a
    long bad value: exit 2, one line naming file, row and field, the value shortened."""
    path = tmp_path / "city.csv"
    path.write_text(table)
    scenario = tmp_path / "s.toml"
    scenario.write_text(_with_city(str(path)))
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert len(err) < 400
    assert "Traceback" not in err


def test_file_names_too_long_are_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A city file or scenario file name over 255 characters: exit 2, not OSError."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(_with_city("c" * 300 + ".csv"))
    assert main(["validate", str(scenario)]) == 2
    assert "city.source: expected a built-in city" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / ("s" * 300 + ".toml"))]) == 2
    assert main(["demo", "--city", "d" * 300 + ".csv"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err) < 1000


def test_generated_city_grows_linearly_and_keeps_its_edges() -> None:
    """10,000 territories build in seconds (they exhausted memory); the scalable neighbour
    search gives the same edges as the full distance matrix."""
    for n, seed in ((250, 1), (600, 2)):
        xy = np.random.default_rng(seed).random((n, 2))
        assert territory._nearest_neighbour_edges(xy, 3) == (
            territory._dense_nearest_neighbour_edges(xy, 3)
        )
    started = time.perf_counter()
    city = generate_city(10_000, 5_000_000, seed=1)
    assert time.perf_counter() - started < 20
    assert city.size == 10_000


def test_a_sweep_of_10000_points_validates_in_seconds() -> None:
    """A Latin hypercube of 10,000 points took 38 to 91 s to validate."""
    sweep = (
        '\n[sweep]\nmethod = "latin_hypercube"\nsamples = 10000\n[sweep.ranges]\n'
        '"arms.cis.price_eur_per_outcome" = [1000, 30000]\n'
        '"arms.plan.budget_eur_per_year" = [100000, 2000000]\n'
        '"params.displacement_share" = [0, 0.5]\n'
    )
    started = time.perf_counter()
    scenario = parse_scenario(GOOD + sweep, source="s.toml")
    assert time.perf_counter() - started < 30
    assert scenario.run_count() == 10_000 * 3 * 3


def test_a_grid_too_large_is_refused_without_listing_it() -> None:
    """A grid whose product exceeds the limit is refused at once."""
    values = ", ".join(str(v) for v in range(1, 101))
    sweep = (
        f'\n[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.cis.places" = [{values}]\n'
        f'"arms.cis.price_eur_per_outcome" = [{values}]\n"arms.plan.plan_years" = [{values}]\n'
    )
    started = time.perf_counter()
    assert "sweep: expected at most 100,000 sweep points" in _error(GOOD + sweep)
    assert time.perf_counter() - started < 5


def test_quoted_values_are_shortened_and_terminal_safe() -> None:
    """Errors quote a megabyte value in under a hundred characters; control characters are
    made visible."""
    message = _error(GOOD.replace('name = "t"', f'name = "t"\ndescription = {"1" * 10}'))
    assert len(message) < 200
    big = _error(GOOD.replace('mechanism = "planned"', f'mechanism = "{"p" * 1_000_000}"'))
    assert len(big) < 400
    assert "(1,000,000 characters)" in big
    assert len(shorten(list(range(10**6)))) < 40
    assert neutralise("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert (DATA_DIR / "demo_city.csv").exists()
