"""Metrics of a run against its status-quo twin. Plain functions over ``RunOutput``s; units are in
the names.

The twin shares every baseline draw with the arm, so a resident's outcome in the arm minus the
same resident's outcome in the twin is what the arm truly changed for them, displacement included.

Outcomes of different needs (a job held 6 months, French A1 reached, a right claimed) are never
added together: every count, deadweight and cost per outcome is per need (``..._employment``,
``..._french``, ``..._rights``), with the spending attributed to the need it served. Costs are
given for the public payers (``public_...``) and for society (``society_...``: every euro spent on
delivery, structuring and evaluation, whoever paid it; the investor's gain or loss is a transfer
between payers and investor and is reported apart).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from typing import Any

import numpy as np

from sim.delivery.needs import index_of, need_keys, need_of
from sim.experiments.results import CashFlowRecord, RunResult, TerritoryResult
from sim.funding.discounting import npv_eur
from sim.funding.ledger import CITY, EVALUATOR, INTERMEDIARY, INVESTOR, PUBLIC_PAYERS
from sim.funding.records import EvaluationRecord, PilotDecision
from sim.simulation.output import RunOutput
from sim.world.population import LONG_TERM, NOT_YET, ON_RSA


def outcome_count(run: RunOutput, need: str) -> np.ndarray:
    """Each resident's outcomes of a need during the run: jobs held 6 months (a resident can
    have several), French A1 reached and RSA claimed (at most once)."""
    return need_of(need).outcome_counts(run.residents)


def outcome_after(
    run: RunOutput, need: str, start: np.ndarray, rows: np.ndarray, end: int | None = None
) -> np.ndarray:
    """Whether residents ``rows`` reached the need's outcome between their ``start`` month and
    ``end`` (the end of the run by default): the evaluators' window."""
    return need_of(need).outcomes_between(
        run.residents, rows, start, run.months if end is None else end
    )


def outcome_difference(arm: RunOutput, twin: RunOutput, need: str) -> np.ndarray:
    """Each resident's outcomes in the arm minus in the twin. For a need one only has for a
    while (a right, while entitled), only residents who had it in both worlds and whose working
    lives the arm did not change count: a claim that never happens because someone found work
    is an outcome of employment, counted there, not a lost right."""
    definition = need_of(need)
    difference = outcome_count(arm, need) - outcome_count(twin, need)
    comparable = np.ones(len(difference), dtype=bool)
    if definition.at_risk_month is not None:
        comparable &= arm.residents[definition.at_risk_month] != NOT_YET
        comparable &= twin.residents[definition.at_risk_month] != NOT_YET
    for field in definition.unchanged_in_both:
        comparable &= arm.residents[field] == twin.residents[field]
    return np.asarray(np.where(comparable, difference, 0))


def true_additional_outcomes(arm: RunOutput, twin: RunOutput, need: str) -> int:
    """Outcomes in the arm minus outcomes in the twin, resident by resident over the whole
    city: what the arm caused, its participants' gains and its neighbours' losses included."""
    return int(outcome_difference(arm, twin, need).sum())


def participants(run: RunOutput) -> np.ndarray:
    """Rows of residents who took part in at least one action."""
    return np.flatnonzero(run.residents["first_action"] >= 0)


def participant_need(run: RunOutput, rows: np.ndarray) -> np.ndarray:
    """Index of the need each participant's first action answered."""
    specialty = {a.action: index_of(a.specialty) for a in run.actions}
    lookup = np.array([specialty[i] for i in range(len(run.actions))], dtype=np.int64)
    return lookup[run.residents["first_action"][rows]] if len(rows) else np.empty(0, np.int64)


def counted_and_deadweight(arm: RunOutput, twin: RunOutput) -> dict[str, tuple[int, int]]:
    """Per need: outcomes counted among participants after they enrolled (what gross monitoring
    sees), and how many of them the twin shows would have happened anyway."""
    rows = participants(arm)
    needs = participant_need(arm, rows)
    start = arm.residents["first_enrol_month"][rows]
    counts = {}
    for index, need in enumerate(need_keys()):
        mine = needs == index
        in_arm = outcome_after(arm, need, start[mine], rows[mine])
        in_twin = outcome_after(twin, need, start[mine], rows[mine])
        counts[need] = (int(in_arm.sum()), int((in_arm & in_twin).sum()))
    return counts


