"""Scenario files: a study described in TOML, validated strictly, expanded into runs.

A scenario names a city, shared model parameters, the arms (each a mechanism with its
parameters), the horizon, the replications, a root seed and an optional sweep (a grid of values
or a Latin hypercube over ranges) addressed by dotted paths such as
``params.displacement_share`` or ``arms.cis.price_eur_per_outcome``. Every mistake is reported
with the file, the key path, what was expected and what was found, never with a traceback.

Expansion gives one task per sweep point and replication: the status-quo twin and every arm of
that replication share its seed, hence its random draws (common random numbers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import itertools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sim.delivery.needs import all_needs, need_keys
from sim.errors import UserInputError, did_you_mean, shorten
from sim.experiments import feasibility
from sim.experiments.design import (
    AutoReplications,
    DesignSpec,
    design_points,
    parse_auto,
    parse_design,
    parse_uncertainties,
)
from sim.world.params import ModelParams
from sim.world.rng import replication_seeds
from sim.world.territory import BUILTIN_CITIES, City, city_table_path, generate_city, load_city

TOP_KEYS = (
    "name",
    "description",
    "description_fr",
    "months",
    "follow_up_months",
    "replications",
    "seed",
    "city",
    "params",
    "arms",
    "sweep",
    "primary_outcome",
    "values",
    "uncertainties",
    "sensitivity",
    "auto_replications",
)
CITY_KEYS = ("source", "generate")
GENERATE_KEYS = ("territories", "residents", "seed", "qpv_share")
SWEEP_KEYS = ("method", "grid", "ranges", "samples", "seed", "labels", "labels_fr")
#: Display names an arm may carry (read by reports, never by the model).
ARM_LABEL_KEYS = ("label", "label_fr")
SWEEP_METHODS = ("grid", "latin_hypercube")
TWIN = "status_quo"
#: About how many arm runs one task holds: sweep points that share a twin are grouped up to it.
ARM_RUNS_PER_TASK = 8
MAX_MONTHS = feasibility.MAX_MONTHS
#: Most sweep points and runs a scenario may ask for (checked before the points are listed).
MAX_POINTS = 100_000
MAX_RUNS = 10_000_000
MODEL_PARAM_NAMES = tuple(f.name for f in dataclasses.fields(ModelParams))


def _mechanisms() -> dict[str, Any]:
    """The mechanism registry, imported when arms are checked: reading a scenario's city
    alone (as reports do) need not load the model."""
    from sim.funding.registry import MECHANISMS

    return MECHANISMS


def _make_mechanism(name: str, **params: Any) -> Any:
    from sim.funding.registry import make_mechanism

    mechanisms = _mechanisms()
    if name in mechanisms and set(params) <= set(_signature(name).parameters) - {"self"}:
        # What make_mechanism does, without inspecting the signature for every parameter name
        # (already checked here): validating a sweep of 10,000 points stays fast.
        mechanism = mechanisms[name](**params)
        mechanism.validate()
        return mechanism
    return make_mechanism(name, **params)


@dataclass(frozen=True)
class CitySpec:
    """Where a scenario's city comes from: a table (built-in name or CSV path) or a generator."""

    source: str | None = None
    generate: tuple[tuple[str, Any], ...] = ()

    def build(self) -> City:
        """The city (cached per process: workers build each city once)."""
        return _build_city(self)

    def describe(self) -> str:
        """One line for people."""
        if self.source is not None:
            return self.source
        return "generated(" + ", ".join(f"{k}={v}" for k, v in self.generate) + ")"


@lru_cache(maxsize=8)
def _build_city(spec: CitySpec) -> City:
    if spec.source is not None:
        return load_city(spec.source)
    return generate_city(
        **{"n_territories" if k == "territories" else k: v for k, v in spec.generate}
    )


