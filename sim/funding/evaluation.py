"""Evaluation designs: what an evaluator can estimate from what it observes in the arm's run.

Evaluators never see the status-quo twin. Each design returns an estimated effect per participant
with its standard error and the count of outcomes it validates:

- ``none``: gross outcomes among participants (simple ex-post verification, the most common in
  practice: 198 of 223 INDIGO metrics); no counterfactual, so every outcome is validated;
- ``historical_baseline``: participants' outcomes against the rate that published statistics
  (group job-finding hazards, French progression, take-up) predict for people like them, times a
  ``baseline_bias`` (below 1: too pessimistic a baseline, as in the Utah preschool bond);
- ``comparison_group``: matched non-participants in need at the month each participant enrolled
  (exact on hazard group and French level, nearest on a *noisily observed* barrier score),
  difference in outcome rates over the same windows. Comparisons come from territories the
  action does not serve; when it serves them all, from residents of its territories not yet
  enrolled. Either way a comparison who later joins an action of the same need is censored at
  that enrolment (their outcome is observed up to the month before, and the months left of their
  window are completed with the comparisons' Kaplan-Meier outcome curve from a start in need),
  and the evaluation records
  where its comparisons came from and how many were censored (``comparison_source``,
  ``comparison_censored``, ``comparison_caveat``);
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
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sim.delivery.actions import Action, Cohort, CohortLog, Enrolment, Target, within_target
from sim.delivery.groups import (
    distinct_below,
    first_in_groups,
    float32_order,
    stable_argsort,
)
from sim.delivery.needs import Need
from sim.errors import UserInputError
from sim.world.population import NOT_YET, Population
from sim.world.rng import Stream, stream
from sim.world.runs import expand_ranges, runs_between

DESIGNS = ("none", "historical_baseline", "comparison_group", "rct")
#: Standard deviation of the evaluator's measurement of the barrier score (illustrative).
OBSERVED_BARRIER_NOISE_SD = 0.15
#: Candidates an evaluator draws per participant to find its match (a random sample of the pool).
COMPARISON_POOL_PER_PARTICIPANT = 20
#: Share of eligible applicants randomized out when a design is an RCT.
RCT_CONTROL_SHARE = 0.5
#: Where a comparison group comes from (``EvaluationResult.comparison_source``).
UNSERVED_TERRITORIES = "unserved_territories"
NOT_YET_ENROLLED = "not_yet_enrolled_in_served_territories"
#: What a report says of each source (English; ``sim.reading.i18n`` may translate it).
COMPARISON_CAVEATS = {
    UNSERVED_TERRITORIES: (
        "comparisons live in territories the action does not serve: differences between "
        "territories that matching does not remove bias the estimate"
    ),
    NOT_YET_ENROLLED: (
        "every territory is served: comparisons are residents not yet enrolled, who may join "
        "later; those who joined an action of the same need were censored at their enrolment, "
        "which assumes that when people enrol says nothing of their chances"
    ),
}


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
    comparison_source: str = ""
    comparison_censored: int = 0
    comparison_caveat: str = ""

    @property
    def ci_low(self) -> float:
        """Lower bound of the 95 % interval of the effect per participant."""
        return self.effect_estimate - 1.96 * self.standard_error

    @property
    def ci_high(self) -> float:
        """Upper bound of the 95 % interval of the effect per participant."""
        return self.effect_estimate + 1.96 * self.standard_error

    def to_dict(self) -> dict[str, Any]:
        """Plain record, with the interval. The fields are scalars: read as they are, without
        the deep copy of ``dataclasses.asdict`` (hundreds of actions are evaluated at the end
        of a planned run)."""
        plain = {field.name: getattr(self, field.name) for field in fields(self)}
        return plain | {"ci_low": self.ci_low, "ci_high": self.ci_high}


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
    comparison_enrolled: np.ndarray | None = None,
    comparison_source: str = "",
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
        comparison_enrolled: for a comparison group, the month each comparison joined an action
            of the same need (-1: never); those who joined within their window are censored then.
        comparison_source: where the comparisons come from (``UNSERVED_TERRITORIES`` or
            ``NOT_YET_ENROLLED``), recorded with its caveat.
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
    censored = np.zeros(len(c_rows), dtype=bool)
    if comparison_enrolled is not None:
        censored = (comparison_enrolled >= c_start) & (comparison_enrolled <= month)
    yc = _censored_outcomes(pop, need, c_rows, c_start, month, comparison_enrolled, censored)
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
        comparison_source,
        int(censored.sum()),
        COMPARISON_CAVEATS.get(comparison_source, ""),
    )


def _censored_outcomes(
    pop: Population,
    need: Need,
    rows: np.ndarray,
    start: np.ndarray,
    month: int,
    enrolled: np.ndarray | None,
    censored: np.ndarray,
) -> np.ndarray:
    """Each comparison's outcome over its window, censored at enrolment: observed up to the
    month before a censored comparison joined, and for the months left of its window the chance
    of an outcome within as many months that the comparisons' Kaplan-Meier curve (by months
    since their start, when all were in need) gives. Without censoring, the plain outcome."""
    if not censored.any() or enrolled is None:
        return need.outcomes_between(pop, rows, start, month).astype(float)
    start = np.asarray(start, dtype=np.int64)
    end = np.where(censored, enrolled.astype(np.int64) - 1, month)
    # When each comparison's first outcome of its window fell, and whether before the end of
    # what is observed of it.
    first = need.first_outcome_from(pop, rows, start)
    observed = (first != NOT_YET) & (first <= end)
    length = np.maximum(end - start + 1, 0)
    window = month - start + 1
    curve = kaplan_meier_incidence(np.where(observed, first - start, -1), length, int(window.max()))
    # A censored comparison was in need when they joined, like every comparison at its start:
    # the rest of their window is given the comparisons' chance over as many months from start.
    rest = curve[np.maximum(window - length, 0)]
    return np.asarray(np.where(censored & ~observed, rest, observed.astype(float)))


def kaplan_meier_incidence(event: np.ndarray, length: np.ndarray, horizon: int) -> np.ndarray:
    """Share with a first outcome within ``k`` months, for k = 0..``horizon`` (Kaplan-Meier).

    Args:
        event: months since the start of each person's first outcome (0: in the start month),
            or -1 for none while followed.
        length: months each person was followed (an outcome counts if ``event < length``).
        horizon: the longest window asked for.
    """
    size = horizon + 1
    has_event = (event >= 0) & (event < length)
    # A person leaves the risk set after the month of their outcome, or when follow-up ends.
    leaves = np.where(has_event, event + 1, length)
    at_risk = len(leaves) - np.cumsum(np.bincount(np.minimum(leaves, size), minlength=size))
    at_risk = at_risk[:size]
    events = np.bincount(event[has_event], minlength=size)[:size]
    hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), 0.0)
    return np.concatenate(([0.0], 1.0 - np.cumprod(1.0 - hazard)))[:size]


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
    same_territory: bool = False,
) -> np.ndarray:
    """One matched non-participant per participant (with replacement): same hazard group, French
    level and band of months out of work when possible (and territory with ``same_territory``),
    nearest observed barrier score; -1 where the pool is empty."""
    return match_within_groups(
        pop,
        MatchingGroups(participants, np.zeros(len(participants), np.int64)),
        MatchingGroups(pool, np.zeros(len(pool), np.int64)),
        observed_barrier,
        np.array([same_territory]),
    )


@dataclass(frozen=True)
class MatchingGroups:
    """Residents and the matching group (an evaluated action) each belongs to."""

    rows: np.ndarray
    group: np.ndarray


def match_within_groups(
    pop: Population,
    participants: MatchingGroups,
    pool: MatchingGroups,
    observed_barrier: np.ndarray,
    same_territory: np.ndarray,
) -> np.ndarray:
    """``match_comparisons`` for several groups at once: each participant is matched within the
    pool of its own group (``same_territory``: per group). One pass per level of matching cell,
    whatever the number of groups."""
    matches = np.full(len(participants.rows), -1, dtype=np.int64)
    if len(pool.rows) == 0 or len(participants.rows) == 0:
        return matches
    # What is read of the residents is read in the pool's given order (register order: close
    # rows, read faster than the scattered rows of the score order).
    hazard, cell = _cell(pop, np.concatenate((participants.rows, pool.rows)))
    # Every group of either side: the keys' budget must cover the pool's groups too.
    groups = int(max(participants.group.max(), pool.group.max())) + 1
    cells = int(cell.max()) + 1
    finest = groups * cells * (pop.n_territories if same_territory.any() else 1)
    ranks = _score_ranks(observed_barrier[participants.rows], observed_barrier[pool.rows], finest)
    n_p = len(participants.rows)
    side_p = _MatchingSide(participants.rows, participants.group, hazard[:n_p], cell[:n_p])
    side_q = _MatchingSide(pool.rows, pool.group, hazard[n_p:], cell[n_p:])
    if ranks.by_score is not None:
        side_q = side_q.reordered(ranks.by_score)
    levels = _MatchingLevels(pop, same_territory, cells)
    # From the finest cell to none: a participant whose cell has no candidate is matched in
    # the next coarser one (without the territory, then the hazard group alone, then anyone).
    for level in levels.finest_first():
        waiting = np.flatnonzero(matches < 0)
        if len(waiting) == 0:
            break
        # Only the pools of groups with someone left to match (few at the coarser levels;
        # every pool while every group has someone left), and only their levels are made.
        open_group = np.zeros(groups, dtype=bool)
        open_group[participants.group[waiting]] = True
        candidates = None if open_group.all() else np.flatnonzero(open_group[side_q.group])
        if candidates is not None and len(candidates) == 0:
            break
        rank_q = ranks.pool if candidates is None else ranks.pool[candidates]
        matches[waiting] = _nearest_in_cells(
            levels.keys(level, side_p, waiting),
            waiting,
            levels.keys(level, side_q, candidates) * ranks.span + rank_q,
            ranks,
            side_q.rows,
        )
    return matches


@dataclass(frozen=True)
class _MatchingSide:
    """Participants, or the pool, as matching reads them: residents, groups, hazard groups and
    ``_cell``s."""

    rows: np.ndarray
    group: np.ndarray
    hazard: np.ndarray
    cell: np.ndarray

    def reordered(self, order: np.ndarray) -> _MatchingSide:
        """The same residents in ``order``."""
        return _MatchingSide(
            self.rows[order], self.group[order], self.hazard[order], self.cell[order]
        )


#: The levels of matching cell, finest first: the cell within the territory (for the groups
#: matched in their own territory), the cell, the hazard group, anyone.
_TERRITORY_CELL, _CELL, _HAZARD_GROUP, _ANYONE = range(4)


@dataclass(frozen=True)
class _MatchingLevels:
    """Each level's key of a (group, cell) pair, made for the residents matching reads at it.

    Attributes:
        pop: the population (territories).
        same_territory: per group, whether it is matched in its own territory.
        cells: a bound above every ``_cell`` of the month's residents.
    """

    pop: Population
    same_territory: np.ndarray
    cells: int

    def finest_first(self) -> tuple[int, ...]:
        """The levels, finest first. Without a group matched by territory the finest level
        would be the cell itself again, which matches no one more: it is left out."""
        if self.same_territory.any():
            return _TERRITORY_CELL, _CELL, _HAZARD_GROUP, _ANYONE
        return _CELL, _HAZARD_GROUP, _ANYONE

    def width(self, level: int) -> int:
        """A bound above every value of the level (the cell's leading part is the hazard
        group: see ``_cell``)."""
        if level == _TERRITORY_CELL:
            return self.cells * self.pop.n_territories
        if level == _CELL:
            return self.cells
        if level == _HAZARD_GROUP:
            return self.cells // CELLS_PER_HAZARD_GROUP + 1
        return 1

    def keys(self, level: int, side: _MatchingSide, at: np.ndarray | None) -> np.ndarray:
        """Group times ``width`` plus the level's value, of ``side``'s residents ``at`` those
        positions (all of them: None)."""
        width = self.width(level)
        if at is None:
            group, cell, hazard = side.group, side.cell, side.hazard
        else:
            group, cell, hazard = side.group[at], side.cell[at], side.hazard[at]
        if level == _TERRITORY_CELL:
            rows = side.rows if at is None else side.rows[at]
            n = self.pop.n_territories
            value = np.where(self.same_territory[group], cell * n + self.pop.territory[rows], cell)
        elif level == _CELL:
            value = cell
        elif level == _HAZARD_GROUP:
            value = hazard
        else:
            return np.asarray(group * width)
        return np.asarray(group * width + value)


@dataclass(frozen=True)
class _ScoreRanks:
    """Whole numbers in the order of the observed scores, that matching sorts and searches.

    Attributes:
        pool: each pool resident's rank: increasing with the score, then the position in the
            pool as matching reads it (a stable sort by score), distinct.
        participants: each participant's: a number that sorts after the rank of every pool
            resident of a lower score and not after the rank of any of an equal or higher one
            (not necessarily any resident's rank).
        span: a power of 2 above every rank.
        position_bits: a rank's low bits that are the pool resident's position.
        by_score: the pool's order that matching reads it in: the given order (None), or by
            score, stably (then a rank is a position).
        scores_p: the participants' scores, as 64-bit floats.
        scores_q: the pool's, in the order matching reads it.
    """

    pool: np.ndarray
    participants: np.ndarray
    span: int
    position_bits: int
    by_score: np.ndarray | None
    scores_p: np.ndarray
    scores_q: np.ndarray


def _score_ranks(scores_p: np.ndarray, scores_q: np.ndarray, cells: int) -> _ScoreRanks:
    """The ranks of the scores, for keys of cells below ``cells`` times ``span`` plus a rank.

    Scores of 32-bit floats are ranked by their bits, then the pool's position (so that the
    pool needs no sort by score), when the keys fit 63 bits; other scores by their position in
    the pool sorted by score."""
    bits = len(scores_q).bit_length()
    if (
        scores_q.dtype == np.float32
        and scores_p.dtype == np.float32
        and cells.bit_length() + 32 + bits <= 63
        and not (np.isnan(scores_q).any() or np.isnan(scores_p).any())
    ):
        pool = (float32_order(scores_q) << bits) | np.arange(len(scores_q))
        return _ScoreRanks(
            pool,
            float32_order(scores_p) << bits,
            1 << (32 + bits),
            bits,
            None,
            scores_p.astype(np.float64),
            scores_q.astype(np.float64),
        )
    by_score = stable_argsort(scores_q)
    ordered = scores_q[by_score].astype(np.float64)
    values_p = scores_p.astype(np.float64)
    return _ScoreRanks(
        np.arange(len(scores_q)),
        np.searchsorted(ordered, values_p),
        1 << bits,
        bits,
        by_score,
        values_p,
        ordered,
    )


def _nearest_in_cells(
    cell_p: np.ndarray,
    waiting: np.ndarray,
    key_q: np.ndarray,
    ranks: _ScoreRanks,
    pool_rows: np.ndarray,
) -> np.ndarray:
    """For each participant still ``waiting`` (positions among the month's), the candidate of
    the same cell with the nearest score (the lower one on a tie), -1 when the cell has none.

    Args:
        cell_p: the waiting participants' cells.
        waiting: where they are among the month's participants (their ranks' order).
        key_q: the candidates' keys: cell times ``ranks.span`` plus rank.
        ranks: the month's ranks of the scores.
        pool_rows: the pool's residents, in the order matching reads it.
    """
    # Sorted, the keys order a cell's candidates by score as a stable sort would. A
    # participant's cell is one block of keys, where the first key of a rank at least theirs
    # is the first candidate of a score not below theirs.
    key = np.sort(key_q)
    block = cell_p * ranks.span
    first = np.searchsorted(key, block)
    end = np.searchsorted(key, block + ranks.span)
    position = np.searchsorted(key, block + ranks.participants[waiting])
    # Within the cell's block, between its second and last candidate (``np.clip``, cheaper).
    position = np.minimum(np.maximum(position, first + 1), end - 1)
    last = len(key) - 1
    mask = (1 << ranks.position_bits) - 1
    left = key[np.maximum(position - 1, 0)] & mask
    right = key[np.minimum(position, last)] & mask
    value_p, values = ranks.scores_p[waiting], ranks.scores_q
    # In a cell of one candidate, the position is that candidate's: the right one.
    take_left = np.abs(value_p - values[left]) <= np.abs(value_p - values[right])
    take_left &= end - first > 1
    chosen = np.where(take_left, left, right)
    return np.asarray(np.where(end > first, pool_rows[chosen], -1))


#: Bands of months out of work (or in a job) that matching keeps apart, as registers record them.
DURATION_BANDS_MONTHS = (6, 12, 24)
#: Cells of a hazard group: French levels times bands of months (see ``_cell``).
CELLS_PER_HAZARD_GROUP = 3 * (len(DURATION_BANDS_MONTHS) + 1)


def _cell(pop: Population, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hazard group and matching cell: hazard group, French level and band of months in the
    current state."""
    duration = pop.duration[rows]
    hazard = pop.hazard_group(rows)
    # Made in 16 bits (a cell is below 4 * 3 * 4), the band added as the bands' edges the
    # duration reached: cheaper than a search of the edges.
    cell = hazard * np.int16(3) + pop.french[rows]
    cell *= np.int16(len(DURATION_BANDS_MONTHS) + 1)
    for edge in DURATION_BANDS_MONTHS:
        cell += duration >= edge
    return hazard, np.asarray(cell, dtype=np.int64)


