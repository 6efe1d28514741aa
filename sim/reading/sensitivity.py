"""Which assumptions decide the answer: sensitivity indices, scenario discovery, EMA export.

From a batch's stored frames only (its runs, their metrics and the scenario text): the design is
read back from the stored ``[uncertainties]`` and ``[sensitivity]`` tables, each point's values
from the runs' ``point_values``, each outcome from the metrics (``sim.experiments.design``).

- **Indices** (SALib): Morris screening (mu*, its interval, sigma) on a Morris design; first-order
  and total Sobol indices with their intervals on a Sobol (Saltelli) design. Each point's outcome
  is its mean over the replications; the replication noise left in those means counts as
  variance no uncertainty explains (indices then sum to less than one).
- **Scenario discovery** (EMA Workbench's PRIM): the region of the uncertainties where a
  condition holds ("the contract beats the planned programme", "the investor loses"), as a box
  with its coverage (share of the points where it holds that fall in the box) and density (share
  of the box's points where it holds), and the peeling trajectory; **feature scoring** (EMA's
  extra trees) ranks the uncertainties for each outcome, on any design.
- **Export** to EMA's ``(experiments, outcomes)`` pair, to go on in EMA Workbench.

The two libraries are imported here only, behind small wrappers, with their warnings silenced:
their APIs move between versions (PRIM lost its ``threshold`` argument in EMA 3).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import tomllib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.errors import UserInputError
from sim.experiments.design import (
    DesignSpec,
    parse_condition,
    parse_design,
    parse_outcome,
    parse_uncertainties,
    point_values,
)

TWIN = "status_quo"
#: Coverage the PRIM box keeps at least (the densest box on the trajectory with this coverage).
MIN_COVERAGE = 0.5

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "sobol_title": "Sobol indices: share of the variance of '{outcome}' due to each assumption",
        "morris_title": "Morris screening of '{outcome}': mean absolute effect (mu*) and spread",
        "first": "first order (S1)",
        "total": "total (ST, with interactions)",
        "index": "index (95 % interval)",
        "mu_star": "mu* (mean absolute elementary effect)",
        "sigma": "sigma (spread: non-linearity or interactions)",
        "prim_title": "Where '{condition}' holds: PRIM's peeling trajectory",
        "coverage": "coverage",
        "density": "density",
        "chosen": "chosen box",
        "box_title": "PRIM box for '{condition}' (grey: the range; colour: the box)",
        "scores_title": "Feature scores (extra trees): which assumption drives each outcome",
        "uncertainty": "uncertainty",
        "outcome": "outcome",
        "method": "method",
        "points": "points",
        "replications": "replications per point",
        "no_box": "the condition holds at {k} of {n} points: no box to find",
        "restricted": "restricted",
        "low": "low",
        "high": "high",
        "range_low": "range low",
        "range_high": "range high",
        "summary_title": "Sensitivity of batch {batch} ('{name}')",
        "ranking": "Ranking for '{outcome}'",
        "box_line": (
            "'{condition}' holds at {k} of {n} points; the box {limits} holds {coverage:.0%} of "
            "them (coverage) and it holds at {density:.0%} of the box's points (density)"
        ),
        "everywhere": "the whole range",
        "in": "in",
        "to": "to",
        "undefined": (
            "'{outcome}' is undefined at {k} of {n} points (a ratio whose denominator's mean is "
            "not positive there): no index for it; PRIM counts those points as not holding"
        ),
    },
    "fr": {
        "sobol_title": (
            "Indices de Sobol : part de la variance de « {outcome} » due à chaque hypothèse"
        ),
        "morris_title": (
            "Criblage de Morris de « {outcome} » : effet absolu moyen (mu*) et dispersion"
        ),
        "first": "premier ordre (S1)",
        "total": "total (ST, interactions comprises)",
        "index": "indice (intervalle à 95 %)",
        "mu_star": "mu* (effet élémentaire absolu moyen)",
        "sigma": "sigma (dispersion : non-linéarité ou interactions)",
        "prim_title": "Où « {condition} » est vrai : trajectoire d'épluchage de PRIM",
        "coverage": "couverture",
        "density": "densité",
        "chosen": "boîte retenue",
        "box_title": "Boîte PRIM pour « {condition} » (gris : la plage ; couleur : la boîte)",
        "scores_title": (
            "Scores des variables (extra trees) : quelle hypothèse pèse sur chaque résultat"
        ),
        "uncertainty": "incertitude",
        "outcome": "résultat",
        "method": "méthode",
        "points": "points",
        "replications": "réplications par point",
        "no_box": "la condition est vraie en {k} points sur {n} : pas de boîte à trouver",
        "restricted": "restreinte",
        "low": "bas",
        "high": "haut",
        "range_low": "plage basse",
        "range_high": "plage haute",
        "summary_title": "Sensibilité du lot {batch} (« {name} »)",
        "ranking": "Classement pour « {outcome} »",
        "box_line": (
            "« {condition} » est vrai en {k} points sur {n} ; la boîte {limits} en contient "
            "{coverage:.0%} (couverture) et la condition y est vraie en {density:.0%} des points "
            "(densité)"
        ),
        "everywhere": "toute la plage",
        "in": "dans",
        "to": "à",
        "undefined": (
            "« {outcome} » n'est pas défini en {k} points sur {n} (un rapport dont le "
            "dénominateur moyen n'y est pas positif) : pas d'indice ; PRIM compte ces points "
            "comme faux"
        ),
    },
}

INDEX_COLUMNS = ["outcome", "uncertainty", "S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["outcome", "uncertainty", "mu", "mu_star", "mu_star_conf", "sigma"]


def texts(lang: str) -> dict[str, str]:
    """The labels of one language."""
    if lang not in TEXTS:
        raise UserInputError(f"--lang: expected one of {', '.join(TEXTS)}, got '{lang}'")
    return TEXTS[lang]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the libraries' warnings and log lines (optional back-ends, defaults)."""
    logger = logging.getLogger("EMA")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


