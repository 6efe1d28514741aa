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

Evaluators sit on the funders' side: they see what the city exposes to them (residents'
outcomes, who enrolled when, hazard groups and French levels from registers, and a barrier score
they measure with noise), never the status-quo twin. An ``Evaluator`` is attached to each funded
action; for a comparison-group design it samples its comparisons at each enrolment
(``ComparisonSampler``, told by the action who joined).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.delivery.actions import Action, Cohorts, Enrolment
from sim.delivery.needs import Need
from sim.errors import UserInputError
from sim.world.population import Population
from sim.world.rng import Stream, stream

DESIGNS = ("none", "historical_baseline", "comparison_group", "rct")
#: Standard deviation of the evaluator's measurement of the barrier score (illustrative).
OBSERVED_BARRIER_NOISE_SD = 0.15
#: Candidates an evaluator draws per participant to find its match (a random sample of the pool).
COMPARISON_POOL_PER_PARTICIPANT = 20
#: Share of eligible applicants randomized out when a design is an RCT.
RCT_CONTROL_SHARE = 0.5


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


def evaluate(
    design: str,
    pop: Population,
    need: Need,
    month: int,
    treated: tuple[np.ndarray, np.ndarray, np.ndarray],
    comparison: tuple[np.ndarray, np.ndarray] | None = None,
    baseline_bias: float = 1.0,
) -> EvaluationResult:
    """Estimate an action's effect at ``month``.

    Args:
        design: one of ``DESIGNS``.
        pop: the arm's population (outcomes so far).
        need: the need the action answers.
        month: evaluation date; outcomes after it are not seen.
        treated: (rows, start months, hazard groups at start) of participants, or of those
            assigned to the action for an RCT.
        comparison: (rows, start months) of the matched comparison group or RCT controls.
        baseline_bias: multiplier on the historical baseline (1: published rates as they are).
    """
    check_design(design)
    rows, start, group = treated
    y = need.outcomes_between(pop, rows, start, month).astype(float)
    n = len(y)
    gross = int(y.sum())
    if n == 0:
        return EvaluationResult(design, month, 0, 0, 0, 0.0, math.inf, 0.0, 0.0)
    if design == "none":
        rate = y.mean()
        se = math.sqrt(max(rate * (1 - rate), 0.25 / n) / n)
        return EvaluationResult(design, month, n, 0, gross, float(rate), se, 0.0, float(gross))
    if design == "historical_baseline":
        predicted = baseline_bias * need.published_rate(
            pop.params, group, np.maximum(month - start + 1, 0)
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
    yc = need.outcomes_between(pop, c_rows, c_start, month).astype(float)
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


def observed_barrier(pop: Population) -> np.ndarray:
    """The barrier score as evaluators measure it: with noise, fixed per resident (the run's
    ``evaluation`` stream)."""
    noise = stream(pop.seed, Stream.EVALUATION).normal(0.0, OBSERVED_BARRIER_NOISE_SD, pop.n)
    return np.asarray(pop.barrier + noise.astype(np.float32))


class ComparisonSampler:
    """A comparison-group evaluator's sampling: at each enrolment, one matched non-participant
    per participant, drawn from residents in need of the comparison territories.

    Args:
        observed: the evaluators' noisy barrier score of every resident.
    """

    def __init__(self, observed: np.ndarray) -> None:
        self.observed = observed
        self.comparisons = Cohorts()
        self.territories: tuple[int, ...] | None = None

    def enrolled(
        self, action: Action, rows: np.ndarray, month: int, pop: Population, enr: Enrolment
    ) -> None:
        """Match the residents who just joined ``action`` (an ``EnrolmentWatcher``)."""
        pool = self._pool(action, pop, enr, COMPARISON_POOL_PER_PARTICIPANT * len(rows))
        matches = match_comparisons(pop, rows, pool, self.observed)
        self.comparisons.add(matches[matches >= 0], month, pop)

    def _pool(self, action: Action, pop: Population, enr: Enrolment, size: int) -> np.ndarray:
        """About ``size`` residents eligible as comparisons, drawn at random from those in need
        in the comparison territories, as an evaluator samples a register. Drawing before
        checking eligibility keeps the work proportional to the sample, not to the city."""
        territories = self._comparison_territories(action, pop)
        scanned = [enr.in_need(pop, action.specialty, t, False) for t in territories]
        everyone = scanned[0] if len(scanned) == 1 else np.concatenate(scanned)
        if len(everyone) > 2 * size:
            picks = action.rng.choice(len(everyone), size=2 * size, replace=False, shuffle=False)
            everyone = everyone[np.sort(picks)]
        return action.eligible(pop, enr, everyone)[:size]

    def _comparison_territories(self, action: Action, pop: Population) -> tuple[int, ...]:
        """Up to 3 territories the action does not serve, of the same QPV status as its first
        if possible, chosen once: comparisons there are not contaminated by the action itself.
        An action serving the whole city takes matched non-participants in its own territories."""
        if self.territories is None:
            served = set(action.spec.territories)
            qpv = pop.qpv[action.spec.territories[0]]
            others = [t for t in range(pop.n_territories) if t not in served]
            alike = [t for t in others if pop.qpv[t] == qpv] or others or sorted(served)
            picked = action.rng.permutation(len(alike))[:3]
            self.territories = tuple(sorted(alike[i] for i in picked))
        return self.territories


class Evaluator:
    """The evaluation of one funded action with one design.

    Args:
        design: one of ``DESIGNS``.
        baseline_bias: multiplier on a historical baseline (1: published rates as they are).
        sampler: the comparison sampler of a comparison-group design.
    """

    def __init__(
        self, design: str, baseline_bias: float = 1.0, sampler: ComparisonSampler | None = None
    ) -> None:
        self.design = check_design(design)
        self.baseline_bias = baseline_bias
        self.sampler = sampler

    def evaluate(
        self,
        action: Action,
        pop: Population,
        month: int,
        need: Need | None = None,
        window: tuple[int, int] | None = None,
    ) -> EvaluationResult:
        """The action's effect at ``month`` as the design estimates it: on the outcome of
        ``need`` (the action's own by default), among those who joined in ``window`` (months
        [from, before); everyone by default) and their comparisons."""
        treated = _within(action.enrolled.data(month), window)
        comparison = None
        if self.design == "rct":
            rows, months, _ = _within(action.controls.data(month), window)
            comparison = (rows, months)
        elif self.sampler is not None:
            rows, months, _ = _within(self.sampler.comparisons.data(month), window)
            comparison = (rows, months)
        return evaluate(
            self.design, pop, need or action.need, month, treated, comparison, self.baseline_bias
        )


def _within(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], window: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (rows, start months, groups) of those who joined within ``window``."""
    if window is None:
        return data
    rows, months, groups = data
    keep = (months >= window[0]) & (months < window[1])
    return rows[keep], months[keep], groups[keep]


def control_share(design: str) -> float:
    """Share of eligible applicants an action randomizes out under a design."""
    return RCT_CONTROL_SHARE if check_design(design) == "rct" else 0.0