def _register_samples(
    samplers: Sequence[SamplerFacts],
    sizes: np.ndarray,
    rng: np.random.Generator,
    pop: Population,
    enr: Enrolment,
    month: int,
) -> MatchingGroups:
    """For each sampler, about ``size`` residents drawn at random (with replacement, repeats
    dropped) from those in need in its comparison territories, as an evaluator samples a
    register, or all of them when they are fewer; in register order (territory, then
    resident). Eligibility is checked next. Drawing before checking keeps the work proportional
    to the samples, not to the city; one draw (from ``rng``) serves every sampler of the
    month."""
    item, territory = _segments(samplers)
    specialty = np.array([f.specialty for f in samplers], dtype=np.int64)
    register, lo, hi = _register_segments(specialty[item], territory, pop, enr, month)
    length = hi - lo
    total = np.bincount(item, weights=length, minlength=len(samplers)).astype(np.int64)
    sampled = total > sizes
    # Positions in the samplers' registers laid end to end (sampler i's from the sum of the
    # totals before it): every position of the samplers whose register is small, a sample of
    # positions in the others' (with replacement), each once, in (sampler, position) order.
    # In 32 bits when they fit, which numpy sorts twice as fast.
    width: type[np.signedinteger[Any]] = np.int32 if int(total.sum()) < 1 << 31 else np.int64
    item_start = (np.cumsum(total) - total).astype(width)
    # Each sampled sampler's draws: a share of its total, truncated (``floor`` for these
    # products, never negative), after its start; its values repeated rather than gathered.
    draws = sizes[sampled]
    positions = rng.random(int(draws.sum()))
    positions *= np.repeat(total[sampled], draws)
    drawn = positions.astype(width)
    drawn += np.repeat(item_start[sampled], draws)
    whole = np.flatnonzero(~sampled)
    every = expand_ranges(item_start[whole], total[whole]).astype(width)
    drawn = distinct_below(np.concatenate((drawn, every)), int(total.sum()))
    # Position k is in the segment whose cumulative end first exceeds it: with the positions
    # sorted, each segment holds the run of them below its end and not below its start.
    seg_end = np.cumsum(length)
    drawn_in = runs_between(drawn, np.concatenate(([0], seg_end)))[1]
    rows = register[drawn + np.repeat(lo - (seg_end - length), drawn_in)]
    return MatchingGroups(rows.astype(np.int64, copy=False), np.repeat(item, drawn_in))