@dataclass(frozen=True)
class ArmSpec:
    """One arm: a name, a mechanism and its parameters."""

    name: str
    mechanism: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSpec:
    """A grid of values or a Latin hypercube over ranges, by dotted parameter path."""

    method: str
    grid: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    samples: int = 10
    seed: int = 0


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to reproduce one run."""

    key: str
    point: int
    replication: int
    arm: str
    mechanism: str
    mechanism_params: dict[str, Any]
    model_params: dict[str, Any]
    point_values: dict[str, Any]
    seed: int
    months: int
    city: CitySpec
    follow_up_months: int = 0


@dataclass(frozen=True)
class TaskSpec:
    """What one worker does: simulate one status-quo twin (a replication under one set of model
    parameters) and every arm measured against it, across the sweep points that share it.

    Attributes:
        replication: the replication index.
        twin: the twin to simulate.
        twin_records: the twin runs to store, one per sweep point that is not stored yet (they
            are identical simulations; each point keeps its own record).
        arms: the arm runs still to run.
    """

    replication: int
    twin: RunSpec
    twin_records: tuple[RunSpec, ...]
    arms: tuple[RunSpec, ...]

    @property
    def keys(self) -> list[str]:
        """Keys of the runs this task stores."""
        return [t.key for t in self.twin_records] + [a.key for a in self.arms]


@dataclass(frozen=True)
class Scenario:
    """A validated study."""

    name: str
    description: str
    city: CitySpec
    months: int
    replications: int
    seed: int
    params: dict[str, Any]
    arms: tuple[ArmSpec, ...]
    sweep: SweepSpec | None = None
    text: str = ""
    source: str = "<string>"
    description_fr: str = ""
    primary_outcome: str = "employment"
    values_eur_per_outcome: dict[str, float] = field(default_factory=dict)
    follow_up_months: int = 0

    #: Uncertainties apart from the levers and how they are sampled ([uncertainties]).
    design: DesignSpec | None = None
    #: replications = "auto": the stopping rule ([auto_replications]).
    auto_replications: AutoReplications | None = None

    @property
    def simulated_months(self) -> int:
        """Months every run simulates: delivery, then the follow-up."""
        return self.months + self.follow_up_months

    @property
    def hash(self) -> str:
        """SHA-256 of the scenario text and of its city table's content."""
        digest = hashlib.sha256(self.text.encode("utf-8"))
        if self.city.source is not None:
            digest.update(city_table_path(self.city.source).read_bytes())
        return digest.hexdigest()

    def fingerprint(self, package_version: str, git_commit: str | None) -> str:
        """What identifies a batch: the scenario, its city table, and the code that runs it. A
        rerun resumes a batch only when all are unchanged; after a code change it starts anew."""
        code = f"{package_version}\n{git_commit or ''}"
        return hashlib.sha256(f"{self.hash}\n{code}".encode()).hexdigest()

    def points(self) -> list[dict[str, Any]]:
        """Sweep points (dotted path -> value); one empty point without a sweep. With
        uncertainties, the points of their design."""
        if self.design is not None:
            return design_points(self.design)
        return sweep_points(self.sweep)

    def expand(self, done: Iterable[str] = ()) -> list[TaskSpec]:
        """Tasks for every replication and set of model parameters, leaving out runs already
        ``done``. Sweep points that only change arm parameters share one twin simulation."""
        finished = set(done)
        seeds = replication_seeds(self.seed, self.replications)
        groups: dict[tuple[int, str], list[RunSpec]] = {}
        for point, values in enumerate(self.points()):
            model_params, arm_params = apply_point(self, values)
            shared = _canonical(model_params)
            for replication, seed in enumerate(seeds):
                runs: list[tuple[str, str, dict[str, Any]]] = [(TWIN, TWIN, {})] + [
                    (a.name, a.mechanism, arm_params[a.name]) for a in self.arms
                ]
                groups.setdefault((replication, shared), []).extend(
                    RunSpec(
                        key=run_key(point, replication, arm),
                        point=point,
                        replication=replication,
                        arm=arm,
                        mechanism=mechanism,
                        mechanism_params=params,
                        model_params=model_params,
                        point_values=values,
                        seed=seed,
                        months=self.months,
                        city=self.city,
                        follow_up_months=self.follow_up_months,
                    )
                    for arm, mechanism, params in runs
                )
        tasks = []
        for (replication, _), specs in groups.items():
            template = next(s for s in specs if s.arm == TWIN)
            todo = [s for s in specs if s.key not in finished]
            for chunk in _chunks_by_point(todo, ARM_RUNS_PER_TASK):
                twins = tuple(s for s in chunk if s.arm == TWIN)
                arms = tuple(s for s in chunk if s.arm != TWIN)
                tasks.append(TaskSpec(replication, template, twins, arms))
        return tasks

    def run_count(self) -> int:
        """Runs in the whole batch, twins included."""
        return len(self.points()) * self.replications * (len(self.arms) + 1)


