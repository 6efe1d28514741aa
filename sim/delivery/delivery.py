"""Delivery: every action of a run, delivered in one pass a month.

Actions are rows of arrays (places, duration, effect, need, enrolment window, selection policy,
target) and participants are rows of the residents' arrays (``Enrolment``), so a month of delivery
is a few array operations over all participants and applicants, whatever the number of actions:

1. **progress**: each participant has one more month; some drop out, some complete (or reach the
   outcome while enrolled) and leave; employment support's effect lasts after completion;
2. **enrolment**: the free places of every enrolling action are filled from the aware, eligible
   applicants of its territories, each action ranking its applicants by its selection policy. A
   resident joins at most one action (or control group) a month; when several actions want the
   same resident, the action launched first gets them. This is what serving the actions one by
   one in launch order would give, computed for all of them at once (deferred acceptance in which
   every resident prefers the earliest action: the matching is then unique);
3. **watchers** (evaluators) hear who joined each action, once everyone's enrolment is recorded;
4. **counters**: participant-months, and the actions with no one left and no more enrolment close.

Every draw (drop-out, ranking of applicants, control assignment) comes from the run's
``delivery`` stream, one call per month and purpose: the work and the draws do not grow with the
number of actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.delivery.actions import (
    SELECTION_POLICIES,
    Action,
    ActionCounters,
    Cohort,
    CohortLog,
    Enrolment,
    EnrolmentWatcher,
)
from sim.delivery.groups import (
    distinct,
    first_of_group,
    rank_in_group,
)
from sim.delivery.needs import Need, all_needs
from sim.world.params import FRENCH_NONE
from sim.world.population import Population
from sim.world.runs import expand_ranges, runs_between

FIRST_COME, NEEDIEST_FIRST, CREAMING = (SELECTION_POLICIES.index(p) for p in SELECTION_POLICIES)
#: Enrolment window end of an action without one.
NO_END = np.iinfo(np.int64).max
#: Tie-breaking weight of the random draw in ranked selection (readiness first, then chance).
TIE_BREAK = 1e-6


@dataclass(frozen=True)
class ActionTable:
    """The actions of a run as columns, one row per action (rebuilt when an action is added)."""

    places: np.ndarray
    duration: np.ndarray
    specialty: np.ndarray
    start: np.ndarray
    enrol_end: np.ndarray
    true_effect: np.ndarray
    while_enrolled: np.ndarray
    control_share: np.ndarray
    selection: np.ndarray
    creaming: np.ndarray
    rsa_only: np.ndarray
    long_term_only: np.ndarray
    non_french_only: np.ndarray
    #: (action, territory) of every territory an action offers places in (awareness).
    offer_action: np.ndarray
    offer_territory: np.ndarray
    #: (action, territory) of the territories it enrols from (QPV-only actions: QPV only).
    served_action: np.ndarray
    served_territory: np.ndarray

    @classmethod
    def of(cls, actions: list[Action], pop: Population) -> ActionTable:
        """The table of ``actions`` (in index order) in the city of ``pop``."""
        specs = [a.spec for a in actions]
        offers = [(a.index, t) for a in actions for t in a.spec.territories]
        served = [
            (a.index, t)
            for a in actions
            for t in a.spec.territories
            if pop.qpv[t] or not a.spec.target.qpv_only
        ]
        return cls(
            places=_column([s.places for s in specs], np.int64),
            duration=_column([s.duration_months for s in specs], np.int64),
            specialty=_column([a.specialty for a in actions], np.int64),
            start=_column([s.start_month for s in specs], np.int64),
            enrol_end=_column([_or_no_end(a.enrol_end()) for a in actions], np.int64),
            true_effect=_column([s.true_effect for s in specs], np.float64),
            while_enrolled=_column(
                [
                    a.need.effect_while_enrolled(s.true_effect, s.duration_months, pop.params)
                    for a, s in zip(actions, specs, strict=True)
                ],
                np.float64,
            ),
            control_share=_column([s.control_share for s in specs], np.float64),
            selection=_column([SELECTION_POLICIES.index(s.selection) for s in specs], np.int64),
            creaming=_column([s.creaming_degree for s in specs], np.float64),
            rsa_only=_column([s.target.rsa_only for s in specs], bool),
            long_term_only=_column([s.target.long_term_only for s in specs], bool),
            non_french_only=_column([s.target.non_french_only for s in specs], bool),
            offer_action=_column([o[0] for o in offers], np.int64),
            offer_territory=_column([o[1] for o in offers], np.int64),
            served_action=_column([o[0] for o in served], np.int64),
            served_territory=_column([o[1] for o in served], np.int64),
        )


@dataclass(frozen=True)
class Applications:
    """Who may join which action this month: one row per (action, applicant), sorted by action
    and, within an action, by its preference (best first)."""

    action: np.ndarray
    resident: np.ndarray

    def __len__(self) -> int:
        return len(self.action)

    def first_of_action(self) -> np.ndarray:
        """For each row, the position of its action's first row."""
        return first_of_group(self.action)


