"""The run's cohort log, indexed by action, against the plain reading of everything added: each
action's entries, in the order they were added."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.actions import CohortLog

# One addition: (action, resident, hazard group) per joiner; then whether the log is read after it.
_ADDITION = st.tuples(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(0, 2)), max_size=8),
    st.booleans(),
)


def _plain(
    added: list[tuple[int, list[tuple[int, int, int]]]], index: int
) -> list[tuple[int, int, int]]:
    """(resident, month, group) of every joiner of action ``index``, in the order added."""
    return [(row, month, g) for month, joiners in added for a, row, g in joiners if a == index]


@settings(max_examples=200, deadline=None)
@given(st.lists(_ADDITION, max_size=10))
def test_each_action_reads_its_joiners_in_the_order_added(
    additions: list[tuple[list[tuple[int, int, int]], bool]],
) -> None:
    log = CohortLog()
    added: list[tuple[int, list[tuple[int, int, int]]]] = []
    for month, (joiners, read) in enumerate(additions):
        action = np.array([a for a, _, _ in joiners], dtype=np.int32)
        rows = np.array([r for _, r, _ in joiners], dtype=np.int64)
        log.add(action, rows, month, np.array([g for _, _, g in joiners], dtype=np.int8))
        added.append((month, joiners))
        if read or month == len(additions) - 1:
            for index in range(8):
                rows_of, months_of, groups_of = log.of(index)
                got = list(
                    zip(rows_of.tolist(), months_of.tolist(), groups_of.tolist(), strict=True)
                )
                assert got == _plain(added, index)
                assert log.count(index) == len(got)
                assert rows_of.dtype == months_of.dtype == groups_of.dtype == np.int64


def test_a_read_is_a_copy_of_the_log() -> None:
    log = CohortLog()
    log.add(np.array([0, 1, 0]), np.array([4, 5, 6]), 3, np.array([0, 1, 2]))
    rows, _, _ = log.of(0)
    rows[:] = -1
    assert log.of(0)[0].tolist() == [4, 6]
