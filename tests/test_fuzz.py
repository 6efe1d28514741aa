"""Fuzzing `sim validate` with Hypothesis: mutants of the shipped scenario files and of a city
table either validate (exit 0) or give exit 2 with one line naming the file, never a traceback,
in bounded time and memory.

The fast test runs a small budget within ``make test``; the slow one (``make test-all``) a
larger one. ``pytest --hypothesis-show-statistics`` shows the outcomes by exit code.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
import tomllib
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.world.territory import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
CITY_TABLE = (DATA_DIR / "demo_city.csv").read_text(encoding="utf-8")
#: Limits of one `sim validate` of a mutant.
SECONDS_PER_MUTANT = 10.0
PEAK_BYTES_PER_MUTANT = 400 * 2**20


# ---------------------------------------------------------------------------- TOML writing
def toml_value(value: Any) -> str:
    """A value as TOML (inline tables and arrays; strings as basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(type(value))


def toml_document(data: dict[str, Any]) -> str:
    """A document of top-level keys with inline values."""
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in data.items())


# ---------------------------------------------------------------------------- mutants
SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 2**31, 10**9, 10**10, 10**15, 2**63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-308, 1.8e307, 1.7e308, -1e308, 0.5, 1.5]),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "false",
            "none",
            "rct",
            "planned",
            "A01-1",
            "\x1b[31m",
            "demo",
            "bordeaux",
        ]
    ),
    st.integers(100_000, 300_000).map(lambda n: "x" * n),  # over the csv module's field limit
    st.integers(256, 400).map(lambda n: "z" * n + ".csv"),  # a file name too long
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    return found


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _delete(data: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


@st.composite
def scenario_mutants(draw: st.DrawFn) -> str:
    """A shipped scenario with one to three mutations (replace, delete, add a key)."""
    base = draw(st.sampled_from(SCENARIOS))
    data = tomllib.loads(base.read_text(encoding="utf-8"))
    if data.get("city", {}).get("source") == "bordeaux" and draw(st.booleans()):
        data["city"] = {"source": "demo"}
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            _set(data, path, draw(VALUES))
        elif action == "delete" and len(path) > 0:
            _delete(data, path)
        else:
            parent = path[:-1]
            target = data
            for key in parent:
                target = target[key]
            if isinstance(target, dict):
                target[draw(st.text(max_size=12))] = draw(VALUES)
    return toml_document(data)


CELLS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "-1", "1.5", "1e10", "10000000000", "nan", "inf", "0", "1", "T01", "T99"]),
    st.sampled_from(['"', "a;b;c", "\x00", "T01;T01", "1e400"]),
    st.integers(131_000, 200_000).map(lambda n: "x" * n),
)


@st.composite
def city_mutants(draw: st.DrawFn) -> str:
    """The demo city table with one to three mutations of cells, columns or lines."""
    lines = CITY_TABLE.splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cell", "cell", "duplicate", "drop", "line", "header"]))
        row = draw(st.integers(header, len(lines) - 1))
        cells = lines[row].split(",")
        column = draw(st.integers(0, len(cells) - 1))
        if action == "cell":
            cells[column] = draw(CELLS).replace(",", ";").replace("\n", " ")
            lines[row] = ",".join(cells)
        elif action in ("duplicate", "drop"):
            for i in range(header, len(lines)):
                parts = lines[i].split(",")
                if column < len(parts):
                    if action == "duplicate":
                        parts.append(parts[column])
                    else:
                        del parts[column]
                lines[i] = ",".join(parts)
        elif action == "line":
            lines.insert(row + 1, draw(st.text(max_size=60)).replace("\n", " "))
        else:
            cells[column] = draw(st.text(max_size=20)).replace(",", ";").replace("\n", " ")
            lines[header] = ",".join(lines[header].split(",")[: len(cells)])
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the property
_WARM: list[bool] = []


def _warm_up() -> None:
    """Import the simulator and build the shipped cities once, outside the timed mutants."""
    if not _WARM:
        with contextlib.redirect_stdout(io.StringIO()):
            for path in SCENARIOS:
                main(["validate", str(path)])
        _WARM.append(True)


def validate_once(tmp: Path, scenario: str, table: str | None = None) -> None:
    """`sim validate` of one mutant: exit 0, or exit 2 with one line naming the file; no
    traceback; bounded time and peak memory."""
    path = tmp / "mutant.toml"
    if table is not None:
        city = tmp / "mutant_city.csv"
        city.write_text(table, encoding="utf-8", errors="surrogatepass")
        data = tomllib.loads((ROOT / "scenarios" / "demo.toml").read_text(encoding="utf-8"))
        data["city"] = {"source": city.name}
        scenario = toml_document(data)
    path.write_text(scenario, encoding="utf-8", errors="surrogatepass")
    _warm_up()
    out, err = io.StringIO(), io.StringIO()
    tracemalloc.start()
    started = time.process_time()  # CPU time: the shared machine's load does not count
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
    finally:
        elapsed = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    event(f"exit {code}")
    assert code in (0, 2), err.getvalue()
    assert elapsed < SECONDS_PER_MUTANT
    assert peak < PEAK_BYTES_PER_MUTANT
    text = err.getvalue()
    assert "Traceback" not in text + out.getvalue()
    if code == 2:
        assert text.startswith(f"error: {path}"), text
        assert text.count("\n") == 1, text
        assert len(text) < 2_500
        if table is not None and "mutant_city.csv" in text:
            event("city table refused")


FAST = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(scenario=scenario_mutants())
def test_fuzz_scenarios_fast(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> None:
    """A few seconds of scenario mutants, in every `make test`."""
    validate_once(tmp_path_factory.mktemp("fuzz"), scenario)


@FAST
@given(table=city_mutants())
def test_fuzz_city_tables_fast(tmp_path_factory: pytest.TempPathFactory, table: str) -> None:
    """A few seconds of city table mutants, in every `make test`."""
    validate_once(tmp_path_factory.mktemp("fuzz"), "", table)


@pytest.mark.slow
@SLOW
@given(scenario=scenario_mutants())
def test_fuzz_scenarios_slow(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> None:
    """A larger budget of scenario mutants (`make test-all`)."""
    validate_once(tmp_path_factory.mktemp("fuzz"), scenario)


@pytest.mark.slow
@SLOW
@given(table=city_mutants())
def test_fuzz_city_tables_slow(tmp_path_factory: pytest.TempPathFactory, table: str) -> None:
    """A larger budget of city table mutants (`make test-all`)."""
    validate_once(tmp_path_factory.mktemp("fuzz"), "", table)
