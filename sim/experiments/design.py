"""Uncertainties apart from the policy levers, their designs, outcomes and paired contrasts.

A scenario's arms are its levers (ways of funding and their terms). What the user is unsure of
(effect sizes, displacement, take-up, costs, the operator's creaming) goes in ``[uncertainties]``:
a range per parameter, or ``"default"`` for the range given in ``docs/sources.md``. A
``[sensitivity]`` table says how to sample them (SALib's Morris trajectories, Saltelli's Sobol
design, or a Latin hypercube); each sample is a sweep point over those parameters, so every point
keeps the common random numbers of its replications.

Outcomes are named, never assumed: ``"impact_contract: npv_eur"`` is an arm's metric (already a
paired difference with its status-quo twin), ``"impact_contract - planned: public_spending_eur /
true_additional_employment"`` the contrast of two arms on a ratio of means (spending per
additional job). A condition (``"... > 0"``) turns an outcome into the yes/no question PRIM's
scenario discovery answers.

This module reads only plain data (dictionaries, data frames): the reading layer uses it too.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import UserInputError, did_you_mean
from sim.world.params import ModelParams
from sim.world.sources import SOURCES

DESIGN_METHODS = ("morris", "sobol", "latin_hypercube")
DISTRIBUTIONS = ("uniform", "triangular")
SENSITIVITY_KEYS = (
    "method",
    "samples",
    "seed",
    "levels",
    "second_order",
    "outcomes",
    "discover",
)
AUTO_KEYS = ("contrast", "half_width", "initial", "step", "maximum", "level")
UNCERTAINTY_KEYS = ("low", "high", "distribution", "mode")
MODEL_PARAM_NAMES = tuple(f.name for f in dataclasses.fields(ModelParams))


@dataclass(frozen=True)
class SourcedRange:
    """A range from the table of sources (``sim.world.sources``): its row and its tag ([S],
    [C], [E])."""

    low: float
    high: float
    row: str
    tag: str


#: Mechanisms' class names in ``sim.world.sources`` and their registry names.
_MECHANISM_NAMES = {"ImpactContract": "impact_contract", "CallForProjects": "call_for_projects"}


def _sourced_ranges() -> dict[str, SourcedRange]:
    """The ranges of ``sim.world.sources`` (the table ``docs/sources.md`` describes) for the
    parameters a scenario can set, by dotted path: ``params.<field>`` for model parameters,
    ``<mechanism>.<parameter>`` for arms."""
    # Whole-number parameters (months, degrees) are levers of the model's structure, not
    # uncertainties a continuous design samples.
    defaults = ModelParams()
    fields = {f for f in MODEL_PARAM_NAMES if not isinstance(getattr(defaults, f), int)}
    ranges: dict[str, SourcedRange] = {}
    for row in SOURCES:
        if row.low is None or row.high is None or row.high <= row.low:
            continue
        if isinstance(row.value, int) and not isinstance(row.value, bool):
            continue
        owner, _, name = row.parameter.rpartition(".")
        if not owner and name in fields:
            path = f"params.{name}"
        elif owner in _MECHANISM_NAMES:
            path = f"{_MECHANISM_NAMES[owner]}.{name}"
        else:
            continue
        ranges[path] = SourcedRange(float(row.low), float(row.high), row.parameter, row.tag)
    return ranges


#: The sourced ranges by dotted path (``[uncertainties] x = "default"`` takes them).
SOURCED_RANGES: dict[str, SourcedRange] = _sourced_ranges()


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain parameter: its dotted path, its range and distribution.

    ``mode`` is the peak of a triangular distribution (in the parameter's units).
    """

    path: str
    low: float
    high: float
    distribution: str = "uniform"
    mode: float | None = None
    source: str = ""

    @property
    def name(self) -> str:
        """The short name (the last part of the path), unique in a design."""
        return self.path.split(".")[-1] if self.path.startswith("params.") else self.path


