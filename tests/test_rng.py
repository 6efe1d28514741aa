"""Random streams: declared once, independent, keyed by name rather than by creation order."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sim.world.rng import Stream, indexed_stream, monthly_stream, stream, stream_key

PACKAGE = Path(__file__).resolve().parent.parent / "sim"


def test_an_undeclared_stream_name_fails() -> None:
    """A typo does not silently create a new independent stream."""
    with pytest.raises(ValueError, match="unknown random stream 'labor'"):
        stream(1, "labor")  # type: ignore[arg-type]


def test_declared_streams_have_distinct_keys_and_draws() -> None:
    """Every declared stream has its own key, and two streams of one seed draw differently."""
    keys = {stream_key(s) for s in Stream}
    assert len(keys) == len(Stream)
    firsts = {s: stream(7, s).integers(0, 2**62) for s in Stream}
    assert len(set(firsts.values())) == len(Stream)


def test_a_stream_depends_only_on_its_seed_and_name() -> None:
    """The same seed and name give the same draws, whatever was drawn before."""
    stream(3, Stream.LABOUR).random(1000)
    assert stream(3, Stream.LABOUR).random() == stream(3, Stream.LABOUR).random()
    assert stream(3, Stream.LABOUR).random() != stream(4, Stream.LABOUR).random()
    a = indexed_stream(3, Stream.PROGRAMME, 2).random(3)
    b = indexed_stream(3, Stream.PROGRAMME, 2).random(3)
    assert np.array_equal(a, b)
    assert (
        monthly_stream(3, Stream.DIFFUSION, 5).random()
        != monthly_stream(3, Stream.DIFFUSION, 6).random()
    )


def test_every_stream_the_code_draws_from_is_declared_and_used() -> None:
    """The code names streams only through ``Stream`` members, and every member is used."""
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Stream"
                and not node.attr.startswith("_")
            ):
                used.add(node.attr)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "stream",
                "stream_seed",
                "indexed_stream",
                "monthly_stream",
            ):
                name = node.args[1] if len(node.args) > 1 else None
                assert not isinstance(name, ast.Constant), (
                    f"{path.name}:{node.lineno} names a stream by a string literal"
                )
    assert used == {s.name for s in Stream}