@dataclass(frozen=True)
class RankedPairs:
    """Who may join which action this month, not yet sorted: one row per (action, applicant),
    rows grouped by action in increasing order, and each row's ``score``, higher for a
    preferred applicant. The rows in order are the rows sorted by their rank key
    (``_rank_key``: the action's index plus a number in [0, 1] that falls as the score
    rises), stably: equal keys keep their row order."""

    action: np.ndarray
    resident: np.ndarray
    score: np.ndarray

    def ordered(self) -> Applications:
        """Every row, sorted."""
        order = np.argsort(_rank_key(self.action, self.score.copy()), kind="stable")
        return Applications(self.action[order], self.resident[order])

    def best(self, count: np.ndarray) -> tuple[Applications, np.ndarray]:
        """The first ``count[action]`` rows of each action in sorted order, sorted, and how many
        rows each action has (``count``: one per action index), without sorting them all, nor
        computing every row's rank key.

        Each action's scores are counted in ``SHORTLIST_BINS`` bins spanning them, best first
        (and one more, for the rounding of the worst score); the rows up to the bin where an
        action reaches its count hold its best scores, and only they are keyed and sorted. Two
        scores can share a key (a key is coarser than a score), so the rows left out are
        checked to rank after the last one kept; when one might not, every row is sorted."""
        size, width = len(count), SHORTLIST_BINS + 1
        before, listed = runs_between(self.action, np.arange(size + 1))
        cells = self._cells(listed, before)
        if cells is None:
            return self._best_of_all(count), listed
        reached = np.cumsum(np.bincount(cells, minlength=size * width))
        first_cell = np.arange(size) * width
        # The first cell where the rows counted reach those before the action plus its count.
        within = np.searchsorted(reached, before + count) - first_cell
        # Two ufuncs rather than np.clip, whose checks cost more on these few values.
        last_cell = first_cell + np.minimum(np.maximum(within, 0), SHORTLIST_BINS)
        candidates = np.flatnonzero(cells <= np.repeat(last_cell, listed))
        key = _rank_key(self.action[candidates], self.score[candidates])
        order = np.argsort(key, kind="stable")
        # Sorted, the candidates stay grouped by action (a key's whole part is its action).
        shortlisted = reached[last_cell] - before
        kept = np.minimum(shortlisted, count)
        shortlist_start = np.cumsum(shortlisted) - shortlisted
        rest = (shortlisted < listed) & (kept > 0)
        last_kept = key[order[(shortlist_start + kept - 1)[rest]]]
        if not self._rest_ranks_after(candidates, listed > 0, before, rest, last_kept):
            return self._best_of_all(count), listed
        first = expand_ranges(shortlist_start, kept)
        action = np.repeat(np.arange(size), kept)
        return Applications(action, self.resident[candidates[order[first]]]), listed

    def _cells(self, listed: np.ndarray, before: np.ndarray) -> np.ndarray | None:
        """Each row's cell: action ``a``'s rows are in cells ``a * (SHORTLIST_BINS + 1)`` (its
        best score) to ``a * (SHORTLIST_BINS + 1) + SHORTLIST_BINS`` (its worst), in equal steps
        of score; a higher score is never in a later cell (each operation rounds monotonically).
        None when an action's scores cannot be cut in steps: an infinite or NaN score, or a
        spread beyond the largest float or below ``SHORTLIST_BINS`` times the smallest."""
        size = len(listed)
        present = listed > 0
        starts = before[present]
        high, span = np.zeros(size), np.zeros(size)
        high[present] = np.maximum.reduceat(self.score, starts)
        # Scores that cannot be cut in steps give infinities or NaN here: say None, not warn.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            span[present] = high[present] - np.minimum.reduceat(self.score, starts)
            scale = np.divide(SHORTLIST_BINS, span, out=np.zeros(size), where=span > 0)
        if not (np.isfinite(span).all() and np.isfinite(scale).all()):
            return None
        # (high - score) * scale is at most span * (SHORTLIST_BINS / span): below one bin more.
        # Each action's constants repeated over its rows (a run each): faster than gathered.
        steps = np.repeat(high, listed)
        steps -= self.score
        steps *= np.repeat(scale, listed)
        cells = steps.astype(np.int64)
        cells += np.repeat(np.arange(size) * (SHORTLIST_BINS + 1), listed)
        return np.asarray(cells)

    def _rest_ranks_after(
        self,
        candidates: np.ndarray,
        present: np.ndarray,
        before: np.ndarray,
        rest: np.ndarray,
        last_kept: np.ndarray,
    ) -> bool:
        """Whether every row left out (not in ``candidates``) ranks after the last row kept of its
        action (``rest``: the actions with rows left out and rows kept, the last of which has
        the key ``last_kept``; ``present``: the actions with rows, the first at ``before``).
        A row left out has a lower score than every candidate of its action, so a key no lower
        than the key of its action's best row left out, up to rounding: that key, above the
        last kept by ``KEY_MARGIN``, leaves room for the rounding of both (atan's within an
        ulp), and the rows left out rank after."""
        if not rest.any():
            return True
        left_out = self.score.copy()
        left_out[candidates] = -np.inf
        best_left = np.full(len(present), -np.inf)
        best_left[present] = np.maximum.reduceat(left_out, before[present])
        action = np.flatnonzero(rest)
        first_left = _rank_key(action, best_left[rest])
        return bool(np.all(first_left - last_kept > KEY_MARGIN * (action + 2)))

    def _best_of_all(self, count: np.ndarray) -> Applications:
        """``best``'s rows, every row sorted."""
        ordered = self.ordered()
        rank = np.arange(len(ordered)) - ordered.first_of_action()
        first = rank < count[ordered.action]
        return Applications(ordered.action[first], ordered.resident[first])


