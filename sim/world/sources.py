"""Where every default number comes from, as a table a report can list.

Each row is one default: the parameter (a ``ModelParams`` field or a named constant of the code),
its value, its tag -- **S** taken from a source, **C** calculated from sourced figures, **E**
illustrative (no source yet) -- the source's id in ``docs/sources.md``, a plausible range, and a
note. ``sources_table()`` gives the rows as plain dictionaries; ``illustrative_defaults()`` the
names of the illustrative ones ("which figures are illustrative"). The tests check that every
``ModelParams`` field has a row and that each row's value is the code's value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SOURCED = "S"
CALCULATED = "C"
ILLUSTRATIVE = "E"
TAGS = {SOURCED: "sourced", CALCULATED: "calculated", ILLUSTRATIVE: "illustrative"}


@dataclass(frozen=True)
class SourcedValue:
    """One default and its provenance.

    Attributes:
        parameter: ``ModelParams`` field name, or ``module.CONSTANT`` for a constant.
        value: the default (a number; a text for a table of numbers).
        tag: ``S``, ``C`` or ``E``.
        source: reference ids of ``docs/sources.md`` (``[84]``), empty when illustrative.
        low, high: a plausible range (the sources' or, for illustrative values, a guess).
        note: what the number is, and for a calculation, how it is made.
    """

    parameter: str
    value: float | str | None
    tag: str
    source: str
    low: float | None
    high: float | None
    note: str


def _row(
    parameter: str,
    value: float | str | None,
    tag: str,
    source: str = "",
    low: float | None = None,
    high: float | None = None,
    note: str = "",
) -> SourcedValue:
    return SourcedValue(parameter, value, tag, source, low, high, note)


S, C, E = SOURCED, CALCULATED, ILLUSTRATIVE

SOURCES: tuple[SourcedValue, ...] = (
    # ------------------------------------------------------------------ labour market
    _row(
        "job_hazard_short_per_month",
        0.058,
        S,
        "[54][55]",
        0.04,
        0.085,
        "monthly exit from unemployment, unemployed under 12 months (DARES 2013)",
    ),
    _row(
        "job_hazard_long_per_month",
        0.030,
        S,
        "[54]",
        0.015,
        0.04,
        "same, unemployed 12 months or more",
    ),
    _row(
        "job_hazard_rsa_per_month",
        0.010,
        C,
        "[58]",
        0.007,
        0.015,
        "RSA to job: 11 of 100 recipients a year in a job (DREES ER 1073)",
    ),
    _row("long_term_months", 12, S, "[54]", None, None, "definition of long-term unemployment"),
    _row("retention_3_months", 0.83, S, "[53]", 0.75, 0.9, "still employed 3 months later"),
    _row(
        "separation_established_per_month",
        None,
        C,
        "",
        None,
        None,
        "calibrated per territory: its diagnosed unemployment rate is the steady state",
    ),
    _row(
        "unemployment_churn_per_month",
        None,
        C,
        "",
        None,
        None,
        "calibrated per territory (0.03 to 0.07 on the shipped cities): unpaid spells end "
        "without a job and restart (training, sickness, deregistration), so that the diagnosed "
        "long-term share is the steady state; a labelled flow, no published rate found",
    ),
    _row(
        "barrier_hazard_slope",
        1.5,
        E,
        "",
        0.5,
        2.5,
        "spread of job-finding hazards across the barrier score",
    ),
    _row(
        "french_none_hazard_factor",
        0.6,
        E,
        "[86][87]",
        0.4,
        0.9,
        "job hazard without French, relative; direction sourced, size illustrative",
    ),
    _row("french_a1_hazard_factor", 0.8, E, "[86][87]", 0.6, 1.0, "same at A1"),
    # ------------------------------------------------------------------ minimum income
    _row(
        "unemployment_insurance_months",
        24,
        S,
        "[63]",
        6,
        36,
        "longest insurance for under-50s (2012 rules; 40 % of rights open at the maximum)",
    ),
    _row(
        "are_paid_jobseeker_share",
        0.40,
        S,
        "[99][100]",
        0.39,
        0.44,
        "registered jobseekers paid unemployment insurance in a month: 39 % (2014), 57 % x 72 % "
        "= 41 % (2018); the insured share of new spells is calibrated to it",
    ),
    _row(
        "rsa_registered_share",
        0.42,
        S,
        "[60]",
        0.40,
        0.50,
        "RSA recipients registered at France Travail (June 2022)",
    ),
    _row(
        "rsa_other_exit_per_month",
        0.014,
        C,
        "[58]",
        0.007,
        0.014,
        "14 of 100 recipients a year leave RSA without a job: 1 - 0.86^(1/12)",
    ),
    _row(
        "rsa_reentry_per_month",
        0.0115,
        C,
        "[58][59]",
        0.008,
        0.02,
        "return of non-job leavers still out of work: half return within 5 years, 1 - 0.5^(1/60)",
    ),
    _row(
        "rsa_entry_per_month",
        None,
        C,
        "",
        None,
        None,
        "calibrated per territory: RSA entry of the uninsured unemployed, so that the diagnosed "
        "RSA share is the steady state",
    ),
    _row("rsa_non_take_up", 0.34, S, "[68][69]", 0.20, 0.50, "RSA non-take-up (DREES 2022)"),
    _row(
        "takeup_hazard_aware_per_month",
        0.15,
        E,
        "[68]",
        0.05,
        0.30,
        "relative take-up hazard when aware; both are scaled per territory so that the "
        "steady-state non-take-up is rsa_non_take_up",
    ),
    _row("takeup_hazard_unaware_per_month", 0.03, E, "[68]", 0.01, 0.06, "same, unaware"),
    _row(
        "warmup_months",
        180,
        E,
        "",
        120,
        360,
        "numerical: baseline months simulated before month 0 so that it is the steady state",
    ),
    # ------------------------------------------------------------------ French
    _row(
        "french_progress_none_per_month",
        0.004,
        E,
        "",
        0.002,
        0.04,
        "progression to A1 without a course; no counterfactual found",
    ),
    _row("french_progress_a1_per_month", 0.003, E, "", 0.001, 0.02, "A1 to A2 without a course"),
    _row(
        "course_a1_share",
        0.68,
        S,
        "[65]",
        0.60,
        0.75,
        "PASS RATE: share of OFII course takers reaching A1 (2023); not a causal effect",
    ),
    _row(
        "course_counterfactual_a1_share",
        0.40,
        E,
        "",
        0.30,
        0.50,
        "share of comparable course takers reaching A1 over the course's months without it",
    ),
    _row(
        "needs.FRENCH_NEED.reference_effect",
        0.28,
        C,
        "[65]",
        0.18,
        0.38,
        "course's causal effect: pass rate 0.68 minus counterfactual 0.40 (points of A1)",
    ),
    # ------------------------------------------------------------------ awareness
    _row("network_degree", 6, E, "", 4, 12, "social ties per resident"),
    _row("network_rewire_probability", 0.1, E, "", 0.0, 0.3, "small-world rewiring"),
    _row("cross_territory_ties_per_resident", 0.5, E, "", 0.0, 2.0, "ties to adjacent areas"),
    _row("word_of_mouth_per_aware_contact", 0.04, E, "", 0.01, 0.1, "monthly, per aware contact"),
    _row("service_contact_per_month", 0.03, E, "", 0.01, 0.1, "public-service contacts"),
    _row("service_contact_qpv_per_month", 0.05, E, "", 0.01, 0.15, "same, in QPV"),
    _row(
        "association_outreach_per_month",
        0.02,
        E,
        "[S: 21 % attend, DREES 2020]",
        0.005,
        0.05,
        "hearing of an offer through an association's outreach",
    ),
    # ------------------------------------------------------------------ programmes
    _row("dropout_per_month", 0.03, E, "", 0.01, 0.08, "monthly drop-out from an action"),
    _row(
        "lock_in_factor",
        0.0,
        E,
        "[84]",
        -1.0,
        0.0,
        "effect while enrolled, times the action's effect: zero or negative (lock-in; CKW: "
        "training often has negative short-run effects, job-search assistance less so; sign "
        "sourced, size illustrative)",
    ),
    _row(
        "effect_persistence_months",
        12,
        E,
        "[84]",
        6,
        36,
        "months the post-programme effect lasts after completion",
    ),
    _row(
        "displacement_share",
        0.3,
        E,
        "[24]",
        0.0,
        0.7,
        "share of treated gains taken from untreated neighbours (Crépon et al. 2013 found "
        "displacement; the share is illustrative)",
    ),
    _row("misfit_effect_factor", 0.5, E, "", 0.0, 1.0, "employment support without French"),
    _row(
        "needs.EMPLOYMENT_EFFECT_PER_MONTH",
        0.005,
        E,
        "[84][85]",
        0.0,
        0.015,
        "monthly job hazard added for 12 months after completion at effectiveness 1; "
        "CKW 2018: close to zero in the short run (< 1 year), more positive 2-3 years after; "
        "New Deal +5 points [85]",
    ),
    _row(
        "employment_effect_short_run_points",
        "0 (about -2 to +2)",
        S,
        "[84]",
        -0.02,
        0.02,
        "employment effect of ALMPs within a year of the programme (CKW 2018: close to zero)",
    ),
    _row(
        "employment_effect_2_3_years_points",
        "a few points (+2 to +5)",
        S,
        "[84][85]",
        0.02,
        0.05,
        "employment effect 2-3 years after (CKW 2018: more positive; New Deal +5)",
    ),
    _row(
        "needs.RIGHTS_TAKEUP_GAIN",
        0.12,
        S,
        "[97]",
        0.05,
        0.12,
        "take-up gain within 9 months: information +5 points, with application help +12 "
        "(SNAP RCT, Finkelstein & Notowidigdo 2019)",
    ),
    _row(
        "needs.RIGHTS_EFFECT_PER_MONTH",
        0.0417,
        C,
        "[97]",
        0.017,
        0.042,
        "monthly take-up hazard giving +12 points over a 3-month action: 1 - 0.88^(1/3)",
    ),
    _row(
        "needs.EMPLOYMENT_NEED.cost_eur_per_participant_month",
        450.0,
        E,
        "[98]",
        71.0,
        450.0,
        "employment support; the EU share of Pôle emploi's intensive youth support is EUR 71 "
        "a participant-month (a lower bound)",
    ),
    _row(
        "needs.FRENCH_NEED.cost_eur_per_participant_month",
        250.0,
        C,
        "[66][67]",
        120.0,
        740.0,
        "200 hours at EUR 7.40 over 6 months",
    ),
    _row(
        "needs.RIGHTS_NEED.cost_eur_per_participant_month",
        120.0,
        E,
        "",
        50.0,
        300.0,
        "access-to-rights support; no cost found",
    ),
    # ------------------------------------------------------------------ public costs
    _row("rsa_eur_per_month", 646.52, S, "[56][57]", 635.71, 646.52, "RSA, single person"),
    _row("are_eur_per_month", 982.0, S, "[63]", 830.0, 1077.0, "unemployment insurance"),
    _row(
        "cost_ltu_eur_per_year",
        10_000.0,
        E,
        "[41][42]",
        7_600.0,
        26_000.0,
        "public cost of a long-term unemployed person-year",
    ),
    _row("discount_rate_per_year", 0.03, E, "", 0.02, 0.045, "payer's discount rate"),
    # ------------------------------------------------------------------ funding
    _row(
        "ImpactContract.max_return_per_year",
        0.05,
        S,
        "[6][9][34]",
        0.015,
        0.13,
        "investor's maximum return",
    ),
    _row(
        "ImpactContract.payment_cap_ratio",
        1.2,
        E,
        "[9]",
        1.05,
        4.0,
        "cap / capital for a fully pre-financed French CIS; INDIGO median 3.0 where capital "
        "is a recycled float",
    ),
    _row(
        "ImpactContract.transaction_cost_share",
        0.15,
        E,
        "[12][13]",
        0.05,
        0.30,
        "structuring, legal and intermediation, share of operating costs",
    ),
    _row(
        "ImpactContract.payer_cost_eur",
        30_000.0,
        E,
        "",
        10_000.0,
        100_000.0,
        "payer's own cost of preparing the contract",
    ),
    _row("ImpactContract.setup_months", 18, E, "[14][28]", 6, 54, "time to contract"),
    _row("ImpactContract.contract_months", 48, S, "[9][11]", 36, 84, "contract length"),
    _row(
        "ImpactContract.creaming_degree",
        0.3,
        E,
        "[21][22]",
        0.0,
        0.7,
        "selection tilt toward the job-ready under payment by results",
    ),
    _row(
        "CallForProjects.p_pilot_works",
        0.33,
        S,
        "[82][83]",
        0.2,
        0.5,
        "prior that a pilot truly works",
    ),
    _row("CallForProjects.pilot_months", 24, E, "[9][35]", 12, 60, "pilot length"),
    _row(
        "base.EVALUATION_COST_EUR",
        "none 2k, historical 15k, comparison 60k, RCT 120k",
        E,
        "[13][78]",
        2_000.0,
        500_000.0,
        "cost of one evaluation; an EEF trial costs about GBP 500k, a FEJ experiment about "
        "EUR 271k with its evaluation",
    ),
    _row(
        "evaluation.OBSERVED_BARRIER_NOISE_SD",
        0.15,
        E,
        "",
        0.0,
        0.3,
        "evaluators' measurement error of the barrier score",
    ),
)


def sources_table() -> list[dict[str, Any]]:
    """Every default as a row: parameter, value, tag (S/C/E), tag name, source, range, note."""
    return [{**asdict(row), "tag_name": TAGS[row.tag]} for row in SOURCES]


def illustrative_defaults() -> list[str]:
    """Names of the defaults that are illustrative (tag E): what a report must flag."""
    return [row.parameter for row in SOURCES if row.tag == ILLUSTRATIVE]
