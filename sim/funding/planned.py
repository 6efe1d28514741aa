"""The conventional planned programme.

At month 1 a multi-year plan (default 3 years) splits the yearly budget among specialties by fixed
shares and among territories by a transparent formula on the diagnosis of that moment:
``per_resident`` (working-age population) or ``per_need`` (residents in need of the specialty:
unemployed, without French, RSA recipients). Each territory's share is granted to the established
associations of the specialty based there (split by capacity) for a fixed activity volume,
paid every month whatever the results. The plan is revised only at the end of a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.delivery.actions import ActionSpec, needs
from sim.funding.base import (
    DURATION_MONTHS,
    EVALUATION_COST_EUR,
    Mechanism,
    associations_by,
    design_settings,
    fund_action,
    require,
    require_design,
    require_number,
    scaled_effect,
)
from sim.funding.ledger import ACTIVITY, CITY, EVALUATION, EVALUATOR
from sim.world.params import SPECIALTIES

if TYPE_CHECKING:
    from sim.simulation.model import CityModel

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
            isinstance(self.plan_years, int) and self.plan_years >= 1,
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
        shares = self.shares()
        require(
            set(shares) <= set(SPECIALTIES),
            self.name,
            "specialty_shares",
            f"keys among {', '.join(SPECIALTIES)}",
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

    def on_month(self, model: CityModel) -> None:
        """Make a plan at the start of each cycle."""
        cycle_months = 12 * self.plan_years
        if (model.month - 1) % cycle_months == 0:
            self._make_plan(model, model.month, min(model.month + cycle_months - 1, model.months))

    def territory_weights(self, model: CityModel, specialty: str) -> np.ndarray:
        """The formula: each territory's share of a specialty's budget."""
        pop = model.population
        if self.formula == "per_resident":
            weights = pop.territory_sizes.astype(float)
        else:
            need = needs(SPECIALTIES.index(specialty), pop, slice(None))
            weights = np.add.reduceat(need, pop.territory_starts).astype(float)
        total = weights.sum()
        return weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))

    def _make_plan(self, model: CityModel, first: int, last: int) -> None:
        months = last - first + 1
        # The cycle's monitoring is paid from its budget: reserve it before granting.
        monitoring = EVALUATION_COST_EUR[self.evaluation]
        budget = self.budget_eur_per_year * months / 12.0 - monitoring
        model.funding.commit(monitoring)
        model.funding.extra.setdefault("monitoring_due_eur", 0.0)
        model.funding.extra["monitoring_due_eur"] += monitoring
        plan: list[dict[str, Any]] = []
        for specialty, share in self.shares().items():
            weights = self.territory_weights(model, specialty)
            for territory, weight in enumerate(weights):
                amount = budget * share * weight
                holders = self._holders(model, specialty, territory)
                plan.append(
                    {
                        "cycle_start": first,
                        "specialty": specialty,
                        "territory": territory,
                        "allocated_eur": amount,
                        "granted_eur": 0.0,
                    }
                )
                if amount <= 0 or not holders:
                    continue
                plan[-1]["granted_eur"] = self._grant(
                    model, specialty, territory, amount, holders, first, last
                )
        model.funding.extra.setdefault("plans", []).extend(plan)

    @staticmethod
    def _holders(model: CityModel, specialty: str, territory: int) -> list[Any]:
        """Who receives a territory's grant: its established associations of the specialty;
        failing that, its other ones; failing that, established ones of neighbouring territories."""
        for established_only in (True, False):
            local = associations_by(model, specialty, territory, established_only)
            if local:
                return local
        for neighbour in sorted(model.territory_graph.neighbors(territory)):
            nearby = associations_by(model, specialty, neighbour, established_only=True)
            if nearby:
                return nearby
        return []

    def _grant(
        self,
        model: CityModel,
        specialty: str,
        territory: int,
        amount: float,
        holders: list[Any],
        first: int,
        last: int,
    ) -> float:
        months = last - first + 1
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
                duration_months=DURATION_MONTHS[specialty],
                true_effect=scaled_effect(specialty, model.params, holder.effectiveness),
                cost_eur_per_participant_month=holder.cost_eur_per_participant_month,
                start_month=first,
                end_month=last,
                selection=holder.selection,
                label=f"plan {first}: {holder.name} ({specialty}, T{territory})",
                **design_settings(self.evaluation),
            )
            fund_action(model, spec, monthly, last, ACTIVITY, territory=territory)
            granted += monthly * months
        return granted

    def on_finish(self, model: CityModel) -> None:
        """Monitor each action's results with the city's evaluation design (paid from the
        budget reserved at each plan)."""
        for index in sorted(model.funding.funded):
            action = model.actions[index]
            result = action.evaluate(self.evaluation, model.population, model.month)
            model.funding.evaluations.append({"action": index, **result.to_dict()})
        model.funding.ledger.pay(
            model.month,
            CITY,
            EVALUATOR,
            EVALUATION,
            model.funding.extra.get("monitoring_due_eur", 0.0),
        )
