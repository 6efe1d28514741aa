"""Parameters of the resident dynamics, with their sources.

Every default below is tagged in ``sim.world.sources`` (``sources_table()``: value, tag, source,
range): [S] sourced, [C] calculated from sourced figures, [E] illustrative (a plausible value
chosen so that the model behaves sensibly, to be replaced when a source is found); the
references are in ``docs/sources.md``. A scenario can override any of them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sim.errors import UserInputError

#: French levels.
FRENCH_NONE = 0
FRENCH_A1 = 1
FRENCH_A2 = 2


@dataclass(frozen=True)
class ModelParams:
    """Resident dynamics and public-cost parameters. Units are in the names; rates are per month."""

    # Labour market (DARES Analyses 2013 n°4; DREES ER 1073; DARES Indicateurs 2014-077).
    job_hazard_short_per_month: float = 0.058
    job_hazard_long_per_month: float = 0.030
    job_hazard_rsa_per_month: float = 0.010
    long_term_months: int = 12
    retention_3_months: float = 0.83
    #: Separation hazard of jobs held 3 months or more. None: calibrated per territory so that the
    #: territory's diagnosed unemployment rate is the steady state of its hazards.
    separation_established_per_month: float | None = None
    #: Log-hazard spread across the barrier score (illustrative): hazard x exp(-slope (b - 0.5)).
    barrier_hazard_slope: float = 1.5
    #: Job hazard multipliers by French level (illustrative).
    french_none_hazard_factor: float = 0.6
    french_a1_hazard_factor: float = 0.8

    #: Monthly hazard that an unemployment spell not paid by unemployment insurance ends without a
    #: job and a new one starts (training, sickness, deregistration then re-registration): the
    #: duration restarts at 0. None: calibrated per territory so that its diagnosed long-term
    #: share is the steady state.
    unemployment_churn_per_month: float | None = None

    # Minimum income and unemployment insurance (DREES ER 1073; DREES Dossier 92, 2022;
    # DARES Résultats 2016 n°070 and 2021 n°17).
    unemployment_insurance_months: int = 24
    #: Share of registered jobseekers paid unemployment insurance in a month (39 % in 2014, about
    #: 41 % in 2018, DARES); the share of new spells that are insured is calibrated to it. The
    #: registered jobseekers are the unemployed without RSA and the registered share of RSA
    #: recipients.
    are_paid_jobseeker_share: float = 0.40
    #: Share of RSA recipients registered as jobseekers (42 % in June 2022, DREES).
    rsa_registered_share: float = 0.42
    rsa_other_exit_per_month: float = 0.014
    #: Return to RSA of those who left it for another reason than a job and are still out of
    #: work: half of leavers return within 5 years (DREES ER 1073), 1 - 0.5^(1/60).
    rsa_reentry_per_month: float = 0.0115
    #: RSA entry of the unemployed who are neither insured nor former recipients. None:
    #: calibrated per territory so that its diagnosed RSA share is the steady state.
    rsa_entry_per_month: float | None = None
    rsa_non_take_up: float = 0.34
    #: Take-up hazards of eligible non-claimers, aware of their right or not (illustrative); both
    #: are scaled per territory so that the steady-state non-take-up is ``rsa_non_take_up``.
    takeup_hazard_aware_per_month: float = 0.15
    takeup_hazard_unaware_per_month: float = 0.03

    #: Months of baseline dynamics simulated before month 0 (from the ``warmup`` stream) so that
    #: month 0 is the steady state of the hazards: two thirds with the calibration updated
    #: every month, one third with it fixed. 0: hazards calibrated to the drawn month-0 stock.
    warmup_months: int = 180

    # French. OFII 2023: 68 % of course takers pass A1 -- a pass rate, not an effect: the course's
    # effect is the pass rate minus the share of comparable people who would reach A1 over the
    # same months without it (illustrative: no counterfactual was found). Illustrative
    # progression without a course.
    french_progress_none_per_month: float = 0.004
    french_progress_a1_per_month: float = 0.003
    course_a1_share: float = 0.68
    course_counterfactual_a1_share: float = 0.40

    # Social network and awareness (illustrative).
    network_degree: int = 6
    network_rewire_probability: float = 0.1
    cross_territory_ties_per_resident: float = 0.5
    word_of_mouth_per_aware_contact: float = 0.04
    service_contact_per_month: float = 0.03
    service_contact_qpv_per_month: float = 0.05
    association_outreach_per_month: float = 0.02

    # Programme delivery (illustrative; displacement from Crépon et al. 2013).
    dropout_per_month: float = 0.03
    #: Effect on the job-finding hazard while enrolled, as a multiple of the action's effect:
    #: zero or negative, never positive (lock-in: participants of training search less while in
    #: it, Card, Kluve & Weber 2010; employment support is closer to job-search assistance,
    #: where no lock-in was found: zero by default, illustrative). In [-1, 0].
    lock_in_factor: float = 0.0
    effect_persistence_months: int = 12
    displacement_share: float = 0.3
    misfit_effect_factor: float = 0.5

    # Public costs (DREES 2025 RSA scale; Unédic ARE; cost_ltu [E] 7.6k-26k).
    rsa_eur_per_month: float = 646.52
    are_eur_per_month: float = 982.0
    cost_ltu_eur_per_year: float = 10_000.0
    discount_rate_per_year: float = 0.03

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise UserInputError(f"parameter '{f.name}': expected a number, got {value!r}")
            if f.name in SIGNED:
                if not math.isfinite(value) or not -1.0 <= value <= 0.0:
                    raise UserInputError(
                        f"parameter '{f.name}': expected a number in [-1, 0], got {value!r}"
                    )
                continue
            if not math.isfinite(value) or value < 0:
                raise UserInputError(
                    f"parameter '{f.name}': expected a finite number >= 0, got {value!r}"
                )
            if _is_probability(f.name) and value > 1:
                raise UserInputError(
                    f"parameter '{f.name}': expected a value in [0, 1], got {value!r}"
                )

    def with_overrides(self, **overrides: Any) -> ModelParams:
        """A copy with some parameters replaced; an unknown name is a clear error."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in overrides:
            if key not in names:
                raise UserInputError(f"unknown model parameter '{key}'")
        return dataclasses.replace(self, **overrides)

    @property
    def course_effect_share(self) -> float:
        """A course's causal effect: its pass rate minus the share who would reach A1 anyway."""
        return max(0.0, self.course_a1_share - self.course_counterfactual_a1_share)

    @property
    def separation_new_per_month(self) -> float:
        """Monthly separation hazard in a job's first 3 months, from the 3-month retention."""
        return float(1.0 - self.retention_3_months ** (1.0 / 3.0))

    @property
    def public_cost_ltu_eur_per_month(self) -> float:
        """Monthly public cost of a long-term unemployed RSA claimer (RSA, housing aid, support)."""
        return self.cost_ltu_eur_per_year / 12.0


#: Parameters that are zero or negative by nature (checked in [-1, 0]).
SIGNED = frozenset({"lock_in_factor"})


def _is_probability(name: str) -> bool:
    if "_eur" in name or name.endswith("_per_resident"):
        return False
    return name.endswith(("_per_month", "_share", "_probability", "_factor", "_3_months"))