def _chunks_by_point(specs: list[RunSpec], arm_runs: int) -> list[list[RunSpec]]:
    """Split a replication's runs into tasks of whole sweep points holding about ``arm_runs``
    arm simulations: fewer twin simulations than one task per point, yet enough tasks to share
    out. Points that differ only by settlement terms need one simulation between them, so they
    stay in one task (``sim.experiments.resettle``)."""
    from sim.experiments.resettle import simulation_key

    chunks: list[list[RunSpec]] = []
    current: list[RunSpec] = []
    for point in sorted({s.point for s in specs}):
        current.extend(s for s in specs if s.point == point)
        if len({simulation_key(s) for s in current if s.arm != TWIN}) >= arm_runs:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def run_key(point: int, replication: int, arm: str) -> str:
    """Stable key of a run inside its batch."""
    return f"p{point:03d}-r{replication:03d}-{arm}"


# ---------------------------------------------------------------------------- loading
def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    file = Path(path)
    try:
        if file.is_dir():
            raise UserInputError(f"{path}: is a folder; expected a scenario file (TOML)")
        if not file.is_file():
            raise UserInputError(f"{path}: no such scenario file")
        text = file.read_text(encoding="utf-8-sig")
        base_dir = file.resolve().parent
    except UnicodeDecodeError as error:
        raise UserInputError(
            f"{path}: not UTF-8 text (byte {error.start}); expected a TOML file saved as UTF-8"
        ) from None
    except OSError as error:  # a name too long, a folder that cannot be read
        raise UserInputError(f"{path}: cannot read the scenario file: {error.strerror}") from None
    return parse_scenario(text, source=str(path), base_dir=base_dir)


def parse_scenario(text: str, source: str = "<string>", base_dir: Path | None = None) -> Scenario:
    """Validate a scenario given as TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserInputError(f"{source}: invalid TOML: {error}") from None
    except RecursionError:
        raise UserInputError(f"{source}: invalid TOML: nested too deeply") from None
    return scenario_from_dict(data, source=source, base_dir=base_dir, text=text)


def scenario_from_dict(
    data: Mapping[str, Any],
    source: str = "<dict>",
    base_dir: Path | None = None,
    text: str | None = None,
) -> Scenario:
    """Validate a scenario given as a dictionary (what a TOML file parses into).

    Researchers can build scenarios in code with this; the text stored with the batch is then a
    canonical dump of the dictionary.
    """
    check = _Checker(source)
    check.keys(data, TOP_KEYS, "")
    name = check.string(data, "name", required=True) or ""
    months = check.integer(data, "months", default=60, low=1, high=MAX_MONTHS)
    follow_up = check.integer(data, "follow_up_months", default=0, low=0, high=MAX_MONTHS)
    auto = None
    if data.get("replications") == "auto":
        arm_names = [k for k in data.get("arms") or {} if k != TWIN]
        auto = parse_auto(data.get("auto_replications"), arm_names, source)
        replications = auto.initial
    else:
        replications = check.integer(data, "replications", default=1, low=1, high=100_000)
        if "auto_replications" in data:
            raise check.fail(
                "replications", '"auto" with [auto_replications]', data.get("replications")
            )
    seed = check.integer(data, "seed", default=0, low=0, high=2**63 - 1)
    city = _city(check, data.get("city", {"source": "demo"}), base_dir)
    params = _model_params(check, data.get("params", {}))
    arms = _arms(check, data.get("arms"))
    sweep = _sweep(check, data.get("sweep"), params, arms)
    design = _design(check, data, arms, sweep)
    scenario = Scenario(
        name=name,
        description=check.string(data, "description") or "",
        city=city,
        months=months,
        replications=replications,
        seed=seed,
        params=params,
        arms=arms,
        sweep=sweep,
        text=text if text is not None else _canonical(data),
        source=source,
        description_fr=check.string(data, "description_fr") or "",
        follow_up_months=follow_up,
        primary_outcome=_primary_outcome(check, data),
        values_eur_per_outcome=_values(check, data.get("values", {})),
        design=design,
        auto_replications=auto,
    )
    _check_size(check, scenario)
    _check_points(check, scenario)
    return scenario


class _Checker:
    """Type and key checks that name the file and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, expected: str, got: Any) -> UserInputError:
        return UserInputError(f"{self.source}: {path}: expected {expected}, got {shorten(got)}")

    def keys(self, table: Any, allowed: Iterable[str], path: str) -> None:
        allowed = tuple(allowed)
        if not isinstance(table, Mapping):
            raise self.fail(path or "top level", "a table", table)
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                where = f"{path}.{key}" if path else key
                raise UserInputError(
                    f"{self.source}: {where}: unknown key{hint}; expected one "
                    f"of {', '.join(allowed)}"
                )

    def string(
        self, table: Mapping[str, Any], key: str, required: bool = False, path: str = ""
    ) -> str | None:
        where = f"{path}.{key}" if path else key
        if key not in table:
            if required:
                raise self.fail(where, "a string (this key is required)", None)
            return None
        value = table[key]
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(where, "a non-empty string", value)
        return value

    def integer(
        self, table: Mapping[str, Any], key: str, default: int, low: int, high: int, path: str = ""
    ) -> int:
        where = f"{path}.{key}" if path else key
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(where, f"a whole number in [{low}, {high}]", value)
        return value