#: Parties that are paid for resources (delivery, structuring, evaluation, support): their
#: receipts are what funding costs society. Payers and the investor exchange transfers.
def _is_provider(party: str) -> bool:
    return party not in PUBLIC_PAYERS and party != INVESTOR


def spending_eur_by_need(run: RunOutput, society: bool = False) -> dict[str, float]:
    """Spending attributed to each need: the flows that served it, plus the flows that served
    several (an incubator, a programme's monitoring) shared in proportion. Public spending is
    what public payers paid; the cost to society is what providers received, whoever paid."""
    direct = dict.fromkeys(need_keys(), 0.0)
    shared = 0.0
    for flow in run.cash_flows:
        counted = _is_provider(flow["payee"]) if society else flow["payer"] in PUBLIC_PAYERS
        if not counted:
            continue
        if flow.get("need") in direct:
            direct[flow["need"]] += flow["amount_eur"]
        else:
            shared += flow["amount_eur"]
    total = sum(direct.values())
    if total > 0:
        return {need: v + shared * v / total for need, v in direct.items()}
    return direct


def investor_net_eur(run: RunOutput) -> float:
    """What the investor received minus what it paid (a loss is negative)."""
    received = sum(f["amount_eur"] for f in run.cash_flows if f["payee"] == INVESTOR)
    paid = sum(f["amount_eur"] for f in run.cash_flows if f["payer"] == INVESTOR)
    return float(received - paid)


def spending_eur_by_kind(run: RunOutput) -> dict[str, float]:
    """Public outflows by kind of flow (activity, grant, repayment, evaluation, ...)."""
    totals: dict[str, float] = defaultdict(float)
    for flow in run.cash_flows:
        if flow["payer"] in PUBLIC_PAYERS:
            totals[flow["kind"]] += flow["amount_eur"]
    return dict(totals)


def public_spending_eur_by_month(run: RunOutput) -> np.ndarray:
    """Public outflows per month (index = month)."""
    spending = np.zeros(run.months + 1)
    for flow in run.cash_flows:
        if flow["payer"] in PUBLIC_PAYERS:
            spending[flow["month"]] += flow["amount_eur"]
    return spending


def avoided_cost_eur_by_month(arm: RunOutput, twin: RunOutput) -> np.ndarray:
    """Public costs of residents (insurance, RSA, support) in the twin minus in the arm."""
    return np.asarray(twin.series["public_cost_eur"] - arm.series["public_cost_eur"])


def reach_shares(run: RunOutput, reference: np.ndarray | None = None) -> dict[str, float]:
    """Who the participants are: shares in each barrier quartile (of the initially unemployed),
    RSA recipients and long-term unemployed when they enrolled, residents without French at the
    start, QPV residents; and a creaming index (0.5 minus the
    participants' mean barrier percentile among the initially unemployed: above 0, the programme
    picked the more job-ready)."""
    rows = participants(run)
    barrier = run.residents["barrier"]
    reference = barrier[~run.residents["initial_employed"]] if reference is None else reference
    sorted_reference = np.sort(reference)
    if len(rows) == 0 or len(sorted_reference) == 0:
        return {f"reach_share_barrier_q{q}": math.nan for q in range(1, 5)} | {
            "reach_share_rsa": math.nan,
            "reach_share_long_term": math.nan,
            "reach_share_non_french": math.nan,
            "reach_share_qpv": math.nan,
            "creaming_index": math.nan,
        }
    percentile = np.searchsorted(sorted_reference, barrier[rows]) / len(sorted_reference)
    quartile = np.minimum((percentile * 4).astype(int), 3)
    territory = run.residents["territory"][rows]
    return {
        **{f"reach_share_barrier_q{q + 1}": float((quartile == q).mean()) for q in range(4)},
        "reach_share_rsa": float((run.residents["first_group"][rows] == ON_RSA).mean()),
        "reach_share_long_term": float(
            np.isin(run.residents["first_group"][rows], (LONG_TERM, ON_RSA)).mean()
        ),
        "reach_share_non_french": float((run.residents["initial_french"][rows] == 0).mean()),
        "reach_share_qpv": float(run.territory_qpv[territory].mean()),
        "creaming_index": float(0.5 - percentile.mean()),
    }


