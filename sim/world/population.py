"""Residents as numpy arrays, and their monthly dynamics without any programme.

Residents are stored grouped by territory (territory ``t`` owns rows ``slices[t]``), one array per
attribute. The dynamics are vectorized over all residents. Every month, the baseline streams draw
one number per resident and process whether or not it is needed (``MonthlyDraws``): two runs with
the same seed see identical baseline shocks whatever the programme does, so an action of zero
effect leaves every trajectory unchanged and an effective one changes only what it causes.

Programme effects reach residents through three additive arrays (``job_boost``, ``french_boost``,
``takeup_boost``) that the actions fill in each month.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from sim.errors import UserInputError
from sim.world.params import FRENCH_A1, FRENCH_A2, FRENCH_NONE, ModelParams
from sim.world.rng import Stream, counter_uniform16, stream
from sim.world.runs import territory_runs
from sim.world.territory import City

NOT_YET = -1  # month of an outcome that has not happened
#: Type of months and durations in months: 16 bits, as the month-long steps read durations of
#: every resident they scan in half the memory of 32 bits. Runs stay well below 32767 months.
MONTHS = np.int16
#: Hazard groups: the calibration groups of the unemployed, and the employed.
SHORT_TERM, LONG_TERM, ON_RSA, EMPLOYED = 0, 1, 2, 3


@dataclass
class MonthlyDraws:
    """Uniform draws of one month, one per resident and baseline process.

    Draws are 16-bit integers: ``draw < p * SCALE`` happens with probability ``p`` on a grid of
    1/65536, ample for monthly hazards of a few percent and twice as fast to draw as floats.
    One labour draw serves job finding (for the unemployed) and job loss (for the employed):
    the two never apply to the same resident in one month. One RSA draw serves the exit (below
    the exit hazard) and the take-up (above one minus the take-up hazard): competing risks.
    """

    #: The draws are uniform integers in [0, SCALE).
    SCALE = float(1 << 16)

    month: int
    seed: int
    contact: np.ndarray
    labour: np.ndarray
    rsa: np.ndarray
    french: np.ndarray

    def diffusion(self, specialty: int, rows: np.ndarray) -> np.ndarray:
        """Word-of-mouth draws of residents ``rows`` for one specialty: counter-based, so only
        the residents listening for an offer are drawn, and each sees the same draw in every
        arm whoever else listens."""
        return counter_uniform16(self.seed, Stream.DIFFUSION, self.month, specialty, rows)


@dataclass(frozen=True)
class MonthlyCounts:
    """What a month's record counts: residents out of work (in all, long-term, and per
    territory), RSA-eligible and claiming residents, and jobs held 6 months so far (the sum of
    ``sustained_job_count``)."""

    unemployed: int
    long_term_unemployed: int
    rsa_eligible: int
    rsa_claimed: int
    sustained_jobs: int
    unemployed_by_territory: np.ndarray


#: Up to this many rows, values are gathered for each row rather than spread by territory.
_FEW_ROWS = 1024

#: Durations below this many months are tracked by index (``_RecentSpells``): the new-job
#: period (3 months) and the 6-month job mark (a duration of 5).
_RECENT_MONTHS = 6


@dataclass
class _RecentSpells:
    """The residents whose duration may be each of 0 to 5 months: ``rows[k]`` holds those whose
    job or spell changed k months ago (or whose duration was k when derived from the array), a
    superset of those whose duration is k, since a later change resets it; ``hires[k]`` those
    of them who found a job then (all of ``rows[k]`` when derived), a superset of the employed
    whose duration is k, as long as jobs are found only through the labour step (an outside
    change of employment drops the spells: ``Population._confirmed_unemployed``). New jobs and
    jobs held 6 months are looked up there rather than in every resident's duration. Describes
    the ``duration`` array it was derived with (each labour step makes a new one)."""

    duration: np.ndarray
    rows: list[np.ndarray]
    hires: list[np.ndarray]

    @classmethod
    def of(cls, duration: np.ndarray) -> _RecentSpells | None:
        """Derived from the durations; None if one is negative (it would reach 0 unchanged)."""
        if len(duration) and duration.min() < 0:
            return None
        recent = np.flatnonzero(duration < _RECENT_MONTHS)
        months = duration[recent]
        rows = [recent[months == k] for k in range(_RECENT_MONTHS)]
        return cls(duration, rows, list(rows))

    def rows_at(self, months: int) -> np.ndarray:
        """The residents whose duration is ``months`` (below 6)."""
        rows = self.rows[months]
        return _select(rows, self.duration[rows] == months)

    def jobs_at(self, months: int, employed: np.ndarray) -> np.ndarray:
        """The employed whose duration is ``months`` (below 6): in a job found then."""
        rows = self.hires[months]
        return _select(rows, (self.duration[rows] == months) & employed[rows])

    def new_jobs(self, employed: np.ndarray) -> np.ndarray:
        """The employed in the first 3 months of their job (in no particular order): the
        ``jobs_at`` 0, 1 and 2 months one after the other, looked up in one pass."""
        rows, months = self._new_hires()
        return _select(rows, (self.duration[rows] == months) & employed[rows])

    def new_jobs_drawing_below(
        self, employed: np.ndarray, draws: np.ndarray, threshold: np.float32
    ) -> np.ndarray:
        """The ``new_jobs`` whose draw (in ``draws``, one per resident) is below ``threshold``,
        in the same order: the draws are compared first, so that only the few below it are
        looked up in ``duration`` and ``employed``."""
        rows, months = self._new_hires()
        below = draws[rows] < threshold
        rows, months = _select(rows, below), _select(months, below)
        return _select(rows, (self.duration[rows] == months) & employed[rows])

    def _new_hires(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``hires`` of 0, 1 and 2 months ago one after the other, and for each the
        duration of a job still held since then."""
        hires = self.hires[:3]
        months = np.repeat(np.arange(3, dtype=self.duration.dtype), [len(h) for h in hires])
        return np.concatenate(hires), months

    def advanced(
        self, changed: np.ndarray, found: np.ndarray, duration: np.ndarray
    ) -> _RecentSpells:
        """A month later, ``duration`` being the new durations: ``changed`` start at 0 (of whom
        ``found`` in a new job), the others are a month older."""
        return _RecentSpells(duration, [changed, *self.rows[:-1]], [found, *self.hires[:-1]])


@dataclass(frozen=True)
class _Targets:
    """What the steady state must reproduce, per territory: the diagnosis, and the eligible
    share of residents implied by the RSA share and the configured non-take-up."""

    unemployment_rate: np.ndarray
    long_term_share: np.ndarray
    rsa_eligible_share: np.ndarray

    @classmethod
    def of(cls, city: City, params: ModelParams) -> _Targets:
        rate = city.column("unemployment_rate").astype(np.float64)
        rsa = city.column("rsa_share").astype(np.float64) / (1.0 - params.rsa_non_take_up)
        return cls(
            unemployment_rate=rate,
            long_term_share=city.column("long_term_share").astype(np.float64),
            rsa_eligible_share=np.minimum(rsa, rate),
        )


def check_durations_fit(params: ModelParams, months: int = 0) -> None:
    """Refuse parameters and a horizon under which a duration could leave MONTHS: the longest
    spell or job drawn, lengthened by the warm-up and by every month simulated after it."""
    longest = max(120, 4 * params.long_term_months) + params.warmup_months + months
    if longest > np.iinfo(MONTHS).max:
        raise UserInputError(
            "long_term_months, warmup_months and the months simulated: durations of up to "
            f"{longest} months, more than the {np.iinfo(MONTHS).max} a run can hold"
        )