def _primary_outcome(check: _Checker, data: Mapping[str, Any]) -> str:
    """The need whose outcome conclusions rank arms on (jobs held 6 months by default)."""
    value = data.get("primary_outcome", "employment")
    if not isinstance(value, str) or value not in need_keys():
        raise check.fail("primary_outcome", f"one of {', '.join(need_keys())}", value)
    return value


def _values(check: _Checker, table: Any) -> dict[str, float]:
    """Euro values per outcome of each need, for the optional monetised view: the defaults of
    the needs (sourced or marked illustrative), overridden by the scenario's ``[values]``."""
    check.keys(table, need_keys(), "values")
    values = {n.key: n.value_eur_per_outcome for n in all_needs()}
    for need, value in table.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0:
            raise check.fail(f"values.{need}", "a number of euros >= 0", value)
        values[need] = float(value)
    return values


def _city(check: _Checker, table: Any, base_dir: Path | None) -> CitySpec:
    check.keys(table, CITY_KEYS, "city")
    if ("source" in table) == ("generate" in table):
        raise check.fail(
            "city", "exactly one of 'source' (a table) or 'generate' (a generator)", dict(table)
        )
    if "source" in table:
        source = check.string(table, "source", required=True, path="city")
        assert source is not None
        if source not in BUILTIN_CITIES:
            path = Path(source)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            try:
                found = path.is_file()
            except OSError:  # a name too long for the file system
                found = False
            if not found:
                raise check.fail(
                    "city.source",
                    "a built-in city (" + ", ".join(BUILTIN_CITIES) + ") or an existing CSV file",
                    source,
                )
            source = str(path)
        spec = CitySpec(source=source)
    else:
        generate = table["generate"]
        check.keys(generate, GENERATE_KEYS, "city.generate")
        territories = check.integer(generate, "territories", 12, 1, 10_000, "city.generate")
        residents = check.integer(
            generate, "residents", 30_000, territories, 5_000_000, "city.generate"
        )
        seed = check.integer(generate, "seed", 0, 0, 2**63 - 1, "city.generate")
        qpv_share = generate.get("qpv_share", 0.3)
        if not _is_number(qpv_share) or not 0 <= qpv_share <= 1:
            raise check.fail("city.generate.qpv_share", "a number in [0, 1]", qpv_share)
        spec = CitySpec(
            generate=(
                ("territories", territories),
                ("residents", residents),
                ("seed", seed),
                ("qpv_share", float(qpv_share)),
            )
        )
    try:
        city = spec.build()
    except UserInputError as error:
        raise UserInputError(f"{check.source}: city: {error}") from None
    feasibility.check_residents(city, check.source)
    return spec


def _model_params(check: _Checker, table: Any) -> dict[str, Any]:
    check.keys(table, MODEL_PARAM_NAMES, "params")
    params = dict(table)
    _build_params(check, params, "params")
    return params


def _build_params(check: _Checker, params: Mapping[str, Any], path: str) -> ModelParams:
    defaults = _default_params()
    for key, value in params.items():
        default = getattr(defaults, key)
        if not _same_kind(value, default, int if isinstance(default, int) else float):
            raise check.fail(f"{path}.{key}", _kind_name(default), value)
        expected = feasibility.out_of_bounds(key, value, mechanism=False)
        if expected is not None:
            raise check.fail(f"{path}.{key}", expected, value)
    try:
        return defaults.with_overrides(**params)
    except UserInputError as error:
        message = re.sub(r"^parameter '(\w+)': ", rf"{path}.\1: ", str(error))
        raise UserInputError(f"{check.source}: {message}") from None