@dataclass(frozen=True)
class DesignSpec:
    """How the uncertainties are sampled (SALib) and which outcomes are analysed."""

    uncertainties: tuple[Uncertainty, ...]
    method: str = "sobol"
    samples: int = 8
    seed: int = 0
    levels: int = 4
    second_order: bool = False
    outcomes: tuple[str, ...] = ()
    discover: tuple[str, ...] = ()

    def problem(self) -> dict[str, Any]:
        """SALib's problem dictionary (names, bounds, distributions)."""
        bounds: list[list[float]] = []
        dists: list[str] = []
        for u in self.uncertainties:
            if u.distribution == "triangular":
                peak = 0.5 if u.mode is None else (u.mode - u.low) / (u.high - u.low)
                bounds.append([u.low, u.high, peak])
                dists.append("triang")
            else:
                bounds.append([u.low, u.high])
                dists.append("unif")
        return {
            "num_vars": len(self.uncertainties),
            "names": [u.path for u in self.uncertainties],
            "bounds": bounds,
            "dists": dists,
        }

    def matrix(self) -> np.ndarray:
        """The design's sample, one row per point (SALib's order, which its analyses expect)."""
        problem = self.problem()
        with warnings.catch_warnings():
            # SALib warns about its own defaults (sample sizes, deprecated arguments).
            warnings.simplefilter("ignore")
            if self.method == "sobol":
                from SALib.sample import sobol

                return np.asarray(
                    sobol.sample(
                        problem, self.samples, calc_second_order=self.second_order, seed=self.seed
                    )
                )
            if self.method == "morris":
                from SALib.sample import morris

                return np.asarray(
                    morris.sample(problem, self.samples, num_levels=self.levels, seed=self.seed)
                )
            from SALib.sample import latin

            return np.asarray(latin.sample(problem, self.samples, seed=self.seed))

    def points(self) -> list[dict[str, float]]:
        """The design's points: dotted path -> value."""
        paths = [u.path for u in self.uncertainties]
        return [{p: float(v) for p, v in zip(paths, row, strict=True)} for row in self.matrix()]

    def point_count(self) -> int:
        """Points in the design without drawing it."""
        d = len(self.uncertainties)
        if self.method == "sobol":
            return self.samples * (2 * d + 2 if self.second_order else d + 2)
        if self.method == "morris":
            return self.samples * (d + 1)
        return self.samples


@dataclass(frozen=True)
class AutoReplications:
    """``replications = "auto"``: add replications until the primary contrast's interval is
    narrow enough, or a maximum is reached."""

    contrast: str
    half_width: float
    initial: int = 10
    step: int = 10
    maximum: int = 100
    level: float = 0.95