# ---------------------------------------------------------------------------- the design
def design_of(scenario_text: str, source: str = "<stored scenario>") -> DesignSpec:
    """The design of a stored scenario (its ``[uncertainties]`` and ``[sensitivity]``): the
    TOML text of a scenario file, or the JSON dump of a scenario given as a dictionary."""
    try:
        data = tomllib.loads(scenario_text)
    except tomllib.TOMLDecodeError:
        data = json.loads(scenario_text)
    if "uncertainties" not in data:
        raise UserInputError(
            f"{source}: the batch has no [uncertainties]: nothing to analyse "
            "(add [uncertainties] and [sensitivity] to the scenario)"
        )
    arms = data.get("arms") or {}
    mechanisms = {
        str(name): str(arm.get("mechanism", name))
        for name, arm in arms.items()
        if isinstance(arm, Mapping)
    }
    uncertainties = parse_uncertainties(data["uncertainties"], mechanisms, source)
    return parse_design(data.get("sensitivity"), uncertainties, source)


def design_table(runs: pd.DataFrame, design: DesignSpec) -> pd.DataFrame:
    """The uncertainties' values at each point (index: point; columns: their paths), from the
    stored runs, checked against the design."""
    firsts = runs.drop_duplicates("point").set_index("point").sort_index()
    rows = [json.loads(v) for v in firsts["point_values"]]
    paths = [u.path for u in design.uncertainties]
    table = pd.DataFrame(rows, index=firsts.index, columns=paths).astype(float)
    expected = design.point_count()
    if len(table) != expected:
        raise UserInputError(
            f"the batch has {len(table)} design point(s) with runs, its design {expected}: "
            "finish the batch first (run the same command again)"
        )
    if not np.allclose(table.to_numpy(), design.matrix(), rtol=1e-9, atol=0.0):
        raise UserInputError(
            "the batch's stored points differ from its design's (drawn by another version of "
            "SALib or of sim?): run the scenario again into a new database"
        )
    return table


