"""Actions: what an association delivers to residents to answer a need (employment support,
French course, access to rights), how it enrols them, and how its true effect reaches their
dynamics.

An action's ``true_effect`` is in the unit of its need (``sim.delivery.needs``): for employment
support, added monthly job-finding hazard at full fit, in full for ``effect_persistence_months``
after completion and times ``lock_in_factor`` (zero or negative: lock-in) while enrolled; for a
French course, the share of participants added to those who reach A1 by the end of the course
anyway; for access to rights, added monthly take-up hazard of eligible non-claimers.

Enrolment and drop-out draw from the ``programme`` stream, never from a baseline stream. What
evaluators do at enrolment (drawing a comparison group) is theirs: an action only tells the
``EnrolmentWatcher``s that funders attached to it who joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.delivery.needs import all_needs, index_of, need_of
from sim.errors import UserInputError
from sim.world.params import FRENCH_NONE
from sim.world.population import Population

SELECTION_POLICIES = ("first_come", "neediest_first", "creaming")


@dataclass(frozen=True)
class Target:
    """Who an action may enrol, on top of the need its specialty answers."""

    rsa_only: bool = False
    long_term_only: bool = False
    qpv_only: bool = False
    non_french_only: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """What a funder asks an association to deliver."""

    association: str
    specialty: str
    territories: tuple[int, ...]
    places: int
    duration_months: int
    true_effect: float
    cost_eur_per_participant_month: float
    start_month: int = 1
    end_month: int | None = None
    selection: str = "first_come"
    creaming_degree: float = 0.0
    target: Target = field(default_factory=Target)
    control_share: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        need_of(self.specialty)
        if self.selection not in SELECTION_POLICIES:
            raise UserInputError(
                f"action selection '{self.selection}': expected one of "
                f"{', '.join(SELECTION_POLICIES)}"
            )
        if self.places < 0 or self.duration_months < 1:
            raise UserInputError("an action needs places >= 0 and duration_months >= 1")
        if not 0.0 <= self.creaming_degree <= 1.0 or not 0.0 <= self.control_share < 1.0:
            raise UserInputError("creaming_degree must be in [0, 1] and control_share in [0, 1)")
        if self.start_month < 1:
            raise UserInputError("an action starts at month 1 or later")


class Enrolment:
    """Per-resident programme state shared by all actions of a run."""

    def __init__(self, n: int) -> None:
        self.action = np.full(n, -1, dtype=np.int32)
        # (specialty, resident): a row per specialty keeps each specialty's mask contiguous.
        self.participated = np.zeros((len(all_needs()), n), dtype=bool)
        self.aware = np.zeros((len(all_needs()), n), dtype=bool)
        self.post_job_boost = np.zeros(n, dtype=np.float32)
        self.post_until = np.full(n, -1, dtype=np.int16)
        self.first_action = np.full(n, -1, dtype=np.int32)
        self.first_enrol_month = np.full(n, -1, dtype=np.int16)
        self.first_group = np.full(n, -1, dtype=np.int8)
        # (specialty, resident): the month a resident first joined an action of each need (-1
        # never; RCT controls are not enrolled), as the programme registers evaluators read show.
        self.enrol_month = np.full((len(all_needs()), n), -1, dtype=np.int16)
        self._in_need: dict[tuple[int, int, bool], np.ndarray] = {}

    def start_enrolment_round(self) -> None:
        """Forget last month's scans of who is in need (call before associations enrol)."""
        self._in_need.clear()

    def in_need(
        self, pop: Population, specialty: int, territory: int, aware_only: bool
    ) -> np.ndarray:
        """Residents of a territory in need of a specialty (and aware of its offer), scanned
        once per enrolment round: need and awareness do not change while associations enrol, so
        every action serving the territory shares the scan and only re-checks enrolment."""
        key = (specialty, territory, aware_only)
        if key not in self._in_need:
            rows = pop.slices[territory]
            ok = all_needs()[specialty].in_need(pop, rows)
            if aware_only:
                ok &= self.aware[specialty, rows]
            ok &= ~self.participated[specialty, rows]
            self._in_need[key] = np.flatnonzero(ok) + rows.start
        return self._in_need[key]


