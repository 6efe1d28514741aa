"""The experimental call for projects (test and learn).

Every ``call_every_months`` the city calls for pilots. Associations, alone or with their partners,
propose a pilot for one micro-territory in their specialty. Innovative pilots have uncertain
effects: about one in three truly works (Levy Yeyati et al. 2019); the others do nothing. Claims
are optimistic and noisy. A committee scores need (the territory's diagnosis), partnership
breadth, claimed effect, cost, and the priorities set with citizens, and funds the best within the
year's budget. Each pilot runs ``pilot_months``, is evaluated with the chosen design, then scaled
(more places, neighbouring territories) if the estimate is significantly positive, or stopped.
An optional incubator supports proposers, which raises the share of pilots that work and makes
claims less noisy.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.delivery.actions import ActionSpec
from sim.delivery.associations import AssociationProfile
from sim.delivery.needs import need_of, specialties
from sim.funding.base import (
    EVALUATION_COST_EUR,
    Mechanism,
    is_number_table,
    is_whole,
    require,
    require_design,
    require_number,
    reserve_evaluation,
)
from sim.funding.evaluation import control_share
from sim.funding.ledger import CITY, GRANT, INCUBATOR
from sim.funding.records import FundedAction, PilotDecision, Proposal
from sim.funding.seam import FundingContext

DEFAULT_COMMITTEE = {"need": 1.0, "partnership": 0.5, "claimed_effect": 1.0, "cost": 0.5}
INCUBATOR_PARTY = "incubator"


class CallForProjects(Mechanism):
    """Yearly calls for multi-partner pilots, evaluated, then scaled or stopped.

    Args:
        budget_eur_per_year: yearly budget (pilots, scale-ups, evaluations, incubator).
        call_every_months: months between calls.
        pilot_months: length of a pilot before its evaluation.
        pilot_places: places asked for by a pilot (at most the association's capacity).
        proposal_rate: chance that an association answers a call.
        p_pilot_works: prior that a pilot has a true positive effect.
        works_effect_factor: effect of a pilot that works, relative to the reference effect of
            its specialty and to the association's effectiveness.
        claim_optimism: how much claims overstate effects on average (0.5: +50 %).
        claim_noise_sd: log-normal noise of claims.
        incubator: whether an incubator supports proposers.
        incubator_cost_eur_per_proposal: cost of that support.
        incubator_works_gain: points added to the prior that a supported pilot works.
        evaluation: design used to decide (none, historical_baseline, comparison_group, rct).
        scale_factor: places of a scaled pilot relative to the pilot.
        scale_reserve_share: share of each year's budget kept for scale-ups.
        citizen_priorities: extra committee score per specialty, set with citizens.
        committee_weights: weights of need, partnership, claimed_effect and cost.
    """

    name: ClassVar[str] = "call_for_projects"

    def __init__(
        self,
        budget_eur_per_year: float = 1_000_000.0,
        call_every_months: int = 12,
        pilot_months: int = 24,
        pilot_places: int = 30,
        proposal_rate: float = 0.7,
        p_pilot_works: float = 0.33,
        works_effect_factor: float = 1.5,
        claim_optimism: float = 0.5,
        claim_noise_sd: float = 0.6,
        incubator: bool = False,
        incubator_cost_eur_per_proposal: float = 4_000.0,
        incubator_works_gain: float = 0.1,
        evaluation: str = "comparison_group",
        scale_factor: float = 2.0,
        scale_reserve_share: float = 0.4,
        citizen_priorities: dict[str, float] | None = None,
        committee_weights: dict[str, float] | None = None,
    ) -> None:
        self.budget_eur_per_year = budget_eur_per_year
        self.call_every_months = call_every_months
        self.pilot_months = pilot_months
        self.pilot_places = pilot_places
        self.proposal_rate = proposal_rate
        self.p_pilot_works = p_pilot_works
        self.works_effect_factor = works_effect_factor
        self.claim_optimism = claim_optimism
        self.claim_noise_sd = claim_noise_sd
        self.incubator = incubator
        self.incubator_cost_eur_per_proposal = incubator_cost_eur_per_proposal
        self.incubator_works_gain = incubator_works_gain
        self.evaluation = evaluation
        self.scale_factor = scale_factor
        self.scale_reserve_share = scale_reserve_share
        self.citizen_priorities = citizen_priorities
        self.committee_weights = committee_weights

    def validate(self) -> None:
        """Check the parameters."""
        n = self.name
        require_number(n, "budget_eur_per_year", self.budget_eur_per_year)
        for key in ("call_every_months", "pilot_months", "pilot_places"):
            value = getattr(self, key)
            require(is_whole(value) and value >= 1, n, key, "a whole number >= 1", value)
        for key in (
            "proposal_rate",
            "p_pilot_works",
            "incubator_works_gain",
            "scale_reserve_share",
        ):
            require_number(n, key, getattr(self, key), 0.0, 1.0)
        for key in (
            "works_effect_factor",
            "claim_optimism",
            "claim_noise_sd",
            "incubator_cost_eur_per_proposal",
        ):
            require_number(n, key, getattr(self, key))
        require_number(n, "scale_factor", self.scale_factor, 1.0)
        require(isinstance(self.incubator, bool), n, "incubator", "true or false", self.incubator)
        for key in ("citizen_priorities", "committee_weights"):
            value = getattr(self, key)
            require(
                value is None or is_number_table(value), n, key, "a table of name = number", value
            )
        priorities = self.citizen_priorities or {}
        require(
            set(priorities) <= set(specialties()),
            n,
            "citizen_priorities",
            f"keys among {', '.join(specialties())}",
            sorted(priorities),
        )
        weights = self.committee_weights or {}
        require(
            set(weights) <= set(DEFAULT_COMMITTEE),
            n,
            "committee_weights",
            f"keys among {', '.join(DEFAULT_COMMITTEE)}",
            sorted(weights),
        )
        require_design(self.name, self.evaluation)

    def horizon_problem(
        self, months: int, follow_up_months: int = 0
    ) -> tuple[str, str, Any] | None:
        """A pilot must end, and be judged, before the last simulated month."""
        if self.pilot_months >= months:
            return (
                "pilot_months",
                f"pilots shorter than the {months} months simulated",
                self.pilot_months,
            )
        return None

    def budget_limit_eur(self, months: int) -> float:
        """Yearly budget times the years (or part) of the horizon."""
        return float(self.budget_eur_per_year * months / 12.0)

    # ------------------------------------------------------------------ the yearly cycle
    def on_month(self, city: FundingContext) -> None:
        """Decide on pilots that ended last month, then run a call if one is due."""
        for index, grant in sorted(city.state.funded.items()):
            if grant.stage == "pilot" and grant.until_month == city.month - 1:
                self._evaluate_and_decide(city, index, grant)
        due = (city.month - 1) % self.call_every_months == 0
        # A pilot is judged the month after it ends: that month must be simulated too.
        fits = city.month + self.pilot_months <= city.months
        if due and fits:
            self._run_call(city)

    def _run_call(self, city: FundingContext) -> None:
        rng = city.state.generator()
        month = city.month
        associations = city.associations()
        # The incubator supports this call's proposers only if the budget can pay it for all of
        # them (every association might answer): support is never given for free.
        supported = self.incubator and city.state.can_commit(
            self.incubator_cost_eur_per_proposal * len(associations)
        )
        proposals = [
            self._propose(city, a, rng, supported)
            for a in associations
            if rng.random() < self.proposal_rate
        ]
        if supported and proposals:
            cost = self.incubator_cost_eur_per_proposal * len(proposals)
            city.state.commit(cost)
            city.state.ledger.pay(month, CITY, INCUBATOR_PARTY, INCUBATOR, cost)
        scores = self._score(city, proposals)
        envelope = self._call_envelope_eur(city)
        spent = 0.0
        for rank in np.argsort(-scores, kind="stable"):
            proposal = proposals[rank]
            proposal.score = float(scores[rank])
            cost = proposal.cost_eur + EVALUATION_COST_EUR[self.evaluation]
            if spent + cost > envelope or not city.state.can_commit(cost):
                continue
            spent += cost
            proposal.funded = True
            self._fund_pilot(city, proposal)
        for proposal in proposals:
            proposal.call_month = month
        city.state.proposals.extend(proposals)

    def _call_envelope_eur(self, city: FundingContext) -> float:
        """What this call may commit to pilots: the budget not yet committed, less the share kept
        for scale-ups, spread evenly over this call and the calls still to come."""
        funding = city.state
        room = funding.budget_limit_eur - funding.committed_eur
        calls_left = len(
            range(city.month, city.months - self.pilot_months + 1, self.call_every_months)
        )
        return room * (1.0 - self.scale_reserve_share) / max(calls_left, 1)

    def _propose(
        self,
        city: FundingContext,
        association: AssociationProfile,
        rng: np.random.Generator,
        supported: bool,
    ) -> Proposal:
        """A proposal (with the incubator's support when ``supported``)."""
        need = need_of(association.specialty)
        reference = need.reference_effect(city.params)
        p_works = self.p_pilot_works + (self.incubator_works_gain if supported else 0.0)
        works = bool(rng.random() < min(p_works, 1.0))
        size = float(rng.lognormal(0.0, 0.3))
        factor = association.effectiveness * self.works_effect_factor * size if works else 0.0
        true_effect = need.scaled_effect(city.params, factor)
        noise = self.claim_noise_sd * (0.5 if supported else 1.0)
        claimed = (true_effect + reference * self.claim_optimism) * float(rng.lognormal(0, noise))
        places = min(self.pilot_places, association.capacity)
        return Proposal(
            association=association.name,
            specialty=association.specialty,
            territory=association.home_territories[0],
            partners=len(association.partners),
            places=places,
            cost_eur_per_participant_month=association.cost_eur_per_participant_month,
            cost_eur=places * association.cost_eur_per_participant_month * self.pilot_months,
            works=works,
            true_effect=true_effect,
            claimed_effect=claimed,
            selection=association.selection,
        )

    def _score(self, city: FundingContext, proposals: list[Proposal]) -> np.ndarray:
        if not proposals:
            return np.empty(0)
        weights = {**DEFAULT_COMMITTEE, **(self.committee_weights or {})}
        priorities = self.citizen_priorities or {}
        # Each specialty's shares, counted once for every territory: proposals share them.
        shares = {s: city.shares_in_need(need_of(s)) for s in {p.specialty for p in proposals}}
        need = np.array([shares[p.specialty][p.territory] for p in proposals])
        claimed = np.array(
            [
                p.claimed_effect / need_of(p.specialty).reference_effect(city.params)
                for p in proposals
            ]
        )
        partners = np.array([p.partners for p in proposals], dtype=float)
        cost = np.array([p.cost_eur_per_participant_month for p in proposals])
        priority = np.array([priorities.get(p.specialty, 0.0) for p in proposals])
        return np.asarray(
            weights["need"] * _z(need)
            + weights["partnership"] * _z(partners)
            + weights["claimed_effect"] * _z(claimed)
            - weights["cost"] * _z(cost)
            + priority
        )

    def _fund_pilot(self, city: FundingContext, proposal: Proposal) -> None:
        start, end = city.month, city.month + self.pilot_months - 1
        specialty = proposal.specialty
        spec = ActionSpec(
            association=proposal.association,
            specialty=specialty,
            territories=(proposal.territory,),
            places=proposal.places,
            duration_months=need_of(specialty).duration_months,
            true_effect=proposal.true_effect,
            cost_eur_per_participant_month=proposal.cost_eur_per_participant_month,
            start_month=start,
            end_month=end,
            selection=proposal.selection,
            label=f"pilot {start}: {proposal.association} ({specialty}, T{proposal.territory})",
            control_share=control_share(self.evaluation),
        )
        monthly = proposal.places * proposal.cost_eur_per_participant_month
        evaluation_cost = reserve_evaluation(city, self.evaluation)
        city.fund(
            spec,
            monthly,
            end,
            GRANT,
            design=self.evaluation,
            stage="pilot",
            works=proposal.works,
            evaluation_cost_eur=evaluation_cost,
        )

    def _evaluate_and_decide(self, city: FundingContext, index: int, grant: FundedAction) -> None:
        pilot = city.action(index).spec
        result = city.evaluate(index, grant.until_month)
        city.pay_evaluation(grant.evaluation_cost_eur, city.month, need=grant.need)
        scale = result.ci_low > 0.0
        truly_works = pilot.true_effect > 0.0
        grant.stage = "pilot_evaluated"
        city.state.decisions.append(
            PilotDecision(
                action=index,
                month=city.month,
                association=pilot.association,
                specialty=pilot.specialty,
                territory=pilot.territories[0],
                true_effect=pilot.true_effect,
                truly_works=truly_works,
                decision="scale" if scale else "stop",
                correct=scale == truly_works,
                estimate=result.effect_estimate,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                scaled_action=self._scale(city, pilot) if scale else -1,
            )
        )

    def _scale(self, city: FundingContext, pilot: ActionSpec) -> int:
        """Extend a pilot that showed an effect to its neighbours, as far as the budget allows."""
        start, end = city.month, city.months
        months = end - start + 1
        if months < 1:
            return -1
        territory = pilot.territories[0]
        territories = (territory, *city.neighbours(territory))
        places = int(pilot.places * self.scale_factor)
        room = (
            city.state.budget_limit_eur
            - city.state.committed_eur
            - EVALUATION_COST_EUR[self.evaluation]
        )
        affordable = int(max(room, 0.0) / (pilot.cost_eur_per_participant_month * months))
        places = min(places, affordable)
        if places < 1:
            return -1
        spec = ActionSpec(
            **{
                **pilot.__dict__,
                "territories": territories,
                "places": places,
                "start_month": start,
                "end_month": end,
                "label": f"scaled {start}: {pilot.association} ({pilot.specialty}, T{territory}+)",
            }
        )
        monthly = places * pilot.cost_eur_per_participant_month
        evaluation_cost = reserve_evaluation(city, self.evaluation)
        return city.fund(
            spec,
            monthly,
            end,
            GRANT,
            design=self.evaluation,
            stage="scaled",
            evaluation_cost_eur=evaluation_cost,
        ).index

    def on_finish(self, city: FundingContext) -> None:
        """Evaluate the scaled-up actions at the end, with the same design as the pilots, so
        that what the city's evaluators validated covers everything it funded."""
        for index, grant in sorted(city.state.funded.items()):
            if grant.stage == "scaled":
                city.evaluate(index, city.month)
                city.pay_evaluation(grant.evaluation_cost_eur, city.month, need=grant.need)


def _z(values: np.ndarray) -> np.ndarray:
    sd = values.std()
    return (values - values.mean()) / sd if sd > 0 else np.zeros(len(values))
