"""Uncertainties, designs, sensitivity indices, scenario discovery and adaptive replications."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import UserInputError
from sim.experiments.batch import SerialExecutor, run_batch
from sim.experiments.design import (
    AutoReplications,
    DesignSpec,
    Uncertainty,
    contrast_interval,
    design_points,
    parse_condition,
    parse_outcome,
    point_values,
    stop_decision,
)
from sim.experiments.results import RunResult
from sim.experiments.scenario import TaskSpec, scenario_from_dict
from sim.experiments.store import ResultStore
from sim.experiments.uncertainty import run_adaptive
from sim.reading import sensitivity as sa
from sim.world.rng import replication_seeds

# Ishigami (a = 7, b = 0.1) on [-pi, pi]^3: analytic first-order and total Sobol indices.
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def tiny(**extra: Any) -> dict[str, Any]:
    """A contract on a small generated city: a few seconds for a few dozen runs."""
    data: dict[str, Any] = {
        "name": "tiny",
        "months": 24,
        "replications": 1,
        "seed": 5,
        "city": {"generate": {"territories": 4, "residents": 3000, "seed": 1}},
        "arms": {
            "cis": {
                "mechanism": "impact_contract",
                "outcome": "employment_6_months",
                "places": 60,
                "price_eur_per_outcome": 20_000,
                "threshold_kind": "absolute",
                "threshold_value": 0,
                "payment_months": [24],
                "evaluation": "none",
            }
        },
    }
    data.update(extra)
    return data


def test_replication_seeds_are_a_prefix() -> None:
    """The first 20 seeds of a batch of 40 are those of a batch of 20."""
    assert replication_seeds(2026, 40)[:20] == replication_seeds(2026, 20)


def test_ishigami_sobol_indices_match_the_analytic_ones() -> None:
    """The same glue (design points, per-point outcomes, SALib's analysis) on a toy function."""
    design = DesignSpec(
        uncertainties=tuple(Uncertainty(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)),
        method="sobol",
        samples=1024,
        seed=3,
    )
    x = pd.DataFrame(design_points(design))
    y = np.sin(x.x1) + 7 * np.sin(x.x2) ** 2 + 0.1 * x.x3**4 * np.sin(x.x1)
    metrics = pd.DataFrame(
        {"point": x.index, "replication": 0, "arm": "toy", "status": "done", "y": y.to_numpy()}
    )
    report = sa.analyse(design, x, metrics, ["toy: y"], [], scoring=False)
    indices = report.indices.set_index("uncertainty")
    for i, name in enumerate(("x1", "x2", "x3")):
        row = indices.loc[name]
        assert abs(row.S1 - ISHIGAMI_S1[i]) <= row.S1_conf
        assert abs(row.ST - ISHIGAMI_ST[i]) <= row.ST_conf


def test_uncertainties_take_the_sourced_range_and_reject_mistakes() -> None:
    scenario = scenario_from_dict(
        tiny(
            uncertainties={"displacement_share": "default", "arms.cis.creaming_degree": [0, 0.5]},
            sensitivity={"method": "latin_hypercube", "samples": 3},
        )
    )
    assert scenario.design is not None
    first, second = scenario.design.uncertainties  # in path order
    assert (first.path, first.high) == ("arms.cis.creaming_degree", 0.5)
    assert (second.path, second.low, second.high) == ("params.displacement_share", 0.0, 0.7)
    points = scenario.points()
    assert len(points) == 3
    assert all(0 <= p["params.displacement_share"] <= 0.7 for p in points)
    mistakes = {
        "displacment_share": "did you mean 'displacement_share'",
        "long_term_months": "docs/sources.md gives no range",
    }
    for key, message in mistakes.items():
        with pytest.raises(UserInputError, match=message):
            scenario_from_dict(tiny(uncertainties={key: "default"}))
    with pytest.raises(UserInputError, match="power of 2"):
        scenario_from_dict(
            tiny(
                uncertainties={"displacement_share": "default", "rsa_non_take_up": "default"},
                sensitivity={"method": "sobol", "samples": 6},
            )
        )
    with pytest.raises(UserInputError, match=r"arm 'cis' .* has no parameter"):
        scenario_from_dict(tiny(uncertainties={"arms.cis.nonsense": [0, 1]}))


def test_outcomes_and_paired_ratio_contrasts() -> None:
    rows = []
    for replication in range(4):
        for arm, spend, jobs in (("a", 100.0, 10.0 + replication), ("b", 60.0, 3.0)):
            rows.append(
                {
                    "point": 0,
                    "replication": replication,
                    "arm": arm,
                    "status": "done",
                    "spend": spend,
                    "jobs": jobs,
                }
            )
    metrics = pd.DataFrame(rows)
    outcome = parse_outcome("a - b: spend / jobs")
    assert (outcome.arm, outcome.minus, outcome.numerator, outcome.denominator) == (
        "a",
        "b",
        "spend",
        "jobs",
    )
    value = point_values(metrics, outcome).iloc[0]
    assert value == pytest.approx(100 / 11.5 - 20)
    interval = contrast_interval(metrics, outcome).iloc[0]
    assert interval["estimate"] == pytest.approx(value)
    assert interval["half_width"] > 0
    assert parse_condition("a - b: spend / jobs < 0").holds(np.array([value]))[0]
    with pytest.raises(UserInputError, match="no stored metric 'spent'"):
        point_values(metrics, parse_outcome("a: spent"))


def test_stopping_rule_on_a_known_variance() -> None:
    """Normal draws of standard deviation 2 and a target half-width of 0.5: the rule stops
    near (1.96 x 2 / 0.5)^2, about 62 replications, at the first step where the interval is
    narrow enough."""
    draws = np.random.default_rng(11).normal(1.0, 2.0, size=400)
    auto = AutoReplications(contrast="a: y", half_width=0.5, initial=10, step=5, maximum=400)
    n, reason = auto.initial, ""
    widths: list[float] = []
    while True:
        metrics = pd.DataFrame(
            {"point": 0, "replication": range(n), "arm": "a", "status": "done", "y": draws[:n]}
        )
        width = contrast_interval(metrics, parse_outcome("a: y"))["half_width"].iloc[0]
        widths.append(width)
        stop, reason, following = stop_decision([width], n, auto)
        if stop:
            break
        n = following
    assert reason == "target reached"
    assert widths[-1] <= 0.5 < widths[-2]
    assert 40 <= n <= 90
    capped = AutoReplications(contrast="a: y", half_width=0.01, initial=10, step=5, maximum=20)
    assert stop_decision([1.0], 20, capped) == (True, "maximum reached", 20)
    assert stop_decision([float("nan")], 10, capped) == (False, "", 15)


def test_only_the_uncertainty_that_matters_ranks_first(tmp_path: Path) -> None:
    """Only the contract operator's effect changes the contract's additional jobs (the RSA and
    unemployment insurance amounts are accounting): Morris and Sobol rank it first, and PRIM's
    box for "many additional jobs" restricts it alone."""
    uncertainties = {
        "arms.cis.effect_factor": [0.0, 8.0],
        "rsa_eur_per_month": "default",
        "are_eur_per_month": "default",
    }
    outcome = "cis: true_additional_employment"
    for method, samples in (("morris", 4), ("sobol", 4)):
        data = tiny(
            name=f"tiny_{method}",
            uncertainties=uncertainties,
            sensitivity={"method": method, "samples": samples, "outcomes": [outcome]},
        )
        scenario = scenario_from_dict(data)
        with ResultStore(str(tmp_path / f"{method}.db")) as store:
            summary = run_batch(scenario, store, SerialExecutor(), progress=False)
            runs, metrics = store.runs(summary.batch_id), store.metrics(summary.batch_id)
            text = str(store.batches()["scenario_text"].iloc[0])
        design = sa.design_of(text)
        x = sa.design_table(runs, design)
        values = sa.outcome_table(metrics, [outcome])[outcome]
        middle = float(values.min() + values.max()) / 2
        report = sa.analyse(design, x, metrics, [outcome], [f"{outcome} > {middle}"])
        ranked = sa.ranking(report.indices)
        assert ranked["uncertainty"].iloc[0] == "arms.cis.effect_factor"
        key = "ST" if method == "sobol" else "mu_star"
        assert ranked[key].iloc[1:].abs().max() < 0.05 * ranked[key].iloc[0]
        found = report.discoveries[0]
        # PRIM's first restriction is the effect; with a few dozen points it may add a spurious
        # one (it does not test restrictions for significance), which Morris and Sobol expose.
        assert found.restricted[0] == "arms.cis.effect_factor"
        assert found.coverage >= 0.5
        assert found.density >= 0.8
    experiments, outcomes = sa.to_ema(runs, metrics, design)
    assert len(experiments) == len(x)
    assert set(experiments["policy"]) == {"cis"}
    assert {"scenario", "policy", "model", "arms.cis.effect_factor"} <= set(experiments.columns)
    assert all(len(v) == len(experiments) for v in outcomes.values())
    sa.save_ema((experiments, outcomes), tmp_path / "ema.tar.gz")
    assert (tmp_path / "ema.tar.gz").stat().st_size > 0


class InterruptAfter:
    """A serial executor that is interrupted (Ctrl-C) after some tasks."""

    def __init__(self, tasks: int) -> None:
        self.left = tasks

    def run(self, tasks: Sequence[TaskSpec]) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
        for task, results in SerialExecutor().run(tasks):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            yield task, results

    def shutdown(self) -> None:
        """Nothing to stop."""


def _values(store: ResultStore, batch: int) -> pd.DataFrame:
    metrics = store.metrics(batch).drop(columns=["run_id"])
    return metrics.sort_values("run_key").reset_index(drop=True)


def test_auto_replications_resume_and_equal_a_fixed_batch(tmp_path: Path) -> None:
    auto = {"contrast": "cis: true_additional_employment", "half_width": 0.01}
    data = tiny(replications="auto", auto_replications={**auto, "initial": 2, "step": 2})
    data["auto_replications"]["maximum"] = 6
    scenario = scenario_from_dict(data)
    with ResultStore(str(tmp_path / "auto.db")) as store:
        executors = iter([InterruptAfter(1), SerialExecutor(), SerialExecutor(), SerialExecutor()])
        first = run_adaptive(scenario, store, lambda: next(executors), progress=False)
        assert first.reason == "interrupted"
        second = run_adaptive(scenario, store, SerialExecutor, progress=False)
        assert (second.reason, second.replications) == ("maximum reached", 6)
        assert [n for n, _ in second.rounds] == [2, 4, 6]
        batch = store.batches().iloc[0]
        assert (batch["replications"], batch["planned_runs"]) == (6, 12)
        adaptive = _values(store, second.last.batch_id)
    fixed = scenario_from_dict(tiny(replications=6))
    with ResultStore(str(tmp_path / "fixed.db")) as store:
        summary = run_batch(fixed, store, SerialExecutor(), progress=False)
        pd.testing.assert_frame_equal(adaptive, _values(store, summary.batch_id))
    generous = tiny(replications="auto", auto_replications={**auto, "half_width": 1e9})
    with ResultStore(str(tmp_path / "target.db")) as store:
        done = run_adaptive(scenario_from_dict(generous), store, SerialExecutor, progress=False)
        assert (done.reason, done.replications) == ("target reached", 10)


CLI_SCENARIO = """
name = "tiny_cli"
months = 24
replications = 1
seed = 5

[city.generate]
territories = 4
residents = 3000
seed = 1

[arms.cis]
mechanism = "impact_contract"
outcome = "employment_6_months"
places = 60
price_eur_per_outcome = 20_000
threshold_kind = "absolute"
threshold_value = 0
payment_months = [24]
evaluation = "none"

[uncertainties]
"arms.cis.effect_factor" = [0.0, 8.0]
displacement_share = "default"

[sensitivity]
method = "morris"
samples = 2
outcomes = ["cis: true_additional_employment"]
discover = ["cis: true_additional_employment > 2"]
"""


def test_cli_sensitivity_writes_tables_and_figures_in_french(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "tiny_cli.toml"
    scenario.write_text(CLI_SCENARIO, encoding="utf-8")
    db, out = tmp_path / "tiny.db", tmp_path / "out"
    args = ["sensitivity", str(scenario), "--db", str(db), "--executor", "serial"]
    args += ["--no-progress", "--lang", "fr", "--out", str(out)]
    args += ["--ema", str(tmp_path / "ema.tar.gz")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Classement pour « cis: true_additional_employment »" in printed
    assert (out / "indices.csv").exists()
    assert (out / "morris_1_fr.png").exists()
    assert (out / "sensitivity_fr.md").exists()
    assert (tmp_path / "ema.tar.gz").exists()
    # A second call resumes the stored batch: nothing runs again.
    assert main([*args[:-2], "--lang", "en"]) == 0
    assert "0 run(s) now, 12 already stored" in capsys.readouterr().out