def additional_outcomes_by_territory(arm: RunOutput, twin: RunOutput) -> list[TerritoryResult]:
    """True additional outcomes of every need, per territory, with the territory's participants."""
    territory = arm.residents["territory"]
    n = len(arm.territory_ids)
    taking_part = np.bincount(territory[participants(arm)], minlength=n)
    per_need = {
        need: np.bincount(territory, weights=outcome_difference(arm, twin, need), minlength=n)
        for need in need_keys()
    }
    return [
        TerritoryResult(
            territory=arm.territory_ids[t],
            qpv=bool(arm.territory_qpv[t]),
            participants=int(taking_part[t]),
            true_additional={need: int(per_need[need][t]) for need in need_keys()},
            unemployment_rate_end=float(arm.territory_unemployment[-1, t]),
            unemployment_rate_end_twin=float(twin.territory_unemployment[-1, t]),
        )
        for t in range(n)
    ]


def pilot_decision_metrics(run: RunOutput) -> dict[str, float]:
    """For calls for projects: share of pilots scaled, and how often scale/stop was right."""
    decisions = run.decisions
    if not decisions:
        return {}
    scaled = [d for d in decisions if d.decision == "scale"]
    working = [d for d in decisions if d.truly_works]
    idle = [d for d in decisions if not d.truly_works]
    return {
        "pilots_evaluated": float(len(decisions)),
        "share_of_pilots_scaled": len(scaled) / len(decisions),
        "decision_accuracy": sum(d.correct for d in decisions) / len(decisions),
        "false_scale_rate": (
            sum(d.decision == "scale" for d in idle) / len(idle) if idle else math.nan
        ),
        "false_stop_rate": (
            sum(d.decision == "stop" for d in working) / len(working) if working else math.nan
        ),
    }


def measured_additional_outcomes(run: RunOutput) -> dict[str, float]:
    """Outcomes the mechanism's own evaluations validated, per need. An action evaluated at
    several dates (a contract's payment dates) counts once, at its latest evaluation: the
    counts are cumulative."""
    specialty = {a.action: a.specialty for a in run.actions}
    latest: dict[int, EvaluationRecord] = {}
    for evaluation in run.evaluations:
        known = latest.get(evaluation.action)
        if known is None or evaluation.month >= known.month:
            latest[evaluation.action] = evaluation
    measured = dict.fromkeys(need_keys(), 0.0)
    for action, evaluation in latest.items():
        measured[need_of(specialty[action]).key] += evaluation.validated_outcomes
    return measured


def contract_metrics(arm: RunOutput, twin: RunOutput) -> dict[str, float]:
    """For an impact contract: payments, the investor's return, the payer's rule of thumb (pay
    less than the service would have cost if bought directly) and the deadweight of payments
    (paid outcomes the twin shows would have happened anyway)."""
    contract = arm.contract
    if contract is None:
        return {}
    settlement = contract.settlement
    need = need_of(contract.outcome).key
    rows = np.flatnonzero(arm.residents["first_action"] == contract.action)
    start = arm.residents["first_enrol_month"][rows]
    last_payment = max([p.month for p in contract.periods], default=0)
    additional = int(outcome_after(arm, need, start, rows, last_payment).sum()) - int(
        outcome_after(twin, need, start, rows, last_payment).sum()
    )
    paid = float(settlement["paid_outcomes"])
    payer_cost = settlement["total_paid_eur"] + contract.payer_cost_eur
    direct = contract.operating_cost_eur
    irr = settlement["investor_irr_per_year"]
    multiple = settlement["investor_money_multiple"]
    return {
        "contract_payments_eur": float(settlement["total_paid_eur"]),
        "contract_share_of_cap_paid": float(settlement["share_of_cap_paid"]),
        "contract_paid_outcomes": paid,
        "contract_true_additional_outcomes": float(additional),
        "deadweight_share_of_paid_outcomes": (
            max(0.0, paid - max(additional, 0)) / paid if paid > 0 else math.nan
        ),
        "paid_for_non_additional_outcomes": float(paid > max(additional, 0) + 0.5),
        "investor_capital_eur": float(contract.drawn_eur),
        "investor_irr_per_year": math.nan if irr is None else float(irr),
        "investor_money_multiple": math.nan if multiple is None else float(multiple),
        "investor_lost_money": float(bool(settlement["investor_lost_money"])),
        "direct_service_cost_eur": float(direct),
        "payer_contract_cost_eur": float(payer_cost),
        "payer_cost_below_direct_service": float(payer_cost < direct),
        "payer_margin_vs_direct_service_eur": float(direct - payer_cost),
    }


