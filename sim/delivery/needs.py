"""Needs as objects: what a resident may need, the action that answers it, its outcome and how it
is counted, the unit and reference size of an action's effect, and how that effect reaches the
resident's dynamics.

Everything that differs between needs is here, once. Actions, services, evaluators, metrics,
reports and translations read a ``Need`` instead of branching on employment, French or rights, so
adding a need is adding one object (``register_need``; the tests show it with a toy need).

Outcomes are dated per resident in the population's arrays (``outcome_month``): the month of the
first outcome, and for a repeatable outcome (a job held 6 months) the month of the last one and
their count. A need's sign means what a reader thinks: more outcomes is better for the resident.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from sim.errors import UserInputError
from sim.world.params import FRENCH_A2, FRENCH_NONE, ModelParams
from sim.world.population import (
    NOT_YET,
    Population,
    reached_between,
)

Rows = slice | np.ndarray
#: Monthly separation of established jobs that an evaluator assumes from published statistics.
PUBLISHED_SEPARATION_PER_MONTH = 0.01


@dataclass(frozen=True)
class Need:
    """One need, the action that answers it and its outcome.

    Attributes:
        key: short name (``employment``), used in metric names (``true_additional_employment``).
        specialty: what an association offers to answer it (``employment_support``).
        outcome: the outcome, in words (English; ``sim.reading.i18n`` translates it).
        contract_metric: the name an impact contract uses for the outcome.
        outcome_month: population array holding the month of a resident's first outcome.
        outcome_last_month: for a repeatable outcome, the array of the month of the last one.
        outcome_count: for a repeatable outcome, the array counting them.
        at_risk_month: the array dating when a resident first had the need, when having it
            depends on what other actions change (a right exists only while one is entitled):
            the truth then compares only residents who had the need in both the arm and its
            twin.
        unchanged_in_both: resident arrays that must be equal in the arm and its twin for a
            resident's difference to count: a right not claimed because someone found work is
            an outcome of employment (counted there), not a lost right.
        effect_unit: the unit of an action's ``true_effect``.
        duration_months: months a participant stays in an action, by default.
        reference_effect: true effect of an action by an association of effectiveness 1.
        max_effect: largest effect an action can have (a share stays below 1).
        cost_eur_per_participant_month: typical cost of an action (generated associations).
        association_share: share of generated associations with this specialty.
        in_need: who needs it among ``rows``.
        reached_while_enrolled: who reached it while in the action and so leaves it (None: the
            participant stays to the end of the action).
        boost: the population array an action's effect is added to while enrolled.
        effect_while_enrolled: hazard an action of ``true_effect`` and ``duration`` adds while a
            participant is in it (before the fit).
        lasts_after_completion: whether the effect goes on for ``effect_persistence_months``
            after completion.
        fit: how well the action answers each participant's need (1 by default).
        readiness: how close each resident is to the outcome (for selection and creaming).
        published_rate: chance of the outcome within ``months`` that published rates give for
            each hazard group (the historical baseline of evaluators).
        value_eur_per_outcome: default euro value of one outcome in the optional monetised
            view (a scenario's ``[values]`` overrides it); ``value_source`` says where it
            comes from or that it is illustrative.
    """

    key: str
    specialty: str
    outcome: str
    contract_metric: str
    outcome_month: str
    outcome_last_month: str | None
    outcome_count: str | None
    effect_unit: str
    duration_months: int
    reference_effect: Callable[[ModelParams], float]
    max_effect: float
    cost_eur_per_participant_month: float
    association_share: float
    in_need: Callable[[Population, Rows], np.ndarray]
    reached_while_enrolled: Callable[[Population, np.ndarray], np.ndarray] | None
    boost: str
    effect_while_enrolled: Callable[[float, int, ModelParams], float]
    lasts_after_completion: bool
    fit: Callable[[Population, np.ndarray], np.ndarray]
    readiness: Callable[[Population, np.ndarray], np.ndarray]
    published_rate: Callable[[ModelParams, np.ndarray, np.ndarray], np.ndarray]
    at_risk_month: str | None = None
    unchanged_in_both: tuple[str, ...] = ()
    value_eur_per_outcome: float = 0.0
    value_source: str = "no value set (illustrative: 0)"
    #: Only residents out of work can be in this need: scans start from their index set.
    among_unemployed: bool = False
    #: Every resident out of work is in this need (and only they): no scan at all.
    all_unemployed: bool = False
    #: The population keeps the indices of the residents in this need (increasing), from
    #: month to month: read, not scanned (None: scanned).
    kept_rows: Callable[[Population], np.ndarray] | None = None

    @property
    def index(self) -> int:
        """Position of the need in the registry (rows of per-need arrays)."""
        return index_of(self.key)

    def in_need_rows(self, pop: Population) -> np.ndarray:
        """Indices (increasing) of the residents in this need."""
        if self.all_unemployed:
            return np.array(pop.unemployed_rows())
        if self.kept_rows is not None:
            # A copy: the population's own array is for it to replace or keep.
            return np.array(self.kept_rows(pop))
        if self.among_unemployed:
            rows = pop.unemployed_rows()
            # ``compress`` rather than a boolean index: the same rows, about twice as fast.
            return np.asarray(rows.compress(self.in_need(pop, rows)))
        return np.flatnonzero(self.in_need(pop, slice(None)))

    def scaled_effect(self, params: ModelParams, factor: float) -> float:
        """Reference effect times a factor, within the need's largest effect."""
        return min(self.reference_effect(params) * factor, self.max_effect)

    def outcomes_between(
        self,
        arrays: dict[str, np.ndarray] | Population,
        rows: np.ndarray,
        start: np.ndarray | int,
        end: int,
    ) -> np.ndarray:
        """Whether residents ``rows`` reached the outcome between their ``start`` month and
        ``end``, from a live population or a run's per-resident arrays: one window for
        evaluators and for the truth."""
        last = _read(arrays, self.outcome_last_month)[rows] if self.outcome_last_month else None
        return reached_between(_read(arrays, self.outcome_month)[rows], start, end, last)

    def first_outcome_from(
        self, arrays: dict[str, np.ndarray] | Population, rows: np.ndarray, start: np.ndarray
    ) -> np.ndarray:
        """Month of each resident's first outcome at or after their ``start`` month (``NOT_YET``:
        none so far). A repeatable outcome is dated by its first and last months only: when the
        first came earlier, the last one stands for it (the same reading as
        ``outcomes_between``, exact unless several outcomes followed ``start``)."""
        first = _read(arrays, self.outcome_month)[rows].astype(np.int64)
        month = np.where((first != NOT_YET) & (first >= start), first, NOT_YET)
        if self.outcome_last_month:
            last = _read(arrays, self.outcome_last_month)[rows].astype(np.int64)
            later = (month == NOT_YET) & (last != NOT_YET) & (last >= start)
            month = np.where(later, last, month)
        return np.asarray(month)

    def outcome_counts(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Each resident's outcomes during a run (a repeatable outcome can count several)."""
        if self.outcome_count is not None:
            return np.asarray(arrays[self.outcome_count], dtype=np.int64)
        return np.asarray(arrays[self.outcome_month] != NOT_YET, dtype=np.int64)

    def outcome_fields(self) -> tuple[str, ...]:
        """The population arrays that date and count the outcome."""
        fields = (
            self.outcome_month,
            self.outcome_last_month,
            self.outcome_count,
            self.at_risk_month,
        )
        return tuple(f for f in fields if f is not None)


def outcome_arrays(pop: Population) -> dict[str, np.ndarray]:
    """The population's outcome arrays of every need, by name (no copy)."""
    return {f: getattr(pop, f) for need in _REGISTRY for f in need.outcome_fields()}


def _read(arrays: dict[str, np.ndarray] | Population, name: str) -> np.ndarray:
    """One outcome array, by name, of a live population or of a run's per-resident arrays:
    ``outcome_arrays(arrays)[name]`` for a population, without gathering every need's."""
    return np.asarray(getattr(arrays, name) if isinstance(arrays, Population) else arrays[name])


# ---------------------------------------------------------------------------- employment
def _unemployed(pop: Population, rows: Rows) -> np.ndarray:
    return np.asarray(~pop.employed[rows])


def _employed(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.asarray(pop.employed[rows])


def _job_hazard_added(effect: float, duration: int, params: ModelParams) -> float:
    """While in the programme the effect is scaled by the lock-in factor (zero or negative:
    participants search less while enrolled); the effect comes after completion."""
    return effect * params.lock_in_factor


def _employment_fit(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Employment support helps less without French."""
    return np.where(pop.french[rows] == FRENCH_NONE, pop.params.misfit_effect_factor, 1.0)


def _job_readiness(pop: Population, rows: np.ndarray) -> np.ndarray:
    return pop.job_hazard(rows)


def _published_job_rate(params: ModelParams, group: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Published exit rates by group (a job held 6 months needs 5 more months), ignoring
    duration dependence as such benchmarks do."""
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


# ---------------------------------------------------------------------------- French
def _below_a2(pop: Population, rows: Rows) -> np.ndarray:
    return np.asarray(pop.french[rows] < FRENCH_A2)


def _course_hazard(effect: float, duration: int, params: ModelParams) -> float:
    """Monthly progression hazard added by a course of ``duration`` months so that the share of
    participants reaching A1 by its end is what the baseline progression gives, plus
    ``effect`` (the course's causal effect, in points of that share)."""
    baseline = 1.0 - (1.0 - params.french_progress_none_per_month) ** duration
    share = min(baseline + max(effect, 0.0), 0.999)
    total = 1.0 - (1.0 - share) ** (1.0 / duration)
    return float(max(0.0, total - params.french_progress_none_per_month))


def _published_french_rate(
    params: ModelParams, group: np.ndarray, months: np.ndarray
) -> np.ndarray:
    return np.asarray(1 - (1 - params.french_progress_none_per_month) ** months)


# ---------------------------------------------------------------------------- rights
def _unclaimed_right(pop: Population, rows: Rows) -> np.ndarray:
    # Eligible and not claiming: True > False, in one pass over the pairs (no negated copy).
    return np.greater(pop.rsa_eligible[rows], pop.rsa_claimed[rows])


def _claimed(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.asarray(pop.rsa_claimed[rows])


def _takeup_added(effect: float, duration: int, params: ModelParams) -> float:
    return effect


def _published_takeup_rate(
    params: ModelParams, group: np.ndarray, months: np.ndarray
) -> np.ndarray:
    return np.asarray(1 - (1 - params.takeup_hazard_unaware_per_month) ** months)


# ---------------------------------------------------------------------------- shared
def _full_fit(pop: Population, rows: np.ndarray) -> np.ndarray:
    return np.ones(len(rows))


def _closeness(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Without a hazard of its own, a low barrier score means close to the outcome."""
    return np.asarray(-pop.barrier[rows])


def per_month(share: float, months: int) -> float:
    """The constant monthly hazard that gives ``share`` within ``months``."""
    return float(1.0 - (1.0 - share) ** (1.0 / months))


#: +0.5 point of monthly job-finding hazard for 12 months after completion at effectiveness 1
#: (illustrative size: about +4 points of employment a year after the programme for a long-term
#: unemployed person, within Card, Kluve & Weber 2018's "close to zero in the short run, more
#: positive 2-3 years after"; +5 points for the New Deal for Young People).
EMPLOYMENT_EFFECT_PER_MONTH = 0.005
#: Months of an access-to-rights action (information and hands-on help to claim).
RIGHTS_DURATION_MONTHS = 3
#: Take-up raised by information plus application assistance: +12 points within 9 months
#: (Finkelstein & Notowidigdo 2019, SNAP RCT: 18 % against 6 %); information alone gives +5.
RIGHTS_TAKEUP_GAIN = 0.12
#: The monthly take-up hazard that gives those +12 points over the action's 3 months
#: (calculated; about +4.2 points a month).
RIGHTS_EFFECT_PER_MONTH = per_month(RIGHTS_TAKEUP_GAIN, RIGHTS_DURATION_MONTHS)

EMPLOYMENT_NEED = Need(
    key="employment",
    specialty="employment_support",
    outcome="job held 6 months",
    contract_metric="employment_6_months",
    outcome_month="sustained_job_month",
    outcome_last_month="last_sustained_job_month",
    outcome_count="sustained_job_count",
    effect_unit="added monthly job-finding hazard",
    duration_months=9,
    reference_effect=lambda params: EMPLOYMENT_EFFECT_PER_MONTH,
    max_effect=math.inf,
    cost_eur_per_participant_month=450.0,
    association_share=0.5,
    in_need=_unemployed,
    reached_while_enrolled=_employed,
    boost="job_boost",
    effect_while_enrolled=_job_hazard_added,
    lasts_after_completion=True,
    fit=_employment_fit,
    readiness=_job_readiness,
    published_rate=_published_job_rate,
    # Six months of the public cost of a long-term unemployed person (EUR 10,000 a year, an
    # estimate in a sourced range of EUR 7,600-26,000: domain.md cost_ltu_year).
    value_eur_per_outcome=5_000.0,
    value_source="[C] 6 months x EUR 10,000/year public cost of long-term unemployment [E]",
    among_unemployed=True,
    all_unemployed=True,
)
FRENCH_NEED = Need(
    key="french",
    specialty="french_course",
    outcome="French A1 reached",
    contract_metric="french_a1",
    outcome_month="a1_month",
    outcome_last_month=None,
    outcome_count=None,
    effect_unit="points added to the share of participants reaching A1 by the end of the course",
    duration_months=6,  # 200 hours over 6 months (OFII)
    # The pass rate (68 %, OFII) minus who would reach A1 anyway (illustrative 40 %).
    reference_effect=lambda params: params.course_effect_share,
    max_effect=0.95,
    cost_eur_per_participant_month=250.0,  # 200 h x EUR 7.40 over 6 months
    association_share=0.3,
    in_need=_below_a2,
    reached_while_enrolled=None,
    boost="french_boost",
    effect_while_enrolled=_course_hazard,
    lasts_after_completion=False,
    fit=_full_fit,
    readiness=_closeness,
    published_rate=_published_french_rate,
    kept_rows=Population.learning_rows,  # those below A2: the residents the French step moves
)
RIGHTS_NEED = Need(
    key="rights",
    specialty="access_to_rights",
    outcome="right claimed",
    contract_metric="rights_claimed",
    outcome_month="claim_month",
    outcome_last_month=None,
    outcome_count=None,
    effect_unit="added monthly take-up hazard",
    duration_months=RIGHTS_DURATION_MONTHS,
    reference_effect=lambda params: RIGHTS_EFFECT_PER_MONTH,
    max_effect=math.inf,
    cost_eur_per_participant_month=120.0,
    association_share=0.2,
    in_need=_unclaimed_right,
    reached_while_enrolled=_claimed,
    boost="takeup_boost",
    effect_while_enrolled=_takeup_added,
    lasts_after_completion=False,
    fit=_full_fit,
    readiness=_closeness,
    published_rate=_published_takeup_rate,
    at_risk_month="rights_gap_month",
    unchanged_in_both=("months_employed",),
    among_unemployed=True,  # minimum income rights end with a job
)

_REGISTRY: list[Need] = [EMPLOYMENT_NEED, FRENCH_NEED, RIGHTS_NEED]


def all_needs() -> tuple[Need, ...]:
    """Every registered need, in registry order (the rows of per-need arrays)."""
    return tuple(_REGISTRY)


def need_keys() -> tuple[str, ...]:
    """Keys of every registered need."""
    return tuple(n.key for n in _REGISTRY)


def specialties() -> tuple[str, ...]:
    """Specialties of every registered need, in registry order."""
    return tuple(n.specialty for n in _REGISTRY)


def index_of(key: str) -> int:
    """Registry position of a need, by key or by specialty."""
    for index, need in enumerate(_REGISTRY):
        if key in (need.key, need.specialty):
            return index
    raise UserInputError(
        f"unknown need or specialty '{key}': expected one of "
        f"{', '.join(need_keys())} (or {', '.join(specialties())})"
    )


def need_of(key: str) -> Need:
    """A need by key, by specialty or by contract metric, with a clear error."""
    for need in _REGISTRY:
        if key in (need.key, need.specialty, need.contract_metric):
            return need
    raise UserInputError(
        f"unknown need '{key}': expected one of {', '.join(need_keys())} "
        f"(or a specialty: {', '.join(specialties())})"
    )


def register_need(need: Need) -> Need:
    """Add a need to the registry (its key and specialty must be new)."""
    taken = {n.key for n in _REGISTRY} | {n.specialty for n in _REGISTRY}
    if need.key in taken or need.specialty in taken:
        raise UserInputError(f"need '{need.key}' ({need.specialty}) is already registered")
    _REGISTRY.append(need)
    return need


@contextmanager
def registered(need: Need) -> Iterator[Need]:
    """A need registered for the duration of a ``with`` block (tests, experiments)."""
    register_need(need)
    try:
        yield need
    finally:
        _REGISTRY.remove(need)