class Cohorts:
    """Residents who joined a group (participants, controls, comparisons) month by month, with
    their hazard group when they joined (0 short-term, 1 long-term unemployed, 2 RSA)."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._months: list[np.ndarray] = []
        self._groups: list[np.ndarray] = []

    def add(
        self, rows: np.ndarray, month: int, pop: Population, groups: np.ndarray | None = None
    ) -> None:
        """Record residents joining at ``month`` (with their hazard groups if already known)."""
        if len(rows) == 0:
            return
        self._rows.append(rows)
        self._months.append(np.full(len(rows), month, dtype=np.int64))
        self._groups.append((pop.hazard_group(rows) if groups is None else groups).astype(np.int64))

    def __len__(self) -> int:
        return sum(len(r) for r in self._rows)

    def data(self, until_month: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, start months, groups) of everyone who joined by ``until_month``."""
        if not self._rows:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        rows, months, groups = (np.concatenate(x) for x in (self._rows, self._months, self._groups))
        if until_month is not None:
            keep = months <= until_month
            rows, months, groups = rows[keep], months[keep], groups[keep]
        return rows, months, groups


class EnrolmentWatcher(Protocol):
    """Someone told who joins an action, at the moment they join (an evaluator drawing its
    comparison group from who is still free to be compared)."""

    def enrolled(
        self, action: Action, rows: np.ndarray, month: int, pop: Population, enr: Enrolment
    ) -> None:
        """``rows`` joined ``action`` at ``month``."""


