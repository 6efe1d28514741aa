"""The seam between the city and its funding: what a mechanism may see of the city and do in it.

A mechanism never receives the model. It receives a ``FundingContext``: the month and horizon,
the run's parameters and seed, the city's diagnosis (territories, neighbours, QPV flags, who is
in need of what, territory by territory), the associations as the city knows them, and the
means to act (launch an action, fund it, pay and commit through the ledger, have it evaluated).
The model builds one context per run and owns the one ``FundingState`` it writes to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import networkx as nx
import numpy as np

from sim.delivery.actions import Action, ActionSpec, Cohort, CohortLog
from sim.delivery.associations import AssociationProfile
from sim.delivery.needs import Need, need_of
from sim.funding.evaluation import ComparisonSampler, Evaluator, observed_barrier
from sim.funding.ledger import CITY, EVALUATION, EVALUATOR, Ledger
from sim.funding.records import EvaluationRecord, FundedAction
from sim.funding.state import FundingState
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.rng import Stream, stream
from sim.world.runs import territory_runs


class Programme(Protocol):
    """The hooks the model calls on a funding mechanism."""

    def validate(self) -> None:
        """Check the parameters (``UserInputError`` naming the parameter)."""

    def start(self, city: FundingContext) -> None:
        """Called once, after the city is built and before month 1."""

    def step(self, city: FundingContext) -> None:
        """Called at the start of every month, before services and associations act."""

    def finish(self, city: FundingContext) -> None:
        """Called once after the last month."""


class FundingContext:
    """What a funding mechanism may see of the city and do in it, and nothing else.

    Args:
        seed: the run's seed.
        months: the delivery horizon: the last month anyone may join an action.
        follow_up_months: months simulated after it (outcomes go on; nobody joins), at the end
            of which ``finish`` runs: the run's last month is ``months + follow_up_months``.
        params: the run's parameters (reference effects and costs are read from them).
        population: the residents (read through the diagnosis and evaluation methods only).
        territory_graph: adjacency of the micro-territories.
        associations: the city's associations, by name (read as profiles).
        actions: the run's actions, in launch order.
        launch: starts an action (the model's ``launch_action``).
        clock: the current month.
        state: the run's funding state, which the context writes to.
    """

    def __init__(
        self,
        *,
        seed: int,
        months: int,
        params: ModelParams,
        follow_up_months: int = 0,
        population: Population,
        territory_graph: nx.Graph,
        associations: Mapping[str, AssociationProfile],
        actions: Sequence[Action],
        launch: Callable[[ActionSpec], Action],
        clock: Callable[[], int],
        state: FundingState,
    ) -> None:
        self.seed = seed
        self.months = months
        self.follow_up_months = follow_up_months
        self.params = params
        self.state = state
        self._population = population
        self._graph = territory_graph
        self._associations = associations
        self._actions = actions
        self._launch = launch
        self._clock = clock
        self._observed_barrier: np.ndarray | None = None
        self._comparison_stream: np.random.Generator | None = None
        #: Every comparison-group evaluator's comparisons, one log for the run.
        self._comparisons = CohortLog()

    # ------------------------------------------------------------------ what funders see
    @property
    def month(self) -> int:
        """The current month (1 in the first month of the run)."""
        return self._clock()

    @property
    def last_month(self) -> int:
        """The run's last month: the delivery horizon plus the follow-up."""
        return self.months + self.follow_up_months

    @property
    def n_territories(self) -> int:
        """Number of micro-territories."""
        return self._population.n_territories

    def is_qpv(self, territory: int) -> bool:
        """Whether a territory is a priority neighbourhood (QPV)."""
        return bool(self._population.qpv[territory])

    def neighbours(self, territory: int) -> list[int]:
        """Adjacent territories, in increasing order."""
        return sorted(self._graph.neighbors(territory))

    def working_age_population(self) -> np.ndarray:
        """Working-age residents of each territory."""
        return np.asarray(self._population.territory_sizes)

    def in_need_by_territory(self, need: Need) -> np.ndarray:
        """Residents in need of ``need`` in each territory, now (the diagnosis of this month)."""
        pop = self._population
        in_need = np.flatnonzero(need.in_need(pop, slice(None)))
        # Residents are stored by territory: a territory's in a list are one run of it (an
        # empty territory counts none, where np.add.reduceat would repeat its neighbour's first).
        return np.asarray(territory_runs(in_need, pop.territory_bounds()))

    def share_in_need(self, need: Need, territory: int) -> float:
        """Share of a territory's residents in need of ``need``, now (for a mechanism that
        looks at one territory; ``shares_in_need`` gives every territory's at once)."""
        pop = self._population
        return float(need.in_need(pop, pop.slices[territory]).mean())

    def shares_in_need(self, need: Need) -> np.ndarray:
        """Share of each territory's residents in need of ``need``, now: ``share_in_need`` of
        every territory (the same numbers), from one pass over the city rather than one per
        territory."""
        return np.asarray(self.in_need_by_territory(need) / self._population.territory_sizes)

    def associations(self) -> list[AssociationProfile]:
        """The city's associations, sorted by name."""
        return [self._associations[name] for name in sorted(self._associations)]

    def association(self, name: str) -> AssociationProfile | None:
        """An association by name, or None."""
        return self._associations.get(name)

    def action(self, index: int) -> Action:
        """A launched action, by index."""
        return self._actions[index]

    # ------------------------------------------------------------------ what funders do
    def fund(
        self,
        spec: ActionSpec,
        monthly_eur: float,
        until_month: int,
        kind: str,
        *,
        design: str,
        payer: str = CITY,
        baseline_bias: float = 1.0,
        stage: str = "",
        territory: int = -1,
        works: bool | None = None,
        evaluation_cost_eur: float = 0.0,
    ) -> Action:
        """Launch an action evaluated with ``design`` and pay its association ``monthly_eur``
        from its start to ``until_month`` (committed against the budget at once)."""
        months = until_month - spec.start_month + 1
        Ledger.check_payment(payer, spec.association, kind, monthly_eur)
        self.state.commit(monthly_eur * months)
        action = self.launch(spec, design, baseline_bias)
        self.state.funded[action.index] = FundedAction(
            action=action.index,
            monthly_eur=monthly_eur,
            from_month=spec.start_month,
            until_month=until_month,
            kind=kind,
            payer=payer,
            payee=spec.association,
            stage=stage,
            territory=territory,
            works=works,
            evaluation_cost_eur=evaluation_cost_eur,
            need=action.need.key,
        )
        return action

    def launch(self, spec: ActionSpec, design: str, baseline_bias: float = 1.0) -> Action:
        """Launch an action (unpaid by this call) and attach its evaluator."""
        action = self._launch(spec)
        sampler = None
        if design == "comparison_group":
            sampler = ComparisonSampler(
                self.observed_barrier(),
                self.comparison_stream(),
                Cohort(self._comparisons, action.index),
            )
            action.watchers.append(sampler)
        self.state.evaluators[action.index] = Evaluator(design, baseline_bias, sampler)
        return action

    def pay_funded_actions(self) -> None:
        """Pay this month's instalment of every funded action (a fixed volume, whatever the
        results)."""
        month = self.month
        # Checked once, when the action was funded (``fund``).
        self.state.ledger.pay_instalments(
            month,
            [g for g in self.state.funded.values() if g.from_month <= month <= g.until_month],
        )

    def evaluate(
        self,
        index: int,
        month: int,
        need: str | None = None,
        window: tuple[int, int] | None = None,
    ) -> EvaluationRecord:
        """Evaluate an action at ``month`` with its evaluator, and record the evaluation.

        With ``need`` (another need's outcome among the same participants, as a contract's
        rate card pays for) or ``window`` (only those who joined in months [from, before): a
        contract's cohort), the evaluation is returned without being recorded: the recorded
        evaluations are each action's own, on everyone it enrolled.
        """
        result = self.state.evaluators[index].evaluate(
            self._actions[index],
            self._population,
            month,
            None if need is None else need_of(need),
            window,
        )
        record = EvaluationRecord(action=index, **result.to_dict())
        if need is None and window is None:
            self.state.evaluations.append(record)
        return record

    def pay_evaluation(
        self, cost_eur: float, month: int, payer: str = CITY, need: str = ""
    ) -> None:
        """Pay a reserved evaluation to the evaluator (of an action answering ``need``, or of
        several when it is "")."""
        self.state.ledger.pay(month, payer, EVALUATOR, EVALUATION, cost_eur, need)

    def comparison_stream(self) -> np.random.Generator:
        """The run's stream of comparison samples, shared by every comparison-group evaluator
        (they draw together, once a month)."""
        if self._comparison_stream is None:
            self._comparison_stream = stream(self.seed, Stream.COMPARISON)
        return self._comparison_stream

    def observed_barrier(self) -> np.ndarray:
        """The barrier score as evaluators measure it (noisy, fixed per resident)."""
        if self._observed_barrier is None:
            self._observed_barrier = observed_barrier(self._population)
        return self._observed_barrier
