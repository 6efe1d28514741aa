"""Random streams: declared once, independent, keyed by name rather than by creation order."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.world.rng import (
    Stream,
    _counter_key,
    counter_uniform16,
    indexed_stream,
    stream,
    stream_key,
)

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
    rows = np.arange(8)
    assert np.array_equal(
        counter_uniform16(3, Stream.DIFFUSION, 5, 0, rows),
        counter_uniform16(3, Stream.DIFFUSION, 5, 0, rows),
    )
    for other in [(4, 5, 0), (3, 6, 0), (3, 5, 1)]:
        seed, month, part = other
        drawn = counter_uniform16(seed, Stream.DIFFUSION, month, part, rows)
        assert not np.array_equal(drawn, counter_uniform16(3, Stream.DIFFUSION, 5, 0, rows))


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
                "counter_uniform16",
            ):
                name = node.args[1] if len(node.args) > 1 else None
                assert not isinstance(name, ast.Constant), (
                    f"{path.name}:{node.lineno} names a stream by a string literal"
                )
    assert used == {s.name for s in Stream}


def test_a_counter_based_draw_depends_only_on_its_row() -> None:
    """The draws of some rows are those rows' draws among everyone's, in any order and with
    repeats: who else draws never changes a resident's draw."""
    everyone = counter_uniform16(11, Stream.DIFFUSION, 40, 2, np.arange(100_000))
    rows = np.random.default_rng(0).integers(0, 100_000, 5_000)
    assert np.array_equal(counter_uniform16(11, Stream.DIFFUSION, 40, 2, rows), everyone[rows])


def test_counter_based_draws_are_uniform_and_independent() -> None:
    """Over 2^20 residents: each of 256 bins of the 16-bit range holds its share within the
    chi-square's spread (255 degrees of freedom: mean 255, s.d. 22.6; 6 s.d. allowed), a
    threshold ``p * 65536`` is passed with probability ``p`` within 6 binomial standard errors,
    and the draws of two months, of two parts and of neighbouring residents are uncorrelated
    within 6 standard errors (1 / sqrt(n))."""
    n = 1 << 20
    rows = np.arange(n)
    a = counter_uniform16(5, Stream.DIFFUSION, 7, 0, rows).astype(np.float64)
    counts = np.bincount((a // 256).astype(np.int64), minlength=256)
    chi2 = float(((counts - n / 256) ** 2 / (n / 256)).sum())
    assert abs(chi2 - 255) < 6 * np.sqrt(2 * 255)
    for p in (0.01, 0.3):
        share = float(np.mean(a < p * 65536))
        assert abs(share - p) < 6 * np.sqrt(p * (1 - p) / n)
    month = counter_uniform16(5, Stream.DIFFUSION, 8, 0, rows).astype(np.float64)
    part = counter_uniform16(5, Stream.DIFFUSION, 7, 1, rows).astype(np.float64)
    for x, y in [(a, month), (a, part), (a[:-1], a[1:])]:
        assert abs(np.corrcoef(x, y)[0, 1]) < 6 / np.sqrt(len(x))


def _splitmix64_top16(key: int, row: int) -> int:
    """The top 16 bits of SplitMix64's ``row``-th output from ``key``, in Python integers: the
    textbook formulation (Steele, Lea and Flood, 2014)."""
    mask = (1 << 64) - 1
    z = (key + (row + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    z ^= z >> 31
    return z >> 48


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    month=st.integers(0, 400),
    part=st.integers(0, 5),
    rows=st.lists(st.integers(0, 2**40), max_size=50),
)
def test_counter_based_draws_are_splitmix64_outputs(
    seed: int, month: int, part: int, rows: list[int]
) -> None:
    """Each draw is the top 16 bits of the row's SplitMix64 output from the stream's key for
    the month and part, whatever shortcuts the vectorised arithmetic takes."""
    key = int(
        np.random.SeedSequence(
            entropy=seed, spawn_key=(stream_key(Stream.DIFFUSION), month, part)
        ).generate_state(1, dtype=np.uint64)[0]
    )
    drawn = counter_uniform16(seed, Stream.DIFFUSION, month, part, np.array(rows, dtype=np.int64))
    assert drawn.dtype == np.uint16
    assert drawn.tolist() == [_splitmix64_top16(key, row) for row in rows]


@settings(max_examples=300, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32), st.integers(0, 2**63 - 1), st.integers(0, 2**300)),
    name=st.sampled_from(list(Stream)),
    month=st.one_of(st.integers(0, 1_000), st.integers(0, 2**70)),
    part=st.one_of(st.integers(0, 10), st.integers(0, 2**70)),
)
def test_the_counter_key_is_numpys_seed_sequence(
    seed: int, name: Stream, month: int, part: int
) -> None:
    """The key is the first 64-bit word of numpy's SeedSequence state, for seeds and keys of
    one word or many."""
    expected = np.random.SeedSequence(
        entropy=seed, spawn_key=(stream_key(name), month, part)
    ).generate_state(1, dtype=np.uint64)[0]
    assert _counter_key(seed, name, month, part) == int(expected)


def test_the_counter_key_refuses_negative_numbers_like_numpy() -> None:
    """numpy's SeedSequence refuses a negative spawn key, and so does the key."""
    with pytest.raises(ValueError, match="negative"):
        np.random.SeedSequence(entropy=1, spawn_key=(-1,))
    with pytest.raises(ValueError, match="non-negative"):
        _counter_key(1, Stream.DIFFUSION, -1, 0)
