"""The README's Python examples run as written and print what the README says they print."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS: list[str] = re.findall(
    r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S
)
#: A number as Python prints it, optionally cut short with "..." in the README.
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(\.\.\.)?")


@dataclass
class Printed:
    """What a block printed, by the line of the block that printed it, and its variables."""

    by_line: dict[int, list[str]] = field(default_factory=dict)
    namespace: dict[str, Any] = field(default_factory=dict)


def run_block(code: str) -> Printed:
    """Execute a README block, recording each print by the block line that called it."""
    printed = Printed()

    def record(*args: Any, sep: str = " ", end: str = "\n", **_: Any) -> None:
        line = sys._getframe(1).f_lineno
        printed.by_line.setdefault(line, []).append(sep.join(str(a) for a in args))

    printed.namespace.update({"__name__": "readme", "print": record})
    exec(compile(code, str(README), "exec"), printed.namespace)
    return printed


def print_lines(code: str) -> dict[int, tuple[ast.Call, str | None]]:
    """Each top-level print call of a block, by line, with the comment that follows it."""
    lines = code.splitlines()
    found = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            text = lines[node.lineno - 1]
            comment = text.split("#", 1)[1].strip() if "#" in text else None
            found[node.lineno] = (node, comment)
    return found


def expected_value(call: ast.Call, comment: str | None) -> str | None:
    """The output a comment promises: a Python value (what precedes an explanation after
    ': '), or the text of a print of a literal string; None for a comment that describes."""
    if comment is None:
        return None
    for candidate in (comment, comment.split(": ", 1)[0]):
        try:
            ast.literal_eval(NUMBER.sub(lambda m: m.group(0).removesuffix("..."), candidate))
        except (ValueError, SyntaxError):
            continue
        return candidate
    literal = len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
    return comment if literal else None


def matches(printed: str, expected: str) -> bool:
    """Same structure and text; numbers equal to 9 significant digits, or, when the README
    cuts one short with '...', starting with the digits it gives."""
    if NUMBER.sub("#", printed) != NUMBER.sub("#", expected):
        return False
    for got, want in zip(NUMBER.finditer(printed), NUMBER.finditer(expected), strict=True):
        if want.group(1):
            if not got.group(0).startswith(want.group(0).removesuffix("...")):
                return False
        elif got.group(0) != want.group(0) and float(got.group(0)) != pytest.approx(
            float(want.group(0)), rel=1e-9
        ):
            return False
    return True


def block_with(text: str) -> str:
    """The README block that contains ``text``."""
    found = [code for code in BLOCKS if text in code]
    assert len(found) == 1, f"one README block should contain {text!r}"
    return found[0]


def test_matching_of_printed_values() -> None:
    """The comparison of printed and promised values accepts the README's conventions and
    refuses a wrong value, a wrong structure and a wrong cut-short number."""
    assert matches(
        "((24, 300000.0), (48, 884756.2500000002))", "((24, 300000.0), (48, 884756.25...))"
    )
    assert matches("0.050000000000000065", "0.05")
    assert not matches("0.051", "0.05")
    assert not matches("(48, 884757.25)", "(48, 884756.25...)")
    assert not matches("('max_return', '')", "('', 'max_return')")
    assert not matches("[0.05]", "0.05")


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_prints_what_its_comments_say(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ```python block of the README executes without error (in a temporary folder, so that
    result files stay out of the project), every print runs once, and every print whose comment
    gives a value prints that value."""
    monkeypatch.chdir(tmp_path)
    printed = run_block(code)
    prints = print_lines(code)
    assert prints, "a README example shows what it gives"
    for line, (call, comment) in prints.items():
        outputs = printed.by_line.get(line, [])
        assert len(outputs) == 1, f"README example line {line} printed {len(outputs)} times"
        expected = expected_value(call, comment)
        if expected is not None:
            assert matches(outputs[0], expected), (line, outputs[0], expected)


def test_settlement_example_promises_values() -> None:
    """The settlement example states the payments, the return and what limited each payment
    (so that the comparison above has something to check)."""
    code = block_with("settle(terms, [EvaluatedPeriod(24, 60)")
    promised = [expected_value(c, m) for c, m in print_lines(code).values()]
    assert len([p for p in promised if p is not None]) == 3


def test_model_example_prints_the_models_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CityModel example: the Resident agents give the unemployed count and mean barrier of
    the population's arrays, and an effective action yields additional 6-month jobs among its
    participants against the same-seed twin."""
    monkeypatch.chdir(tmp_path)
    code = block_with("CityModel(")
    printed = run_block(code)
    outputs = [text for line in sorted(printed.by_line) for text in printed.by_line[line]]
    assert len(outputs) == 3
    population = printed.namespace["model"].population
    assert outputs[0] == f"{np.count_nonzero(~population.employed)} unemployed"
    assert float(outputs[1]) == pytest.approx(float(population.barrier.mean()), rel=1e-5)
    match = re.fullmatch(r"additional 6-month jobs among participants: (-?\d+)", outputs[2])
    assert match is not None, outputs[2]
    assert int(match.group(1)) > 0


def test_scenario_example_prints_arms_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run_scenario example prints a table of metrics (rows) by arm (columns, the status quo
    being the reference, not a column), then one row per run: 2 replications of the arm and of
    its twin, whose true additional outcomes are measured against the twin (none for the twin
    itself)."""
    from sim.reading.analysis import HEADLINE

    monkeypatch.chdir(tmp_path)
    code = block_with("run_scenario(")
    printed = run_block(code)
    outputs = [text for line in sorted(printed.by_line) for text in printed.by_line[line]]
    assert len(outputs) == 2
    results = printed.namespace["results"]
    table = results.comparison_table()
    assert list(table.columns) == ["planned"]
    labels = {label for label, _ in HEADLINE.values()}
    assert set(table.index) <= labels
    for label in table.index:
        assert label.strip() in outputs[0]
    runs = results.metrics
    assert sorted(zip(runs["arm"], runs["replication"], strict=True)) == [
        ("planned", 0),
        ("planned", 1),
        ("status_quo", 0),
        ("status_quo", 1),
    ]
    outcomes = runs.set_index("arm")["true_additional_employment"]
    assert outcomes["planned"].notna().all()
    assert outcomes["status_quo"].isna().all()
    assert outputs[1].splitlines()[0].split() == [
        "arm",
        "replication",
        "true_additional_employment",
    ]