class Action:
    """A running action: its participants, its controls, and what it has delivered."""

    def __init__(self, index: int, spec: ActionSpec, rng: np.random.Generator) -> None:
        self.index = index
        self.spec = spec
        self.need = need_of(spec.specialty)
        self.specialty = index_of(spec.specialty)
        self.rng = rng
        self.watchers: list[EnrolmentWatcher] = []
        self.participants = np.empty(0, dtype=np.int64)
        self.months_in = np.empty(0, dtype=np.int16)  # months each participant has been in
        self.enrolled = Cohorts()
        self.controls = Cohorts()
        self.participant_months = 0
        self.completions = 0
        self.dropouts = 0
        self.closed = False
        #: Last month anyone may join, whatever the spec says: the run's delivery horizon (the
        #: model sets it; the months after it are a follow-up without new enrolments).
        self.enrol_until: int | None = None

    @property
    def name(self) -> str:
        """A readable name: label, or association and specialty."""
        return self.spec.label or f"{self.spec.association}:{self.spec.specialty}"

    def is_active(self, month: int) -> bool:
        """Whether the action delivers or enrols this month."""
        if self.closed or month < self.spec.start_month:
            return False
        return self.is_enrolling(month) or len(self.participants) > 0

    def is_enrolling(self, month: int) -> bool:
        """Whether new participants may join this month."""
        end = self.spec.end_month
        if self.enrol_until is not None:
            end = self.enrol_until if end is None else min(end, self.enrol_until)
        return self.spec.start_month <= month and (end is None or month <= end) and not self.closed

    # ------------------------------------------------------------------ monthly delivery
    def deliver(self, month: int, pop: Population, enr: Enrolment) -> None:
        """Progress participants, then fill free places from aware eligible applicants."""
        if not self.is_active(month):
            return
        self._progress(month, pop, enr)
        if self.is_enrolling(month):
            self._enrol(month, pop, enr)
        count = len(self.participants)
        self.participant_months += count
        if not self.is_enrolling(month + 1) and count == 0:
            self.closed = True

    def _progress(self, month: int, pop: Population, enr: Enrolment) -> None:
        """A month more for each participant: some drop out, some complete (or succeed: a job,
        a right claimed), the others stay."""
        rows = self.participants
        if len(rows) == 0:
            return
        self.months_in += 1
        dropped = self.rng.random(len(rows)) < pop.params.dropout_per_month
        completed = self.months_in >= self.spec.duration_months
        if self.need.reached_while_enrolled is not None:
            completed |= self.need.reached_while_enrolled(pop, rows)
        completed &= ~dropped
        leaving = completed | dropped
        if not leaving.any():
            return
        finishers = rows[completed]
        if self.need.lasts_after_completion and len(finishers):
            effect = self.spec.true_effect * self.need.fit(pop, finishers)
            enr.post_job_boost[finishers] = effect
            # The boost applies from this month on (the finisher has left the action): the
            # persistence's months are this month to ``post_until`` included.
            enr.post_until[finishers] = month + pop.params.effect_persistence_months - 1
        self.completions += len(finishers)
        self.dropouts += int(np.count_nonzero(dropped))
        enr.action[rows[leaving]] = -1
        staying = ~leaving
        self.participants = rows[staying]
        self.months_in = self.months_in[staying]

    def _enrol(self, month: int, pop: Population, enr: Enrolment) -> None:
        free = self.spec.places - len(self.participants)
        if free <= 0:
            return
        candidates = self._candidates(pop, enr)
        if len(candidates) == 0:
            return
        wanted = (
            free
            if self.spec.control_share == 0
            else int(np.ceil(free / (1.0 - self.spec.control_share)))
        )
        # Selection only matters when applicants outnumber the places.
        chosen = (
            candidates
            if len(candidates) <= wanted
            else candidates[self._rank(pop, candidates)[:wanted]]
        )
        if self.spec.control_share > 0:
            to_control = self.rng.random(len(chosen)) < self.spec.control_share
            controls = chosen[to_control]
            chosen = chosen[~to_control][:free]
            enr.participated[self.specialty, controls] = True
            self.controls.add(controls, month, pop)
        for watcher in self.watchers:
            watcher.enrolled(self, chosen, month, pop, enr)
        enr.action[chosen] = self.index
        enr.participated[self.specialty, chosen] = True
        enr.enrol_month[self.specialty, chosen] = month
        first = enr.first_action[chosen] == -1
        enr.first_action[chosen[first]] = self.index
        enr.first_enrol_month[chosen[first]] = month
        groups = pop.hazard_group(chosen)
        enr.first_group[chosen[first]] = groups[first]
        self.participants = np.concatenate((self.participants, chosen))
        self.months_in = np.concatenate((self.months_in, np.zeros(len(chosen), dtype=np.int16)))
        self.enrolled.add(chosen, month, pop, groups)

    def _candidates(self, pop: Population, enr: Enrolment) -> np.ndarray:
        """Residents the action may enrol: aware of the offer, in need, in its territories and
        target, not enrolled elsewhere, not already served in this specialty."""
        served = [t for t in self.spec.territories if pop.qpv[t] or not self.spec.target.qpv_only]
        if len(served) == 1:
            rows = enr.in_need(pop, self.specialty, served[0], True)
        elif served:
            rows = np.concatenate([enr.in_need(pop, self.specialty, t, True) for t in served])
        else:
            rows = np.empty(0, dtype=np.int64)
        return self.eligible(pop, enr, rows)

    def eligible(self, pop: Population, enr: Enrolment, rows: np.ndarray) -> np.ndarray:
        """Those of ``rows`` still free to join (not enrolled, not served in this specialty
        since the month's scan) and within the action's target."""
        if len(rows) == 0:
            return rows
        s = self.specialty
        target = self.spec.target
        ok = ~enr.participated[s, rows] & (enr.action[rows] == -1)
        if target.rsa_only:
            ok &= pop.rsa_eligible[rows]
        if target.long_term_only:
            ok &= ~pop.employed[rows] & (pop.duration[rows] >= pop.params.long_term_months)
        if target.non_french_only:
            ok &= pop.french[rows] == FRENCH_NONE
        return np.asarray(rows[ok])

    def _rank(self, pop: Population, rows: np.ndarray) -> np.ndarray:
        """Order of applicants under the selection policy, tilted toward the most job-ready by the
        creaming degree (rank-blended so that the two scales are comparable)."""
        policy, c = self.spec.selection, self.spec.creaming_degree
        if policy == "first_come" and c == 0:
            return self.rng.permutation(len(rows))
        noise = self.rng.random(len(rows))
        readiness = self.need.readiness(pop, rows)
        base = {
            "first_come": noise,
            "neediest_first": -readiness + 1e-6 * noise,
            "creaming": readiness + 1e-6 * noise,
        }[policy]
        score = (1 - c) * _ranks(base) + c * _ranks(readiness + 1e-6 * noise) if c > 0 else base
        return np.argsort(-score, kind="stable")

    def apply_effects(self, month: int, pop: Population) -> None:
        """Add this action's effect on its current participants to the population's boosts."""
        rows = self.participants
        if len(rows) == 0 or self.spec.true_effect == 0:
            return
        need = self.need
        added = need.effect_while_enrolled(
            self.spec.true_effect, self.spec.duration_months, pop.params
        )
        getattr(pop, need.boost)[rows] += (added * need.fit(pop, rows)).astype(np.float32)


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(len(values) - 1, 1)
    return ranks