class Delivery:
    """The actions of a run and their monthly delivery (see the module docstring).

    Args:
        pop: the residents.
        enrolment: who is aware of, enrolled in or served by which action.
        rng: the run's ``delivery`` stream.
    """

    def __init__(self, pop: Population, enrolment: Enrolment, rng: np.random.Generator) -> None:
        self.pop = pop
        self.enrolment = enrolment
        self.rng = rng
        self.actions: list[Action] = []
        self.counters = ActionCounters()
        self.joined, self.controlled = CohortLog(), CohortLog()
        self._table: ActionTable | None = None
        #: The offers table and the enrolling actions it counts (``offers``).
        self._offers: tuple[np.ndarray, np.ndarray] | None = None
        #: Scratch: the earliest action holding each resident, during enrolment.
        self._earliest = np.empty(pop.n, dtype=np.int64)
        nobody = np.empty(0, dtype=np.int64)
        #: Residents enrolled now; those with a lasting effect.
        self._participants, self._lasting = nobody, nobody
        #: The residents whose boost was set last month, by boost array (no other is nonzero).
        self._boosted: dict[str, np.ndarray] = {"job_boost": nobody}

    def add(self, action: Action) -> None:
        """Deliver ``action`` from its start month on (its index is its position)."""
        if action.index != len(self.actions):
            raise ValueError(f"action {action.index} added as number {len(self.actions)}")
        self.actions.append(action)
        self.counters.resize(len(self.actions))
        action.counters = self.counters
        action.enrolled = Cohort(self.joined, action.index)
        action.controls = Cohort(self.controlled, action.index)
        self._table = self._offers = None

    @property
    def table(self) -> ActionTable:
        """The actions as columns."""
        if self._table is None:
            self._table = ActionTable.of(self.actions, self.pop)
        return self._table

    # ------------------------------------------------------------------ what actions offer
    def enrolling(self, month: int) -> np.ndarray:
        """Whether each action may take new participants in ``month``."""
        t = self.table
        closed = self.counters.closed[: len(self.actions)]
        return np.asarray((t.start <= month) & (month <= t.enrol_end) & ~closed)

    def offers(self, month: int) -> np.ndarray:
        """Number of enrolling actions in each territory (rows) and need (columns), read-only:
        kept from month to month while the same actions are enrolling (they change when an
        action is added, opens or closes, a few months of a run)."""
        enrolling = self.enrolling(month)
        kept = self._offers
        if kept is None or not np.array_equal(kept[0], enrolling):
            counts = self._count_offers(enrolling)
            counts.flags.writeable = False
            kept = self._offers = (enrolling, counts)
        return kept[1]

    def _count_offers(self, enrolling: np.ndarray) -> np.ndarray:
        """``offers`` of the actions ``enrolling``, counted."""
        counts = np.zeros((self.pop.n_territories, len(all_needs())))
        if self.actions:
            t = self.table
            on = enrolling[t.offer_action]
            np.add.at(counts, (t.offer_territory[on], t.specialty[t.offer_action[on]]), 1)
        return counts

    def enrolled_now(self) -> np.ndarray:
        """Residents enrolled in any action now."""
        return self._participants

    def participants(self, index: int) -> np.ndarray:
        """Residents enrolled in action ``index`` now."""
        return np.flatnonzero(self.enrolment.action == index)

    # ------------------------------------------------------------------ the month
    def deliver(self, month: int) -> None:
        """Progress, enrol, tell watchers, count and close: one month of every action."""
        if not self.actions:
            return
        staying = self._progress(month)
        joined = self._enrol(month, staying)
        self._participants = np.concatenate((staying, joined.resident))
        self._tell_watchers(joined, month)
        size = len(self.actions)
        count = np.bincount(self.enrolment.action[self._participants], minlength=size)
        self.counters.participant_months[:size] += count
        t = self.table
        ending = (t.start <= month) & ~self.enrolling(month + 1) & (count == 0)
        self.counters.closed[:size] |= ending

    def apply_effects(self, month: int) -> None:
        """Set this month's programme effects on the population's boosts: the lasting effect of
        those who completed employment support, and each participant's action effect (one term
        each: a resident is in one action at most). Only the residents whose boost was set last
        month and this month are touched (each boost array at its own residents): everyone
        else's boosts stay at zero."""
        pop, enr, t = self.pop, self.enrolment, self.table
        for name, last in self._boosted.items():
            getattr(pop, name)[last] = 0.0
        # Treated is where the job boost is not zero: only its residents of last month can be.
        pop.treated[self._boosted["job_boost"]] = False
        lasting = self._lasting = self._lasting[enr.post_until[self._lasting] >= month]
        pop.job_boost[lasting] = enr.post_job_boost[lasting]
        boosted: dict[str, list[np.ndarray]] = {"job_boost": [lasting]}
        rows = self._participants
        action = enr.action[rows]
        specialty = np.where(t.true_effect != 0, t.specialty, -1)[action]  # -1: no effect
        for need in all_needs():
            mine = specialty == need.index
            if not mine.any():
                continue
            who = rows[mine]
            added = t.while_enrolled[action[mine]] * need.fit(pop, who)
            getattr(pop, need.boost)[who] += added.astype(np.float32)
            boosted.setdefault(need.boost, []).append(who)
        self._boosted = {name: np.concatenate(parts) for name, parts in boosted.items()}
        # Treated: a programme changes their hazard (a lock-in lowers it while enrolled, which
        # leaves more jobs to their neighbours: displacement with the opposite sign).
        job = self._boosted["job_boost"]
        pop.treated[job] = pop.job_boost[job] != 0

    def _progress(self, month: int) -> np.ndarray:
        """A month more for each participant: some drop out, some complete (or succeed: a job,
        a right claimed), the others stay (returned)."""
        pop, enr, t = self.pop, self.enrolment, self.table
        rows = self._participants
        if len(rows) == 0:
            return rows
        action = enr.action[rows].astype(np.int64)
        months_in = enr.months_in[rows] + 1
        enr.months_in[rows] = months_in
        dropped = self.rng.random(len(rows)) < pop.params.dropout_per_month
        completed = months_in >= t.duration[action]
        specialty = t.specialty[action]
        for need in all_needs():
            if need.reached_while_enrolled is not None:
                mine = specialty == need.index
                if mine.any():
                    completed[mine] |= need.reached_while_enrolled(pop, rows[mine])
        completed &= ~dropped
        leaving = completed | dropped
        if not leaving.any():
            return rows
        for need in all_needs():
            if need.lasts_after_completion:
                self._start_lasting_effect(need, rows, action, completed, month)
        size = len(self.actions)
        self.counters.completions[:size] += np.bincount(action[completed], minlength=size)
        self.counters.dropouts[:size] += np.bincount(action[dropped], minlength=size)
        enr.action[rows[leaving]] = -1
        return np.asarray(rows[~leaving])

    def _start_lasting_effect(
        self, need: Need, rows: np.ndarray, action: np.ndarray, completed: np.ndarray, month: int
    ) -> None:
        """Finishers of a need whose effect lasts carry it for ``effect_persistence_months``,
        from this month on (they have left the action): this month to ``post_until`` included."""
        pop, enr, t = self.pop, self.enrolment, self.table
        mine = completed & (t.specialty[action] == need.index)
        finishers = rows[mine]
        if len(finishers) == 0:
            return
        enr.post_job_boost[finishers] = t.true_effect[action[mine]] * need.fit(pop, finishers)
        enr.post_until[finishers] = month + pop.params.effect_persistence_months - 1
        self._lasting = np.concatenate((self._lasting, finishers))

    def _enrol(self, month: int, staying: np.ndarray) -> Applications:
        """Fill the free places of every enrolling action (``staying``: its participants);
        returns who joined which action (sorted by action, in each action's order of
        preference)."""
        t, enr = self.table, self.enrolment
        size = len(self.actions)
        count = np.bincount(enr.action[staying], minlength=size)
        free = np.where(self.enrolling(month), np.maximum(t.places - count, 0), 0)
        nobody = Applications(np.empty(0, np.int64), np.empty(0, np.int64))
        if not free.any():
            return nobody
        wanted = np.where(
            t.control_share > 0, np.ceil(free / (1.0 - t.control_share)).astype(np.int64), free
        )
        ranked = self._applications(free > 0, month)
        if len(ranked.action) == 0:
            return nobody
        chosen = _deferred_acceptance(ranked, wanted, self._earliest)
        joined, controls = self._split_controls(chosen, free)
        self._record_joiners(joined, controls, month)
        return joined

    def _applications(self, open_actions: np.ndarray, month: int) -> RankedPairs:
        """Every (action, applicant) pair of the actions with free places, with its score."""
        t, pop, enr = self.table, self.pop, self.enrolment
        on = open_actions[t.served_action]
        action, territory = t.served_action[on], t.served_territory[on]
        specialty = t.specialty[action]
        pool_parts, offset = [], 0
        lo, hi = np.zeros(len(action), np.int64), np.zeros(len(action), np.int64)
        for s in distinct(specialty):
            in_need = enr.need_rows(pop, int(s), month)
            # Aware (often a minority of those in need: read first), then not served before and
            # free now (bools: a < b is not a and b). compress: a faster mask.
            aware = in_need.compress(enr.aware[s][in_need])
            applying = np.less(enr.participated[s][aware], enr.action[aware] < 0)
            pool = aware.compress(applying)
            mine = specialty == s
            # Each territory's applicants: between the pool positions of its bounds.
            at = np.searchsorted(pool, pop.territory_bounds()) + offset
            lo[mine], hi[mine] = at[territory[mine]], at[territory[mine] + 1]
            pool_parts.append(pool)
            offset += len(pool)
        pools = np.concatenate(pool_parts) if pool_parts else np.empty(0, np.int64)
        lengths = hi - lo
        pair_action = np.repeat(action, lengths)
        pair_resident = pools[expand_ranges(lo, lengths)]
        ok = self._within_targets(pair_action, pair_resident)
        if ok is not None:
            pair_action, pair_resident = pair_action.compress(ok), pair_resident.compress(ok)
        return RankedPairs(pair_action, pair_resident, self._preference(pair_action, pair_resident))

    def _within_targets(self, action: np.ndarray, resident: np.ndarray) -> np.ndarray | None:
        """Whether each applicant is within the target of the action applied to; None when no
        action targets anyone (every applicant is)."""
        t, pop = self.table, self.pop
        within = []
        if t.rsa_only.any():
            within.append(~t.rsa_only[action] | pop.rsa_eligible[resident])
        if t.long_term_only.any():
            long_term = ~pop.employed[resident] & (
                pop.duration[resident] >= pop.params.long_term_months
            )
            within.append(~t.long_term_only[action] | long_term)
        if t.non_french_only.any():
            within.append(~t.non_french_only[action] | (pop.french[resident] == FRENCH_NONE))
        return np.logical_and.reduce(within) if within else None

    def _preference(self, action: np.ndarray, resident: np.ndarray) -> np.ndarray:
        """Each action's score of its applicants, higher first: chance (first come), low
        readiness (neediest first) or high readiness (creaming), tilted toward the most ready
        by the creaming degree (rank-blended within the action, so both scales compare). Only
        the applicants of actions that rank by readiness have theirs computed."""
        t = self.table
        noise = self.rng.random(len(action))
        # The rows are runs of actions in increasing order: the ranked rows are the runs of the
        # ranking actions (a mask: faster than their positions for these few reads and writes),
        # and an action's constants are repeated over its run (faster than gathered by row).
        rows = runs_between(action, np.arange(len(t.selection) + 1))[1]
        by_readiness = ((t.selection != FIRST_COME) | (t.creaming > 0)) & (rows > 0)
        if not by_readiness.any():
            return noise
        ranking = np.flatnonzero(by_readiness)
        runs = rows[ranking]
        ranked = np.repeat(by_readiness, rows)
        resident = resident[ranked]
        readiness = np.zeros(len(resident))
        for need in all_needs():
            serving = t.specialty[ranking] == need.index
            if serving.any():
                mine = np.repeat(serving, runs)
                readiness[mine] = need.readiness(self.pop, resident[mine])
        chance = noise[ranked]
        tie = TIE_BREAK * chance
        # Neediest first: -readiness + tie; creaming: readiness + tie; first come: chance.
        selection = t.selection[ranking]
        # (Creaming and first come both take readiness here; first come's is overwritten below.)
        base = np.where(np.repeat(selection == NEEDIEST_FIRST, runs), -readiness, readiness)
        base += tie
        if np.any(selection == FIRST_COME):
            np.copyto(base, chance, where=np.repeat(selection == FIRST_COME, runs))
        if np.any(t.creaming[ranking] > 0):
            # Every applicant of an action is ranked or none: ranks within the ranked applicants
            # are ranks within the action.
            ranked_action = np.repeat(ranking, runs)
            creaming = np.repeat(t.creaming[ranking], runs)
            blended = (1 - creaming) * _group_ranks(base, ranked_action) + creaming * _group_ranks(
                readiness + tie, ranked_action
            )
            base = np.where(creaming > 0, blended, base)
        noise[ranked] = base  # the others' score is their chance
        return noise

    def _split_controls(
        self, chosen: Applications, free: np.ndarray
    ) -> tuple[Applications, Applications]:
        """Randomised actions send a share of those chosen to their control group; the others
        join, up to the free places (any beyond are left free to apply again)."""
        share = self.table.control_share[chosen.action]
        randomised = share > 0
        if not randomised.any():
            return chosen, Applications(chosen.action[:0], chosen.resident[:0])
        to_control = np.zeros(len(chosen), dtype=bool)
        to_control[randomised] = self.rng.random(int(randomised.sum())) < share[randomised]
        before = rank_in_group(~to_control, chosen.first_of_action())
        joins = ~to_control & (before < free[chosen.action])
        return (
            Applications(chosen.action[joins], chosen.resident[joins]),
            Applications(chosen.action[to_control], chosen.resident[to_control]),
        )

    def _record_joiners(self, joined: Applications, controls: Applications, month: int) -> None:
        """Mark who joined (and who went to a control group) in the residents' arrays and in
        each action's cohorts."""
        pop, enr, t = self.pop, self.enrolment, self.table
        enr.participated[t.specialty[controls.action], controls.resident] = True
        self.controlled.add(
            controls.action, controls.resident, month, pop.hazard_group(controls.resident)
        )
        rows, action = joined.resident, joined.action
        specialty = t.specialty[action]
        enr.action[rows] = action
        enr.months_in[rows] = 0
        enr.participated[specialty, rows] = True
        enr.enrol_month[specialty, rows] = month
        first = enr.first_action[rows] == -1
        enr.first_action[rows[first]] = action[first]
        enr.first_enrol_month[rows[first]] = month
        groups = pop.hazard_group(rows)
        enr.first_group[rows[first]] = groups[first]
        self.joined.add(action, rows, month, groups)

    def _tell_watchers(self, joined: Applications, month: int) -> None:
        """Tell each action's watchers who joined it. Watchers of a kind that can hear several
        actions at once (an ``enrolled_together`` static method, such as comparison samplers)
        are told together, in action order."""
        together: dict[Any, list[tuple[EnrolmentWatcher, Action, np.ndarray]]] = {}
        for index, rows in _watched_by_action(joined, self.actions):
            action = self.actions[index]
            for watcher in action.watchers:
                if hasattr(type(watcher), "enrolled_together"):
                    together.setdefault(type(watcher), []).append((watcher, action, rows))
                else:
                    watcher.enrolled(action, rows, month, self.pop, self.enrolment)
        for kind, items in together.items():
            kind.enrolled_together(items, month, self.pop, self.enrolment)


