"""``distinct_below`` is ``np.unique`` of whole numbers below a bound, sparse (sorted) or dense
(marked)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.delivery.groups import SPARSE_BELOW, distinct_below


@given(
    st.integers(1, 200).flatmap(
        lambda bound: st.tuples(
            st.just(bound), st.lists(st.integers(0, bound - 1), max_size=3 * bound)
        )
    ),
    st.sampled_from([np.int32, np.int64]),
)
def test_distinct_below_is_numpy_unique(case: tuple[int, list[int]], dtype: type) -> None:
    """The distinct values in increasing order, whichever way they are found (both are reached:
    lists up to three times the bound, and the bound up to ``SPARSE_BELOW`` times more)."""
    bound, values = case
    array = np.array(values, dtype=dtype)
    for wider in (bound, bound * SPARSE_BELOW):
        assert np.array_equal(distinct_below(array, wider), np.unique(array))