def per_need_cost_metrics(
    spending: dict[str, float], additional: dict[str, int], prefix: str
) -> dict[str, float]:
    """Spending and cost per true additional outcome of each need (NaN without additional
    outcomes: no cost per outcome is meaningful then)."""
    metrics: dict[str, float] = {}
    for need in need_keys():
        metrics[f"{prefix}_spending_eur_{need}"] = spending[need]
        metrics[f"{prefix}_cost_eur_per_additional_{need}"] = (
            spending[need] / additional[need] if additional[need] > 0 else math.nan
        )
    return metrics


class SimulationMeasures:
    """What one simulation of an arm shows against its twin whatever its contract's settlement
    terms, each part computed on first use and then kept.

    Settling a run again (``sim.experiments.resettle``) changes only its contract, cash flows
    and the payer's budget limit: the residents, series, evaluations, decisions and territories
    are the simulation's. Every run settled from one simulation therefore shares these measures,
    computed once: the same code on the same arrays, so bit-identical to computing them again.
    """

    def __init__(self, arm: RunOutput, twin: RunOutput) -> None:
        self.arm = arm
        self.twin = twin

    @staticmethod
    def measure(
        arm: RunOutput, twin: RunOutput, known: SimulationMeasures | None
    ) -> SimulationMeasures:
        """``known`` when they are the measures of ``arm`` (settled under any terms) against
        ``twin``, new ones when None.

        Raises:
            ValueError: ``known`` are those of another simulation or twin.
        """
        if known is None:
            return SimulationMeasures(arm, twin)
        same_run = arm.residents is known.arm.residents and arm.series is known.arm.series
        if not same_run or twin is not known.twin:
            raise ValueError("the measures given are those of another simulation")
        return known

    @functools.cached_property
    def additional(self) -> dict[str, int]:
        """True additional outcomes of each need."""
        return {need: true_additional_outcomes(self.arm, self.twin, need) for need in need_keys()}

    @functools.cached_property
    def avoided_eur_by_month(self) -> np.ndarray:
        """Public costs of residents avoided each month."""
        return avoided_cost_eur_by_month(self.arm, self.twin)

    @functools.cached_property
    def outcome_metrics(self) -> dict[str, float]:
        """Participants, additional, measured and counted outcomes, deadweight and additional
        months employed: the metrics ``run_metrics`` lists before the spending."""
        arm, twin = self.arm, self.twin
        measured = measured_additional_outcomes(arm)
        counts = counted_and_deadweight(arm, twin)
        return {
            "participants": float(len(participants(arm))),
            **{f"true_additional_{need}": float(v) for need, v in self.additional.items()},
            **{f"measured_additional_{need}": v for need, v in measured.items()},
            **{f"counted_{need}": float(c) for need, (c, _) in counts.items()},
            **{f"deadweight_{need}": float(d) for need, (_, d) in counts.items()},
            **{
                f"deadweight_share_of_counted_{need}": d / c if c else math.nan
                for need, (c, d) in counts.items()
            },
            "additional_employment_months": float(
                arm.residents["months_employed"].sum(dtype=np.int64)
                - twin.residents["months_employed"].sum(dtype=np.int64)
            ),
        }

    @functools.cached_property
    def reach_metrics(self) -> dict[str, float]:
        """Who took part and the pilots' decisions: the metrics ``run_metrics`` lists after the
        costs."""
        reference = self.twin.residents["barrier"][~self.twin.residents["initial_employed"]]
        return {**reach_shares(self.arm, reference), **pilot_decision_metrics(self.arm)}

    @functools.cached_property
    def series(self) -> dict[str, list[float]]:
        """The arm's monthly series, as plain floats."""
        return {name: [float(v) for v in values] for name, values in self.arm.series.items()}

    @functools.cached_property
    def territories(self) -> list[TerritoryResult]:
        """The arm's true additional outcomes per territory."""
        return additional_outcomes_by_territory(self.arm, self.twin)

    @functools.cached_property
    def decisions(self) -> list[PilotDecision]:
        """The pilots' decisions."""
        return list(self.arm.decisions)

    @functools.cached_property
    def evaluations(self) -> list[EvaluationRecord]:
        """The evaluations the mechanism made."""
        return list(self.arm.evaluations)