def _deferred_acceptance(
    ranked: RankedPairs,
    wanted: np.ndarray,
    earliest: np.ndarray,
    margin: int | None = None,
) -> Applications:
    """The accepted applications, sorted: each action proposes to its best applicants not yet
    tried, up to its wanted number; each resident holds the earliest action that proposed and
    declines the others; until no action has room and applicants left. With every resident
    preferring the earliest action, this is the matching that serving actions one by one in
    launch order gives (the only stable one). ``earliest``: scratch, one slot per resident.

    Actions seldom go far down their lists (a few hundred places a month against tens of
    thousands of applications), so the matching is first made on each action's best
    ``2 * wanted + margin`` applicants (``SHORTLIST_MARGIN`` by default), sorted without
    sorting the rest. An action that has room left once its shortlist is used up would have
    gone further down: the matching is then made on the whole sorted lists. Either way it is
    the matching of the whole lists."""
    margin = SHORTLIST_MARGIN if margin is None else margin
    short, listed = ranked.best(2 * wanted + margin)
    status = _propose_until_stable(
        short.action, short.resident, short.first_of_action(), wanted, earliest
    )
    held = status == _HELD
    room = wanted - np.bincount(short.action[held], minlength=len(wanted))
    tried_all = np.bincount(short.action[status == _UNTRIED], minlength=len(wanted)) == 0
    shortlist = np.bincount(short.action, minlength=len(wanted))
    if np.any((room > 0) & tried_all & (listed > shortlist)):
        short = ranked.ordered()
        status = _propose_until_stable(
            short.action, short.resident, short.first_of_action(), wanted, earliest
        )
        held = status == _HELD
    return Applications(short.action[held], short.resident[held])


