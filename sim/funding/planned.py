"""The conventional planned programme.

At month 1 a multi-year plan (default 3 years) splits the yearly budget among specialties by fixed
shares and among territories by a transparent formula on the diagnosis of that moment:
``per_resident`` (working-age population) or ``per_need`` (residents in need of the specialty:
unemployed, without French, RSA recipients). Each territory's share is granted to the established
associations of the specialty based there (split by capacity) for a fixed activity volume,
paid every month whatever the results. The plan is revised only at the end of a cycle.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.delivery.actions import ActionSpec
from sim.delivery.associations import AssociationProfile
from sim.delivery.needs import need_of, specialties
from sim.funding.base import (
    EVALUATION_COST_EUR,
    Mechanism,
    associations_by_place,
    is_number_table,
    is_whole,
    require,
    require_design,
    require_number,
)
from sim.funding.evaluation import control_share
from sim.funding.ledger import ACTIVITY, CITY
from sim.funding.records import PlanLine
from sim.funding.seam import FundingContext

FORMULAS = ("per_resident", "per_need")
DEFAULT_SHARES = {"employment_support": 0.6, "french_course": 0.25, "access_to_rights": 0.15}


class Planned(Mechanism):
    """A multi-year plan made from the diagnosis, paying established associations per activity.

    Args:
        budget_eur_per_year: yearly budget of the programme.
        plan_years: length of a planning cycle.
        formula: ``per_resident`` or ``per_need``.
        specialty_shares: share of the budget for each specialty (sums to 1).
        evaluation: how the city monitors results (default ``none``: gross counts).
    """

    name: ClassVar[str] = "planned"

    def __init__(
        self,
        budget_eur_per_year: float = 1_000_000.0,
        plan_years: int = 3,
        formula: str = "per_need",
        specialty_shares: dict[str, float] | None = None,
        evaluation: str = "none",
    ) -> None:
        self.budget_eur_per_year = budget_eur_per_year
        self.plan_years = plan_years
        self.formula = formula
        self.specialty_shares = specialty_shares
        self.evaluation = evaluation

    def shares(self) -> dict[str, float]:
        """Budget share per specialty."""
        return dict(self.specialty_shares or DEFAULT_SHARES)

    def validate(self) -> None:
        """Check the parameters."""
        require_number(self.name, "budget_eur_per_year", self.budget_eur_per_year)
        require(
            is_whole(self.plan_years) and self.plan_years >= 1,
            self.name,
            "plan_years",
            "a whole number of years >= 1",
            self.plan_years,
        )
        require(
            self.formula in FORMULAS,
            self.name,
            "formula",
            f"one of {', '.join(FORMULAS)}",
            self.formula,
        )
        require(
            self.specialty_shares is None or is_number_table(self.specialty_shares),
            self.name,
            "specialty_shares",
            "a table of specialty = share",
            self.specialty_shares,
        )
        shares = self.shares()
        require(
            set(shares) <= set(specialties()),
            self.name,
            "specialty_shares",
            f"keys among {', '.join(specialties())}",
            sorted(shares),
        )
        require(
            all(v >= 0 for v in shares.values()) and abs(sum(shares.values()) - 1) < 1e-6,
            self.name,
            "specialty_shares",
            "non-negative shares summing to 1",
            shares,
        )
        require_design(self.name, self.evaluation)

    def budget_limit_eur(self, months: int) -> float:
        """Yearly budget times the years (or part) of the horizon."""
        return float(self.budget_eur_per_year * months / 12.0)

    def on_month(self, city: FundingContext) -> None:
        """Make a plan at the start of each cycle (none in the follow-up after delivery)."""
        cycle_months = 12 * self.plan_years
        if (city.month - 1) % cycle_months == 0 and city.month <= city.months:
            self._make_plan(city, city.month, min(city.month + cycle_months - 1, city.months))

    def territory_weights(self, city: FundingContext, specialty: str) -> np.ndarray:
        """The formula: each territory's share of a specialty's budget."""
        if self.formula == "per_resident":
            weights = city.working_age_population().astype(float)
        else:
            weights = city.in_need_by_territory(need_of(specialty)).astype(float)
        total = weights.sum()
        return weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))

    def _make_plan(self, city: FundingContext, first: int, last: int) -> None:
        months = last - first + 1
        # The cycle's monitoring is paid from its budget: reserve it before granting.
        monitoring = EVALUATION_COST_EUR[self.evaluation]
        budget = self.budget_eur_per_year * months / 12.0 - monitoring
        city.state.commit(monitoring)
        city.state.monitoring_due_eur += monitoring
        # Grants go to associations already known: none is added while the plan is made.
        by_place = associations_by_place(city)
        for specialty, share in self.shares().items():
            weights = self.territory_weights(city, specialty)
            for territory, weight in enumerate(weights):
                amount = budget * share * weight
                holders = self._holders(city, by_place, specialty, territory)
                granted = 0.0
                if amount > 0 and holders:
                    granted = self._grant(city, specialty, territory, amount, holders, first, last)
                city.state.plans.append(PlanLine(first, specialty, territory, amount, granted))

    @staticmethod
    def _holders(
        city: FundingContext,
        by_place: dict[tuple[str, int], list[AssociationProfile]],
        specialty: str,
        territory: int,
    ) -> list[AssociationProfile]:
        """Who receives a territory's grant: its established associations of the specialty;
        failing that, its other ones; failing that, established ones of neighbouring territories
        (``by_place``: the city's associations by place, ``associations_by_place``)."""
        local = by_place.get((specialty, territory), [])
        established = [a for a in local if a.established]
        if established:
            return established
        if local:
            return local
        for neighbour in city.neighbours(territory):
            nearby = [a for a in by_place.get((specialty, neighbour), []) if a.established]
            if nearby:
                return nearby
        return []

    def _grant(
        self,
        city: FundingContext,
        specialty: str,
        territory: int,
        amount: float,
        holders: list[AssociationProfile],
        first: int,
        last: int,
    ) -> float:
        months = last - first + 1
        need = need_of(specialty)
        capacity = np.array([h.capacity for h in holders], dtype=float)
        granted = 0.0
        for holder, part in zip(holders, capacity / capacity.sum(), strict=True):
            # The plan buys a volume of activity; the association staffs up to deliver it.
            places = int(amount * part / (holder.cost_eur_per_participant_month * months))
            if places < 1:
                continue
            monthly = places * holder.cost_eur_per_participant_month
            spec = ActionSpec(
                association=holder.name,
                specialty=specialty,
                territories=(territory,),
                places=places,
                duration_months=need.duration_months,
                true_effect=need.scaled_effect(city.params, holder.effectiveness),
                cost_eur_per_participant_month=holder.cost_eur_per_participant_month,
                start_month=first,
                end_month=last,
                selection=holder.selection,
                label=f"plan {first}: {holder.name} ({specialty}, T{territory})",
                control_share=control_share(self.evaluation),
            )
            city.fund(spec, monthly, last, ACTIVITY, design=self.evaluation, territory=territory)
            granted += monthly * months
        return granted

    def on_finish(self, city: FundingContext) -> None:
        """Monitor each action's results with the city's evaluation design (paid from the
        budget reserved at each plan)."""
        for index in sorted(city.state.funded):
            city.evaluate(index, city.month)
        city.pay_evaluation(city.state.monitoring_due_eur, city.month, CITY)
