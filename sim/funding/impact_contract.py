"""The social impact contract (CIS, *contrat à impact social*; a social impact bond).

A payer (the city, the CAF or the State) defines a target population, an outcome metric, a price
per validated outcome, a threshold, a payment cap and payment dates. An investor (a bank)
pre-finances the operator's costs and the structuring, legal and evaluation costs. An operator
(an association) enrols the target population; outcome pay tilts its selection toward the most
job-ready by ``creaming_degree``. At each payment date an evaluator counts validated outcomes with
the chosen design, and the pure settlement (:func:`sim.funding.settlement.settle`) turns them
into the payer's payments and the investor's return, honouring the threshold, the cap and the
maximum return.

The terms can be written as real contracts are: a rate card over the needs' outcome metrics
(gross or relative to the evaluator's counterfactual, with caps per metric and per participant),
thresholds per payment period or per cohort with a pooled test, a tiered schedule, several payers
in agreed shares with their caps, several investors, and a first-loss guarantee by a third party.

Defaults follow ``domain.md``: 48-month contracts, maximum return 5 % a year, cap 1.2 x capital,
transaction costs 15 % of capital, creaming 0.3, matched comparison as evaluation design.

The parameters in ``SETTLEMENT_PARAMS`` change only the settlement, never what happens in the
city: a sweep over them simulates each replication once and re-settles its evaluated periods
(:meth:`ImpactContract.resettled`), with the same result as simulating again.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from sim.delivery.actions import ActionSpec, Target
from sim.delivery.associations import AssociationProfile
from sim.delivery.needs import all_needs, need_of
from sim.errors import UserInputError
from sim.funding.base import (
    EVALUATION_COST_EUR,
    Mechanism,
    is_number_table,
    is_whole,
    require,
    require_design,
    require_number,
)
from sim.funding.evaluation import control_share
from sim.funding.ledger import (
    EVALUATION,
    EVALUATOR,
    GUARANTEE,
    GUARANTOR,
    INTERMEDIARY,
    INVESTMENT,
    INVESTOR,
    REPAYMENT,
    TRANSACTION,
)
from sim.funding.records import ContractPeriod, ContractRecord
from sim.funding.seam import FundingContext
from sim.funding.settlement import (
    POOLED,
    THRESHOLD_KINDS,
    THRESHOLD_SCOPES,
    ContractTerms,
    EvaluatedPeriod,
    InvestorShare,
    MetricFigures,
    PayerShare,
    RateCardLine,
    Settlement,
    Tier,
    settle,
)


def outcomes() -> dict[str, str]:
    """The outcome metrics a contract can pay for, and the specialty that answers each."""
    return {n.contract_metric: n.specialty for n in all_needs()}


PAYERS = ("city", "caf", "state", "department")
TARGET_KEYS = ("rsa_only", "long_term_only", "qpv_only", "non_french_only")

#: Parameters that change only the settlement: the price, the rate card's prices and caps (its
#: metrics are all evaluated at every payment date), thresholds, tiers, caps, the maximum
#: return, the payers' shares and caps, the investors' shares and the guarantee.
SETTLEMENT_PARAMS = frozenset(
    {
        "price_eur_per_outcome",
        "rate_card",
        "rate_card_scale",
        "threshold_kind",
        "threshold_value",
        "pooled_threshold_value",
        "tiers",
        "tier_kind",
        "payment_cap_eur",
        "payment_cap_ratio",
        "cap_per_participant_eur",
        "max_return_per_year",
        "payer_shares",
        "payer_caps_eur",
        "investor_shares",
        "guarantee_share",
    }
)


class ImpactContract(Mechanism):
    """A social impact contract around one operator's action.

    Args:
        payer: who pays for outcomes (city, caf, state, department).
        outcome: ``employment_6_months`` or ``french_a1``.
        target: eligibility flags among rsa_only, long_term_only, qpv_only, non_french_only.
        places: places the operator delivers.
        price_eur_per_outcome: price of one validated outcome.
        threshold_kind: ``absolute`` (validated count) or ``relative`` (validated / evaluator's
            counterfactual; needs a design with a counterfactual).
        threshold_value: the threshold in that unit.
        payment_cap_eur: most the payer pays; None: ``payment_cap_ratio`` x capital.
        payment_cap_ratio: cap relative to the capital when no cap is given.
        max_return_per_year: the investor's maximum annual return.
        payment_months: payment dates, months after the start of the contract.
        contract_months: length of delivery.
        transaction_cost_share: structuring, legal and intermediation costs, share of the
            operator's costs, pre-financed by the investor.
        payer_cost_eur: the payer's own cost of preparing and managing the contract.
        setup_months: time from first idea to signature (reported; the run starts at signature).
        creaming_degree: how far outcome pay tilts the operator's selection to the job-ready.
        evaluation: design that validates outcomes.
        baseline_bias: multiplier of a historical baseline (below 1: too pessimistic).
        operator: association name; None: the largest one of the outcome's specialty.
        effect_factor: true effect relative to the specialty's reference effect; None: the
            operator's latent effectiveness.
        rate_card: outcome metrics with their prices instead of one price: a list of tables
            ``{metric, price_eur, basis, cap_outcomes, cap_eur}``; ``metric`` is a need's
            contract metric (evaluated among the operator's participants with the contract's
            design), ``basis`` ``gross`` or ``relative`` (to the evaluator's counterfactual).
        rate_card_scale: multiplies every price (the rate card's, or the single price), and the
            tiers' amounts: a whole schedule made dearer or cheaper.
        threshold_scope: ``cumulative``, ``period`` (each period's own outcomes) or ``cohort``
            (each payment date evaluates one cohort; see ``cohort_months``).
        cohort_months: with cohorts, the month each cohort's enrolment ends (cohort i joined in
            [cohort_months[i-1], cohort_months[i])); payment date i settles cohort i, and with a
            pooled threshold the last payment date settles every cohort together.
        pooled_threshold_value: the pooled test's threshold.
        tiers: a tiered schedule ``[{from_value, amount_eur, eur_per_unit}]`` on the outcome's
            validated count (``tier_kind`` absolute) or validated / counterfactual (relative).
        tier_kind: unit of the tiers' measure.
        cap_per_participant_eur: most paid per participant.
        payer_shares: several payers' agreed shares of every payment, e.g.
            ``{state = 0.5, caf = 0.2, department = 0.2, city = 0.1}``; None: ``payer`` alone.
        payer_caps_eur: each payer's own cap.
        investor_shares: several investors' shares of the capital, repaid pari passu.
        guarantee_share: a guarantor's first-loss cover, as a share of the capital: at the last
            payment date it repays the investor's loss up to ``guarantee_share`` x capital.
    """

    name: ClassVar[str] = "impact_contract"
    SETTLEMENT_PARAMS: ClassVar[frozenset[str]] = SETTLEMENT_PARAMS

    def __init__(
        self,
        payer: str = "city",
        outcome: str = "employment_6_months",
        target: dict[str, bool] | None = None,
        places: int = 120,
        price_eur_per_outcome: float = 15_000.0,
        threshold_kind: str = "absolute",
        threshold_value: float = 10.0,
        payment_cap_eur: float | None = None,
        payment_cap_ratio: float = 1.2,
        max_return_per_year: float = 0.05,
        payment_months: tuple[int, ...] | list[int] = (24, 36, 48),
        contract_months: int = 48,
        transaction_cost_share: float = 0.15,
        payer_cost_eur: float = 30_000.0,
        setup_months: int = 18,
        creaming_degree: float = 0.3,
        evaluation: str = "comparison_group",
        baseline_bias: float = 1.0,
        operator: str | None = None,
        effect_factor: float | None = None,
        rate_card: list[dict[str, Any]] | None = None,
        rate_card_scale: float = 1.0,
        threshold_scope: str = "cumulative",
        cohort_months: list[int] | None = None,
        pooled_threshold_value: float | None = None,
        tiers: list[dict[str, Any]] | None = None,
        tier_kind: str = "absolute",
        cap_per_participant_eur: float | None = None,
        payer_shares: dict[str, float] | None = None,
        payer_caps_eur: dict[str, float] | None = None,
        investor_shares: dict[str, float] | None = None,
        guarantee_share: float = 0.0,
    ) -> None:
        self.payer = payer
        self.outcome = outcome
        self.target = target
        self.places = places
        self.price_eur_per_outcome = price_eur_per_outcome
        self.threshold_kind = threshold_kind
        self.threshold_value = threshold_value
        self.payment_cap_eur = payment_cap_eur
        self.payment_cap_ratio = payment_cap_ratio
        self.max_return_per_year = max_return_per_year
        self.payment_months = payment_months
        self.contract_months = contract_months
        self.transaction_cost_share = transaction_cost_share
        self.payer_cost_eur = payer_cost_eur
        self.setup_months = setup_months
        self.creaming_degree = creaming_degree
        self.evaluation = evaluation
        self.baseline_bias = baseline_bias
        self.operator = operator
        self.effect_factor = effect_factor
        self.rate_card = rate_card
        self.rate_card_scale = rate_card_scale
        self.threshold_scope = threshold_scope
        self.cohort_months = cohort_months
        self.pooled_threshold_value = pooled_threshold_value
        self.tiers = tiers
        self.tier_kind = tier_kind
        self.cap_per_participant_eur = cap_per_participant_eur
        self.payer_shares = payer_shares
        self.payer_caps_eur = payer_caps_eur
        self.investor_shares = investor_shares
        self.guarantee_share = guarantee_share

    # ------------------------------------------------------------------ parameters
    def validate(self) -> None:
        """Check the parameters."""
        n = self.name
        require(
            isinstance(self.payer, str) and self.payer in PAYERS,
            n,
            "payer",
            f"one of {', '.join(PAYERS)}",
            self.payer,
        )
        require(
            isinstance(self.outcome, str) and self.outcome in outcomes(),
            n,
            "outcome",
            f"one of {', '.join(outcomes())}",
            self.outcome,
        )
        require(
            self.target is None
            or (
                isinstance(self.target, dict)
                and all(isinstance(v, bool) for v in self.target.values())
            ),
            n,
            "target",
            "a table of flags set to true or false",
            self.target,
        )
        target = self.target_flags()
        require(
            set(target) <= set(TARGET_KEYS),
            n,
            "target",
            f"keys among {', '.join(TARGET_KEYS)}",
            sorted(target),
        )
        require(
            is_whole(self.places) and self.places >= 1,
            n,
            "places",
            "a whole number >= 1",
            self.places,
        )
        for key in (
            "price_eur_per_outcome",
            "threshold_value",
            "payment_cap_ratio",
            "transaction_cost_share",
            "payer_cost_eur",
            "baseline_bias",
        ):
            require_number(n, key, getattr(self, key))
        require_number(n, "max_return_per_year", self.max_return_per_year, 0.0, 1.0)
        require_number(n, "creaming_degree", self.creaming_degree, 0.0, 1.0)
        if self.payment_cap_eur is not None:
            require_number(n, "payment_cap_eur", self.payment_cap_eur)
        if self.effect_factor is not None:
            require_number(n, "effect_factor", self.effect_factor)
        require(
            self.threshold_kind in ("absolute", "relative"),
            n,
            "threshold_kind",
            "absolute or relative",
            self.threshold_kind,
        )
        require(
            is_whole(self.setup_months) and self.setup_months >= 0,
            n,
            "setup_months",
            "a whole number of months >= 0",
            self.setup_months,
        )
        require(
            self.operator is None or isinstance(self.operator, str),
            n,
            "operator",
            "the name of an association",
            self.operator,
        )
        require_design(self.name, self.evaluation)
        require(
            not (self.threshold_kind == "relative" and self.evaluation == "none"),
            n,
            "threshold_kind",
            "absolute when the evaluation design is 'none' (it has no "
            "counterfactual to be relative to)",
            self.threshold_kind,
        )
        require(
            isinstance(self.payment_months, list | tuple),
            n,
            "payment_months",
            "a list of months",
            self.payment_months,
        )
        months = tuple(self.payment_months)
        require(
            len(months) > 0
            and all(is_whole(m) and m >= 1 for m in months)
            and list(months) == sorted(set(months)),
            n,
            "payment_months",
            "increasing whole months after the start",
            list(months),
        )
        require(
            is_whole(self.contract_months) and self.contract_months >= 1,
            n,
            "contract_months",
            "a whole number >= 1",
            self.contract_months,
        )
        self._validate_terms()

    def _validate_terms(self) -> None:
        """Check the terms written as real contracts are (rate card, cohorts, tiers, parties)."""
        n = self.name
        for key in ("rate_card", "tiers"):
            value = getattr(self, key)
            require(
                value is None
                or (isinstance(value, list | tuple) and all(isinstance(v, dict) for v in value)),
                n,
                key,
                "a list of tables",
                value,
            )
        require_number(n, "rate_card_scale", self.rate_card_scale)
        require_number(n, "guarantee_share", self.guarantee_share, 0.0, 1.0)
        for key in ("pooled_threshold_value", "cap_per_participant_eur"):
            if getattr(self, key) is not None:
                require_number(n, key, getattr(self, key))
        for key, allowed in (("threshold_scope", THRESHOLD_SCOPES), ("tier_kind", THRESHOLD_KINDS)):
            value = getattr(self, key)
            require(
                isinstance(value, str) and value in allowed, n, key, " or ".join(allowed), value
            )
        for key, names in (
            ("payer_shares", PAYERS),
            ("payer_caps_eur", PAYERS),
            ("investor_shares", None),
        ):
            value = getattr(self, key)
            require(
                value is None
                or (
                    is_number_table(value)
                    and (names is None or set(value) <= set(names))
                    and all(math.isfinite(v) and v >= 0 for v in value.values())
                ),
                n,
                key,
                "a table of "
                + ("names" if names is None else "payers among " + ", ".join(names))
                + " to numbers >= 0",
                value,
            )
        cohorts = self.cohort_months
        require(
            cohorts is None
            or (
                isinstance(cohorts, list | tuple)
                and len(cohorts) > 0
                and all(is_whole(m) and m >= 1 for m in cohorts)
                and list(cohorts) == sorted(set(cohorts))
            ),
            n,
            "cohort_months",
            "increasing whole months (the end of each cohort's enrolment)",
            cohorts,
        )
        if self.threshold_scope == "cohort":
            expected = len(cohorts or ()) + (self.pooled_threshold_value is not None)
            require(
                cohorts is not None and len(tuple(self.payment_months)) == expected,
                n,
                "cohort_months",
                "one cohort per payment date (plus the pooled date last, with a pooled "
                f"threshold): {len(tuple(self.payment_months))} payment dates",
                cohorts,
            )
        if self.rate_card:
            metrics = outcomes()
            for line in self.rate_card:
                require(
                    line.get("metric") in metrics,
                    n,
                    "rate_card",
                    f"metrics among {', '.join(metrics)}",
                    line.get("metric"),
                )
        try:
            self.contract_terms(capital_eur=1.0)
        except UserInputError as error:
            key = next(
                (k for k in sorted(SETTLEMENT_PARAMS, key=len, reverse=True) if k in str(error)),
                "terms",
            )
            raise UserInputError(f"{n}.{key}: {error}") from None

    def contract_terms(self, capital_eur: float) -> ContractTerms:
        """The contract's terms once the capital is known (the cap and the guarantee's cover
        may be shares of it)."""
        scale = self.rate_card_scale
        cap = (
            self.payment_cap_eur
            if self.payment_cap_eur is not None
            else self.payment_cap_ratio * capital_eur
        )
        card = tuple(
            RateCardLine(**{**line, "price_eur": line.get("price_eur", 0.0) * scale})
            for line in self.rate_card or ()
        )
        caps = self.payer_caps_eur or {}
        return ContractTerms(
            price_eur_per_outcome=0.0 if card else self.price_eur_per_outcome * scale,
            payment_cap_eur=cap,
            max_return_per_year=self.max_return_per_year,
            threshold_kind="absolute" if self.threshold_kind == "absolute" else "relative",
            threshold_value=self.threshold_value,
            payment_months=tuple(int(m) for m in self.payment_months),
            contract_months=self.contract_months,
            rate_card=card,
            threshold_scope=(
                "cohort"
                if self.threshold_scope == "cohort"
                else "period"
                if self.threshold_scope == "period"
                else "cumulative"
            ),
            pooled_threshold_value=self.pooled_threshold_value,
            tiers=tuple(
                Tier(**{**tier, "amount_eur": tier.get("amount_eur", 0.0) * scale})
                for tier in self.tiers or ()
            ),
            tier_kind="absolute" if self.tier_kind == "absolute" else "relative",
            cap_per_participant_eur=self.cap_per_participant_eur,
            payers=tuple(
                PayerShare(payer, share, caps.get(payer))
                for payer, share in (self.payer_shares or {}).items()
            ),
            investors=tuple(
                InvestorShare(name, share) for name, share in (self.investor_shares or {}).items()
            ),
            guarantee_cover_eur=self.guarantee_share * capital_eur,
            guarantor=GUARANTOR,
        )

    def horizon_problem(
        self, months: int, follow_up_months: int = 0
    ) -> tuple[str, str, Any] | None:
        """Every payment date must fall within the simulated months (delivery and follow-up:
        a last payment at the end of the follow-up counts the late participants' outcomes)."""
        simulated = months + follow_up_months
        if max(self.payment_months) > simulated:
            return (
                "payment_months",
                f"payment dates within the {simulated} months simulated "
                "(simulate longer, add a follow-up or pay earlier)",
                list(self.payment_months),
            )
        return None

    def target_flags(self) -> dict[str, bool]:
        """The target population, by default long-term unemployed RSA recipients in QPV."""
        return dict(
            self.target if self.target is not None else {"rsa_only": True, "qpv_only": True}
        )

    def operating_cost_eur(self, cost_eur_per_participant_month: float) -> float:
        """What the operator's delivery costs over the contract."""
        return self.places * cost_eur_per_participant_month * self.contract_months

    def budget_limit_eur(self, months: int) -> float:
        """The payer can lose at most the cap and its own costs; the cap is only known once the
        operator is chosen, so the run's state records the real limit at the start."""
        return float("inf")

    # ------------------------------------------------------------------ the run
    def on_start(self, city: FundingContext) -> None:
        """Choose the operator, sign the contract and launch the action."""
        need = need_of(self.outcome)
        operator = self._operator(city, need.specialty)
        cost = operator.cost_eur_per_participant_month
        operating = self.operating_cost_eur(cost)
        transaction = self.transaction_cost_share * operating
        evaluation_total = EVALUATION_COST_EUR[self.evaluation] * len(self.payment_months)
        capital = operating + transaction + evaluation_total
        end = min(self.contract_months, city.months)
        terms = self.contract_terms(capital)
        cap = terms.payment_cap_eur
        factor = operator.effectiveness if self.effect_factor is None else self.effect_factor
        territories = tuple(
            t
            for t in range(city.n_territories)
            if city.is_qpv(t) or not self.target_flags().get("qpv_only")
        )
        spec = ActionSpec(
            association=operator.name,
            specialty=need.specialty,
            territories=territories,
            places=self.places,
            duration_months=need.duration_months,
            true_effect=need.scaled_effect(city.params, factor),
            cost_eur_per_participant_month=cost,
            start_month=1,
            end_month=end,
            selection=operator.selection,
            creaming_degree=self.creaming_degree,
            target=Target(**self.target_flags()),
            label=f"CIS: {operator.name} ({self.outcome})",
            control_share=control_share(self.evaluation),
        )
        action = city.launch(spec, self.evaluation, self.baseline_bias)
        funding = city.state
        # The payer's whole exposure is known at signature: the cap and its own costs.
        funding.budget_limit_eur = cap + self.payer_cost_eur
        funding.commit(funding.budget_limit_eur)
        funding.contract = ContractRecord(
            action=action.index,
            operator=operator.name,
            payer=self.payer,
            outcome=self.outcome,
            terms=terms.to_record(),
            capital_eur=capital,
            operating_cost_eur=operating,
            transaction_cost_eur=transaction,
            evaluation_cost_eur=evaluation_total,
            payer_cost_eur=self.payer_cost_eur,
            setup_months=self.setup_months,
            contract_end_month=end,
        )
        funding.contract_terms = terms
        funding.contract_monthly_operating_eur = self.places * cost
        self._draw(city, 1, INTERMEDIARY, TRANSACTION, transaction)
        funding.ledger.pay(1, self.payer, INTERMEDIARY, TRANSACTION, self.payer_cost_eur, need.key)

    def on_month(self, city: FundingContext) -> None:
        """Settle a payment date once its month's outcomes are known (at the start of the next
        month), then pre-finance this month's delivery."""
        if city.month - 1 in tuple(self.payment_months):
            self._settle(city, city.month - 1)
        contract = city.state.signed_contract()
        if city.month <= contract.contract_end_month:
            self._draw(
                city,
                city.month,
                contract.operator,
                INVESTMENT,
                city.state.contract_monthly_operating_eur,
            )

    def on_finish(self, city: FundingContext) -> None:
        """Settle a payment date that falls on the run's last month, and close the report."""
        contract = city.state.signed_contract()
        if city.month in tuple(self.payment_months):
            self._settle(city, city.month)
        contract.participants = len(city.action(contract.action).enrolled)
        contract.drawn_eur = sum(amount for _, amount in contract.drawdowns)
        if not contract.settlement:
            contract.settlement = _unsettled(contract)

    # ------------------------------------------------------------------ helpers
    def _operator(self, city: FundingContext, specialty: str) -> AssociationProfile:
        if self.operator is not None:
            chosen = city.association(self.operator)
            if chosen is None:
                raise UserInputError(
                    f"{self.name}.operator: no association named '{self.operator}' in this city"
                )
            return chosen
        qpv_only = self.target_flags().get("qpv_only", False)
        everyone = city.associations()
        pool = [
            a
            for a in everyone
            if a.specialty == specialty
            and (not qpv_only or any(city.is_qpv(t) for t in a.home_territories))
        ]
        pool = pool or [a for a in everyone if a.specialty == specialty]
        if not pool:
            raise UserInputError(
                f"{self.name}: no association of specialty '{specialty}' can operate the contract"
            )
        return max(pool, key=lambda a: (a.capacity, a.name))

    def _draw(self, city: FundingContext, month: int, payee: str, kind: str, amount: float) -> None:
        """The investor pays on the contract's behalf (capital drawn)."""
        if amount <= 0:
            return
        contract = city.state.signed_contract()
        city.state.ledger.pay(month, INVESTOR, payee, kind, amount, need_of(contract.outcome).key)
        contract.drawdowns.append((month, amount))

    def _settle(self, city: FundingContext, month: int) -> None:
        """Evaluate outcomes up to ``month`` and pay what the settlement says is due."""
        funding = city.state
        contract = funding.signed_contract()
        self._draw(city, month, EVALUATOR, EVALUATION, EVALUATION_COST_EUR[self.evaluation])
        contract.periods.append(self._evaluate_period(city, contract, month))
        terms = funding.contract_terms
        assert terms is not None  # signed with the contract
        settlement = settle(terms, contract_periods(contract), contract.drawdowns)
        index = len(contract.periods) - 1
        for flow in self.settlement_flows(terms, settlement, index):
            funding.ledger.pay(*flow)
        contract.settlement = settlement.to_dict()

    def _evaluate_period(
        self, city: FundingContext, contract: ContractRecord, month: int
    ) -> ContractPeriod:
        """What the evaluator certifies at a payment date: the contract's outcome among everyone
        (or the cohort this date settles) and every other outcome metric among the same
        participants, so that any rate card can settle it."""
        index = len(contract.periods)
        window: tuple[int, int] | None = None
        cohort = ""
        if self.threshold_scope == "cohort":
            ends = list(self.cohort_months or ())
            if index < len(ends):
                window = (ends[index - 1] if index else 0, ends[index])
                cohort = f"cohort {index + 1}"
            else:
                cohort = POOLED
        primary = city.evaluate(contract.action, month, window=window)
        if window is not None:
            city.evaluate(contract.action, month)  # the action's own record, on everyone
        figures: dict[str, list[float]] = {}
        for metric in outcomes():
            result = (
                primary
                if metric == self.outcome
                else city.evaluate(contract.action, month, need=metric, window=window)
            )
            figures[metric] = [
                float(result.gross_outcomes),
                float(result.counterfactual_outcomes),
                float(result.validated_outcomes),
            ]
        return ContractPeriod(
            month,
            primary.validated_outcomes,
            primary.counterfactual_outcomes,
            float(primary.gross_outcomes),
            cohort,
            int(primary.n_treated),
            figures,
        )

    def settlement_flows(
        self, terms: ContractTerms, settlement: Settlement, index: int
    ) -> list[tuple[int, str, str, str, float, str]]:
        """Ledger flows of one settled payment date: each payer's repayment to the investor,
        and the guarantor's cover once the last date is settled (all serving the contract's
        need)."""
        month = settlement.payments[index][0]
        need = need_of(self.outcome).key
        if terms.payers:
            count = len(terms.payers)
            shares = settlement.payments_by_payer[index * count : (index + 1) * count]
            flows = [
                (month, payer, INVESTOR, REPAYMENT, amount, need) for _, payer, amount in shares
            ]
        else:
            flows = [(month, self.payer, INVESTOR, REPAYMENT, settlement.payments[index][1], need)]
        if settlement.guarantee_month == month and index == len(settlement.payments) - 1:
            flows.append(
                (month, GUARANTOR, INVESTOR, GUARANTEE, settlement.guarantee_paid_eur, need)
            )
        return [flow for flow in flows if flow[4] > 0]

    def resettled(
        self, contract: ContractRecord
    ) -> tuple[ContractRecord, list[tuple[int, str, str, str, float, str]], float]:
        """The contract of a finished run settled again under these parameters' terms.

        Only the settlement changes (``SETTLEMENT_PARAMS``): the periods the evaluator
        certified, the drawdowns and the costs are the run's. Returns the contract record with
        the new terms and settlement, the settlement's ledger flows (repayments and the
        guarantee, in the order a run pays them) and the payer's budget limit.
        """
        terms = self.contract_terms(contract.capital_eur)
        record = dataclasses.replace(
            contract,
            terms=terms.to_record(),
            periods=list(contract.periods),
            drawdowns=list(contract.drawdowns),
        )
        flows: list[tuple[int, str, str, str, float, str]] = []
        if contract.periods:
            last = contract.periods[-1].month
            drawn = [(m, a) for m, a in contract.drawdowns if m <= last]
            settlement = settle(terms, contract_periods(contract), drawn)
            for index in range(len(contract.periods)):
                flows += self.settlement_flows(terms, settlement, index)
            record.settlement = settlement.to_dict()
        else:
            record.settlement = _unsettled(contract)
        return record, flows, terms.payment_cap_eur + self.payer_cost_eur


def contract_periods(contract: ContractRecord) -> list[EvaluatedPeriod]:
    """The settlement's view of what the evaluator certified at each date."""
    return [
        EvaluatedPeriod(
            p.month,
            p.validated_outcomes,
            p.counterfactual_outcomes,
            {m: MetricFigures(g, c, v) for m, (g, c, v) in p.metrics.items()},
            p.cohort,
            float(p.participants),
        )
        for p in contract.periods
    ]


def _unsettled(contract: ContractRecord) -> dict[str, Any]:
    """Settlement record of a contract whose first payment date the run never reached."""
    drawn = sum(amount for _, amount in contract.drawdowns)
    return {
        "payments": [],
        "total_paid_eur": 0.0,
        "paid_outcomes": 0.0,
        "share_of_cap_paid": 0.0,
        "investor_flows_eur": [],
        "investor_irr_per_year": None,
        "investor_money_multiple": 0.0 if drawn else None,
        "investor_lost_money": drawn > 0,
        "limited_by": [],
        "earned_eur": [],
        "payments_by_payer": [],
        "paid_by_payer": [],
        "guarantee_paid_eur": 0.0,
        "guarantee_month": None,
        "received_by_investor": [],
    }