#: Applicants beyond twice the wanted number that an action's shortlist keeps (see
#: ``_deferred_acceptance``): a margin for declines, which only changes the speed.
SHORTLIST_MARGIN = 32
#: Bins of the scores that find each action's shortlist (``RankedPairs.best``).
SHORTLIST_BINS = 128
#: Gap between keys, per unit of the action's index (plus 2), that no rounding of the keys'
#: computation closes: 2**12 times the few ulps of ``_rank_key``'s operations on such keys.
KEY_MARGIN = 2.0**-40
_UNTRIED, _HELD, _DECLINED = 0, 1, 2


def _propose_until_stable(
    action: np.ndarray,
    resident: np.ndarray,
    first: np.ndarray,
    wanted: np.ndarray,
    earliest: np.ndarray,
) -> np.ndarray:
    """The deferred acceptance of ``_deferred_acceptance`` on these rows (sorted by action, then
    preference): each row's final status (untried, held or declined). A round without a decline
    is the last: each action then holds all it wanted or has proposed to all its rows."""
    status = np.full(len(action), _UNTRIED, dtype=np.int8)
    while True:
        room = wanted - np.bincount(action[status == _HELD], minlength=len(wanted))
        fresh = status == _UNTRIED
        proposing = fresh & (rank_in_group(fresh, first) < room[action])
        if not proposing.any():
            return status
        status[proposing] = _HELD
        holding = np.flatnonzero(status == _HELD)
        who, which = resident[holding], action[holding]
        earliest[who] = len(wanted)
        np.minimum.at(earliest, who, which)
        declined = holding[earliest[who] != which]
        if len(declined) == 0:
            return status
        status[declined] = _DECLINED