def outcome_table(metrics: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """Each outcome at each point (index: point)."""
    columns = {text: point_values(metrics, parse_outcome(text)) for text in outcomes}
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------- indices
def sobol_indices(design: DesignSpec, outcomes: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices with their 95 % intervals (SALib, bootstrap)."""
    from SALib.analyze import sobol

    problem = design.problem()
    rows = []
    for name in outcomes.columns:
        y = outcomes[name].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            rows += [
                {
                    "outcome": name,
                    "uncertainty": u,
                    "S1": math.nan,
                    "S1_conf": math.nan,
                    "ST": math.nan,
                    "ST_conf": math.nan,
                }
                for u in problem["names"]
            ]
            continue
        with _quiet():
            result = sobol.analyze(
                problem,
                y,
                calc_second_order=design.second_order,
                seed=seed,
                print_to_console=False,
            )
        rows += _index_rows(name, problem["names"], result, ("S1", "S1_conf", "ST", "ST_conf"))
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _index_rows(
    outcome: str, names: list[str], result: Any, keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One row per uncertainty of a SALib result: the outcome, the uncertainty, its indices."""
    return [
        {"outcome": outcome, "uncertainty": u, **{k: float(result[k][i]) for k in keys}}
        for i, u in enumerate(names)
    ]


def morris_indices(
    design: DesignSpec, x: pd.DataFrame, outcomes: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """Morris screening: mu, mu* with its 95 % interval, sigma (SALib)."""
    from SALib.analyze import morris

    problem = design.problem()
    problem = {k: v for k, v in problem.items() if k != "dists"}
    rows = []
    for name in outcomes.columns:
        y = outcomes[name].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            continue
        with _quiet():
            result = morris.analyze(
                problem,
                x.to_numpy(dtype=float),
                y,
                num_levels=design.levels,
                seed=seed,
                print_to_console=False,
            )
        keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        rows += _index_rows(name, problem["names"], result, keys)
    return pd.DataFrame(rows, columns=MORRIS_COLUMNS)


def ranking(indices: pd.DataFrame) -> pd.DataFrame:
    """Uncertainties ranked per outcome: by total Sobol index, or by Morris mu*."""
    key = "ST" if "ST" in indices.columns else "mu_star"
    return (
        indices.sort_values(["outcome", key], ascending=[True, False])
        .assign(rank=lambda f: f.groupby("outcome").cumcount() + 1)
        .reset_index(drop=True)
    )


def feature_scores(x: pd.DataFrame, outcomes: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """EMA Workbench's extra-trees feature scores: rows uncertainties, columns outcomes."""
    with _quiet():  # EMA warns at import about its optional back-ends
        from ema_workbench.analysis import feature_scoring

    keep = [c for c in outcomes.columns if np.all(np.isfinite(outcomes[c].to_numpy(float)))]
    if not keep or len(x) < 4:
        return pd.DataFrame(index=x.columns)
    columns = {}
    for name in keep:
        with _quiet():
            scores = feature_scoring.get_ex_feature_scores(
                x.reset_index(drop=True),
                outcomes[name].to_numpy(dtype=float),
                mode=feature_scoring.RuleInductionType.REGRESSION,
                random_state=seed,
            )[0]
        columns[name] = scores.iloc[:, 0] if isinstance(scores, pd.DataFrame) else scores
    return pd.DataFrame(columns).reindex(x.columns)


# ---------------------------------------------------------------------------- discovery
@dataclass
class Discovery:
    """PRIM's answer to one condition."""

    condition: str
    points: int
    holds: int
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)
    box: pd.DataFrame = field(default_factory=pd.DataFrame)
    chosen: int = -1

    @property
    def coverage(self) -> float:
        """Share of the points where the condition holds that lie in the box."""
        return (
            float(self.trajectory["coverage"].iloc[self.chosen]) if self.chosen >= 0 else math.nan
        )

    @property
    def density(self) -> float:
        """Share of the box's points where the condition holds."""
        return float(self.trajectory["density"].iloc[self.chosen]) if self.chosen >= 0 else math.nan

    @property
    def restricted(self) -> list[str]:
        """The uncertainties the box restricts."""
        return [] if self.box.empty else list(self.box.index[self.box["restricted"]])


def discover(
    x: pd.DataFrame, holds: np.ndarray, condition: str, min_coverage: float = MIN_COVERAGE
) -> Discovery:
    """PRIM on the design's points: the densest box of the peeling trajectory that keeps at
    least ``min_coverage`` of the points where the condition holds."""
    with _quiet():
        from ema_workbench.analysis import prim

    y = np.asarray(holds, dtype=bool)
    found = Discovery(condition, len(y), int(y.sum()))
    if found.holds in (0, len(y)):
        return found
    frame = x.reset_index(drop=True).astype(float)
    with _quiet():
        algorithm = prim.Prim(frame, y, peel_alpha=0.1, mass_min=0.05)
        box = algorithm.find_box()
    if box is None:
        return found
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    eligible = trajectory[trajectory["coverage"] >= min_coverage]
    chosen = int(eligible.sort_values(["density", "coverage"], ascending=False).index[0])
    limits = box.box_lims[chosen]
    initial = algorithm.box_init
    rows = []
    for u in frame.columns:
        low, high = float(limits[u].iloc[0]), float(limits[u].iloc[1])
        range_low, range_high = float(initial[u].iloc[0]), float(initial[u].iloc[1])
        rows.append(
            {
                "uncertainty": u,
                "low": low,
                "high": high,
                "range_low": range_low,
                "range_high": range_high,
                "restricted": bool(low > range_low or high < range_high),
            }
        )
    found.trajectory = trajectory[["coverage", "density", "mass", "res_dim"]].astype(float)
    found.box = pd.DataFrame(rows).set_index("uncertainty")
    found.chosen = chosen
    return found


def discoveries(
    x: pd.DataFrame, metrics: pd.DataFrame, conditions: Sequence[str]
) -> list[Discovery]:
    """PRIM for each condition."""
    result = []
    for text in conditions:
        condition = parse_condition(text)
        values = point_values(metrics, condition.outcome).reindex(x.index)
        result.append(discover(x, condition.holds(values.to_numpy(dtype=float)), condition.text))
    return result


# ---------------------------------------------------------------------------- EMA export
def to_ema(
    runs: pd.DataFrame, metrics: pd.DataFrame, design: DesignSpec
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The batch as EMA Workbench's ``(experiments, outcomes)``: one experiment per design point
    and arm (the arm is EMA's policy, the point its scenario), each stored metric's mean over the
    replications as an outcome."""
    x = design_table(runs, design)
    done = metrics[(metrics["status"] == "done") & (metrics["arm"] != TWIN)]
    identity = {"run_id", "run_key", "point", "replication", "arm", "mechanism", "seed", "status"}
    names = [c for c in done.columns if c not in identity]
    means = done.groupby(["point", "arm"])[names].mean().reset_index()
    experiments = x.reset_index().merge(means[["point", "arm"]], on="point")
    experiments = experiments.rename(columns={"point": "scenario", "arm": "policy"})
    experiments["model"] = "sim"
    experiments["scenario"] = experiments["scenario"].astype(int)
    ordered = means.set_index(["point", "arm"]).loc[
        list(zip(experiments["scenario"], experiments["policy"], strict=True))
    ]
    outcomes = {name: ordered[name].to_numpy(dtype=float) for name in names}
    return experiments, outcomes


def save_ema(results: tuple[pd.DataFrame, dict[str, np.ndarray]], path: Path) -> None:
    """Save ``(experiments, outcomes)`` in EMA Workbench's archive (``load_results`` reads it)."""
    with _quiet():
        from ema_workbench import ScalarOutcome, save_results

    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        for name in results[1]:
            ScalarOutcome(name)  # EMA saves only outcomes it knows (declaring one registers it)
        save_results(results, str(path))


# ---------------------------------------------------------------------------- figures
def _short(name: str) -> str:
    return name.removeprefix("params.").removeprefix("arms.")


def sobol_figure(indices: pd.DataFrame, outcome: str, lang: str) -> Figure:
    """S1 and ST per uncertainty with their intervals, largest ST first."""
    t = texts(lang)
    rows = indices[indices["outcome"] == outcome].sort_values("ST", ascending=True)
    fig = Figure(figsize=(8, 0.5 * len(rows) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y + 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label=t["first"], color="#4e79a7")
    ax.barh(y - 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label=t["total"], color="#e15759")
    ax.set_yticks(y, [_short(u) for u in rows["uncertainty"]])
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel(t["index"])
    ax.legend(loc="lower right")
    fig.suptitle(t["sobol_title"].format(outcome=outcome), fontsize=10, wrap=True)
    return fig


def morris_figure(indices: pd.DataFrame, outcome: str, lang: str) -> Figure:
    """mu* (with its interval) against sigma, one labelled point per uncertainty."""
    t = texts(lang)
    rows = indices[indices["outcome"] == outcome]
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o")
    # Uncertainties at the same point share one label; labels of nearby points are stacked
    # downwards from the highest, so that none covers another.
    groups: dict[tuple[float, float], list[str]] = {}
    for row in rows.itertuples():
        key = (round(float(row.mu_star), 12), round(float(row.sigma), 12))
        groups.setdefault(key, []).append(_short(str(row.uncertainty)))
    height = float(rows["sigma"].max() or 1.0)
    width = float((rows["mu_star"] + rows["mu_star_conf"].fillna(0)).max() or 1.0)
    placed: list[tuple[float, float]] = []
    for (x, y), names in sorted(groups.items(), key=lambda item: -item[0][1]):
        offset = 4.0
        for px, py in placed:
            if abs(px - x) < 0.25 * width and abs(py - y) < 0.06 * height:
                offset -= 11.0
        placed.append((x, y))
        ax.annotate(
            ", ".join(names),
            (x, y),
            fontsize=8,
            xytext=(4, offset),
            textcoords="offset points",
        )
    ax.set_xlabel(t["mu_star"])
    ax.set_ylabel(t["sigma"])
    fig.suptitle(t["morris_title"].format(outcome=outcome), fontsize=10, wrap=True)
    return fig


def prim_figure(found: Discovery, lang: str) -> Figure:
    """The peeling trajectory (coverage against density) and the chosen box's limits."""
    t = texts(lang)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    traj = found.trajectory
    points = left.scatter(traj["coverage"], traj["density"], c=traj["res_dim"], cmap="viridis")
    left.scatter(
        [found.coverage],
        [found.density],
        s=160,
        facecolors="none",
        edgecolors="red",
        label=t["chosen"],
    )
    fig.colorbar(points, ax=left, label="res_dim")
    left.set_xlabel(t["coverage"])
    left.set_ylabel(t["density"])
    left.legend(loc="lower left")
    box = found.box
    y = np.arange(len(box))
    span = (box["range_high"] - box["range_low"]).replace(0, 1)
    low = (box["low"] - box["range_low"]) / span
    high = (box["high"] - box["range_low"]) / span
    right.barh(y, np.ones(len(box)), color="#dddddd")
    right.barh(y, high - low, left=low, color=np.where(box["restricted"], "#e15759", "#4e79a7"))
    for i, row in enumerate(box.itertuples()):
        right.annotate(
            f"{row.low:.3g} {t['to']} {row.high:.3g}",
            (0.5, i),
            ha="center",
            va="center",
            fontsize=8,
        )
    right.set_yticks(y, [_short(str(u)) for u in box.index])
    right.set_xlim(0, 1)
    right.set_xticks([0, 1], [t["range_low"], t["range_high"]])
    fig.suptitle(t["prim_title"].format(condition=found.condition), fontsize=10, wrap=True)
    return fig


# ---------------------------------------------------------------------------- the report
@dataclass
class SensitivityReport:
    """Everything ``sim sensitivity`` reports on one batch."""

    batch: int
    name: str
    design: DesignSpec
    replications: int
    x: pd.DataFrame
    outcomes: pd.DataFrame
    indices: pd.DataFrame
    scores: pd.DataFrame
    discoveries: list[Discovery]


def analyse(
    design: DesignSpec,
    x: pd.DataFrame,
    metrics: pd.DataFrame,
    outcomes: Sequence[str],
    conditions: Sequence[str],
    batch: int = 0,
    name: str = "",
    scoring: bool = True,
) -> SensitivityReport:
    """Indices, feature scores and PRIM boxes of a design's results (any frames: a batch's or a
    toy function's evaluated through the same glue); ``scoring=False`` skips feature scoring
    (extra trees take seconds on thousands of points)."""
    if not outcomes:
        raise UserInputError("no outcome to analyse: give --outcome or [sensitivity] outcomes")
    metrics = metrics.reset_index(drop=True)
    y = outcome_table(metrics, outcomes).reindex(x.index)
    if design.method == "sobol":
        indices = sobol_indices(design, y, seed=design.seed)
    elif design.method == "morris":
        indices = morris_indices(design, x, y, seed=design.seed)
    else:
        indices = pd.DataFrame(columns=INDEX_COLUMNS)
    done = metrics[metrics["status"] == "done"] if "status" in metrics else metrics
    replications = int(done.groupby("point")["replication"].nunique().min()) if len(done) else 0
    return SensitivityReport(
        batch=batch,
        name=name,
        design=design,
        replications=replications,
        x=x,
        outcomes=y,
        indices=indices,
        scores=feature_scores(x, y, seed=design.seed) if scoring else pd.DataFrame(),
        discoveries=discoveries(x, metrics, conditions),
    )


def default_outcomes(metrics: pd.DataFrame) -> list[str]:
    """Without named outcomes: each arm's true additional employment."""
    arms = [a for a in dict.fromkeys(metrics["arm"]) if a != TWIN]
    metric = (
        "true_additional_employment"
        if "true_additional_employment" in metrics.columns
        else "true_additional_outcomes"
    )
    return [f"{arm}: {metric}" for arm in arms]


def summary_text(report: SensitivityReport, lang: str) -> str:
    """The report's findings as text (Markdown), in one language."""
    t = texts(lang)
    lines = [
        f"# {t['summary_title'].format(batch=report.batch, name=report.name)}",
        "",
        f"{t['method']}: {report.design.method}; {t['points']}: {len(report.x)}; "
        f"{t['replications']}: {report.replications}",
        "",
    ]
    for outcome in report.outcomes.columns:
        values = report.outcomes[outcome].to_numpy(dtype=float)
        undefined = int((~np.isfinite(values)).sum())
        if undefined:
            lines += [t["undefined"].format(outcome=outcome, k=undefined, n=len(values)), ""]
    if not report.indices.empty:
        ranked = ranking(report.indices)
        for outcome, rows in ranked.groupby("outcome", sort=False):
            lines += [f"## {t['ranking'].format(outcome=outcome)}", ""]
            shown = rows.drop(columns=["outcome"]).copy()
            shown["uncertainty"] = shown["uncertainty"].map(_short)
            lines += [_markdown(shown), ""]
    if not report.scores.empty and len(report.scores.columns):
        lines += [f"## {t['scores_title']}", ""]
        scores = report.scores.copy()
        scores.index = [_short(u) for u in scores.index]
        lines += [_markdown(scores.reset_index(names=t["uncertainty"])), ""]
    for found in report.discoveries:
        lines += [f"## PRIM: {found.condition}", ""]
        if found.chosen < 0:
            lines += [t["no_box"].format(k=found.holds, n=found.points), ""]
            continue
        box = found.box[found.box["restricted"]]
        limits = (
            ", ".join(
                f"{_short(str(u))} {t['in']} [{r.low:.3g}, {r.high:.3g}]" for u, r in box.iterrows()
            )
            or t["everywhere"]
        )
        lines += [
            t["box_line"].format(
                condition=found.condition,
                k=found.holds,
                n=found.points,
                limits=limits,
                coverage=found.coverage,
                density=found.density,
            ),
            "",
        ]
    return "\n".join(lines)


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_report(report: SensitivityReport, out: Path, lang: str) -> list[Path]:
    """Tables (CSV), figures (PNG and SVG) and the summary (Markdown) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {
        "indices.csv": report.indices,
        "design_outcomes.csv": report.x.join(report.outcomes),
        "feature_scores.csv": report.scores,
    }
    for name, frame in tables.items():
        frame.to_csv(out / name, index=name != "indices.csv")
        written.append(out / name)
    for i, found in enumerate(report.discoveries):
        if not found.box.empty:
            found.box.assign(coverage=found.coverage, density=found.density).to_csv(
                out / f"prim_box_{i + 1}.csv"
            )
            written.append(out / f"prim_box_{i + 1}.csv")
    figures: dict[str, Figure] = {}
    for j, outcome in enumerate(report.outcomes.columns):
        rows = report.indices[report.indices["outcome"] == outcome] if len(report.indices) else []
        if len(rows) == 0:
            continue
        if report.design.method == "sobol":
            figures[f"sobol_{j + 1}_{lang}"] = sobol_figure(report.indices, outcome, lang)
        else:
            figures[f"morris_{j + 1}_{lang}"] = morris_figure(report.indices, outcome, lang)
    for i, found in enumerate(report.discoveries):
        if found.chosen >= 0:
            figures[f"prim_{i + 1}_{lang}"] = prim_figure(found, lang)
    for name, fig in figures.items():
        for suffix in (".png", ".svg"):
            fig.savefig(out / f"{name}{suffix}", dpi=100)
        written.append(out / f"{name}.png")
    summary = out / f"sensitivity_{lang}.md"
    summary.write_text(summary_text(report, lang) + "\n", encoding="utf-8")
    written.append(summary)
    return written
