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

from dataclasses import dataclass

import numpy as np

from sim.world.params import FRENCH_A1, FRENCH_A2, FRENCH_NONE, ModelParams
from sim.world.rng import Stream, monthly_stream, stream
from sim.world.territory import City

NOT_YET = -1  # month of an outcome that has not happened
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

    def diffusion(self, specialty: int, n: int) -> np.ndarray:
        """Word-of-mouth draws of ``n`` residents for one specialty, drawn only in months where
        it has an offer (the month-keyed stream keeps other months' draws unchanged)."""
        return _uniform16(monthly_stream(self.seed, Stream.DIFFUSION, self.month, specialty), n)


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
        self.contact_rate = self.per_resident(self.contact_rate_by_territory)
        self.contact_rate_scaled = self.per_resident(
            self.contact_rate_by_territory * np.float32(MonthlyDraws.SCALE)
        )
        self._streams = {
            name: stream(seed, name)
            for name in (Stream.LABOUR, Stream.RSA, Stream.LANGUAGE, Stream.SERVICES)
        }
        self._frozen_groups: np.ndarray | None = None
        self._just_lost = np.empty(0, dtype=np.int64)
        self._init_state(city, stream(seed, Stream.POPULATION))
        self._init_outcomes()
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
        drawn = rng.beta(2.0, 3.5, n)
        self.barrier = np.clip(drawn, 0.0, 1.0, out=drawn).astype(np.float32)  # one temporary
        self.employed = np.ones(n, dtype=bool)
        self.duration = np.zeros(n, dtype=np.int32)
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
        """Per-resident copies of the territory hazards, in the units of the 16-bit draws."""
        scale = np.float32(MonthlyDraws.SCALE)
        self.group_rate = self.group_hazard * self.group_scale
        self.separation_established_per_resident = self.per_resident(self.separation_established)
        # Scaled per territory, then spread: the same float32 products, without a pass over
        # every resident (the warm-up refreshes them 40 times).
        self.separation_established_scaled = self.per_resident(self.separation_established * scale)
        self.churn_scaled = self.per_resident(self.churn * scale)
        self.rsa_entry_scaled = self.per_resident(self.rsa_entry * scale)
        self.takeup_scale_per_resident = self.per_resident(self.takeup_scale)

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
        rows = np.flatnonzero(~self.employed)
        # Converted once: bincount would convert int32 territories to intp on every call.
        where = self.territory[rows].astype(np.intp)
        # Sorted rows are grouped by territory: each territory's unemployed are one segment.
        segments = np.searchsorted(rows, self._territory_bounds())

        def tsum(weights: np.ndarray) -> np.ndarray:
            """Sum per territory, in the residents' order (the floating-point sums of before)."""
            return np.bincount(where, weights=weights, minlength=n_t)

        def tcount(mask: np.ndarray) -> np.ndarray:
            """How many per territory (exact: the same figures as ``tsum`` of the mask)."""
            return _segment_counts(mask, segments).astype(np.float64)

        groups = self.hazard_group(rows)
        multiplier = self.trait_multiplier[rows]
        scale = self.group_scale.copy()
        for g in (SHORT_TERM, LONG_TERM, ON_RSA):
            members = groups == g
            if members.any():
                scale[g] = 1.0 / float(multiplier[members].mean())
        computed: dict[str, np.ndarray] = {"group_scale": scale}
        hazard = ((self.group_hazard * scale)[groups] * multiplier).astype(np.float64)
        n_u = np.diff(segments).astype(np.float64)
        # Separation of established jobs.
        mean_hazard = tsum(hazard) / np.maximum(n_u, 1)
        separation = np.array(
            [
                _steady_state_separation(rate, f if f > 0 else p.job_hazard_short_per_month, p)
                for rate, f in zip(tg.unemployment_rate, mean_hazard, strict=True)
            ]
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
        numerator = k_short * tsum(at_11 * (1.0 - hazard)) - k_long * tsum(long_term * hazard)
        denominator = k_short * tcount(at_11 & ~insured) + k_long * tcount(long_term & ~insured)
        churn = np.clip(numerator / np.maximum(denominator, 1e-9), 0.0, 0.5)
        if p.unemployment_churn_per_month is not None:
            churn[:] = p.unemployment_churn_per_month
        computed["churn"] = churn
        # RSA entry of the uninsured who never were, or no longer are, recipients.
        eligible, left = self.rsa_eligible[rows], self.rsa_left[rows]
        n_eligible = tcount(eligible)
        leaving = tsum(eligible * (hazard + (1.0 - hazard) * p.rsa_other_exit_per_month))
        target_eligible = tg.rsa_eligible_share * self.territory_sizes
        k_eligible = target_eligible / np.maximum(n_eligible, 1)
        outside = ~eligible & ~insured
        n_outside = tcount(outside)
        # The pool that may enter, scaled to what it would be with the target eligible stock.
        k_outside = np.maximum(n_u - tcount(insured) - target_eligible, 1.0) / np.maximum(
            n_outside, 1
        )
        returning = k_outside * tsum((outside & left) * (1.0 - hazard)) * p.rsa_reentry_per_month
        newcomers = k_outside * tsum((outside & ~left) * (1.0 - hazard))
        entry = np.clip((k_eligible * leaving - returning) / np.maximum(newcomers, 1e-9), 0.0, 0.5)
        if p.rsa_entry_per_month is not None:
            entry[:] = p.rsa_entry_per_month
        computed["rsa_entry"] = entry
        # Take-up.
        claimed = self.rsa_claimed[rows]
        # Public services make some of the unaware aware before they may claim this month.
        contact = self.contact_rate[rows].astype(np.float64)
        unaware_hazard = contact * p.takeup_hazard_aware_per_month + (1.0 - contact) * (
            p.takeup_hazard_unaware_per_month
        )
        base = np.where(self.rights_aware[rows], p.takeup_hazard_aware_per_month, unaware_hazard)
        n_claimed = tcount(claimed)
        k_claimed = (1.0 - p.rsa_non_take_up) * n_eligible / np.maximum(n_claimed, 1)
        k_waiting = p.rsa_non_take_up * n_eligible / np.maximum(n_eligible - n_claimed, 1)
        claim_leaving = tsum(claimed * (hazard + (1.0 - hazard) * p.rsa_other_exit_per_month))
        claiming = k_waiting * tsum((eligible & ~claimed) * base * (1.0 - hazard))
        ceiling = (1.0 - p.rsa_other_exit_per_month) / max(
            p.takeup_hazard_aware_per_month, p.takeup_hazard_unaware_per_month, 1e-9
        )
        takeup = np.clip(k_claimed * claim_leaving / np.maximum(claiming, 1e-9), 0.0, ceiling)
        computed["takeup_scale"] = takeup
        # Insured share of new spells (city-wide): job losses of new and established jobs.
        new_job = _segment_counts(self.employed & (self.duration < 3), self._territory_bounds())
        established = self.territory_sizes - n_u - new_job
        losses = float(
            new_job.sum() * p.separation_new_per_month
            + (established * self.separation_established).sum()
        )
        exhausting = insured & (duration == p.unemployment_insurance_months - 1)
        insured_leaving = float((insured * hazard).sum() + (exhausting * (1.0 - hazard)).sum())
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
            unaware = np.flatnonzero(self.rsa_eligible & ~self.rights_aware)
            met = unaware[_uniform16(rng, len(unaware)) < self.contact_rate_scaled[unaware]]
            self.rights_aware[met] = True
            labour = _uniform16(rng, self.n)
            rsa = np.zeros(self.n, dtype=np.uint16)
            draws = MonthlyDraws(month, self.seed, rsa, labour, rsa, french=rsa)
            found = self.labour_step(month, draws, record=False)
            out_of_work = np.flatnonzero(~self.employed)
            rsa[out_of_work] = _uniform16(rng, len(out_of_work))
            self.rsa_step(month, draws, found)
        if months > 0 and adjusting == months:
            self._calibrate(smoothing=1.0)

    # ------------------------------------------------------------------ per month
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

    def _territory_bounds(self) -> np.ndarray:
        """First row of each territory, then the number of residents: territory ``t`` owns rows
        ``bounds[t]`` to ``bounds[t + 1]``."""
        return np.append(self.territory_starts, self.n)

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

    def freeze_groups(self) -> None:
        """Compute every resident's hazard group once while nothing changes them (services and
        associations act between the start of the month and the labour market step), so that
        the many small lookups of enrolment and matching are single index operations."""
        self._frozen_groups = None
        self._frozen_groups = self.hazard_group()  # computed from the live state, then kept

    def thaw_groups(self) -> None:
        """Groups change from here on (jobs found and lost, RSA entries and exits)."""
        self._frozen_groups = None

    def hazard_group(self, rows: np.ndarray | None = None) -> np.ndarray:
        """SHORT_TERM, LONG_TERM or ON_RSA for the unemployed (minimum income first), EMPLOYED
        for the others (whose duration is a job tenure)."""
        if self._frozen_groups is not None:
            frozen = self._frozen_groups
            return np.asarray(frozen if rows is None else frozen[rows])
        duration = self.duration if rows is None else self.duration[rows]
        rsa = self.rsa_eligible if rows is None else self.rsa_eligible[rows]
        employed = self.employed if rows is None else self.employed[rows]
        long_term = (duration >= self.params.long_term_months).astype(np.int8)
        return np.where(employed, EMPLOYED, np.where(rsa, ON_RSA, long_term)).astype(np.int8)

    def job_hazard(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Baseline monthly job-finding hazard of every resident, or of ``rows`` (meaningful for
        the unemployed)."""
        groups = self.hazard_group(rows)
        traits = self.trait_multiplier if rows is None else self.trait_multiplier[rows]
        return np.asarray(self.group_rate[groups] * traits)

    def labour_step(self, month: int, draws: MonthlyDraws, record: bool = True) -> np.ndarray:
        """Job finding, churn and job loss; returns who found a job this month. ``record``:
        date the outcomes (off in the warm-up before month 0)."""
        p = self.params
        unemployed = ~self.employed
        # Only the unemployed (about one in ten) can find a job: work on their indices.
        seekers = np.flatnonzero(unemployed)
        hazard = self.job_hazard(seekers)
        if self.treated.any():
            penalty = self._displacement_penalty(unemployed)
            hazard = hazard + self.job_boost[seekers] - penalty[seekers]
        found = np.zeros(self.n, dtype=bool)
        draw = draws.labour[seekers]
        found[seekers[draw < hazard * MonthlyDraws.SCALE]] = True
        # Churn: a spell not paid by insurance ends without a job and a new one starts. The top
        # of the same draw (competing risks: it never overlaps job finding).
        churned = seekers[
            ~self.insured[seekers] & (draw >= MonthlyDraws.SCALE - self.churn_scaled[seekers])
        ]
        separation = np.where(
            self.duration < 3,
            np.float32(p.separation_new_per_month * MonthlyDraws.SCALE),
            self.separation_established_scaled,
        )
        lost = self.employed & (draws.labour < separation)
        self._just_lost = np.flatnonzero(lost)
        changed = found | lost
        changed[churned] = True
        self.employed = (self.employed & ~lost) | found
        self.duration = np.where(changed, 0, self.duration + 1)
        self.insured[found] = False
        self.rsa_left[found] = False
        if not record:
            return found
        self.job_found_month[found & (self.job_found_month == NOT_YET)] = month
        sustained = self.employed & (self.duration == 5) & (month - 5 >= 1)
        self.sustained_job_month[sustained & (self.sustained_job_month == NOT_YET)] = month
        self.last_sustained_job_month[sustained] = month
        self.sustained_job_count += sustained
        self.months_employed += self.employed
        return found

    def _displacement_penalty(self, unemployed: np.ndarray) -> np.ndarray:
        """Hazard taken from untreated unemployed neighbours: a share of the treated's extra jobs
        (Crépon et al. 2013), spread evenly over the territory's untreated unemployed."""
        share = self.params.displacement_share
        if share == 0.0:
            return np.zeros(self.n, dtype=np.float32)
        treated = np.flatnonzero(unemployed & self.treated)
        where = self.territory[treated]
        extra = np.bincount(where, weights=self.job_boost[treated], minlength=self.n_territories)
        pool = np.add.reduceat(unemployed, self.territory_starts) - np.bincount(
            where, minlength=self.n_territories
        )
        per_territory = np.where(pool > 0, share * extra / np.maximum(pool, 1), 0.0)
        # Only the unemployed use a job-finding hazard, so the penalty of the employed is moot.
        penalty = self.per_resident(per_territory.astype(np.float32))
        penalty[treated] = 0.0
        return penalty

    def rsa_step(self, month: int, draws: MonthlyDraws, found_job: np.ndarray) -> None:
        """Unemployment insurance and minimum income: insurance of the spells that start, its
        end; RSA exits (to a job or otherwise), entries and returns, take-up. One RSA draw per
        resident serves all of them (they concern disjoint residents, or are competing risks).
        Works on the indices of the few residents concerned rather than on every resident."""
        p, scale = self.params, MonthlyDraws.SCALE
        # Insurance: drawn when a spell starts, paid for at most unemployment_insurance_months.
        lost = self._just_lost
        self.insured[lost] = draws.rsa[lost] < self.insured_entry_share * scale
        self._just_lost = np.empty(0, dtype=np.int64)
        paid = np.flatnonzero(self.insured)
        self.insured[paid[self.duration[paid] >= p.unemployment_insurance_months]] = False
        # Exits: with a job, or otherwise (then the resident may return to RSA later).
        eligible = np.flatnonzero(self.rsa_eligible)
        u = draws.rsa[eligible]
        other_exit = ~self.employed[eligible] & (u < p.rsa_other_exit_per_month * scale)
        leaving = eligible[found_job[eligible] | other_exit]
        self.rsa_eligible[leaving] = False
        self.rsa_claimed[leaving] = False
        self.rights_aware[leaving] = False
        # Entries: the uninsured unemployed without RSA (neither leaving it nor just out of a
        # job this month), at the return hazard if they left it before.
        outside = ~self.employed & ~self.rsa_eligible & ~self.insured
        outside[leaving] = False
        outside[lost] = False
        candidates = np.flatnonzero(outside)
        hazard_scaled = np.where(
            self.rsa_left[candidates],
            np.float32(p.rsa_reentry_per_month * scale),
            self.rsa_entry_scaled[candidates],
        )
        entering = candidates[draws.rsa[candidates] < hazard_scaled]
        self.rsa_left[eligible[other_exit]] = True
        self.rsa_eligible[entering] = True
        self.rsa_left[entering] = False
        # Take-up by those who were already eligible (an entrant's draw decided the entry).
        waiting = eligible[~np.isin(eligible, leaving, assume_unique=True)]
        waiting = waiting[~self.rsa_claimed[waiting]]
        in_gap = np.concatenate((waiting, entering))
        self.rights_gap_month[in_gap[self.rights_gap_month[in_gap] == NOT_YET]] = month
        hazard = np.where(
            self.rights_aware[waiting],
            np.float32(p.takeup_hazard_aware_per_month),
            np.float32(p.takeup_hazard_unaware_per_month),
        )
        hazard = np.minimum(
            hazard * self.takeup_scale_per_resident[waiting] + self.takeup_boost[waiting],
            np.float32(1.0 - p.rsa_other_exit_per_month),
        )
        claiming = waiting[draws.rsa[waiting] >= (1.0 - hazard) * scale]
        self.rsa_claimed[claiming] = True
        first = claiming[self.claim_month[claiming] == NOT_YET]
        self.claim_month[first] = month

    def french_step(self, month: int, draws: MonthlyDraws) -> None:
        """French progression: slow without a course, faster with one (``french_boost``).
        Only residents below A2 can progress: the step works on their indices."""
        p = self.params
        learning = np.flatnonzero(self.french < FRENCH_A2)
        rate = (
            np.array(
                [p.french_progress_none_per_month, p.french_progress_a1_per_month], dtype=np.float32
            )[self.french[learning]]
            + self.french_boost[learning]
        )
        moved = learning[draws.french[learning] < rate * MonthlyDraws.SCALE]
        self.french[moved] += 1
        self.trait_multiplier[moved] = self.barrier_multiplier[moved] * self.french_factor(moved)
        reached_a1 = moved[(self.french[moved] == FRENCH_A1) & (self.a1_month[moved] == NOT_YET)]
        self.a1_month[reached_a1] = month

    def accrue_public_cost(self) -> float:
        """Add this month's public cost of each resident; returns the city's total (euros)."""
        p = self.params
        # Only the unemployed cost anything (RSA rights end with a job): work on their indices.
        rows = np.flatnonzero(~self.employed)
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

    # ------------------------------------------------------------------ summaries
    def unemployment_rate(self) -> float:
        """Share of residents out of work."""
        return float(1.0 - self.employed.mean())

    def non_take_up(self) -> float:
        """Share of RSA-eligible residents who do not claim it."""
        eligible = int(self.rsa_eligible.sum())
        return float((self.rsa_eligible & ~self.rsa_claimed).sum() / eligible) if eligible else 0.0


def _uniform16(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform 16-bit integers (see ``MonthlyDraws``)."""
    return np.asarray(rng.integers(0, 1 << 16, n, dtype=np.uint16))


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


def _steady_state_separation(rate: float, hazard: float, p: ModelParams) -> float:
    """Established-job separation that makes ``rate`` the steady-state unemployment rate given a
    job-finding hazard, a 3-month new-job period and the 3-month retention (flow balance)."""
    months_new, retained = new_job_period(p)
    if rate <= 0.0:
        return 0.0
    denominator = (1.0 - rate) / (rate * hazard) - months_new
    return float(np.clip(retained / denominator, 1e-4, 0.2)) if denominator > 0 else 0.2