def run_metrics(
    arm: RunOutput, twin: RunOutput, measures: SimulationMeasures | None = None
) -> dict[str, float]:
    """Every headline metric of an arm against its twin, per need where it concerns outcomes.
    ``measures``: those of the simulation ``arm`` was settled from, when computed already."""
    shared = SimulationMeasures.measure(arm, twin, measures)
    spending = spending_eur_by_kind(arm)
    spent = sum(spending.values())
    avoided_by_month = shared.avoided_eur_by_month
    avoided = float(avoided_by_month.sum())
    additional = shared.additional
    public_by_need = spending_eur_by_need(arm)
    society_by_need = spending_eur_by_need(arm, society=True)
    net_flows = avoided_by_month - public_spending_eur_by_month(arm)
    metrics: dict[str, float] = {
        **shared.outcome_metrics,
        "public_spending_eur": spent,
        **{f"spending_eur_{kind}": v for kind, v in spending.items()},
        **per_need_cost_metrics(public_by_need, additional, "public"),
        "society_cost_eur": sum(society_by_need.values()),
        **per_need_cost_metrics(society_by_need, additional, "society"),
        "investor_net_eur": investor_net_eur(arm),
        "avoided_public_cost_eur": avoided,
        "net_public_cost_eur": spent - avoided,
        "npv_eur": npv_eur(net_flows, arm.discount_rate_per_year),
        "budget_limit_eur": arm.budget_limit_eur,
        **shared.reach_metrics,
        **contract_metrics(arm, twin),
    }
    return metrics


# ---------------------------------------------------------------------------- run results
#: Payees kept by name in stored cash flows; every association is stored as "association".
NAMED_PARTIES = (CITY, INVESTOR, EVALUATOR, INTERMEDIARY, "incubator", "caf", "state", "department")


def twin_metrics(twin: RunOutput) -> dict[str, float]:
    """Absolute figures of a status-quo run (its metrics against itself are all zero)."""
    series = twin.series
    return {
        "sustained_jobs": float(series["sustained_jobs_cumulative"][-1]),
        "unemployment_rate_end": float(series["unemployment_rate"][-1]),
        "public_cost_eur": float(series["public_cost_eur"].sum()),
        "rsa_claimed_end": float(series["rsa_claimed"][-1]),
    }


def aggregate_cash_flows(flows: list[dict[str, Any]]) -> list[CashFlowRecord]:
    """Sum flows per month, payer, kind and payee role (associations pooled)."""
    totals: dict[tuple[int, str, str, str, str], float] = defaultdict(float)
    for flow in flows:
        payee = flow["payee"] if flow["payee"] in NAMED_PARTIES else "association"
        key = (flow["month"], flow["payer"], payee, flow["kind"], flow.get("need", ""))
        totals[key] += flow["amount_eur"]
    return [
        CashFlowRecord(m, payer, payee, kind, amount, need)
        for (m, payer, payee, kind, need), amount in sorted(totals.items())
    ]


def fill_result(
    result: RunResult, arm: RunOutput, twin: RunOutput, measures: SimulationMeasures | None = None
) -> RunResult:
    """Fill a result's data from an arm's output and its twin's (the twin against itself).

    ``measures``: those of the simulation ``arm`` was settled from, shared with the runs settled
    from it before. The result then holds the same series, territories, decisions and
    evaluations objects as theirs (the store converts a shared object once): read them, never
    change them.
    """
    measures = SimulationMeasures.measure(arm, twin, measures)
    is_twin = arm is twin
    result.metrics = _finite(twin_metrics(twin) if is_twin else run_metrics(arm, twin, measures))
    result.series = measures.series
    result.territories = measures.territories
    result.cash_flows = aggregate_cash_flows(arm.cash_flows)
    result.decisions = measures.decisions
    result.evaluations = measures.evaluations
    result.contract = _plain(arm.contract.to_dict()) if arm.contract is not None else {}
    return result


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics with NaN kept (SQL NULL) but infinities turned into NaN, which SQL cannot hold."""
    return {k: (v if math.isfinite(v) else math.nan) for k, v in metrics.items()}


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record with numpy scalars and tuples turned into plain Python values (JSON-ready)."""

    def plain(value: Any) -> Any:
        # Exact built-in types first: the checks below answer the same for them, slower.
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        if kind is float:
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "item"):
            return value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return {str(k): plain(v) for k, v in record.items()}