# ---------------------------------------------------------------------------- parsing
def parse_uncertainties(
    table: Any, arm_mechanisms: Mapping[str, str], source: str
) -> tuple[Uncertainty, ...]:
    """``[uncertainties]``: each key a model parameter (``displacement_share``), or a dotted
    path (``"params.displacement_share"``, ``"arms.cis.creaming_degree"``); each value
    ``"default"`` (the range of docs/sources.md), ``[low, high]`` (uniform) or a table
    ``{low, high, distribution = "uniform" | "triangular", mode}``."""
    if not isinstance(table, Mapping) or not table:
        raise UserInputError(
            f"{source}: uncertainties: expected a table of parameters, got {table!r}"
        )
    found: list[Uncertainty] = []
    for key, value in table.items():
        path = key if "." in key else f"params.{key}"
        where = f"{source}: uncertainties.{key}"
        parts = path.split(".")
        if parts[0] == "params" and len(parts) == 2 and parts[1] not in MODEL_PARAM_NAMES:
            raise UserInputError(
                f"{where}: unknown model parameter{did_you_mean(parts[1], MODEL_PARAM_NAMES)}"
            )
        sourced = _sourced(path, arm_mechanisms)
        if value == "default":
            if sourced is None:
                known = ", ".join(k.removeprefix("params.") for k in SOURCED_RANGES)
                raise UserInputError(
                    f"{where}: docs/sources.md gives no range for this parameter; give "
                    f"[low, high] (parameters with a sourced range: {known})"
                )
            found.append(
                Uncertainty(
                    path, sourced.low, sourced.high, source=f"{sourced.row} [{sourced.tag}]"
                )
            )
            continue
        if isinstance(value, list):
            value = {"low": value[0], "high": value[1]} if len(value) == 2 else {"bad": value}
        if not isinstance(value, Mapping):
            raise UserInputError(
                f'{where}: expected "default", [low, high] or a table with low and high, '
                f"got {value!r}"
            )
        unknown = [k for k in value if k not in UNCERTAINTY_KEYS]
        if unknown:
            raise UserInputError(
                f"{where}: unknown key '{unknown[0]}'"
                f"{did_you_mean(unknown[0], UNCERTAINTY_KEYS)}; expected [low, high] or "
                f"keys {', '.join(UNCERTAINTY_KEYS)}"
            )
        low: Any = value.get("low")
        high: Any = value.get("high")
        if not (_number(low) and _number(high)) or not low < high:
            raise UserInputError(f"{where}: expected low < high (numbers), got {low!r}, {high!r}")
        distribution = value.get("distribution", "uniform")
        if distribution not in DISTRIBUTIONS:
            raise UserInputError(
                f"{where}.distribution: expected one of {', '.join(DISTRIBUTIONS)}, "
                f"got {distribution!r}"
            )
        mode: Any = value.get("mode")
        if mode is not None and (
            distribution != "triangular" or not _number(mode) or not low <= mode <= high
        ):
            raise UserInputError(
                f"{where}.mode: expected a number in [low, high] with a triangular distribution, "
                f"got {mode!r}"
            )
        found.append(
            Uncertainty(
                path,
                float(low),
                float(high),
                distribution,
                None if mode is None else float(mode),
                source="user",
            )
        )
    names = [u.name for u in found]
    if len(set(names)) != len(names):
        raise UserInputError(f"{source}: uncertainties: a parameter is given twice: {names}")
    # In path order, whatever the order written: a scenario stored as a canonical dump (sorted
    # keys) then gives back the same design, which Sobol's analysis needs point for point.
    return tuple(sorted(found, key=lambda u: u.path))