class Population:
    """State of all residents (one row each) and their baseline monthly dynamics."""

    def __init__(self, city: City, params: ModelParams, seed: int) -> None:
        self.params = params
        self.seed = seed
        counts = np.array([t.working_age_population for t in city.territories], dtype=np.int64)
        self.n = int(counts.sum())
        self.n_territories = city.size
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.slices = [slice(int(s), int(s + c)) for s, c in zip(starts, counts, strict=True)]
        self.territory = np.repeat(np.arange(city.size, dtype=np.int32), counts)
        self.territory_sizes = counts
        self.territory_starts = starts
        self.qpv = city.column("qpv").astype(bool)
        self.contact_rate_by_territory = np.where(
            self.qpv, params.service_contact_qpv_per_month, params.service_contact_per_month
        ).astype(np.float32)
        self.contact_rate_scaled = self.per_resident(
            self.contact_rate_by_territory * np.float32(MonthlyDraws.SCALE)
        )
        self._streams = {
            name: stream(seed, name)
            for name in (Stream.LABOUR, Stream.RSA, Stream.LANGUAGE, Stream.SERVICES)
        }
        self._just_lost = np.empty(0, dtype=np.int64)
        self._init_state(city, stream(seed, Stream.POPULATION))
        self._targets = _Targets.of(city, params)
        self._init_calibration()
        if params.warmup_months > 0:
            self._warm_up(stream(seed, Stream.WARMUP))
        else:
            self._calibrate(smoothing=1.0)
        self._init_outcomes()
        self.initial_french = self.french.copy()
        self.initial_employed = self.employed.copy()
        self.initial_rsa_eligible = self.rsa_eligible.copy()

    # ------------------------------------------------------------------ initial state
    def _init_state(self, city: City, rng: np.random.Generator) -> None:
        n, p = self.n, self.params
        check_durations_fit(p)
        drawn = rng.beta(2.0, 3.5, n)
        self.barrier = np.clip(drawn, 0.0, 1.0, out=drawn).astype(np.float32)  # one temporary
        self.employed = np.ones(n, dtype=bool)
        self.duration = np.zeros(n, dtype=MONTHS)
        self.rsa_eligible = np.zeros(n, dtype=bool)
        self.rsa_claimed = np.zeros(n, dtype=bool)
        self.french = np.full(n, FRENCH_A2, dtype=np.int8)
        for t, rows in zip(city.territories, self.slices, strict=True):
            size = rows.stop - rows.start
            barrier = self.barrier[rows]
            unemployed = _weighted_pick(
                rng, np.exp(2.0 * barrier), round(t.unemployment_rate * size)
            )
            self.employed[rows.start + unemployed] = False
            long_term = _weighted_pick(
                rng, np.exp(2.0 * barrier[unemployed]), round(t.long_term_share * len(unemployed))
            )
            is_long = np.zeros(len(unemployed), dtype=bool)
            is_long[long_term] = True
            durations = np.where(
                is_long,
                rng.integers(p.long_term_months, 4 * p.long_term_months, len(unemployed)),
                rng.integers(0, p.long_term_months, len(unemployed)),
            )
            self.duration[rows.start + unemployed] = durations
            n_eligible = min(len(unemployed), round(t.rsa_share * size / (1.0 - p.rsa_non_take_up)))
            eligible = unemployed[
                _weighted_pick(
                    rng, np.exp(2.0 * barrier[unemployed]) * np.where(is_long, 3.0, 1.0), n_eligible
                )
            ]
            self.rsa_eligible[rows.start + eligible] = True
            non_french = _weighted_pick(
                rng, np.where(self.employed[rows], 1.0, 1.5), round(t.non_french_share * size)
            )
            self.french[rows.start + non_french] = FRENCH_NONE
        employed = self.employed
        self.duration[employed] = rng.integers(0, 120, int(employed.sum()))
        self.rsa_claimed = self.rsa_eligible & (rng.random(n) >= p.rsa_non_take_up)
        #: Aware of her current RSA right (cleared when the right ends).
        self.rights_aware = self.rsa_claimed | (self.rsa_eligible & (rng.random(n) < 0.3))
        #: Paid unemployment insurance this month (drawn when a spell starts, ends with the
        #: spell or after ``unemployment_insurance_months``).
        self.insured = (
            ~self.employed
            & ~self.rsa_eligible
            & (self.duration < p.unemployment_insurance_months)
            & (rng.random(n) < 0.6)
        )
        #: Left RSA for another reason than a job and still out of work (may return to it).
        self.rsa_left = np.zeros(n, dtype=bool)
        self.barrier_multiplier = np.exp(-p.barrier_hazard_slope * (self.barrier - 0.5)).astype(
            np.float32
        )
        # Programme effects, written by the actions each month.
        self.job_boost = np.zeros(n, dtype=np.float32)
        self.french_boost = np.zeros(n, dtype=np.float32)
        self.takeup_boost = np.zeros(n, dtype=np.float32)
        self.treated = np.zeros(n, dtype=bool)

    def _init_outcomes(self) -> None:
        n = self.n
        self.job_found_month = np.full(n, NOT_YET, dtype=np.int16)
        self.sustained_job_month = np.full(n, NOT_YET, dtype=np.int16)
        self.last_sustained_job_month = np.full(n, NOT_YET, dtype=np.int16)
        self.sustained_job_count = np.zeros(n, dtype=np.int16)
        self.a1_month = np.full(n, NOT_YET, dtype=np.int16)
        self.claim_month = np.full(n, NOT_YET, dtype=np.int16)
        # First month a resident was entitled to the RSA without claiming it: in need of the right.
        self.rights_gap_month = np.where(self.rsa_eligible & ~self.rsa_claimed, 0, NOT_YET).astype(
            np.int16
        )
        self.months_employed = np.zeros(n, dtype=np.int16)
        self.public_cost_eur = np.zeros(n, dtype=np.float64)

    # ------------------------------------------------------------------ calibration
    def _init_calibration(self) -> None:
        """Starting values of the calibrated hazards (refined by ``_calibrate``)."""
        p, t = self.params, self.n_territories
        self.trait_multiplier = self.barrier_multiplier * self.french_factor()
        # The employed have no job-finding hazard: their group's rate is zero.
        self.group_hazard = np.array(
            [
                p.job_hazard_short_per_month,
                p.job_hazard_long_per_month,
                p.job_hazard_rsa_per_month,
                0.0,
            ],
            dtype=np.float32,
        )
        self.group_scale = np.ones(4, dtype=np.float32)
        self.group_rate = self.group_hazard * self.group_scale
        self.separation_established = np.full(t, 0.01, dtype=np.float32)
        self.churn = np.full(t, 0.02, dtype=np.float32)
        self.rsa_entry = np.full(t, 0.02, dtype=np.float32)
        self.takeup_scale = np.ones(t, dtype=np.float32)
        self.insured_entry_share = 0.8
        self._refresh_per_resident()

    def _refresh_per_resident(self) -> None:
        """The group rates and the territory hazards in the units of the 16-bit draws, after
        the calibration set them. The monthly steps spread a territory's hazard to the few
        residents concerned (``_spread``) rather than keeping a copy for every resident."""
        scale = np.float32(MonthlyDraws.SCALE)
        self.group_rate = self.group_hazard * self.group_scale
        self._separation_scaled = self.separation_established * scale
        self._churn_scaled = self.churn * scale
        self._rsa_entry_scaled = self.rsa_entry * scale

    # Every resident's hazards, spread from their territory's (new arrays, for reading).
    @property
    def contact_rate(self) -> np.ndarray:
        """Monthly chance of every resident to see a public service."""
        return self.per_resident(self.contact_rate_by_territory)

    @property
    def separation_established_per_resident(self) -> np.ndarray:
        """Established-job separation of every resident."""
        return self.per_resident(self.separation_established)

    @property
    def separation_established_scaled(self) -> np.ndarray:
        """Established-job separation of every resident, in draw units (float32)."""
        return self.per_resident(self._separation_scaled)

    @property
    def churn_scaled(self) -> np.ndarray:
        """Churn hazard of every resident, in draw units (float32)."""
        return self.per_resident(self._churn_scaled)

    @property
    def rsa_entry_scaled(self) -> np.ndarray:
        """RSA entry hazard of every resident, in draw units (float32)."""
        return self.per_resident(self._rsa_entry_scaled)

    @property
    def takeup_scale_per_resident(self) -> np.ndarray:
        """Take-up scale of every resident."""
        return self.per_resident(self.takeup_scale)

    def _spread(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``per_resident(values)[rows]`` for increasing ``rows``: the value of each
        territory repeated for as many of ``rows`` as it holds (they are consecutive, as the
        residents are grouped by territory), without a gather; for a few rows, a gather of
        their territories' values is faster than the binary searches."""
        if len(rows) <= _FEW_ROWS:
            return np.asarray(values[self.territory[rows]])
        return np.repeat(values, territory_runs(rows, self.territory_bounds()))

    def _calibrate(self, smoothing: float) -> dict[str, np.ndarray]:
        """One step of the calibration: the hazards that make this month's stocks, scaled to the
        diagnosis, a flow balance (inflow = outflow of each stock), moved by ``smoothing`` (1:
        all the way) from their current values. Returns the values computed before smoothing.

        - job-finding scale of each group: its mean over the group's members is the configured
          hazard (city-wide);
        - established-job separation: the diagnosed unemployment rate balances job losses and
          job finding (``_steady_state_separation``);
        - churn: as many unemployed cross 12 months as leave long-term unemployment at the
          diagnosed long-term share;
        - RSA entry: as many enter RSA as leave it at the diagnosed RSA share;
        - take-up: as many claim as claimers leave at the configured non-take-up;
        - insured share of new spells: as many become insured as leave insurance at the paid
          share of the unemployed (city-wide).
        """
        p, tg = self.params, self._targets
        n_t = self.n_territories
        # Only the unemployed (about one in ten) enter the balances: work on their indices.
        rows = self._confirmed_unemployed()
        # Sorted rows are grouped by territory: each territory's unemployed are one segment.
        segments = np.searchsorted(rows, self.territory_bounds())
        where = np.repeat(np.arange(n_t, dtype=np.intp), np.diff(segments))  # their territory

        def tsum(weights: np.ndarray) -> np.ndarray:
            """Sum per territory, in the residents' order (the floating-point sums of before)."""
            return np.bincount(where, weights=weights, minlength=n_t)

        def tcount(mask: np.ndarray) -> np.ndarray:
            """How many per territory (exact: the same figures as ``tsum`` of the mask)."""
            return _segment_counts(mask, segments).astype(np.float64)

        groups = self.hazard_group(rows, out_of_work=True)
        multiplier = self.trait_multiplier[rows]
        scale = self.group_scale.copy()
        for g in (SHORT_TERM, LONG_TERM, ON_RSA):
            members = groups == g
            if members.any():
                scale[g] = 1.0 / float(np.compress(members, multiplier).mean())
        computed: dict[str, np.ndarray] = {"group_scale": scale}
        hazard = ((self.group_hazard * scale)[groups] * multiplier).astype(np.float64)
        staying = 1.0 - hazard  # no job this month
        exit_hazard = hazard + staying * p.rsa_other_exit_per_month  # out of RSA, either way
        n_u = np.diff(segments).astype(np.float64)
        # Separation of established jobs.
        mean_hazard = tsum(hazard) / np.maximum(n_u, 1)
        separation = _steady_state_separation(
            tg.unemployment_rate,
            np.where(mean_hazard > 0, mean_hazard, p.job_hazard_short_per_month),
            p,
        )
        if p.separation_established_per_month is not None:
            separation[:] = p.separation_established_per_month
        computed["separation_established"] = separation
        # Churn of spells not paid by insurance.
        duration, insured = self.duration[rows], self.insured[rows]
        long_term = duration >= p.long_term_months
        at_11 = duration == p.long_term_months - 1
        # Stocks scaled to what they would be at the diagnosed long-term share.
        n_long = tcount(long_term)
        k_long = tg.long_term_share * n_u / np.maximum(n_long, 1)
        k_short = (1.0 - tg.long_term_share) * n_u / np.maximum(n_u - n_long, 1)
        numerator = k_short * tsum(at_11 * staying) - k_long * tsum(long_term * hazard)
        denominator = k_short * tcount(at_11 & ~insured) + k_long * tcount(long_term & ~insured)
        churn = np.clip(numerator / np.maximum(denominator, 1e-9), 0.0, 0.5)
        if p.unemployment_churn_per_month is not None:
            churn[:] = p.unemployment_churn_per_month
        computed["churn"] = churn
        # RSA entry of the uninsured who never were, or no longer are, recipients.
        eligible, left = self.rsa_eligible[rows], self.rsa_left[rows]
        n_eligible = tcount(eligible)
        leaving = tsum(eligible * exit_hazard)
        target_eligible = tg.rsa_eligible_share * self.territory_sizes
        k_eligible = target_eligible / np.maximum(n_eligible, 1)
        outside = ~eligible & ~insured
        n_outside = tcount(outside)
        # The pool that may enter, scaled to what it would be with the target eligible stock.
        k_outside = np.maximum(n_u - tcount(insured) - target_eligible, 1.0) / np.maximum(
            n_outside, 1
        )
        returning = k_outside * tsum((outside & left) * staying) * p.rsa_reentry_per_month
        newcomers = k_outside * tsum((outside & ~left) * staying)
        entry = np.clip((k_eligible * leaving - returning) / np.maximum(newcomers, 1e-9), 0.0, 0.5)
        if p.rsa_entry_per_month is not None:
            entry[:] = p.rsa_entry_per_month
        computed["rsa_entry"] = entry
        # Take-up.
        claimed = self.rsa_claimed[rows]
        # Public services make some of the unaware aware before they may claim this month.
        contact = self.contact_rate_by_territory.astype(np.float64)
        unaware_hazard = contact * p.takeup_hazard_aware_per_month + (1.0 - contact) * (
            p.takeup_hazard_unaware_per_month
        )
        unaware_hazard = self._spread(unaware_hazard, rows)
        base = np.where(self.rights_aware[rows], p.takeup_hazard_aware_per_month, unaware_hazard)
        n_claimed = tcount(claimed)
        k_claimed = (1.0 - p.rsa_non_take_up) * n_eligible / np.maximum(n_claimed, 1)
        k_waiting = p.rsa_non_take_up * n_eligible / np.maximum(n_eligible - n_claimed, 1)
        claim_leaving = tsum(claimed * exit_hazard)
        claiming = k_waiting * tsum((eligible & ~claimed) * base * staying)
        ceiling = (1.0 - p.rsa_other_exit_per_month) / max(
            p.takeup_hazard_aware_per_month, p.takeup_hazard_unaware_per_month, 1e-9
        )
        takeup = np.clip(k_claimed * claim_leaving / np.maximum(claiming, 1e-9), 0.0, ceiling)
        computed["takeup_scale"] = takeup
        # Insured share of new spells (city-wide): job losses of new and established jobs.
        new_job = self._new_jobs_by_territory()
        established = self.territory_sizes - n_u - new_job
        losses = float(
            new_job.sum() * p.separation_new_per_month
            + (established * self.separation_established).sum()
        )
        exhausting = insured & (duration == p.unemployment_insurance_months - 1)
        insured_leaving = float((insured * hazard).sum() + (exhausting * staying).sum())
        jobseekers = len(rows) - (1.0 - p.rsa_registered_share) * float(eligible.sum())
        k_insured = p.are_paid_jobseeker_share * jobseekers / max(int(insured.sum()), 1)
        share = min(1.0, k_insured * insured_leaving / max(losses, 1e-9))
        computed["insured_entry_share"] = np.array([share])

        def move(current: np.ndarray, target: np.ndarray) -> np.ndarray:
            return np.asarray(current + smoothing * (target - current), dtype=np.float32)

        self.group_scale = move(self.group_scale, scale)
        self.separation_established = move(self.separation_established, separation)
        self.churn = move(self.churn, churn)
        self.rsa_entry = move(self.rsa_entry, entry)
        self.takeup_scale = move(self.takeup_scale, takeup)
        self.insured_entry_share += smoothing * (share - self.insured_entry_share)
        self._refresh_per_resident()
        return computed

    def _new_jobs_by_territory(self) -> np.ndarray:
        """How many residents of each territory are in the first 3 months of a job (int64),
        counted among the recent spells rather than over every resident."""
        spells = self._recent_spells()
        if spells is None:
            return _segment_counts(self.employed & (self.duration < 3), self.territory_bounds())
        self._spells = spells  # the next labour step starts from them
        new_jobs = spells.new_jobs(self.employed)
        return np.bincount(self.territory[new_jobs], minlength=self.n_territories)

    def _warm_up(self, rng: np.random.Generator) -> None:
        """Simulate ``warmup_months`` of baseline dynamics before month 0, from the ``warmup``
        stream: the labour market, RSA, rights awareness through public services (the CAF meets
        residents as in a month of the run); no French progression, so that the month-0 French
        levels are the diagnosis. For the first two thirds, the calibration is moved every third
        month half-way to its flow balance; it is then fixed at its mean over the second half of
        that phase, and the last third lets the residents settle in the steady state of the
        fixed hazards."""
        months = self.params.warmup_months
        adjusting = (2 * months) // 3
        averaged: dict[str, list[np.ndarray]] = {}
        for k in range(months):
            month = k - months  # negative: before the run
            if k < adjusting and k % 3 == 0:  # every third month: the stocks move slowly
                computed = self._calibrate(smoothing=0.5 if k > 0 else 1.0)
                if k >= adjusting // 2:
                    for name, value in computed.items():
                        averaged.setdefault(name, []).append(value)
            elif k == adjusting:
                means = {name: np.mean(values, axis=0) for name, values in averaged.items()}
                self.group_scale = means["group_scale"].astype(np.float32)
                self.separation_established = means["separation_established"].astype(np.float32)
                self.churn = means["churn"].astype(np.float32)
                self.rsa_entry = means["rsa_entry"].astype(np.float32)
                self.takeup_scale = means["takeup_scale"].astype(np.float32)
                self.insured_entry_share = float(means["insured_entry_share"][0])
                self._refresh_per_resident()
            # Only the labour draw concerns every resident; the others are drawn for the few
            # residents they concern (the warm-up needs no common random numbers across arms:
            # every arm starts from its result).
            # The RSA-eligible are out of work: look for them among the unemployed first.
            eligible = _rows_where(self.rsa_eligible, self.unemployed_rows())
            unaware = _select(eligible, ~self.rights_aware[eligible])
            met = unaware[_uniform16(rng, len(unaware)) < self.contact_rate_scaled[unaware]]
            self.rights_aware[met] = True
            labour = _uniform16(rng, self.n)
            rsa = np.zeros(self.n, dtype=np.uint16)
            draws = MonthlyDraws(month, self.seed, rsa, labour, rsa, french=rsa)
            found = self.labour_step(month, draws, record=False)
            out_of_work = self.unemployed_rows()
            rsa[out_of_work] = _uniform16(rng, len(out_of_work))
            self.rsa_step(month, draws, found, record=False)
        if months > 0 and adjusting == months:
            self._calibrate(smoothing=1.0)

    # ------------------------------------------------------------------ per month
    # What the monthly steps derive from the state arrays, so that they work on the few residents
    # they concern instead of scanning all of them (None at class level: not derived yet).
    # - Index sets of the unemployed, RSA-eligible, insured and learners are checked before use:
    #   the residents they hold have the state, and as many residents have it as they hold. (The
    #   unemployed are checked so at the start of the labour step; for the rest of the month, by
    #   their number and the identity of the ``employed`` array the step made.)
    # - The recent spells, integer draw thresholds and the count of jobs held 6 months are
    #   kept with the array they were derived from: only the per-month steps change
    #   ``duration`` and ``sustained_job_count``, and per-resident thresholds are set once. So
    #   are the bounds of the territory hazards in draw units (new arrays at each calibration),
    #   and the range of ``trait_multiplier``, which the French step widens as it writes.
    #   Code that writes into one of these arrays otherwise calls ``forget_derived``. (The
    #   recent spells' hires also assume that jobs are found in the labour step: the check of
    #   the unemployed sees when they were not.)
    # - The territory hazards in draw units are derived when the calibration sets them
    #   (``_refresh_per_resident``): code that sets them otherwise calls it.
    # - The bound of job finding is kept with the values it was derived from, compared each
    #   month (``_job_finding_bound``): nothing to forget.
    _unemployed: tuple[np.ndarray, np.ndarray] | None = None  # (employed array, its unemployed)
    _seekers: np.ndarray | None = None  # the unemployed at the start of the last labour step
    _learning: np.ndarray | None = None
    _spells: _RecentSpells | None = None
    _thresholds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    _sustained_total: tuple[np.ndarray, int] | None = None
    _hazard_bounds: dict[str, tuple[np.ndarray, np.uint16 | None]] | None = None
    _bounds: np.ndarray | None = None  # of the territories, which never change
    _traits: tuple[np.ndarray, np.ndarray] | None = None  # trait_multiplier, its range
    _job_bound: tuple[object, np.uint16 | None] | None = None  # what it was derived from, bound

    def forget_derived(self) -> None:
        """Drop what the monthly steps keep between calls (index sets, recent spells, draw
        thresholds, count of jobs held 6 months): they derive it again from the state arrays.
        Needed only after writing into ``duration``, ``sustained_job_count``,
        ``trait_multiplier`` (otherwise than in the French step) or a per-resident threshold
        array in place."""
        self._unemployed = self._seekers = self._learning = None
        self._spells = self._thresholds = self._sustained_total = None
        self._hazard_bounds = self._traits = self._job_bound = None

    def draw(self, month: int) -> MonthlyDraws:
        """This month's baseline draws, made for every resident whatever happens next."""
        n, s = self.n, self._streams
        return MonthlyDraws(
            month=month,
            seed=self.seed,
            contact=_uniform16(s[Stream.SERVICES], n),
            labour=_uniform16(s[Stream.LABOUR], n),
            rsa=_uniform16(s[Stream.RSA], n),
            french=_uniform16(s[Stream.LANGUAGE], n),
        )

    def territory_bounds(self) -> np.ndarray:
        """First row of each territory, then the number of residents: territory ``t`` owns rows
        ``bounds[t]`` to ``bounds[t + 1]`` (one array, derived once: not to be written into)."""
        bounds = self._bounds
        if bounds is None:
            bounds = self._bounds = np.append(self.territory_starts, self.n)
        return bounds

    def per_resident(self, values: np.ndarray) -> np.ndarray:
        """Spread a value per territory to every resident of the territory."""
        return np.repeat(values, self.territory_sizes)

    def french_factor(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Job-hazard multiplier of each resident's French level."""
        p = self.params
        factors = np.array(
            [p.french_none_hazard_factor, p.french_a1_hazard_factor, 1.0], dtype=np.float32
        )
        return factors[self.french if rows is None else self.french[rows]]

    def hazard_group(self, rows: np.ndarray | None = None, out_of_work: bool = False) -> np.ndarray:
        """SHORT_TERM, LONG_TERM or ON_RSA for the unemployed (minimum income first), EMPLOYED
        for the others (whose duration is a job tenure). ``out_of_work``: ``rows`` are known to
        be unemployed (their jobs are not looked up)."""
        duration = self.duration if rows is None else self.duration[rows]
        rsa = self.rsa_eligible if rows is None else self.rsa_eligible[rows]
        # The long-term flag (SHORT_TERM 0 or LONG_TERM 1), raised to ON_RSA (2) by minimum
        # income, then to EMPLOYED (3) by a job: integer maxima, several times faster than
        # np.where or masked writes.
        groups = np.asarray(duration >= self.params.long_term_months).view(np.int8)
        np.maximum(groups, np.asarray(rsa).astype(np.int8) * np.int8(ON_RSA), out=groups)
        if not out_of_work:
            employed = self.employed if rows is None else self.employed[rows]
            np.maximum(groups, employed.astype(np.int8) * np.int8(EMPLOYED), out=groups)
        return groups

    def job_hazard(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Baseline monthly job-finding hazard of every resident, or of ``rows`` (meaningful for
        the unemployed)."""
        groups = self.hazard_group(rows)
        traits = self.trait_multiplier if rows is None else self.trait_multiplier[rows]
        return np.asarray(self.group_rate[groups] * traits)

    def unemployed_rows(self) -> np.ndarray:
        """Indices of the residents out of work, in increasing order (``np.flatnonzero`` of
        ``~employed``, kept up to date by the labour step)."""
        kept = self._unemployed
        if kept is None or kept[0] is not self.employed:
            return self._confirmed_unemployed()
        if len(kept[1]) != self.n - _count(self.employed):
            return self._confirmed_unemployed()
        return kept[1]

    def _confirmed_unemployed(self) -> np.ndarray:
        """``unemployed_rows`` checked resident by resident: the labour step starts from it, as
        the state may have been set from outside since the last month. If it was, jobs may have
        been found otherwise than in the labour step: the recent spells no longer know who
        found one when (``_RecentSpells.hires``)."""
        rows = None if self._unemployed is None else self._unemployed[1]
        if rows is None or self.employed[rows].any() or len(rows) != self.n - _count(self.employed):
            rows = np.flatnonzero(~self.employed)
            spells = self._spells
            if spells is not None:
                self._spells = _RecentSpells(spells.duration, spells.rows, list(spells.rows))
        self._unemployed = (self.employed, rows)
        return rows

    def labour_step(self, month: int, draws: MonthlyDraws, record: bool = True) -> np.ndarray:
        """Job finding, churn and job loss; returns who found a job this month. ``record``:
        date the outcomes (off in the warm-up before month 0)."""
        # Only the unemployed (about one in ten) can find a job: work on their indices.
        seekers = self._confirmed_unemployed()
        draw = draws.labour[seekers]
        finds = self._job_finds(seekers, draw)
        churns = self._churns(seekers, draw)
        spells = self._recent_spells()
        lost = self._job_losses(draws.labour, spells)
        found = _select(seekers, finds)
        # Whose spell or job starts anew (distinct residents: the lost were employed).
        changed = np.concatenate((_select(seekers, finds | churns), lost))
        # New arrays, as before: a reference taken earlier keeps last month's state.
        employed = self.employed.copy()
        employed[lost] = False
        employed[found] = True
        duration = self.duration + 1
        duration[changed] = 0
        self.employed, self.duration = employed, duration
        self._seekers = seekers
        self._unemployed = (employed, _merge_sorted(_select(seekers, ~finds), lost))
        self._spells = spells.advanced(changed, found, duration) if spells is not None else None
        self._just_lost = lost
        self.insured[found] = False
        self.rsa_left[found] = False
        found_mask = np.zeros(self.n, dtype=bool)
        found_mask[found] = True
        if record:
            self._record_jobs(month, found)
        return found_mask

    def _job_finds(self, seekers: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """Which of ``seekers`` (the unemployed, their labour draws ``draw``) find a job: a draw
        below the hazard (in draw units). Without programme effects, the hazards are computed
        only for the few whose draw is below the largest hazard possible (``_hazard_bound``):
        the others find no job whatever their group."""
        scale = MonthlyDraws.SCALE
        if self.treated.any():
            return self._job_finds_with_programmes(seekers, draw)
        # The range of every resident's trait bounds the seekers' (no gather of their traits).
        bound = self._job_finding_bound()
        if bound is None:
            groups = self.hazard_group(seekers, out_of_work=True)
            traits = self.trait_multiplier[seekers]
            return np.asarray(draw < self.group_rate[groups] * traits * scale)
        maybe = np.flatnonzero(draw < bound)
        rows = seekers[maybe]
        groups = self.hazard_group(rows, out_of_work=True)
        hazard = self.group_rate[groups] * self.trait_multiplier[rows]
        finds = np.zeros(len(seekers), dtype=bool)
        finds[maybe[draw[maybe] < hazard * scale]] = True
        return finds

    def _job_finds_with_programmes(self, seekers: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """``_job_finds`` when programmes boost some residents: the hazard is the baseline one
        plus the resident's ``job_boost`` minus the displacement penalty of her territory (none
        for the treated). A few thousand residents are treated or boosted; the other seekers
        only lose the penalty, so their hazard is below the largest baseline hazard, raised by the
        largest negative penalty if there is one (``_hazard_bound``; a positive penalty is not
        taken off: the bound is then looser, never wrong): the hazards are computed only for the
        boosted and treated, and for the few others whose draw is below that bound."""
        treated_here = self.treated[seekers]
        boost = self.job_boost[seekers]
        penalty = self._displacement_by_territory(seekers, treated_here)
        bound = self._job_finding_bound(minus=penalty.min(initial=0.0))
        if bound is None:
            maybe = np.arange(len(seekers))
        else:
            maybe = np.flatnonzero((draw < bound) | treated_here | (boost != 0))
        rows = seekers[maybe]
        traits = self.trait_multiplier[rows]
        hazard = self.group_rate[self.hazard_group(rows, out_of_work=True)] * traits
        untreated_penalty = self._spread(penalty, rows)
        untreated_penalty[treated_here[maybe]] = 0.0
        hazard = hazard + boost[maybe] - untreated_penalty
        finds = np.zeros(len(seekers), dtype=bool)
        finds[maybe[draw[maybe] < hazard * MonthlyDraws.SCALE]] = True
        return finds

    def _job_finding_bound(self, minus: np.floating | float = 0.0) -> np.uint16 | None:
        """``_hazard_bound`` of the group rates and the range of the traits (``_trait_range``)
        less ``minus``, kept with the values it was derived from: they change at a calibration,
        when French progress widens the range, or with a negative displacement penalty, seldom
        from one month to the next (a NaN never matches: its bound is derived every time)."""
        rates, traits = self.group_rate, self._trait_range()
        key = (rates.dtype.str, rates.tolist(), traits.tolist(), float(minus))
        kept = self._job_bound
        if kept is None or kept[0] != key:
            kept = self._job_bound = (key, _hazard_bound(rates, traits, minus))
        return kept[1]

    def _trait_range(self) -> np.ndarray:
        """The smallest and the largest of every resident's ``trait_multiplier`` (float32; NaN if
        one is; empty without residents), or a wider range: derived once per array, then
        widened by French progression (``_widen_trait_range``), the only change made in place."""
        traits = self.trait_multiplier
        kept = self._traits
        if kept is None or kept[0] is not traits:
            extremes = [traits.min(), traits.max()] if len(traits) else []
            kept = self._traits = (traits, np.array(extremes, dtype=np.float32))
        return kept[1]

    def _widen_trait_range(self, new: np.ndarray) -> None:
        """Let the kept range of the traits (``_trait_range``) hold ``new`` traits, just written
        into ``trait_multiplier``."""
        kept = self._traits
        if kept is None or kept[0] is not self.trait_multiplier or len(new) == 0:
            return
        low, high = kept[1]
        least, most = new.min(), new.max()
        if least >= low and most <= high:
            return  # within the range (and no NaN): it holds them as it is
        # np.minimum and np.maximum keep a NaN (Python's min and max may drop it).
        widened = [np.minimum(low, least), np.maximum(high, most)]
        self._traits = (kept[0], np.array(widened, dtype=np.float32))

    def _churns(self, seekers: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """Which of ``seekers`` (their labour draws ``draw``) churn: a spell not paid by
        insurance ends without a job and a new one starts. The top of the same draw as job
        finding (competing risks: it never overlaps job finding): at or above 65536 minus the
        churn hazard (in draw units), looked for among the few draws at or above 65536 minus
        the largest (``_integer_bound`` of the territories' churn hazards)."""
        scale = MonthlyDraws.SCALE
        top = self._territory_hazard_bound("_churn_scaled")
        if top is None:
            maybe = np.arange(len(seekers))
        elif top == 0:
            maybe = np.empty(0, dtype=np.int64)
        else:
            maybe = np.flatnonzero(draw >= np.uint16(int(scale) - int(top)))
        rows = seekers[maybe]
        churn_scaled = self._spread(self._churn_scaled, rows)
        churn = ~self.insured[rows] & (draw[maybe] >= scale - churn_scaled)
        churns = np.zeros(len(seekers), dtype=bool)
        churns[maybe[churn]] = True
        return churns

    def _job_losses(self, labour: np.ndarray, spells: _RecentSpells | None) -> np.ndarray:
        """Indices, in increasing order, of the employed who lose their job this month: below
        the new-job separation in their first 3 months, below their territory's established-job
        separation after. The established jobs are looked for among the few residents whose
        draw is below the largest separation (``_integer_bound``) rather than among all."""
        p = self.params
        new_separation = np.float32(p.separation_new_per_month * MonthlyDraws.SCALE)
        if spells is None:
            new_jobs = np.flatnonzero(self.employed & (self.duration < 3))
            lost_new = new_jobs[labour[new_jobs] < new_separation]
        else:
            lost_new = spells.new_jobs_drawing_below(self.employed, labour, new_separation)
        bound = self._territory_hazard_bound("_separation_scaled")
        if bound is None:
            candidates = np.flatnonzero(self.employed)
        else:
            candidates = np.flatnonzero(labour < bound)
        established = self.employed[candidates] & (self.duration[candidates] >= 3)
        candidates = _select(candidates, established)
        separation = self._spread(self._separation_scaled, candidates)
        lost_established = _select(candidates, labour[candidates] < separation)
        lost = np.concatenate((lost_new, lost_established))
        lost.sort()  # in place: np.sort would sort a copy
        return lost

    def _draw_thresholds(self, name: str) -> np.ndarray:
        """What to compare 16-bit draws with instead of the per-resident float thresholds of
        attribute ``name`` (such as ``contact_rate_scaled``): the equivalent integer thresholds
        (``_integer_thresholds``), derived once per array, or the floats if there are none."""
        scaled = np.asarray(getattr(self, name))
        if self._thresholds is None:
            self._thresholds = {}
        kept = self._thresholds.get(name)
        if kept is None or kept[0] is not scaled:
            integers = _integer_thresholds(scaled)
            kept = (scaled, scaled if integers is None else integers)
            self._thresholds[name] = kept
        return kept[1]

    def _territory_hazard_bound(self, name: str) -> np.uint16 | None:
        """``_integer_bound`` of the territory hazards in draw units of attribute ``name`` (such
        as ``_churn_scaled``), derived once per array: the calibration makes new ones."""
        scaled = np.asarray(getattr(self, name))
        if self._hazard_bounds is None:
            self._hazard_bounds = {}
        kept = self._hazard_bounds.get(name)
        if kept is None or kept[0] is not scaled:
            kept = (scaled, _integer_bound(scaled))
            self._hazard_bounds[name] = kept
        return kept[1]

    def met_by_services(self, draws: MonthlyDraws) -> np.ndarray:
        """Indices of the residents who see a public service this month: exactly
        ``np.flatnonzero(draws.contact < contact_rate_scaled)``, compared as integers."""
        return np.flatnonzero(draws.contact < self._draw_thresholds("contact_rate_scaled"))

    def _recent_spells(self) -> _RecentSpells | None:
        """The residents whose duration may be below 6 months (``_RecentSpells``), derived from
        ``duration`` unless kept from the last labour step; None if some duration is negative
        (never, in the dynamics)."""
        spells = self._spells
        if spells is None or spells.duration is not self.duration:
            spells = _RecentSpells.of(self.duration)
        return spells

    def _record_jobs(self, month: int, found: np.ndarray) -> None:
        """Date the jobs found and the jobs held 6 months (5 months after the hire), count the
        months employed."""
        first = _select(found, self.job_found_month[found] == NOT_YET)
        self.job_found_month[first] = month
        if month - 5 >= 1:
            if self._spells is None:
                sustained = np.flatnonzero(self.employed & (self.duration == 5))
            else:
                sustained = self._spells.jobs_at(5, self.employed)
            first = _select(sustained, self.sustained_job_month[sustained] == NOT_YET)
            self.sustained_job_month[first] = month
            self.last_sustained_job_month[sustained] = month
            self.sustained_job_count[sustained] += 1
            total = self._sustained_total
            if total is not None and total[0] is self.sustained_job_count:
                self._sustained_total = (total[0], total[1] + len(sustained))
        self.months_employed += self.employed

    def _displacement_penalty(self, seekers: np.ndarray) -> np.ndarray:
        """Hazard taken from untreated unemployed neighbours, for each of ``seekers`` (the
        unemployed): a share of the treated's extra jobs (Crépon et al. 2013), spread evenly over
        the territory's untreated unemployed (``_displacement_by_territory``); none for the
        treated."""
        treated_here = self.treated[seekers]
        by_territory = self._displacement_by_territory(seekers, treated_here)
        penalty: np.ndarray = by_territory[self.territory[seekers]]
        penalty[treated_here] = 0.0
        return penalty

    def _displacement_by_territory(
        self, seekers: np.ndarray, treated_here: np.ndarray
    ) -> np.ndarray:
        """The hazard each untreated seeker of a territory loses to displacement (float32, per
        territory; 0 where no seeker is untreated): a share of the extra hazard of the
        territory's treated seekers (``treated_here``, a mask of ``seekers``, the unemployed in
        increasing order) spread evenly over its untreated ones."""
        share = self.params.displacement_share
        if share == 0.0:
            return np.zeros(self.n_territories, dtype=np.float32)
        treated = _select(seekers, treated_here)
        where = self.territory[treated]
        extra = np.bincount(where, weights=self.job_boost[treated], minlength=self.n_territories)
        pool = self._count_by_territory(seekers) - np.bincount(where, minlength=self.n_territories)
        per_territory = np.where(pool > 0, share * extra / np.maximum(pool, 1), 0.0)
        return per_territory.astype(np.float32)

    def _count_by_territory(self, rows: np.ndarray) -> np.ndarray:
        """How many of ``rows`` (increasing indices) each territory holds: the residents of a
        territory are contiguous, so two binary searches per territory count them. The sums of
        ``np.add.reduceat`` over a mask of ``rows``, which an empty territory makes differ
        (they then take the sums themselves)."""
        if self.territory_sizes.min() == 0:
            mask = np.zeros(self.n, dtype=bool)
            mask[rows] = True
            return np.asarray(np.add.reduceat(mask, self.territory_starts))
        return territory_runs(rows, self.territory_bounds())

    def rsa_step(
        self, month: int, draws: MonthlyDraws, found_job: np.ndarray, record: bool = True
    ) -> None:
        """Unemployment insurance and minimum income: insurance of the spells that start, its
        end; RSA exits (to a job or otherwise), entries and returns, take-up. One RSA draw per
        resident serves all of them (they concern disjoint residents, or are competing risks).
        Works on the indices of the few residents concerned rather than on every resident.
        ``record``: date the outcomes (off in the warm-up before month 0)."""
        p, scale = self.params, MonthlyDraws.SCALE
        unemployed = self.unemployed_rows()
        # Insurance: drawn when a spell starts, paid for at most unemployment_insurance_months.
        lost = self._just_lost
        self.insured[lost] = draws.rsa[lost] < self.insured_entry_share * scale
        self._just_lost = np.empty(0, dtype=np.int64)
        # Only the unemployed are insured (those who find a job lose it): look among them first.
        paid = _rows_where(self.insured, unemployed)
        self.insured[paid[self.duration[paid] >= p.unemployment_insurance_months]] = False
        # Exits: with a job, or otherwise (then the resident may return to RSA later). The
        # eligible were out of work at the start of the month.
        eligible = _rows_where(self.rsa_eligible, self._seekers)
        u = draws.rsa[eligible]
        other_exit = ~self.employed[eligible] & (u < p.rsa_other_exit_per_month * scale)
        leaves = found_job[eligible] | other_exit
        leaving = eligible[leaves]
        self.rsa_eligible[leaving] = False
        self.rsa_claimed[leaving] = False
        self.rights_aware[leaving] = False
        # Entries: the uninsured unemployed without RSA (neither leaving it nor just out of a
        # job this month), at the return hazard if they left it before.
        excluded = self.rsa_eligible | self.insured
        excluded[leaving] = True
        excluded[lost] = True
        candidates = _select(unemployed, ~excluded[unemployed])
        hazard_scaled = np.where(
            self.rsa_left[candidates],
            np.float32(p.rsa_reentry_per_month * scale),
            self._spread(self._rsa_entry_scaled, candidates),
        )
        entering = candidates[draws.rsa[candidates] < hazard_scaled]
        self.rsa_left[eligible[other_exit]] = True
        self.rsa_eligible[entering] = True
        self.rsa_left[entering] = False
        # Take-up by those who were already eligible (an entrant's draw decided the entry).
        waiting = _select(eligible, ~leaves)
        waiting = _select(waiting, ~self.rsa_claimed[waiting])
        if record:
            in_gap = np.concatenate((waiting, entering))
            self.rights_gap_month[in_gap[self.rights_gap_month[in_gap] == NOT_YET]] = month
        hazard = np.where(
            self.rights_aware[waiting],
            np.float32(p.takeup_hazard_aware_per_month),
            np.float32(p.takeup_hazard_unaware_per_month),
        )
        hazard = np.minimum(
            hazard * self._spread(self.takeup_scale, waiting) + self.takeup_boost[waiting],
            np.float32(1.0 - p.rsa_other_exit_per_month),
        )
        claiming = waiting[draws.rsa[waiting] >= (1.0 - hazard) * scale]
        self.rsa_claimed[claiming] = True
        if record:
            first = claiming[self.claim_month[claiming] == NOT_YET]
            self.claim_month[first] = month

    def french_step(self, month: int, draws: MonthlyDraws) -> None:
        """French progression: slow without a course, faster with one (``french_boost``).
        Only residents below A2 can progress: the step works on their indices."""
        p = self.params
        learning = self.learning_rows()
        rate = (
            np.array(
                [p.french_progress_none_per_month, p.french_progress_a1_per_month], dtype=np.float32
            )[self.french[learning]]
            + self.french_boost[learning]
        )
        moved = learning[draws.french[learning] < rate * MonthlyDraws.SCALE]
        self.french[moved] += 1
        traits = self.barrier_multiplier[moved] * self.french_factor(moved)
        self.trait_multiplier[moved] = traits
        self._widen_trait_range(traits)
        reached_a1 = moved[(self.french[moved] == FRENCH_A1) & (self.a1_month[moved] == NOT_YET)]
        self.a1_month[reached_a1] = month

    def learning_rows(self) -> np.ndarray:
        """Indices of the residents below A2, in increasing order (``np.flatnonzero`` of
        ``french < FRENCH_A2``): those of last month still below it, unless French levels
        changed otherwise than by progression."""
        below = self.french < FRENCH_A2
        rows = self._learning
        if rows is not None:
            rows = rows[below[rows]]
        if rows is None or len(rows) != _count(below):
            rows = np.flatnonzero(below)
        self._learning = rows
        return rows

    def accrue_public_cost(self) -> float:
        """Add this month's public cost of each resident; returns the city's total (euros)."""
        p = self.params
        # Only the unemployed cost anything (RSA rights end with a job): work on their indices.
        rows = self.unemployed_rows()
        eligible, claimed = self.rsa_eligible[rows], self.rsa_claimed[rows]
        insured = self.insured[rows]
        support = p.public_cost_ltu_eur_per_month - p.rsa_eur_per_month
        cost = (
            insured * np.float32(p.are_eur_per_month)
            + claimed * np.float32(p.public_cost_ltu_eur_per_month)
            + (eligible & ~claimed) * np.float32(support)
        )
        self.public_cost_eur[rows] += cost
        return float(cost.sum(dtype=np.float64))

    def monthly_counts(self) -> MonthlyCounts:
        """The counts a month's record needs (``MonthlyCounts``), from the index sets the steps
        keep rather than from scans of every resident."""
        unemployed = self.unemployed_rows()
        long_term = self.duration[unemployed] >= self.params.long_term_months
        return MonthlyCounts(
            unemployed=len(unemployed),
            long_term_unemployed=_count(long_term),
            rsa_eligible=_count(self.rsa_eligible),
            rsa_claimed=_count(self.rsa_claimed),
            sustained_jobs=self._sustained_jobs(),
            unemployed_by_territory=self._count_by_territory(unemployed),
        )

    def _sustained_jobs(self) -> int:
        """Jobs held 6 months so far, all residents together: the sum of
        ``sustained_job_count``, taken once per array and then counted as the labour step adds
        to it."""
        total = self._sustained_total
        if total is None or total[0] is not self.sustained_job_count:
            total = (self.sustained_job_count, int(self.sustained_job_count.sum(dtype=np.int64)))
            self._sustained_total = total
        return total[1]

    # ------------------------------------------------------------------ summaries
    def unemployment_rate(self) -> float:
        """Share of residents out of work."""
        return float(1.0 - self.employed.mean())

    def non_take_up(self) -> float:
        """Share of RSA-eligible residents who do not claim it."""
        eligible = int(self.rsa_eligible.sum())
        return float((self.rsa_eligible & ~self.rsa_claimed).sum() / eligible) if eligible else 0.0


def _uniform16(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform 16-bit integers (see ``MonthlyDraws``): exactly the draws of
    ``rng.integers(0, 1 << 16, n, dtype=np.uint16)``, leaving ``rng`` in the same state.

    For the full 16-bit range, numpy's ``integers`` takes ``ceil(n / 2)`` 32-bit words from the
    bit generator (a 64-bit output gives its low word, then its high word, which the bit
    generator keeps for the next request: ``has_uint32``/``uinteger`` of its state) and splits
    each into its low and high 16 bits, dropping the last high half when ``n`` is odd. With
    PCG64 on a little-endian machine, the 16-bit view of raw 64-bit outputs is that sequence of
    halves, drawn in bulk at twice the speed; other generators take numpy's own path.
    """
    bitgen = rng.bit_generator
    if n <= 0 or type(bitgen) is not np.random.PCG64 or sys.byteorder != "little":
        return np.asarray(rng.integers(0, 1 << 16, n, dtype=np.uint16))
    with bitgen.lock:
        return _uniform16_pcg64(bitgen, n)


def _uniform16_pcg64(bitgen: np.random.PCG64, n: int) -> np.ndarray:
    """``_uniform16`` from raw PCG64 outputs (``n`` > 0), with the kept 32-bit word of the bit
    generator's state used first and updated as ``integers`` would leave it."""
    state = bitgen.state
    kept = int(state["uinteger"]) if state["has_uint32"] else None
    words = (n + 1) // 2
    fresh = words - (kept is not None)  # 32-bit words taken from new 64-bit outputs
    raw = bitgen.random_raw((fresh + 1) // 2)
    halves = raw.view(np.uint16)[: 2 * fresh]
    if kept is None:
        draws = halves
    else:
        draws = np.empty(2 * words, dtype=np.uint16)
        draws[:2] = (kept & 0xFFFF, kept >> 16)
        draws[2:] = halves
    state = bitgen.state  # random_raw moved the generator; the kept word is set below
    if len(raw):
        # An odd number of fresh words leaves the last output's high word for the next request;
        # numpy keeps that word's value even once it has been used.
        state["has_uint32"] = fresh % 2
        state["uinteger"] = int(raw[-1] >> np.uint64(32))
    else:
        state["has_uint32"] = 0  # the kept word was the only one needed
    bitgen.state = state
    return draws[:n]


def _count(mask: np.ndarray) -> int:
    """How many elements of ``mask`` are true."""
    return int(np.count_nonzero(mask))


def _select(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``rows[mask]`` (``mask`` a boolean array as long as ``rows``): ``np.compress`` gives the
    same array several times faster than boolean indexing when the mask is mixed."""
    return np.compress(mask, rows)


def _rows_where(mask: np.ndarray, likely: np.ndarray | None) -> np.ndarray:
    """``np.flatnonzero(mask)``, looked for among ``likely`` (increasing indices) first: if the
    elements true there are as many as in the whole mask, they are all of them."""
    if likely is not None:
        rows = _select(likely, mask[likely])
        if len(rows) == _count(mask):
            return rows
    return np.flatnonzero(mask)


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The union, in increasing order, of two increasing index arrays with nothing in common."""
    # A stable sort is a merge sort, which merges the two sorted runs in one pass (sorted in
    # place: np.sort would sort a copy).
    merged = np.concatenate((a, b))
    merged.sort(kind="stable")
    return merged


def _integer_thresholds(scaled: np.ndarray) -> np.ndarray | None:
    """16-bit thresholds ``t`` such that a 16-bit draw ``d`` is below ``t`` exactly when it is
    below ``scaled``: an integer is below a real number when it is below its ceiling, and below
    a NaN or a non-positive number never. Integer comparisons skip converting every draw to a
    float. None if a threshold passes every draw (65536 does not fit in 16 bits)."""
    ceiling = np.ceil(scaled)
    if np.any(ceiling > (1 << 16) - 1):
        return None
    return np.where(ceiling > 0, ceiling, 0).astype(np.uint16)


def _integer_bound(scaled: np.ndarray) -> np.uint16 | None:
    """The largest of ``_integer_thresholds(scaled)`` (0 if there is none): a 16-bit draw is
    below a threshold only if it is below this bound. None if a threshold passes every draw or
    is a NaN (then no bound is known without looking at each)."""
    if len(scaled) == 0:
        return np.uint16(0)
    largest = float(np.max(scaled))
    if np.isnan(largest):
        return None
    ceiling = np.ceil(largest)
    if ceiling > (1 << 16) - 1:
        return None
    return np.uint16(max(ceiling, 0.0))


def _hazard_bound(
    rates: np.ndarray, traits: np.ndarray, minus: np.floating | float = 0.0
) -> np.uint16 | None:
    """A 16-bit bound that no draw below a job-finding hazard ``rates[group] * trait - cut``
    (in draw units, ``cut`` at least ``minus``; 0 by default) reaches: the ceiling
    (``_integer_bound``) of the largest rate times the largest trait, less ``minus``, in the same
    float32 operations, as rounding keeps the order of products of non-negative numbers and of
    differences. None if there is none (a negative or NaN rate or trait, a NaN ``minus``, an
    infinite or NaN result)."""
    if len(traits) == 0:
        return np.uint16(0)
    if not (rates.min() >= 0 and traits.min() >= 0):
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # an infinite or NaN bound is none
        # Subtracting 0 changes no product: the bound without ``minus`` is the same.
        largest = (rates.max() * traits.max() - np.float32(minus)) * MonthlyDraws.SCALE
    return _integer_bound(np.array([largest]))


def reached_between(
    first: np.ndarray, start: np.ndarray | int, end: int, last: np.ndarray | None = None
) -> np.ndarray:
    """Whether an outcome dated by its ``first`` (and, for repeatable outcomes such as jobs held
    6 months, its ``last``) month fell between ``start`` and ``end``. One used for evaluators
    and for the truth, so that both look at the same window."""
    reached = (first != NOT_YET) & (first >= start) & (first <= end)
    if last is not None:
        reached |= (last != NOT_YET) & (last >= start) & (last <= end)
    return np.asarray(reached)


def _segment_counts(mask: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many items of ``mask`` are true in each segment ``bounds[i]:bounds[i + 1]`` (int64;
    ``bounds`` non-decreasing and ending at ``len(mask)``). Faster than a bincount of the
    segment of each item, and exact."""
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    starts = bounds[:-1]
    # reduceat sums from one index to the next, and gives an item, not 0, for an empty segment.
    filled = starts < bounds[1:]
    if filled.any():
        counts[filled] = np.add.reduceat(mask, starts[filled], dtype=np.int64)
    return counts


def _weighted_pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` items drawn without replacement, probability ~ weights (Gumbel top-k)."""
    k = max(0, min(int(k), len(weights)))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(weights) + rng.gumbel(size=len(weights))
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def new_job_period(p: ModelParams) -> tuple[float, float]:
    """Per hire: expected months spent in the 3-month new-job period, and the share still in
    the job after it (the 3-month retention). The flow balance of the steady state uses both."""
    s_new = p.separation_new_per_month
    return sum((1.0 - s_new) ** k for k in range(3)), (1.0 - s_new) ** 3


def _steady_state_separation(rate: np.ndarray, hazard: np.ndarray, p: ModelParams) -> np.ndarray:
    """Established-job separation that makes ``rate`` the steady-state unemployment rate given a
    job-finding hazard, a 3-month new-job period and the 3-month retention (flow balance), for
    each rate and hazard (float64 arrays of one length; 0 where the rate is not positive)."""
    months_new, retained = new_job_period(p)
    with np.errstate(all="ignore"):  # not positive rates are set apart below
        denominator = (1.0 - rate) / (rate * hazard) - months_new
        separation = np.where(denominator > 0, np.clip(retained / denominator, 1e-4, 0.2), 0.2)
    return np.asarray(np.where(rate <= 0.0, 0.0, separation))
