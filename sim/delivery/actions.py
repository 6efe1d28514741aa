"""Actions: what an association delivers to residents to answer a need (employment support,
French course, access to rights), how it enrols them, and how its true effect reaches their
dynamics.

An action's ``true_effect`` is in the unit of its need (``sim.delivery.needs``): for employment
support, added monthly job-finding hazard at full fit, in full for ``effect_persistence_months``
after completion and times ``lock_in_factor`` (zero or negative: lock-in) while enrolled; for a
French course, the share of participants added to those who reach A1 by the end of the course
anyway; for access to rights, added monthly take-up hazard of eligible non-claimers.

Actions are delivered month by month by ``sim.delivery.delivery.Delivery``, all at once; enrolment
and drop-out draw from the run's ``delivery`` stream, never from a baseline stream. What evaluators
do at enrolment (drawing a comparison group) is theirs: an action only tells the
``EnrolmentWatcher``s that funders attached to it who joined.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.delivery.groups import distinct, stable_argsort
from sim.delivery.needs import all_needs, index_of, need_of
from sim.errors import UserInputError
from sim.world.params import FRENCH_NONE
from sim.world.population import Population
from sim.world.rng import Stream, indexed_stream

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
        self._newly_aware: list[list[np.ndarray]] = [[] for _ in all_needs()]
        self.post_job_boost = np.zeros(n, dtype=np.float32)
        self.post_until = np.full(n, -1, dtype=np.int16)
        self.first_action = np.full(n, -1, dtype=np.int32)
        self.first_enrol_month = np.full(n, -1, dtype=np.int16)
        self.first_group = np.full(n, -1, dtype=np.int8)
        #: Months each resident has been in their current action (meaningful while enrolled).
        self.months_in = np.zeros(n, dtype=np.int16)
        # (specialty, resident): the month a resident first joined an action of each need (-1
        # never; RCT controls are not enrolled), as the programme registers evaluators read show.
        self.enrol_month = np.full((len(all_needs()), n), -1, dtype=np.int16)
        self._need_rows: dict[int, np.ndarray] = {}
        self._need_rows_month: int | None = None

    def make_aware(self, specialty: int, rows: np.ndarray) -> None:
        """Residents ``rows`` hear of the offers of a need (some may know already)."""
        self.aware[specialty][rows] = True
        self._newly_aware[specialty].append(rows)

    def newly_aware(self, specialty: int) -> np.ndarray:
        """Who was made aware of a need's offers since the last call, each once, in increasing
        order (some may have been aware already)."""
        told = self._newly_aware[specialty]
        self._newly_aware[specialty] = []
        return distinct(np.concatenate(told)) if told else np.empty(0, dtype=np.int64)

    def need_rows(self, pop: Population, specialty: int, month: int) -> np.ndarray:
        """Residents in need of a specialty in ``month``, in increasing order: one scan a month
        for word of mouth and enrolment, as needs change only in the residents' monthly steps,
        which come after both."""
        if month != self._need_rows_month:
            self._need_rows.clear()
            self._need_rows_month = month
        if specialty not in self._need_rows:
            self._need_rows[specialty] = all_needs()[specialty].in_need_rows(pop)
        return self._need_rows[specialty]

    def in_need_anywhere(self, pop: Population, specialty: int, month: int) -> np.ndarray:
        """Residents of the whole city in need of a specialty in ``month`` not yet served in it,
        in increasing order (the registers comparison evaluators sample)."""
        rows = self.need_rows(pop, specialty, month)
        unserved = self.participated[specialty][rows]
        np.logical_not(unserved, out=unserved)
        return np.asarray(rows.compress(unserved))


class CohortLog:
    """Residents who joined the actions of a run (or their control groups, or were taken as
    their comparisons) month by month, with their hazard group when they joined (0 short-term,
    1 long-term unemployed, 2 RSA): one log for all actions, appended once a month with every
    action's joiners; what an action's ``Cohort`` reads."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []
        self._by_action: tuple[np.ndarray, ...] | None = None

    def add(self, action: np.ndarray, rows: np.ndarray, month: int, groups: np.ndarray) -> None:
        """Record residents ``rows`` joining ``action`` (one per row) at ``month``, with their
        hazard groups."""
        if len(rows):
            self._parts.append((action, rows, month, groups.astype(np.int64)))
            self._by_action = None

    def of(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, months, groups) of everyone who joined action ``index``, in joining order."""
        order, starts, rows, months, groups = self._indexed()
        if index + 1 >= len(starts):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        mine = order[starts[index] : starts[index + 1]]
        return rows[mine], months[mine], groups[mine]

    def count(self, index: int) -> int:
        """How many joined action ``index``."""
        _, starts, _, _, _ = self._indexed()
        return int(starts[index + 1] - starts[index]) if index + 1 < len(starts) else 0

    def _indexed(self) -> tuple[np.ndarray, ...]:
        """The log concatenated and ordered by action (stable: joining order within each),
        rebuilt only after an addition."""
        if self._by_action is None:
            if self._parts:
                action = np.concatenate([p[0] for p in self._parts]).astype(np.int64)
                rows = np.concatenate([p[1] for p in self._parts]).astype(np.int64)
                months = np.repeat([p[2] for p in self._parts], [len(p[1]) for p in self._parts])
                groups = np.concatenate([p[3] for p in self._parts])
            else:
                action = rows = months = groups = np.empty(0, dtype=np.int64)
            # Action indices are small whole numbers: numpy sorts them by radix in 16-bit passes,
            # in the order of np.argsort(action, kind="stable").
            order = stable_argsort(action)
            starts = np.concatenate(([0], np.cumsum(np.bincount(action))))
            self._by_action = (order, starts, rows, months.astype(np.int64), groups)
        return self._by_action


class Cohort:
    """Those who joined one action (or its control group, or its comparisons): a view of the
    run's ``CohortLog``."""

    def __init__(self, log: CohortLog, index: int) -> None:
        self.log = log
        self.index = index

    def __len__(self) -> int:
        return self.log.count(self.index)

    def data(self, until_month: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, start months, groups) of everyone who joined by ``until_month``."""
        rows, months, groups = self.log.of(self.index)
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
    """A funded action: what was asked (``spec``), who joined it (``enrolled``, ``controls``),
    who watches its enrolments, and what it has delivered so far.

    Its month-by-month delivery is not here: every action of a run is delivered in one pass a
    month by ``sim.delivery.delivery.Delivery``, which keeps the counters (``completions``,
    ``dropouts``, ``participant_months``, ``closed``) as rows of arrays; an action reads its row.
    """

    def __init__(self, index: int, spec: ActionSpec, seed: int) -> None:
        self.index = index
        self.spec = spec
        self.need = need_of(spec.specialty)
        self.specialty = index_of(spec.specialty)
        self.seed = seed
        self.watchers: list[EnrolmentWatcher] = []
        self.enrolled = Cohort(CohortLog(), index)
        self.controls = Cohort(CohortLog(), index)
        self.counters = ActionCounters(index + 1)  # its own, until a run's delivery shares one
        #: Last month anyone may join, whatever the spec says: the run's delivery horizon (the
        #: model sets it; the months after it are a follow-up without new enrolments).
        self.enrol_until: int | None = None

    @functools.cached_property
    def rng(self) -> np.random.Generator:
        """The action's own stream, the run's ``programme`` stream of its index (its evaluator's
        sampling), made when first drawn from: most actions never draw. Delivery draws from
        the run's ``delivery`` stream."""
        return indexed_stream(self.seed, Stream.PROGRAMME, self.index)

    @property
    def name(self) -> str:
        """A readable name: label, or association and specialty."""
        return self.spec.label or f"{self.spec.association}:{self.spec.specialty}"

    @property
    def completions(self) -> int:
        """Participants who completed the action (or reached its outcome while in it)."""
        return int(self.counters.completions[self.index])

    @property
    def dropouts(self) -> int:
        """Participants who left before completing."""
        return int(self.counters.dropouts[self.index])

    @property
    def participant_months(self) -> int:
        """Months of delivery summed over participants."""
        return int(self.counters.participant_months[self.index])

    @property
    def closed(self) -> bool:
        """Whether the action has ended (no one left and no one may join)."""
        return bool(self.counters.closed[self.index])

    def enrol_end(self) -> int | None:
        """Last month anyone may join (None: no end)."""
        end = self.spec.end_month
        if self.enrol_until is not None:
            end = self.enrol_until if end is None else min(end, self.enrol_until)
        return end

    def is_enrolling(self, month: int) -> bool:
        """Whether new participants may join this month."""
        end = self.enrol_end()
        return self.spec.start_month <= month and (end is None or month <= end) and not self.closed

    def eligible(self, pop: Population, enr: Enrolment, rows: np.ndarray) -> np.ndarray:
        """Those of ``rows`` still free to join (not enrolled, not served in this specialty)
        and within the action's target."""
        if len(rows) == 0:
            return rows
        ok = ~enr.participated[self.specialty, rows] & (enr.action[rows] == -1)
        ok &= within_target(pop, rows, self.spec.target)
        return np.asarray(rows[ok])