def parse_design(
    table: Any,
    uncertainties: tuple[Uncertainty, ...],
    source: str,
) -> DesignSpec:
    """``[sensitivity]``: method (morris, sobol, latin_hypercube), samples (Sobol's base sample,
    a power of 2; Morris's trajectories; the hypercube's points), seed, levels (Morris),
    second_order (Sobol), outcomes and discover (lists of outcome strings)."""
    table = {} if table is None else table
    where = f"{source}: sensitivity"
    if not isinstance(table, Mapping):
        raise UserInputError(f"{where}: expected a table, got {table!r}")
    for key in table:
        if key not in SENSITIVITY_KEYS:
            raise UserInputError(
                f"{where}.{key}: unknown key{did_you_mean(key, SENSITIVITY_KEYS)}; expected one "
                f"of {', '.join(SENSITIVITY_KEYS)}"
            )
    method = table.get("method", "sobol")
    if method not in DESIGN_METHODS:
        raise UserInputError(
            f"{where}.method: expected one of {', '.join(DESIGN_METHODS)}, got {method!r}"
        )
    samples = table.get("samples", 8)
    if not _whole(samples) or not 1 <= samples <= 100_000:
        raise UserInputError(
            f"{where}.samples: expected a whole number in [1, 100000], got {samples!r}"
        )
    if method == "sobol" and samples & (samples - 1):
        raise UserInputError(
            f"{where}.samples: Sobol's sequence needs a power of 2 (2, 4, 8, ...), got {samples}"
        )
    if method == "morris" and samples < 2:
        raise UserInputError(
            f"{where}.samples: Morris needs at least 2 trajectories, got {samples}"
        )
    levels = table.get("levels", 4)
    if not _whole(levels) or levels < 2 or levels % 2:
        raise UserInputError(f"{where}.levels: expected an even whole number >= 2, got {levels!r}")
    seed = table.get("seed", 0)
    if not _whole(seed) or not 0 <= seed < 2**32:
        raise UserInputError(f"{where}.seed: expected a whole number in [0, 2**32), got {seed!r}")
    second_order = table.get("second_order", False)
    if not isinstance(second_order, bool):
        raise UserInputError(f"{where}.second_order: expected true or false, got {second_order!r}")
    if method == "morris" and any(u.distribution != "uniform" for u in uncertainties):
        raise UserInputError(f"{where}.method: Morris screening needs uniform ranges")
    lists = {}
    for key, parse in (("outcomes", parse_outcome), ("discover", parse_condition)):
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UserInputError(f"{where}.{key}: expected a list of strings, got {values!r}")
        for value in values:
            try:
                parse(value)
            except UserInputError as error:
                raise UserInputError(f"{where}.{key}: {error}") from None
        lists[key] = tuple(values)
    if len(uncertainties) < 2 and method != "latin_hypercube":
        raise UserInputError(f"{where}.method: {method} needs at least 2 uncertainties")
    return DesignSpec(
        uncertainties=uncertainties,
        method=method,
        samples=int(samples),
        seed=int(seed),
        levels=int(levels),
        second_order=second_order,
        outcomes=lists["outcomes"],
        discover=lists["discover"],
    )


def parse_auto(table: Any, arm_names: Sequence[str], source: str) -> AutoReplications:
    """``[auto_replications]``: contrast (an outcome string; default: the first arm minus the
    second on ``true_additional_employment``, or the first arm's alone), half_width (required),
    initial, step, maximum, level."""
    where = f"{source}: auto_replications"
    if not isinstance(table, Mapping):
        raise UserInputError(
            f'{where}: replications = "auto" needs an [auto_replications] table with at least '
            f"half_width (the target half-width of the primary contrast's interval)"
        )
    for key in table:
        if key not in AUTO_KEYS:
            raise UserInputError(
                f"{where}.{key}: unknown key{did_you_mean(key, AUTO_KEYS)}; expected one "
                f"of {', '.join(AUTO_KEYS)}"
            )
    default = (
        f"{arm_names[0]} - {arm_names[1]}: true_additional_employment"
        if len(arm_names) > 1
        else f"{arm_names[0]}: true_additional_employment"
    )
    contrast = table.get("contrast", default)
    try:
        outcome = parse_outcome(contrast)
    except UserInputError as error:
        raise UserInputError(f"{where}.contrast: {error}") from None
    for arm in (outcome.arm, outcome.minus):
        if arm is not None and arm not in arm_names:
            raise UserInputError(
                f"{where}.contrast: unknown arm '{arm}'{did_you_mean(arm, arm_names)}"
            )
    half_width: Any = table.get("half_width")
    if not _number(half_width) or half_width <= 0:
        raise UserInputError(f"{where}.half_width: expected a number > 0, got {half_width!r}")
    values = {}
    for key, default_value in (("initial", 10), ("step", 10), ("maximum", 100)):
        value = table.get(key, default_value)
        if not _whole(value) or not 2 <= value <= 100_000:
            raise UserInputError(
                f"{where}.{key}: expected a whole number in [2, 100000], got {value!r}"
            )
        values[key] = int(value)
    if values["maximum"] < values["initial"]:
        raise UserInputError(
            f"{where}.maximum: expected at least initial ({values['initial']}), "
            f"got {values['maximum']}"
        )
    level: Any = table.get("level", 0.95)
    if not _number(level) or not 0.5 <= level < 1:
        raise UserInputError(f"{where}.level: expected a number in [0.5, 1), got {level!r}")
    return AutoReplications(
        contrast=contrast, half_width=float(half_width), level=float(level), **values
    )


