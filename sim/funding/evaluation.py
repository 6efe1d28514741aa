"""Evaluation designs: what an evaluator can estimate from what it observes in the arm's run.

Evaluators never see the status-quo twin. Each design returns an estimated effect per participant
with its standard error and the count of outcomes it validates:

- ``none``: gross outcomes among participants (simple ex-post verification, the most common in
  practice: 198 of 223 INDIGO metrics); no counterfactual, so every outcome is validated;
- ``historical_baseline``: participants' outcomes against the rate that published statistics
  (group job-finding hazards, French progression, take-up) predict for people like them, times a
  ``baseline_bias`` (below 1: too pessimistic a baseline, as in the Utah preschool bond);
- ``comparison_group``: matched non-participants in need in the same territories at the month each
  participant enrolled (exact on hazard group and French level, nearest on a *noisily observed*
  barrier score), difference in outcome rates over the same windows;
- ``rct``: random assignment among eligible applicants; intention-to-treat difference between
  those assigned to the action and those randomized out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.errors import UserInputError
from sim.world.params import EMPLOYMENT, FRENCH, ModelParams
from sim.world.population import Population, reached_between

DESIGNS = ("none", "historical_baseline", "comparison_group", "rct")
#: Monthly separation of established jobs that an evaluator assumes from published statistics.
PUBLISHED_SEPARATION_PER_MONTH = 0.01
#: Standard deviation of the evaluator's measurement of the barrier score (illustrative).
OBSERVED_BARRIER_NOISE_SD = 0.15


@dataclass(frozen=True)
class EvaluationResult:
    """What an evaluation design reports for one action at one date."""

    design: str
    month: int
    n_treated: int
    n_comparison: int
    gross_outcomes: int
    effect_estimate: float
    standard_error: float
    counterfactual_outcomes: float
    validated_outcomes: float

    @property
    def ci_low(self) -> float:
        """Lower bound of the 95 % interval of the effect per participant."""
        return self.effect_estimate - 1.96 * self.standard_error

    @property
    def ci_high(self) -> float:
        """Upper bound of the 95 % interval of the effect per participant."""
        return self.effect_estimate + 1.96 * self.standard_error

    def to_dict(self) -> dict[str, Any]:
        """Plain record, with the interval."""
        return {**asdict(self), "ci_low": self.ci_low, "ci_high": self.ci_high}


def check_design(design: str) -> str:
    """The design name, or a clear error naming the valid ones."""
    if design not in DESIGNS:
        raise UserInputError(
            f"unknown evaluation design '{design}': expected one of {', '.join(DESIGNS)}"
        )
    return design


def outcome_between(
    pop: Population, specialty: int, rows: np.ndarray, start: np.ndarray, end: int
) -> np.ndarray:
    """Whether each resident reached the specialty's outcome between its start month and ``end``
    (a job held 6 months; French A1; a right claimed)."""
    if specialty == EMPLOYMENT:
        return reached_between(
            pop.sustained_job_month[rows], start, end, pop.last_sustained_job_month[rows]
        )
    month = pop.a1_month[rows] if specialty == FRENCH else pop.claim_month[rows]
    return reached_between(month, start, end)


def published_outcome_probability(
    params: ModelParams, specialty: int, group: np.ndarray, months: np.ndarray
) -> np.ndarray:
    """Chance of the outcome within ``months`` that published rates give for each hazard group
    (``sim.world.population.SHORT_TERM`` ... ``EMPLOYED``), ignoring duration dependence as such
    benchmarks do."""
    months = np.maximum(months, 0)
    if specialty == EMPLOYMENT:
        hazard = np.array(
            [
                params.job_hazard_short_per_month,
                params.job_hazard_long_per_month,
                params.job_hazard_rsa_per_month,
                0.0,  # the employed
            ]
        )[group]
        retained = params.retention_3_months * (1 - PUBLISHED_SEPARATION_PER_MONTH) ** 3
        return np.asarray((1 - (1 - hazard) ** np.maximum(months - 5, 0)) * retained)
    rate = (
        params.french_progress_none_per_month
        if specialty == FRENCH
        else params.takeup_hazard_unaware_per_month
    )
    return np.asarray(1 - (1 - rate) ** months)


def evaluate(
    design: str,
    pop: Population,
    specialty: int,
    month: int,
    treated: tuple[np.ndarray, np.ndarray, np.ndarray],
    comparison: tuple[np.ndarray, np.ndarray] | None = None,
    baseline_bias: float = 1.0,
) -> EvaluationResult:
    """Estimate an action's effect at ``month``.

    Args:
        design: one of ``DESIGNS``.
        pop: the arm's population (outcomes so far).
        specialty: the action's specialty index.
        month: evaluation date; outcomes after it are not seen.
        treated: (rows, start months, hazard groups at start) of participants, or of those
            assigned to the action for an RCT.
        comparison: (rows, start months) of the matched comparison group or RCT controls.
        baseline_bias: multiplier on the historical baseline (1: published rates as they are).
    """
    check_design(design)
    rows, start, group = treated
    y = outcome_between(pop, specialty, rows, start, month).astype(float)
    n = len(y)
    gross = int(y.sum())
    if n == 0:
        return EvaluationResult(design, month, 0, 0, 0, 0.0, math.inf, 0.0, 0.0)
    if design == "none":
        rate = y.mean()
        se = math.sqrt(max(rate * (1 - rate), 0.25 / n) / n)
        return EvaluationResult(design, month, n, 0, gross, float(rate), se, 0.0, float(gross))
    if design == "historical_baseline":
        predicted = baseline_bias * published_outcome_probability(
            pop.params, specialty, group, month - start + 1
        )
        counterfactual = float(predicted.sum())
        diff = y - predicted
        se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        return EvaluationResult(
            design,
            month,
            n,
            0,
            gross,
            float(diff.mean()),
            se,
            counterfactual,
            max(0.0, gross - counterfactual),
        )
    if comparison is None or len(comparison[0]) == 0:
        return EvaluationResult(design, month, n, 0, gross, 0.0, math.inf, 0.0, 0.0)
    c_rows, c_start = comparison
    yc = outcome_between(pop, specialty, c_rows, c_start, month).astype(float)
    effect = float(y.mean() - yc.mean())
    # Matching with replacement reuses comparisons: their mean rests on fewer people.
    reuse = np.unique(c_rows, return_counts=True)[1]
    se = _difference_se(y, yc, len(yc) ** 2 / float((reuse**2).sum()))
    counterfactual = float(n * yc.mean())
    return EvaluationResult(
        design,
        month,
        n,
        len(yc),
        gross,
        effect,
        se,
        counterfactual,
        max(0.0, gross - counterfactual),
    )


def _difference_se(a: np.ndarray, b: np.ndarray, b_effective_n: float | None = None) -> float:
    """Standard error of a difference in means of two independent binary samples (``b`` resting
    on ``b_effective_n`` distinct people when reused), with each variance floored at that of a
    rate of 1/(4n) so that a sample without variation is not taken as certain."""

    def var(x: np.ndarray) -> float:
        p = x.mean()
        return float(max(p * (1 - p), 1.0 / (4 * len(x))))

    if len(a) < 2 or len(b) < 2:
        return math.inf
    n_b = len(b) if b_effective_n is None else b_effective_n
    return math.sqrt(var(a) / len(a) + var(b) / n_b)


def match_comparisons(
    pop: Population,
    participants: np.ndarray,
    pool: np.ndarray,
    observed_barrier: np.ndarray,
) -> np.ndarray:
    """One matched non-participant per participant (with replacement): same hazard group and
    French level when possible, nearest observed barrier score; -1 where the pool is empty."""
    matches = np.full(len(participants), -1, dtype=np.int64)
    if len(pool) == 0 or len(participants) == 0:
        return matches
    cell_p = _cell(pop, participants)
    cell_pool = _cell(pop, pool)
    for cell in np.unique(cell_p):
        wanted = np.flatnonzero(cell_p == cell)
        candidates = pool[cell_pool == cell]
        if len(candidates) == 0:
            candidates = pool
        matches[wanted] = _nearest(
            observed_barrier[participants[wanted]], candidates, observed_barrier
        )
    return matches


def _cell(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.asarray(pop.hazard_group(rows).astype(np.int64) * 3 + pop.french[rows])


def _nearest(values: np.ndarray, candidates: np.ndarray, observed: np.ndarray) -> np.ndarray:
    order = np.argsort(observed[candidates], kind="stable")
    sorted_values = observed[candidates][order]
    position = (
        np.clip(np.searchsorted(sorted_values, values), 1, len(sorted_values) - 1)
        if len(sorted_values) > 1
        else np.zeros(len(values), dtype=np.int64)
    )
    if len(sorted_values) > 1:
        left = sorted_values[position - 1]
        right = sorted_values[position]
        position = np.where(np.abs(values - left) <= np.abs(values - right), position - 1, position)
    return np.asarray(candidates[order][position])