class ActionCounters:
    """What actions have delivered, one row per action index (a growing set of arrays shared by
    the actions of a run, so that the monthly pass updates them all at once)."""

    def __init__(self, size: int = 0) -> None:
        self.completions = np.zeros(size, dtype=np.int64)
        self.dropouts = np.zeros(size, dtype=np.int64)
        self.participant_months = np.zeros(size, dtype=np.int64)
        self.closed = np.zeros(size, dtype=bool)

    def resize(self, size: int) -> None:
        """Room for ``size`` actions (new rows at zero)."""
        for name in ("completions", "dropouts", "participant_months", "closed"):
            old = getattr(self, name)
            if len(old) < size:
                grown = np.zeros(max(size, 2 * len(old)), dtype=old.dtype)
                grown[: len(old)] = old
                setattr(self, name, grown)


def within_target(pop: Population, rows: np.ndarray, target: Target) -> np.ndarray:
    """Whether each of ``rows`` is within an action's target (on top of its need)."""
    ok = np.ones(len(rows), dtype=bool)
    if target.rsa_only:
        ok &= pop.rsa_eligible[rows]
    if target.long_term_only:
        ok &= ~pop.employed[rows] & (pop.duration[rows] >= pop.params.long_term_months)
    if target.non_french_only:
        ok &= pop.french[rows] == FRENCH_NONE
    return ok
