"""Scenario files: strict validation with clear messages, and expansion into runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import UserInputError
from sim.experiments.scenario import parse_scenario, scenario_from_dict

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))

GOOD = """
name = "t"
months = 12
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
payment_months = [6, 12]
contract_months = 12
"""


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_are_valid(path: Path) -> None:
    """Every scenario shipped in scenarios/ validates."""
    assert main(["validate", str(path)]) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("months = 12", 'months = "twelve"'), "s.toml: months: expected a whole number"),
        (("months = 12", "months = 0"), "months: expected a whole number in [1, 600], got 0"),
        (("seed = 5", "sead = 5"), "sead: unknown key (did you mean 'seed'?)"),
        (('mechanism = "planned"', 'mechanism = "planed"'), "(did you mean 'planned'?)"),
        (
            ("budget_eur_per_year = 100000", "budget = 1"),
            "arms.plan.budget: unknown key (did you mean 'budget_eur_per_year'?)",
        ),
        (
            ("budget_eur_per_year = 100000", "budget_eur_per_year = -1"),
            "arms.plan.budget_eur_per_year: expected a number in [0, inf], got -1",
        ),
        (
            ("budget_eur_per_year = 100000", 'budget_eur_per_year = "lots"'),
            "arms.plan.budget_eur_per_year: expected a number, got 'lots'",
        ),
        (("places = 20", "places = 2.5"), "arms.cis.places: expected a whole number, got 2.5"),
        (
            ("places = 20", 'evaluation = "matched"'),
            "arms.cis.evaluation: expected one of none, historical_baseline, comparison_group, "
            "rct, got 'matched'",
        ),
        (("[arms.plan]", "[arms.plan"), "invalid TOML"),
        (("seed = 1\n", "seed = 1\nwidth = 3\n"), "city.generate.width: unknown key"),
        (
            ("[city.generate]", '[city]\nsource = "demo"\n[city.generate]'),
            "city: expected exactly one of 'source'",
        ),
        (
            ("seed = 5", "seed = 5\n[params]\ndisplacement_share = 1.5"),
            "params.displacement_share: expected a value in [0, 1], got 1.5",
        ),
        (
            ("seed = 5", "seed = 5\n[params]\ndisplacment_share = 0.1"),
            "(did you mean 'displacement_share'?)",
        ),
    ],
)
def test_bad_files_name_file_key_expected_and_got(change: tuple[str, str], message: str) -> None:
    """Each mistake is one error naming the file, the key path, what was expected and found."""
    old, new = change
    assert old in GOOD
    with pytest.raises(UserInputError) as info:
        parse_scenario(GOOD.replace(old, new, 1), source="s.toml")
    assert str(info.value).startswith("s.toml: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ('[sweep]\nmethod = "random"', "sweep.method: expected grid or latin_hypercube"),
        (
            '[sweep]\nmethod = "grid"\n[sweep.grid]\n"params.nope" = [1]',
            "sweep.grid.\"params.nope\": unknown model parameter 'nope'",
        ),
        (
            '[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.x.places" = [1]',
            "sweep.grid.\"arms.x.places\": unknown arm 'x'; arms: plan, cis",
        ),
        (
            '[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.cis.place" = [1]',
            "arm 'cis' (impact_contract) has no parameter 'place' (did you mean 'places'?)",
        ),
        (
            '[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.cis.places" = []',
            "expected a non-empty list",
        ),
        (
            '[sweep]\nmethod = "latin_hypercube"\n[sweep.ranges]\n"params.displacement_share" '
            "= [0.5, 0.1]",
            "[low, high] with low < high",
        ),
        (
            '[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.cis.places" = [10, -4]',
            "arms.cis.places (at sweep point {'arms.cis.places': -4}): expected a whole number",
        ),
    ],
)
def test_bad_sweeps_are_reported(sweep: str, message: str) -> None:
    """Sweep paths, methods, ranges and swept values are checked like the rest of the file."""
    with pytest.raises(UserInputError) as info:
        parse_scenario(GOOD + "\n" + sweep, source="s.toml")
    assert message in str(info.value)


def test_cli_validate_reports_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sim validate` on a bad file exits with 2 and prints one error line."""
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('"planned"', '"planed"'))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: arms.plan.mechanism")
    assert "\n" not in err
    assert "Traceback" not in err