def _arms(check: _Checker, table: Any) -> tuple[ArmSpec, ...]:
    if table is None:
        raise check.fail(
            "arms", 'at least one arm, e.g. [arms.planned] with mechanism = "planned"', None
        )
    if not isinstance(table, Mapping) or not table:
        raise check.fail("arms", "a table of arms", table)
    arms = []
    for name, arm in table.items():
        path = f"arms.{name}"
        if not isinstance(arm, Mapping):
            raise check.fail(path, "a table with a 'mechanism' key", arm)
        mechanism = arm.get("mechanism")
        if not isinstance(mechanism, str) or mechanism not in _mechanisms():
            hint = did_you_mean(str(mechanism), _mechanisms())
            raise check.fail(
                f"{path}.mechanism", f"one of {', '.join(_mechanisms())}{hint}", mechanism
            )
        if name == TWIN and mechanism != TWIN:
            raise check.fail(
                f"{path}.mechanism",
                "status_quo: the arm name 'status_quo' is "
                "reserved for the twin; give this arm another name",
                mechanism,
            )
        if mechanism == TWIN:
            if name != TWIN or len(arm) > 1:
                raise check.fail(
                    path,
                    "the status quo only as [arms.status_quo] without "
                    "parameters (it is always run as the twin)",
                    dict(arm),
                )
            continue
        for key in ARM_LABEL_KEYS:
            check.string(arm, key, required=key in arm, path=path)
        params = {k: v for k, v in arm.items() if k != "mechanism" and k not in ARM_LABEL_KEYS}
        check.keys(params, _mechanisms()[mechanism].param_names(), path)
        _check_mechanism(check, mechanism, params, path)
        arms.append(ArmSpec(name=name, mechanism=mechanism, params=params))
    if not arms:
        raise check.fail("arms", "at least one arm besides the status quo", list(table))
    return tuple(arms)


def _check_mechanism(
    check: _Checker, mechanism: str, params: Mapping[str, Any], path: str, context: str = ""
) -> None:
    """Check an arm's parameters; ``context`` (e.g. the sweep point) follows the key path."""
    signature = _signature(mechanism)
    for key, value in params.items():
        parameter = signature.parameters[key]
        expected = _expected_kind(parameter)
        if expected is not None and not _same_kind(value, parameter.default, expected):
            raise check.fail(
                f"{path}.{key}{context}", _kind_name(parameter.default, expected), value
            )
        problem = _item_problem(parameter, value)
        if problem is not None:
            raise check.fail(f"{path}.{key}{context}", problem, value)
    try:
        _make_mechanism(mechanism, **params)
    except (TypeError, ValueError, ArithmeticError) as error:
        if isinstance(error, UserInputError):
            raise _rephrase(check, error, mechanism, path, context) from None
        raise UserInputError(
            f"{check.source}: {path}{context}: parameters the mechanism cannot use "
            f"({type(error).__name__}: {shorten(str(error))[1:-1]})"
        ) from None
    for key, value in params.items():
        bound = feasibility.out_of_bounds(key, value, mechanism=True)
        if bound is not None:
            raise check.fail(f"{path}.{key}{context}", bound, value)


def _rephrase(
    check: _Checker, error: UserInputError, mechanism: str, path: str, context: str
) -> UserInputError:
    """A mechanism's error message with the file and the arm's key path in front."""
    message = str(error)
    prefix = f"{mechanism}."
    if message.startswith(prefix) and ": " in message:
        key, rest = message[len(prefix) :].split(": ", 1)
        message = f"{path}.{key}{context}: {rest}"
    else:
        message = f"{path}{context}: {message}"
    return UserInputError(f"{check.source}: {message}")