def _sourced(path: str, arm_mechanisms: Mapping[str, str]) -> SourcedRange | None:
    if path.startswith("params."):
        return SOURCED_RANGES.get(path)
    parts = path.split(".")
    if parts[0] == "arms" and len(parts) == 3 and parts[1] in arm_mechanisms:
        return SOURCED_RANGES.get(f"{arm_mechanisms[parts[1]]}.{parts[2]}")
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- outcomes
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_OUTCOME = re.compile(
    rf"^\s*(?P<arm>{_NAME})\s*(?:-\s*(?P<minus>{_NAME})\s*)?:\s*(?P<num>{_NAME})"
    rf"\s*(?:/\s*(?P<den>{_NAME})\s*)?$"
)
_CONDITION = re.compile(r"^(?P<outcome>.*?)\s*(?P<op><=|>=|<|>)\s*(?P<value>[-+0-9.eE_]+)\s*$")


@dataclass(frozen=True)
class Outcome:
    """An arm's metric (``arm: metric``), or a ratio of two metrics' means (``arm: a / b``), or
    the paired contrast of two arms on either (``arm - other: ...``)."""

    text: str
    arm: str
    minus: str | None
    numerator: str
    denominator: str | None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The stored metrics it reads."""
        return (self.numerator,) + ((self.denominator,) if self.denominator else ())

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms it reads."""
        return (self.arm,) + ((self.minus,) if self.minus else ())