def test_expansion_pairs_every_arm_with_its_twin() -> None:
    """Points x replications x (arms + twin) runs, each stored once; a replication's runs share
    its seed at every sweep point (common random numbers), seeds differ between replications;
    points that only change arm parameters share one twin simulation."""
    text = GOOD + '\n[sweep]\nmethod = "grid"\n[sweep.grid]\n"arms.cis.places" = [10, 20]\n'
    scenario = parse_scenario(text, source="s.toml")
    tasks = scenario.expand()
    keys = [k for t in tasks for k in t.keys]
    assert scenario.run_count() == 2 * 3 * 3
    assert sorted(keys) == sorted(set(keys))
    assert len(keys) == scenario.run_count()
    assert len(tasks) == 3, "one twin simulation per replication serves both points"
    for task in tasks:
        assert {a.seed for a in task.arms} == {task.twin.seed}
        assert {t.point for t in task.twin_records} == {0, 1}
    assert len({t.twin.seed for t in tasks}) == 3
    cis = {a.point: a for t in tasks for a in t.arms if a.arm == "cis"}
    assert [cis[p].mechanism_params["places"] for p in (0, 1)] == [10, 20]


def test_model_parameter_sweeps_get_their_own_twins() -> None:
    """A sweep over a model parameter changes the status quo: each point has its own twin."""
    text = GOOD + (
        '\n[sweep]\nmethod = "grid"\n[sweep.grid]\n"params.displacement_share" = [0.0, 0.5]\n'
    )
    tasks = parse_scenario(text, source="s.toml").expand()
    assert len(tasks) == 2 * 3
    shares = {t.twin.model_params["displacement_share"] for t in tasks}
    assert shares == {0.0, 0.5}


def test_expansion_skips_runs_already_done() -> None:
    """Finished runs are left out; a task whose twin is done still recomputes it for its arms
    but does not store it again."""
    scenario = parse_scenario(GOOD, source="s.toml")
    done = {"p000-r000-status_quo", "p000-r000-plan", "p000-r000-cis", "p000-r001-status_quo"}
    tasks = scenario.expand(done)
    keys = [k for t in tasks for k in t.keys]
    assert not set(keys) & done
    assert len(keys) == scenario.run_count() - len(done)
    second = next(t for t in tasks if t.replication == 1)
    assert second.twin_records == ()
    assert second.twin.key == "p000-r001-status_quo", "simulated for its arms, not stored"
    assert len(second.arms) == 2


def test_latin_hypercube_is_seeded_and_stratified() -> None:
    """A Latin hypercube puts exactly one of n points in each of n equal bins per dimension,
    within the ranges, and the same seed gives the same points."""
    sweep = (
        '\n[sweep]\nmethod = "latin_hypercube"\nsamples = 8\nseed = 3\n[sweep.ranges]\n'
        '"params.displacement_share" = [0.0, 0.8]\n'
        '"arms.cis.price_eur_per_outcome" = [5000, 25000]\n'
    )
    a = parse_scenario(GOOD + sweep, source="s.toml").points()
    b = parse_scenario(GOOD + sweep, source="s.toml").points()
    assert a == b
    shares = np.array([p["params.displacement_share"] for p in a])
    prices = np.array([p["arms.cis.price_eur_per_outcome"] for p in a])
    assert sorted(np.floor(shares / 0.1).astype(int)) == list(range(8))
    assert sorted(np.floor((prices - 5000) / 2500).astype(int)) == list(range(8))


def test_dict_and_toml_give_the_same_runs() -> None:
    """A scenario built in Python expands like the same scenario written in TOML."""
    from_toml = parse_scenario(GOOD, source="s.toml")
    from_dict = scenario_from_dict(
        {
            "name": "t",
            "months": 12,
            "replications": 3,
            "seed": 5,
            "city": {"generate": {"territories": 4, "residents": 2000, "seed": 1}},
            "arms": {
                "plan": {"mechanism": "planned", "budget_eur_per_year": 100000},
                "cis": {
                    "mechanism": "impact_contract",
                    "places": 20,
                    "payment_months": [6, 12],
                    "contract_months": 12,
                },
            },
        }
    )
    assert [t.twin for t in from_toml.expand()] == [t.twin for t in from_dict.expand()]
    assert [t.arms for t in from_toml.expand()] == [t.arms for t in from_dict.expand()]
