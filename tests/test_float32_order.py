"""``float32_order`` gives whole numbers that compare as the 32-bit floats they come from."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.delivery.groups import float32_order

_FLOATS = st.lists(
    st.floats(width=32, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.5, -1.5]),
    max_size=40,
)


@given(_FLOATS)
def test_float32_order_compares_as_the_floats(values: list[float]) -> None:
    """Every pair compares alike (infinities, subnormals, -0 and +0 included), and the numbers
    lie below 2**32, where matching's keys budget them."""
    floats = np.array(values, dtype=np.float32)
    order = float32_order(floats)
    assert order.dtype == np.int64
    assert ((order >= 0) & (order < 1 << 32)).all()
    assert np.array_equal(order[:, None] < order[None, :], floats[:, None] < floats[None, :])
    assert np.array_equal(order[:, None] == order[None, :], floats[:, None] == floats[None, :])


@given(_FLOATS)
def test_float32_order_is_the_bits_reversed_or_raised(values: list[float]) -> None:
    """The plain expression: a negative float's bits reversed, a positive one's raised by 2**31."""
    floats = np.array(values, dtype=np.float32)
    bits = (floats + np.float32(0.0)).view(np.uint32).astype(np.int64)
    plain = np.where(bits >= 1 << 31, (1 << 32) - 1 - bits, bits + (1 << 31))
    assert np.array_equal(float32_order(floats), plain)
