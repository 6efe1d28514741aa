"""The city model: a Mesa model wiring territories, residents, associations, services and a
funding programme, one month per step.

Example:
    >>> from sim import CityModel
    >>> model = CityModel("demo", seed=1, months=12)
    >>> model.run()
    >>> round(model.population.unemployment_rate(), 2) > 0
    True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.delivery import word_of_mouth
from sim.delivery.actions import Action, ActionSpec, Enrolment
from sim.delivery.agents import Association as AssociationAgent
from sim.delivery.agents import PublicService, Resident
from sim.delivery.associations import AssociationProfile
from sim.delivery.delivery import Delivery
from sim.delivery.needs import all_needs, outcome_arrays
from sim.errors import UserInputError
from sim.funding.seam import FundingContext, Programme
from sim.funding.state import FundingState
from sim.simulation.start import CityStart, build_city_start
from sim.world.contacts import AwareContactCounts
from sim.world.params import FRENCH_NONE, ModelParams
from sim.world.population import NOT_YET, MonthlyDraws, check_durations_fit
from sim.world.rng import Stream, stream, stream_seed
from sim.world.runs import territory_runs
from sim.world.territory import City, load_city

SERIES = (
    "unemployment_rate",
    "long_term_unemployed",
    "rsa_eligible",
    "rsa_claimed",
    "non_take_up",
    "french_a1_plus_initial_non_speakers",
    "enrolled",
    "public_cost_eur",
    "sustained_jobs_cumulative",
)


class CityModel(mesa.Model):  # type: ignore[misc]
    """A city of micro-territories, its residents, associations and public services.

    Example:
        >>> from sim import ActionSpec, CityModel
        >>> action = ActionSpec(association="A01-1", specialty="employment_support",
        ...                     territories=(0, 1), places=100, duration_months=9,
        ...                     true_effect=0.02, cost_eur_per_participant_month=450.0)
        >>> model = CityModel("demo", seed=1, months=24, actions=[action])
        >>> model.run()
        >>> int(model.series["enrolled"][-1]) > 0
        True

    Attributes:
        city: the ``City`` (territories and their diagnosis).
        population: the residents' arrays (``sim.world.population.Population``).
        enrolment: who is aware of, enrolled in or served by which action.
        actions: the running ``Action``s; ``associations`` and ``services`` are the Mesa agents.
        funding: the run's funding state (ledger, budget, decisions, evaluations), written by
            the mechanism through ``funding_context``, the only view of the city it gets.
        series: monthly city series (unemployment rate, RSA claimers, enrolled, public cost...).
        territory_unemployment: unemployment rate per month (rows) and territory (columns).
        month: the last simulated month (0 before ``run``; Mesa's ``steps`` counts the same).

    Args:
        city: a built-in city name (``"demo"``, ``"bordeaux"``), a CSV path, or a ``City``.
        seed: the run's seed; every random stream derives from it.
        months: the delivery horizon: mechanisms see it, and nobody joins an action after it.
        follow_up_months: months simulated after the delivery horizon, so that outcomes of late
            participants can happen (``run()`` simulates ``months + follow_up_months``;
            ``model.months`` is that total).
        params: resident dynamics parameters (defaults: ``ModelParams()``).
        actions: actions launched at the start (mechanisms can launch more while running).
        mechanism: a funding mechanism (see :mod:`sim.funding`), called each month; its per-run
            state lives on ``model.funding``.
        associations: association profiles (default: generated from the seed).
        resident_agents: create one ``Resident`` Mesa agent per row (turn off in batches, where
            nobody queries them, to save a second per 260,000 residents).
        city_start: residents, network and associations built beforehand for this city, params
            and seed (``sim.simulation.start.build_city_start``), so that the runs of a
            replication build them once; the model runs its own copy of the residents.
    """

    def __init__(
        self,
        city: City | str | Path = "demo",
        *,
        seed: int = 0,
        months: int = 60,
        follow_up_months: int = 0,
        params: ModelParams | None = None,
        actions: Sequence[ActionSpec] = (),
        mechanism: Programme | None = None,
        associations: Sequence[AssociationProfile] | None = None,
        resident_agents: bool = True,
        city_start: CityStart | None = None,
    ) -> None:
        """Build the city, its residents, associations and services (see the class docstring)."""
        super().__init__(rng=int(stream_seed(seed, Stream.MESA).generate_state(1)[0]))
        self.city = city if isinstance(city, City) else load_city(city)
        self.seed = seed
        if follow_up_months < 0:
            raise UserInputError(f"follow_up_months: expected 0 or more, got {follow_up_months}")
        self.delivery_months = months
        self.follow_up_months = follow_up_months
        months = months + follow_up_months
        self.months = months
        self.params = params or ModelParams()
        check_durations_fit(self.params, months)
        start = city_start or build_city_start(self.city, self.params, seed)
        start.check_fits(self.city, self.params, seed)
        self.population = start.new_population()
        self.territory_graph = self.city.graph()
        self.social_network = start.social_network
        # Each need's count of aware contacts, kept from month to month (awareness only grows).
        self._aware_contacts = AwareContactCounts(self.social_network, offers=len(all_needs()))
        self.enrolment = Enrolment(self.population.n)
        self.delivery = Delivery(self.population, self.enrolment, stream(seed, Stream.DELIVERY))
        self.actions: list[Action] = self.delivery.actions
        profiles = associations if associations is not None else start.associations
        self.associations = {p.name: AssociationAgent(self, p) for p in profiles}
        self.association_profiles = {p.name: p for p in profiles}
        everywhere = tuple(range(self.city.size))
        self.services = [
            PublicService(self, "employment service", everywhere, ("employment_support",)),
            PublicService(
                self,
                "family allowance fund (CAF)",
                everywhere,
                ("access_to_rights",),
                raises_rights_awareness=True,
            ),
            PublicService(self, "social centres", everywhere, ("french_course",)),
        ]
        if resident_agents:
            for row in range(self.population.n):
                Resident(self, row)
        self.series = {name: np.zeros(months + 1) for name in SERIES}
        self.territory_unemployment = np.zeros((months + 1, self.city.size))
        self.mechanism = mechanism
        self.funding = FundingState()
        self.funding_context = FundingContext(
            seed=seed,
            months=self.delivery_months,
            follow_up_months=follow_up_months,
            params=self.params,
            population=self.population,
            territory_graph=self.territory_graph,
            associations=self.association_profiles,
            actions=self.actions,
            launch=self.launch_action,
            clock=lambda: self.month,
            state=self.funding,
        )
        self._cost_this_month = 0.0
        self._initial_non_speakers = np.flatnonzero(self.population.initial_french == FRENCH_NONE)
        self._record()
        for spec in actions:
            self.launch_action(spec)
        if mechanism is not None:
            mechanism.validate()  # the model is the mechanism's boundary: checked once, here
            mechanism.start(self.funding_context)

    # ------------------------------------------------------------------ programme API
    def launch_action(self, spec: ActionSpec) -> Action:
        """Start an action delivered by one of the city's associations."""
        if spec.association not in self.associations:
            profile = AssociationProfile(
                name=spec.association,
                specialty=spec.specialty,
                home_territories=spec.territories,
                capacity=spec.places,
                cost_eur_per_participant_month=spec.cost_eur_per_participant_month,
                effectiveness=1.0,
                partners=(),
                established=False,
            )
            self.associations[spec.association] = AssociationAgent(self, profile)
            self.association_profiles[spec.association] = profile
        index = len(self.actions)
        action = Action(index, spec, self.seed)
        action.enrol_until = self.delivery_months
        self.delivery.add(action)
        self.associations[spec.association].actions.append(action)
        return action

    def enrolling_offers(self) -> np.ndarray:
        """Number of enrolling actions in each territory (rows) and specialty (columns),
        read-only (``Delivery.offers``)."""
        return self.delivery.offers(self.month)

    # ------------------------------------------------------------------ the month
    @property
    def month(self) -> int:
        """The last simulated month: Mesa's step count (0 before the first step)."""
        return int(self.steps)

    def step(self) -> None:
        """Advance the city by one month (Mesa counts it in ``steps`` before calling this)."""
        pop = self.population
        draws = pop.draw(self.month)
        if self.mechanism is not None:
            self.mechanism.step(self.funding_context)
        offers = self.enrolling_offers()
        # Per need, whether each territory has an offer (None for a need offered nowhere).
        offered = [here if here.any() else None for here in offers.T > 0]
        met = pop.met_by_services(draws)
        # Per need, whether the territory of each resident met has an offer: residents are
        # grouped by territory, so a territory's flag reaches those met there by repeating it
        # over their run, without a city-wide array.
        runs = territory_runs(met, pop.territory_bounds())
        met_offered = [None if here is None else np.repeat(here, runs) for here in offered]
        for service in self.services:
            service.meet(met, met_offered)
        self._spread_awareness(draws, offers, offered)
        if self.actions:
            self.delivery.deliver(self.month)
            self.delivery.apply_effects(self.month)
        found = pop.labour_step(self.month, draws)
        pop.rsa_step(self.month, draws, found)
        pop.french_step(self.month, draws)
        self._cost_this_month = pop.accrue_public_cost()
        self._record()
        if self.month >= self.months:
            self.running = False
            if self.mechanism is not None:
                self.mechanism.finish(self.funding_context)

    def run(self) -> None:
        """Run every remaining month of the horizon."""
        with objects_frozen():
            while self.month < self.months:
                self.step()

    def _spread_awareness(
        self, draws: MonthlyDraws, offers: np.ndarray, offered: list[np.ndarray | None]
    ) -> None:
        """Residents in need hear of an offer of their territory through the outreach of each
        action offering it (``offers`` counts them; ``offered``: per need, whether each
        territory has one, None if none has), and by word of mouth from aware contacts."""
        pop, enr, p = self.population, self.enrolment, self.params
        if all(here is None for here in offered):
            return
        bounds = pop.territory_bounds()
        counts = self._aware_contacts
        told = [enr.newly_aware(s) for s in range(len(offered))]
        counts.catch_up(enr.aware, told)
        for s, offered_here in enumerate(offered):
            if offered_here is None:
                continue
            in_need = enr.need_rows(pop, s, self.month)
            listening = word_of_mouth.listening(in_need, enr.aware[s], offered_here, bounds)
            if len(listening) == 0:
                continue
            contacts = counts.kept_counts(s, listening)
            # Cells as wide as the most ties anyone has: one table for every month with the
            # same offers, whatever the listeners' counts.
            thresholds = word_of_mouth.hearing_thresholds(
                p.word_of_mouth_per_aware_contact,
                p.association_outreach_per_month,
                tuple(offers[:, s].tolist()),
                counts.most_ties,
            )[word_of_mouth.cells(listening, contacts, bounds, counts.most_ties + 1)]
            hears = draws.diffusion(s, listening) < thresholds
            enr.make_aware(s, listening.compress(hears))

    def _record(self) -> None:
        pop, m, s = self.population, self.month, self.series
        counts = pop.monthly_counts()
        s["unemployment_rate"][m] = counts.unemployed / pop.n
        s["long_term_unemployed"][m] = counts.long_term_unemployed
        s["rsa_eligible"][m] = counts.rsa_eligible
        s["rsa_claimed"][m] = counts.rsa_claimed
        s["non_take_up"][m] = 1.0 - s["rsa_claimed"][m] / max(s["rsa_eligible"][m], 1.0)
        s["french_a1_plus_initial_non_speakers"][m] = np.count_nonzero(
            pop.french[self._initial_non_speakers] > FRENCH_NONE
        ) / max(len(self._initial_non_speakers), 1)
        s["enrolled"][m] = len(self.delivery.enrolled_now())
        s["public_cost_eur"][m] = self._cost_this_month
        s["sustained_jobs_cumulative"][m] = counts.sustained_jobs
        self.territory_unemployment[m] = counts.unemployed_by_territory / pop.territory_sizes

    # ------------------------------------------------------------------ results
    def resident_outcomes(self) -> dict[str, np.ndarray]:
        """Per-resident outcomes of the run, the material for truth metrics against a twin."""
        pop, enr = self.population, self.enrolment
        return {
            "territory": pop.territory,
            "barrier": pop.barrier,
            "initial_employed": pop.initial_employed,
            "initial_rsa_eligible": pop.initial_rsa_eligible,
            "initial_french": pop.initial_french,
            "job_found_month": pop.job_found_month,
            "sustained_job_month": pop.sustained_job_month,
            "last_sustained_job_month": pop.last_sustained_job_month,
            "sustained_job_count": pop.sustained_job_count,
            "a1_month": pop.a1_month,
            "claim_month": pop.claim_month,
            "months_employed": pop.months_employed,
            "public_cost_eur": pop.public_cost_eur,
            "employed": pop.employed,
            "first_action": enr.first_action,
            "first_enrol_month": enr.first_enrol_month,
            "first_group": enr.first_group,
            **outcome_arrays(pop),
        }

    def summary(self) -> dict[str, Any]:
        """Headline figures of the run, for people."""
        pop, s = self.population, self.series
        return {
            "city": self.city.name,
            "residents": pop.n,
            "territories": self.city.size,
            "months": self.month,
            "unemployment_rate_start": float(s["unemployment_rate"][0]),
            "unemployment_rate_end": float(s["unemployment_rate"][self.month]),
            "rsa_claimers_end": int(s["rsa_claimed"][self.month]),
            "rsa_non_take_up_end": float(s["non_take_up"][self.month]),
            "sustained_jobs": int(s["sustained_jobs_cumulative"][self.month]),
            "reached_a1": int((pop.a1_month != NOT_YET).sum()),
            "public_cost_eur": float(s["public_cost_eur"][1 : self.month + 1].sum()),
            "actions": len(self.actions),
            "participants": int((self.enrolment.first_action >= 0).sum()),
        }


#: Objects frozen when this module was loaded: CPython 3.12's own (375 at start-up), none on
#: 3.13, unless the program froze some before.
_FROZEN_BEFORE_SIM = gc.get_freeze_count()


@contextmanager
def objects_frozen() -> Iterator[None]:
    """Leave the objects that exist now (the modules, the city, the built model) out of the
    garbage collector's full passes while the block runs: a run's month loop makes few objects,
    but a full pass over the ~100,000 a loaded process holds costs 40-60 ms, about 3 % of a
    Bordeaux-scale run. They are handed back to the collector afterwards, so nothing frozen
    can leak. When objects are frozen already (a batch worker freezes what it has loaded once,
    for all its runs), the freeze is its owner's: it is left as it is, since unfreezing gives
    back every frozen object, the owner's too. A freeze older than this module is not one to
    keep: CPython 3.12 starts with a few hundred objects of its own frozen, and leaving that
    freeze alone would leave every run's objects in the full passes. So a program that freezes
    its own objects before it first uses ``CityModel`` gets them back after the run (a cost of
    speed only, never of results); one that freezes after keeps its freeze."""
    if gc.get_freeze_count() > _FROZEN_BEFORE_SIM:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
