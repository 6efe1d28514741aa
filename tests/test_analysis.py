"""Comparisons from data frames: intervals that stay honest for ratios, pairs and yes/no flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.reading.analysis import (
    mean_interval,
    paired_ratio_difference,
    proportion_interval,
    ratio_interval,
)


def _arm(spending: np.ndarray, outcomes: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "replication": np.arange(len(spending)),
            "public_spending_eur_employment": spending,
            "true_additional_employment": outcomes,
        }
    )


def test_wilson_interval_is_not_zero_width_when_all_runs_agree() -> None:
    """Four runs out of four: the share is 1 and the interval still reaches well below it."""
    mean, low, high, n = proportion_interval(np.ones(4))
    assert (mean, high, n) == (1.0, 1.0, 4)
    assert low == pytest.approx(0.5101, abs=1e-3)  # Wilson bound for 4/4 at 95 %


def test_mean_interval_matches_student_t() -> None:
    """Mean and half-width t(0.975, n-1) s / sqrt(n)."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, _, high, _ = mean_interval(x)
    half = 3.182446 * x.std(ddof=1) / 2
    assert mean == 2.5
    assert high - mean == pytest.approx(half, rel=1e-5)


def test_paired_difference_sees_what_overlapping_intervals_hide() -> None:
    """Two arms whose costs move together across replications: their separate intervals
    overlap, but the paired difference is clearly positive."""
    rng = np.random.default_rng(1)
    outcomes = rng.uniform(50, 200, 10)  # replications differ a lot (shared draws)...
    cheap = _arm(np.full(10, 100_000.0), outcomes)
    dear = _arm(np.full(10, 110_000.0), outcomes + rng.normal(0, 1, 10))  # ...the gap does not
    _, _, cheap_high, _ = ratio_interval(
        cheap["public_spending_eur_employment"], cheap["true_additional_employment"]
    )
    _, dear_low, _, _ = ratio_interval(
        dear["public_spending_eur_employment"], dear["true_additional_employment"]
    )
    assert dear_low < cheap_high, "the separate intervals overlap"
    diff, low, _ = paired_ratio_difference(cheap, dear)
    assert diff == pytest.approx(0.1 * 100_000 / outcomes.mean(), rel=0.05)
    assert low > 0
    same_diff, same_low, same_high = paired_ratio_difference(cheap, cheap)
    assert same_diff == 0
    assert same_low <= 0 <= same_high


def test_ratio_is_undefined_when_outcomes_hover_around_zero() -> None:
    """When the additional outcomes are often not positive, no interval is given."""
    outcomes = np.array([5.0, -4.0, 3.0, -6.0, 2.0, -1.0])
    _, low, high, n = ratio_interval(np.full(6, 1e5), outcomes)
    assert n == 6
    assert np.isnan(low)
    assert np.isnan(high)


def test_monetised_view_values_each_need_apart_and_keeps_the_counts() -> None:
    """The monetised value of a run is each need's true additional outcomes times its euro
    value, summed in euros; its mean over replications has a t interval; the counts are not
    changed."""
    from sim.reading.analysis import monetised_values

    metrics = pd.DataFrame(
        {
            "point": 0,
            "arm": ["plan", "plan", "status_quo", "status_quo"],
            "replication": [0, 1, 0, 1],
            "status": "done",
            "true_additional_employment": [10.0, 20.0, np.nan, np.nan],
            "true_additional_french": [100.0, 0.0, np.nan, np.nan],
            "true_additional_rights": [5.0, 5.0, np.nan, np.nan],
        }
    )
    before = metrics.copy()
    view = monetised_values(metrics, {"employment": 5_000.0, "french": 100.0, "rights": 0.0})
    (row,) = view.itertuples()
    assert row.arm == "plan"
    assert row.value_eur == pytest.approx((60_000.0 + 100_000.0) / 2)
    assert row.replications == 2
    assert row.ci_low < row.value_eur < row.ci_high
    pd.testing.assert_frame_equal(metrics, before)