@dataclass(frozen=True)
class Condition:
    """A yes/no question on an outcome, e.g. ``impact_contract - planned: npv_eur > 0``."""

    text: str
    outcome: Outcome
    op: str
    value: float

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Where the condition holds (NaN never holds)."""
        with np.errstate(invalid="ignore"):
            result = {
                "<": values < self.value,
                ">": values > self.value,
                "<=": values <= self.value,
                ">=": values >= self.value,
            }[self.op]
        return np.asarray(result & np.isfinite(values), dtype=bool)


def parse_outcome(text: str) -> Outcome:
    """``"arm: metric"``, ``"arm: numerator / denominator"``, ``"arm - other: ..."``."""
    match = _OUTCOME.match(text) if isinstance(text, str) else None
    if match is None:
        raise UserInputError(
            f"expected an outcome like 'impact_contract: npv_eur' or 'impact_contract - planned: "
            f"public_spending_eur / true_additional_employment', got {text!r}"
        )
    return Outcome(text.strip(), match["arm"], match["minus"], match["num"], match["den"])


def parse_condition(text: str) -> Condition:
    """An outcome, a comparison (<, >, <=, >=) and a number."""
    match = _CONDITION.match(text) if isinstance(text, str) else None
    value: float | None = None
    if match is not None:
        try:
            value = float(match["value"].replace("_", ""))
        except ValueError:
            value = None
    if match is None or value is None:
        raise UserInputError(
            f"expected a condition like 'impact_contract - planned: true_additional_employment "
            f"> 0', got {text!r}"
        )
    return Condition(text.strip(), parse_outcome(match["outcome"]), match["op"], value)


def paired_frame(metrics: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """One row per (point, replication) where every arm the outcome reads finished: columns
    ``point``, ``replication`` and ``<arm>/<metric>`` for each arm and metric it reads."""
    done = metrics[metrics["status"] == "done"] if "status" in metrics else metrics
    missing = [m for m in outcome.metrics if m not in metrics.columns]
    if missing:
        names = [c for c in metrics.columns if c not in ("run_id", "run_key", "status")]
        raise UserInputError(
            f"outcome '{outcome.text}': no stored metric '{missing[0]}'"
            f"{did_you_mean(missing[0], names)}"
        )
    frame: pd.DataFrame | None = None
    for arm in outcome.arms:
        rows = done[done["arm"] == arm]
        if rows.empty:
            arms = sorted(set(metrics["arm"]))
            raise UserInputError(
                f"outcome '{outcome.text}': no finished run of arm '{arm}'"
                f"{did_you_mean(arm, arms)}; arms: {', '.join(arms)}"
            )
        part = rows.set_index(["point", "replication"])[list(outcome.metrics)]
        part.columns = [f"{arm}/{m}" for m in outcome.metrics]
        frame = part if frame is None else frame.join(part, how="inner")
    assert frame is not None
    return frame.dropna().reset_index()


def point_values(metrics: pd.DataFrame, outcome: Outcome) -> pd.Series:
    """The outcome at each design point, over its replications: the mean of the metric (of the
    ratio's numerator over the mean of its denominator, undefined when that is not positive),
    the contrast being the difference of the two arms' values on the same replications."""
    frame = paired_frame(metrics, outcome)
    means = frame.groupby("point").mean()

    def value(arm: str) -> pd.Series:
        num = means[f"{arm}/{outcome.numerator}"]
        if outcome.denominator is None:
            return num
        den = means[f"{arm}/{outcome.denominator}"]
        return (num / den.where(den > 0)).astype(float)

    result = value(outcome.arm)
    if outcome.minus is not None:
        result = result - value(outcome.minus)
    result.name = outcome.text
    return result


def contrast_interval(metrics: pd.DataFrame, outcome: Outcome, level: float = 0.95) -> pd.DataFrame:
    """Per design point: the outcome's estimate over replications, the half-width of its
    Student-t interval and the replications used. A ratio of means is linearised (delta
    method), its two arms kept paired replication by replication."""
    frame = paired_frame(metrics, outcome)
    rows = []
    for point, group in frame.groupby("point"):
        n = len(group)

        def influence(arm: str, g: pd.DataFrame = group) -> tuple[float, np.ndarray]:
            num = g[f"{arm}/{outcome.numerator}"].to_numpy(dtype=float)
            if outcome.denominator is None:
                return float(num.mean()), num
            den = g[f"{arm}/{outcome.denominator}"].to_numpy(dtype=float)
            if den.mean() <= 0:
                return math.nan, np.full(len(num), math.nan)
            ratio = float(num.mean() / den.mean())
            return ratio, ratio + (num - ratio * den) / den.mean()

        estimate, values = influence(outcome.arm)
        if outcome.minus is not None:
            other, other_values = influence(outcome.minus)
            estimate, values = estimate - other, values - other_values
        half = math.nan
        if n >= 2 and np.all(np.isfinite(values)):
            half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
        rows.append({"point": int(point), "estimate": estimate, "half_width": half, "n": n})
    return pd.DataFrame(rows, columns=["point", "estimate", "half_width", "n"])


def stop_decision(
    half_widths: Sequence[float], replications: int, auto: AutoReplications
) -> tuple[bool, str, int]:
    """The stopping rule: stop when every point's half-width is at most the target ('target
    reached'), or at the maximum ('maximum reached'); otherwise go on to ``replications +
    step`` (capped at the maximum). An undefined half-width never counts as narrow enough."""
    widths = np.asarray(half_widths, dtype=float)
    if len(widths) and np.all(np.isfinite(widths)) and widths.max() <= auto.half_width:
        return True, "target reached", replications
    if replications >= auto.maximum:
        return True, "maximum reached", replications
    return False, "", min(replications + auto.step, auto.maximum)


@lru_cache(maxsize=32)
def _cached_points(spec: DesignSpec) -> tuple[tuple[tuple[str, float], ...], ...]:
    return tuple(tuple(point.items()) for point in spec.points())


def design_points(spec: DesignSpec) -> list[dict[str, float]]:
    """The design's points (drawn once per process)."""
    return [dict(point) for point in _cached_points(spec)]