def _rank_key(action: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Rows sorted by action, then by score (best first) within it: the score squashed into
    [0, 1], decreasing, added to the action's index: ``action + (0.5 - arctan(score) / pi)``,
    computed in the score's array, which it consumes (the same operations, in the same order,
    in 64 bits: fewer would merge keys and change the order)."""
    if score.dtype != np.float64:
        raise TypeError(f"rank keys are computed from 64-bit scores, got {score.dtype}")
    key = np.arctan(score, out=score)
    key /= np.pi
    np.subtract(0.5, key, out=key)
    key += action
    return key


def _group_ranks(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Rank of each value within its group, scaled to [0, 1] (rows sorted by ``group``)."""
    order = np.lexsort((values, group))
    first = first_of_group(group)
    sizes = np.bincount(group)[group]
    position = np.empty(len(values))
    position[order] = np.arange(len(values)) - first[order]
    return np.asarray(position / np.maximum(sizes - 1, 1))


def _watched_by_action(
    applications: Applications, actions: list[Action]
) -> list[tuple[int, np.ndarray]]:
    """(action index, residents) of each action that has watchers, for rows sorted by action
    (most actions have none: their rows are not sliced)."""
    present = distinct(applications.action).tolist()
    watched = np.array([k for k in present if actions[k].watchers], dtype=np.int64)
    if len(watched) == 0:
        return []
    starts = np.searchsorted(applications.action, watched).tolist()
    ends = np.searchsorted(applications.action, watched, side="right").tolist()
    return [
        (k, applications.resident[a:b])
        for k, a, b in zip(watched.tolist(), starts, ends, strict=True)
    ]


def _column(values: list[object], dtype: type | np.dtype[np.generic]) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


def _or_no_end(month: int | None) -> int:
    return NO_END if month is None else month