def _sweep(
    check: _Checker, table: Any, params: dict[str, Any], arms: tuple[ArmSpec, ...]
) -> SweepSpec | None:
    if table is None:
        return None
    check.keys(table, SWEEP_KEYS, "sweep")
    _check_sweep_labels(check, table)
    method = table.get("method")
    if method not in SWEEP_METHODS:
        raise check.fail("sweep.method", " or ".join(SWEEP_METHODS), method)
    seed = check.integer(table, "seed", 0, 0, 2**63 - 1, "sweep")
    if method == "grid":
        grid = table.get("grid")
        if not isinstance(grid, Mapping) or not grid:
            raise check.fail("sweep.grid", "a table of dotted paths to lists of values", grid)
        for path, values in grid.items():
            _check_path(check, path, arms, "sweep.grid")
            if not isinstance(values, list) or not values:
                raise check.fail(f'sweep.grid."{path}"', "a non-empty list of values", values)
        return SweepSpec(method="grid", grid={k: list(v) for k, v in grid.items()}, seed=seed)
    ranges = table.get("ranges")
    if not isinstance(ranges, Mapping) or not ranges:
        raise check.fail("sweep.ranges", "a table of dotted paths to [low, high]", ranges)
    parsed: dict[str, tuple[float, float]] = {}
    for path, bounds in ranges.items():
        _check_path(check, path, arms, "sweep.ranges")
        ok = isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds)
        if not ok or not bounds[0] < bounds[1]:
            raise check.fail(f'sweep.ranges."{path}"', "[low, high] with low < high", bounds)
        parsed[path] = (float(bounds[0]), float(bounds[1]))
    samples = check.integer(table, "samples", 10, 1, 100_000, "sweep")
    return SweepSpec(method="latin_hypercube", ranges=parsed, samples=samples, seed=seed)


def _check_sweep_labels(check: _Checker, table: Mapping[str, Any]) -> None:
    """``[sweep.labels]`` and ``[sweep.labels_fr]``: display names of swept parameters (read by
    reports only), each a non-empty string for a path the sweep varies."""
    swept = [
        p for key in ("grid", "ranges") if isinstance(table.get(key), Mapping) for p in table[key]
    ]
    for key in ("labels", "labels_fr"):
        if key not in table:
            continue
        labels = table[key]
        if not isinstance(labels, Mapping):
            raise check.fail(f"sweep.{key}", "a table of swept paths to names", labels)
        for path, text in labels.items():
            if path not in swept:
                hint = did_you_mean(str(path), swept)
                raise check.fail(f'sweep.{key}."{path}"', f"a swept path{hint}", path)
            if not isinstance(text, str) or not text.strip():
                raise check.fail(f'sweep.{key}."{path}"', "a non-empty string", text)


def _check_path(check: _Checker, path: str, arms: tuple[ArmSpec, ...], where: str) -> None:
    parts = path.split(".")
    arm_names = [a.name for a in arms]
    here = f'{check.source}: {where}."{path}"'
    if parts[0] == "params" and len(parts) == 2:
        if parts[1] not in MODEL_PARAM_NAMES:
            raise UserInputError(
                f"{here}: unknown model parameter '{parts[1]}'"
                f"{did_you_mean(parts[1], MODEL_PARAM_NAMES)}"
            )
        return
    if parts[0] == "arms" and len(parts) == 3:
        if parts[1] not in arm_names:
            raise UserInputError(
                f"{here}: unknown arm '{parts[1]}'"
                f"{did_you_mean(parts[1], arm_names)}; arms: "
                f"{', '.join(arm_names)}"
            )
        mechanism = next(a.mechanism for a in arms if a.name == parts[1])
        names = _mechanisms()[mechanism].param_names()
        if parts[2] not in names:
            raise UserInputError(
                f"{here}: arm '{parts[1]}' ({mechanism}) has no parameter "
                f"'{parts[2]}'{did_you_mean(parts[2], names)}"
            )
        return
    raise check.fail(
        f'{where}."{path}"', "a path 'params.<name>' or 'arms.<arm>.<parameter>'", path
    )


def _design(
    check: _Checker, data: Mapping[str, Any], arms: tuple[ArmSpec, ...], sweep: SweepSpec | None
) -> DesignSpec | None:
    """The uncertainties and their design (sim.experiments.design), their paths checked."""
    if "uncertainties" not in data:
        if "sensitivity" in data:
            raise check.fail("uncertainties", "a table of uncertain parameters", None)
        return None
    if sweep is not None:
        raise check.fail(
            "sweep", "no [sweep] beside [uncertainties] (use one or the other)", "a sweep"
        )
    mechanisms = {a.name: a.mechanism for a in arms}
    uncertainties = parse_uncertainties(data["uncertainties"], mechanisms, check.source)
    for u in uncertainties:
        _check_path(check, u.path, arms, "uncertainties")
    return parse_design(data.get("sensitivity"), uncertainties, check.source)