def _segments(samplers: Sequence[SamplerFacts]) -> tuple[np.ndarray, np.ndarray]:
    """(sampler, territory) of each of the samplers' comparison territories, sampler by
    sampler: the segments of the month's registers."""
    if not samplers:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    territory = np.concatenate([f.territories for f in samplers])
    item = np.repeat(np.arange(len(samplers)), [len(f.territories) for f in samplers])
    return item, territory


def _register_segments(
    specialty: np.ndarray,
    territory: np.ndarray,
    pop: Population,
    enr: Enrolment,
    month: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The registers of the needs of ``specialty`` (residents in need not yet served, each
    need's in increasing order, laid end to end) and where each (need, territory) segment
    starts and ends in them. A register is ordered by resident, so by territory: each
    territory's residents are one block of it, found by searching the territories' bounds."""
    needs = sorted(set(specialty.tolist()))
    scans = [enr.in_need_anywhere(pop, s, month) for s in needs]
    starts = pop.territory_starts
    edges = np.concatenate((starts, starts + pop.territory_sizes))
    # Row s of the table: where each territory's block starts, then ends, in need s's scan.
    table = np.zeros((max(needs, default=0) + 1, len(edges)), dtype=np.int64)
    base = 0
    for s, scan in zip(needs, scans, strict=True):
        table[s] = base + np.searchsorted(scan, edges)
        base += len(scan)
    register = np.concatenate(scans) if scans else np.empty(0, np.int64)
    lo, hi = table[specialty, territory], table[specialty, len(starts) + territory]
    return register, lo, hi


def _eligible_pools(
    sample: MatchingGroups,
    samplers: Sequence[SamplerFacts],
    wanted: np.ndarray,
    pop: Population,
    enr: Enrolment,
) -> MatchingGroups:
    """Of each group's sample, the first ``wanted`` residents still free to join its action
    (not enrolled, not served in its need) and within its target: comparisons look like those
    the action could have enrolled. The sample comes from the registers of residents not yet
    served in each need (``_register_samples``): only enrolment and targets are checked."""
    rows, group = sample.rows, sample.group
    ok = enr.action[rows] == -1
    targeted = [(i, f.target) for i, f in enumerate(samplers) if f.target is not None]
    for target in {target for _, target in targeted}:
        mine = np.isin(group, [i for i, t in targeted if t == target])
        ok[mine] &= within_target(pop, rows[mine], target)
    kept = first_in_groups(ok, group, wanted)
    return MatchingGroups(rows[kept], group[kept])


def _grouped(parts: Sequence[np.ndarray]) -> MatchingGroups:
    """Residents of several groups, concatenated, with their group numbers."""
    sizes = [len(p) for p in parts]
    rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
    return MatchingGroups(rows.astype(np.int64), np.repeat(np.arange(len(parts)), sizes))


def observed_barrier(pop: Population) -> np.ndarray:
    """The barrier score as evaluators measure it: with noise, fixed per resident (the run's
    ``evaluation`` stream)."""
    noise = stream(pop.seed, Stream.EVALUATION).normal(0.0, OBSERVED_BARRIER_NOISE_SD, pop.n)
    return np.asarray(pop.barrier + noise.astype(np.float32))


@dataclass(frozen=True)
class SamplerFacts:
    """What the month's draw reads of a sampler and its action, fixed once its territories
    are chosen (kept by the sampler, so that a month's Python work per sampler is one look-up).

    Attributes:
        action: the action it evaluates.
        territories: its comparison territories.
        specialty: the specialty (need) of its action.
        target: its action's target, or None when it is everyone in need.
        local: whether a participant is matched in their own territory (``NOT_YET_ENROLLED``).
    """

    action: Action
    territories: np.ndarray
    specialty: int
    target: Target | None
    local: bool


class ComparisonSampler:
    """A comparison-group evaluator's sampling: at each enrolment, one matched non-participant
    per participant, drawn from residents in need who are neither enrolled nor served in the
    action's need: in territories the action does not serve, or, when it serves them all, among
    the not yet enrolled of its own territories.

    Args:
        observed: the evaluators' noisy barrier score of every resident.
        rng: the run's comparison stream (samples are drawn for every sampler at once).
        comparisons: where its comparisons are recorded: its action's view of the run's log of
            comparisons (one log for every sampler of a run, added to once a month); by
            default a log of its own.
    """

    def __init__(
        self, observed: np.ndarray, rng: np.random.Generator, comparisons: Cohort | None = None
    ) -> None:
        self.observed = observed
        self.rng = rng
        self.comparisons = Cohort(CohortLog(), 0) if comparisons is None else comparisons
        self._territories: tuple[int, ...] | None = None
        self._source = ""
        self._facts: SamplerFacts | None = None
        self._enrolment: Enrolment | None = None

    @property
    def territories(self) -> tuple[int, ...] | None:
        """Its comparison territories (None until its first enrolment)."""
        return self._territories

    @territories.setter
    def territories(self, territories: tuple[int, ...] | None) -> None:
        self._territories = territories
        self._facts = None

    @property
    def source(self) -> str:
        """Where its comparisons come from (``UNSERVED_TERRITORIES`` or ``NOT_YET_ENROLLED``;
        "" until its first enrolment)."""
        return self._source

    @source.setter
    def source(self, source: str) -> None:
        self._source = source
        self._facts = None

    def enrolled(
        self, action: Action, rows: np.ndarray, month: int, pop: Population, enr: Enrolment
    ) -> None:
        """Match the residents who just joined ``action`` (an ``EnrolmentWatcher``)."""
        ComparisonSampler.enrolled_together([(self, action, rows)], month, pop, enr)

    @staticmethod
    def enrolled_together(
        joined: Sequence[tuple[ComparisonSampler, Action, np.ndarray]],
        month: int,
        pop: Population,
        enr: Enrolment,
    ) -> None:
        """Match the residents who just joined each action, for all the month's samplers at
        once: each draws its own pool; one matching pass then serves them all. Those joining
        now are already enrolled, so never anyone's comparison."""
        facts = [sampler.facts(action, pop, enr) for sampler, action, _ in joined]
        wanted = COMPARISON_POOL_PER_PARTICIPANT * np.array([len(rows) for _, _, rows in joined])
        rng = joined[0][0].rng
        sample = _register_samples(facts, 2 * wanted, rng, pop, enr, month)
        pool = _eligible_pools(sample, facts, wanted, pop, enr)
        # Among the not yet enrolled of served territories, a participant's own territory.
        local = np.array([f.local for f in facts])
        participants = _grouped([rows for _, _, rows in joined])
        matches = match_within_groups(pop, participants, pool, joined[0][0].observed, local)
        matched = np.flatnonzero(matches >= 0)
        groups = pop.hazard_group(matches[matched])
        sampler_of = participants.group[matched]
        logs = [sampler.comparisons.log for sampler, _, _ in joined]
        index = np.array([sampler.comparisons.index for sampler, _, _ in joined], dtype=np.int64)
        for log in {id(log): log for log in logs}.values():
            mine = np.array([other is log for other in logs])[sampler_of]
            log.add(index[sampler_of[mine]], matches[matched[mine]], month, groups[mine])

    def facts(self, action: Action, pop: Population, enr: Enrolment) -> SamplerFacts:
        """What this month's draw reads of the sampler (its territories chosen at its first
        enrolment), made once; ``enr`` is kept for ``enrolment_months``."""
        self._enrolment = enr
        facts = self._facts
        if facts is None or facts.action is not action:
            territories = self._comparison_territories(action, pop)
            target = action.spec.target
            facts = SamplerFacts(
                action,
                np.array(territories, dtype=np.int64),
                action.specialty,
                None if target == Target() else target,
                self.source == NOT_YET_ENROLLED,
            )
            self._facts = facts
        return facts

    def enrolment_months(self, action: Action, rows: np.ndarray) -> np.ndarray | None:
        """The month each of ``rows`` joined an action of ``action``'s need (-1: never), from
        the programme registers; None before anyone joined."""
        if self._enrolment is None:
            return None
        return np.asarray(self._enrolment.enrol_month[action.specialty, rows], dtype=np.int64)

    def _comparison_territories(self, action: Action, pop: Population) -> tuple[int, ...]:
        """Up to 3 territories the action does not serve, of the same QPV status as its first
        if possible, chosen once: comparisons there are not contaminated by the action itself.
        An action serving the whole city takes not-yet-enrolled residents of all its territories
        (each participant is then matched in their own territory)."""
        if self.territories is None:
            served = np.zeros(pop.n_territories, dtype=bool)
            served[list(action.spec.territories)] = True
            others = np.flatnonzero(~served)
            if len(others) == 0:
                self.source = NOT_YET_ENROLLED
                self.territories = tuple(int(t) for t in np.flatnonzero(served))
                return self.territories
            alike = others[pop.qpv[others] == pop.qpv[action.spec.territories[0]]]
            alike = alike if len(alike) else others
            self.source = UNSERVED_TERRITORIES
            picked = action.rng.permutation(len(alike))[:3]
            self.territories = tuple(sorted(int(alike[i]) for i in picked))
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
                self.design,
                pop,
                action.need,
                month,
                treated,
                comparison,
                self.baseline_bias,
                comparison_enrolled=self.sampler.enrolment_months(action, rows),
                comparison_source=self.sampler.source,
            )
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