# ---------------------------------------------------------------------------- sweeps
def sweep_points(sweep: SweepSpec | None) -> list[dict[str, Any]]:
    """The sweep's points in a fixed order (grid: row-major over the paths as written)."""
    if sweep is None:
        return [{}]
    if sweep.method == "grid":
        paths = list(sweep.grid)
        return [
            dict(zip(paths, combo, strict=True))
            for combo in itertools.product(*(sweep.grid[p] for p in paths))
        ]
    from scipy.stats import qmc

    paths = list(sweep.ranges)
    sampler = qmc.LatinHypercube(d=len(paths), rng=np.random.default_rng(sweep.seed))
    unit = sampler.random(sweep.samples)
    low = np.array([sweep.ranges[p][0] for p in paths])
    high = np.array([sweep.ranges[p][1] for p in paths])
    values = qmc.scale(unit, low, high)
    return [{p: float(v) for p, v in zip(paths, row, strict=True)} for row in values]


def apply_point(
    scenario: Scenario, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Model parameters and each arm's parameters at one sweep point, validated."""
    check = _Checker(scenario.source)
    model_params = dict(scenario.params)
    arm_params = {a.name: dict(a.params) for a in scenario.arms}
    for path, value in values.items():
        parts = path.split(".")
        if parts[0] == "params":
            model_params[parts[1]] = _like_default(value, getattr(_default_params(), parts[1]))
        else:
            mechanism = next(a.mechanism for a in scenario.arms if a.name == parts[1])
            default = _signature(mechanism).parameters[parts[2]]
            arm_params[parts[1]][parts[2]] = _like_default(value, default.default)
    where = f"sweep point {values}" if values else "params"
    key = _canonical(model_params)
    if key not in _VALIDATED:
        _build_params(check, model_params, where)
        _remember(key)
    context = f" (at sweep point {shorten(values, 200)})" if values else ""
    for arm in scenario.arms:
        key = arm.mechanism + _canonical(arm_params[arm.name])
        if key not in _VALIDATED:
            _check_mechanism(
                check, arm.mechanism, arm_params[arm.name], f"arms.{arm.name}", context
            )
            _remember(key)
    return model_params, arm_params


#: Parameter sets already validated in this process (canonical JSON), so that sweep points that
#: share their values are checked once: validation grows with the distinct values, not the
#: product of the sweep's lists.
_VALIDATED: set[str] = set()
_VALIDATED_LIMIT = 200_000


def _remember(key: str) -> None:
    if len(_VALIDATED) >= _VALIDATED_LIMIT:
        _VALIDATED.clear()
    _VALIDATED.add(key)


def _check_size(check: _Checker, scenario: Scenario) -> None:
    """Sweep points and runs within the limits, counted without listing the points."""
    sweep = scenario.sweep
    points = 1
    if sweep is not None and sweep.method == "grid":
        for values in sweep.grid.values():
            points *= len(values)
            if points > MAX_POINTS:
                break
    elif sweep is not None:
        points = sweep.samples
    if points > MAX_POINTS:
        raise check.fail("sweep", f"at most {MAX_POINTS:,} sweep points", f"{points:,}+ points")
    runs = points * scenario.replications * (len(scenario.arms) + 1)
    if runs > MAX_RUNS:
        raise check.fail(
            "replications",
            f"at most {MAX_RUNS:,} runs in a batch (sweep points x replications x arms)",
            f"{runs:,} runs",
        )


def _check_points(check: _Checker, scenario: Scenario) -> None:
    """Every sweep point's parameters, and what its runs need: the horizon, a budget that
    covers a mechanism's first commitment, a contract's operator, memory. Each distinct set of
    an arm's parameters is checked once."""
    city = scenario.city.build()
    seeds = replication_seeds(scenario.seed, scenario.replications)
    seen_model: set[str] = set()
    seen_arm: set[str] = set()
    worst: feasibility.MemoryEstimate | None = None
    for values in scenario.points():
        model_params, arm_params = apply_point(scenario, values)
        context = f" (at sweep point {shorten(values, 200)})" if values else ""
        key = _canonical(model_params)
        if key not in seen_model:
            seen_model.add(key)
            estimate = feasibility.estimate_memory(city.population, model_params)
            if worst is None or estimate.run_bytes > worst.run_bytes:
                worst = estimate
        for arm in scenario.arms:
            params = arm_params[arm.name]
            key = arm.mechanism + _canonical(params)
            if key in seen_arm:
                continue
            seen_arm.add(key)
            path = f"arms.{arm.name}"
            mechanism = _mechanisms()[arm.mechanism](**params)  # validated by apply_point
            problem = mechanism.horizon_problem(scenario.months, scenario.follow_up_months)
            if problem is not None:
                param, expected, got = problem
                raise check.fail(f"{path}.{param}{context}", expected, got)
            if arm.mechanism == "planned":
                budget = feasibility.planned_budget_problem(params, scenario.months)
                if budget is not None:
                    raise UserInputError(
                        f"{check.source}: {path}.budget_eur_per_year{context}: expected "
                        f"{budget[0]}, got {budget[1]}"
                    )
            needs = (params.get("operator"), params.get("outcome"))
            if arm.mechanism == "impact_contract" and repr(needs) not in seen_arm:
                seen_arm.add(repr(needs))  # what the operator check depends on
                operator = feasibility.contract_operator_problem(params, city, seeds)
                if operator is not None:
                    param, expected, got = operator
                    raise UserInputError(
                        f"{check.source}: {path}.{param}{context}: expected {expected}, got {got}"
                    )
    if worst is not None and not worst.fits:
        raise UserInputError(
            f"{check.source}: city: {city.population:,} residents need "
            f"{worst.describe()}; expected a city whose run fits in memory (fewer residents, "
            "or a smaller params.network_degree / params.cross_territory_ties_per_resident)"
        )


def memory_estimate(scenario: Scenario) -> feasibility.MemoryEstimate:
    """Memory the largest run of a scenario needs (the model parameters that give the most
    social ties among its sweep points)."""
    city = scenario.city.build()
    estimates = [
        feasibility.estimate_memory(city.population, apply_point(scenario, values)[0])
        for values in scenario.points()[:1000]
    ]
    return max(estimates, key=lambda e: e.run_bytes)


# ---------------------------------------------------------------------------- helpers
@lru_cache(maxsize=1)
def _default_params() -> ModelParams:
    return ModelParams()


@lru_cache(maxsize=32)
def _signature(mechanism: str) -> inspect.Signature:
    """The constructor's signature of a mechanism (cached: inspecting is slow)."""
    return inspect.signature(_mechanisms()[mechanism].__init__)


def _item_problem(parameter: inspect.Parameter, value: Any) -> str | None:
    """What was expected when the items of a table or list parameter have the wrong type
    (``target = { rsa_only = "false" }`` is not true)."""
    annotation = str(parameter.annotation).replace(" ", "")
    if isinstance(value, Mapping):
        items = list(value.values())
        if "dict[str,bool]" in annotation and not all(isinstance(v, bool) for v in items):
            return "a table of true/false flags"
        if "dict[str,float]" in annotation and not all(_is_number(v) for v in items):
            return "a table of numbers"
    elif isinstance(value, list | tuple) and "[int" in annotation:
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        return None if whole else "a list of whole numbers"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _expected_kind(parameter: inspect.Parameter) -> type | None:
    default = parameter.default
    if default is not None and default is not inspect.Parameter.empty:
        return type(default)
    annotation = str(parameter.annotation)
    if annotation.startswith("list"):
        return list
    for token, kind in (("dict", dict), ("float", float), ("int", int), ("str", str)):
        if token in annotation:
            return kind
    return None


def _same_kind(value: Any, default: Any, expected: type) -> bool:
    if value is None:
        return default is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is float:
        return _is_number(value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected in (tuple, list):
        return isinstance(value, list | tuple)
    return isinstance(value, expected)


def _kind_name(default: Any, expected: type | None = None) -> str:
    kind = expected or type(default)
    names = {
        bool: "true or false",
        float: "a number",
        int: "a whole number",
        str: "a string",
        dict: "a table",
        tuple: "a list",
        list: "a list",
    }
    return names.get(kind, kind.__name__)


def _like_default(value: Any, default: Any) -> Any:
    """A swept value in the type of the parameter (Latin hypercube draws floats)."""
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        return round(value)
    return value


def _canonical(data: Mapping[str, Any]) -> str:
    import json

    return json.dumps(data, sort_keys=True, default=str)
