"""The city model: common random numbers, programme effects, and Mesa's agent API on residents."""

from __future__ import annotations

import gc

import mesa
import numpy as np
import pytest
from helpers import toy_action

import sim.simulation.model as model_module
from sim.delivery.actions import ActionSpec
from sim.delivery.agents import Association, PublicService, Resident
from sim.delivery.needs import all_needs
from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel
from sim.world.params import ModelParams
from sim.world.territory import City

TRAJECTORY = (
    "job_found_month",
    "sustained_job_month",
    "months_employed",
    "a1_month",
    "claim_month",
    "public_cost_eur",
    "employed",
)


def _employment_action(effect: float) -> ActionSpec:
    return ActionSpec(
        association="test-assoc",
        specialty="employment_support",
        territories=(0, 1, 2, 3),
        places=400,
        duration_months=9,
        true_effect=effect,
        cost_eur_per_participant_month=400.0,
        end_month=36,
    )


def _run(city: City, seed: int, actions: list[ActionSpec], months: int = 48) -> CityModel:
    model = CityModel(city, seed=seed, months=months, actions=actions, resident_agents=False)
    model.run()
    return model


def test_same_seed_same_results(demo_city: City) -> None:
    """Two runs with one seed are identical; another seed differs."""
    a, b = _run(demo_city, 4, [], 24), _run(demo_city, 4, [], 24)
    for key in TRAJECTORY:
        assert np.array_equal(a.resident_outcomes()[key], b.resident_outcomes()[key])
    c = _run(demo_city, 5, [], 24)
    assert not np.array_equal(a.population.employed, c.population.employed)


def test_zero_effect_action_leaves_every_trajectory_unchanged(demo_city: City) -> None:
    """An action of zero effect enrols residents but every trajectory equals the run without it."""
    twin = _run(demo_city, 7, [])
    arm = _run(demo_city, 7, [_employment_action(0.0)])
    assert (arm.enrolment.first_action >= 0).sum() > 500
    for key in TRAJECTORY:
        assert np.array_equal(arm.resident_outcomes()[key], twin.resident_outcomes()[key]), key


def test_effective_action_helps_its_participants(demo_city: City) -> None:
    """With the same seed, participants of an effective action hold a 6-month job more often than
    the same residents in the run without it (paired difference above 4 standard errors)."""
    twin = _run(demo_city, 7, [])
    arm = _run(demo_city, 7, [_employment_action(0.03)])
    participants = arm.enrolment.first_action >= 0
    with_action = arm.population.sustained_job_month[participants] >= 0
    without = twin.population.sustained_job_month[participants] >= 0
    diff = with_action.astype(float) - without.astype(float)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > 4 * se, (diff.mean(), se)


def test_displacement_costs_untreated_neighbours_jobs(demo_city: City) -> None:
    """Without displacement, non-participants live exactly as in the twin; with it, they lose
    employment months in the action's territories (some of their jobs go to participants)."""
    twin = _run(demo_city, 8, [])

    def months_lost_by_non_participants(share: float) -> np.ndarray:
        model = CityModel(
            demo_city,
            seed=8,
            months=48,
            actions=[_employment_action(0.03)],
            params=ModelParams(displacement_share=share),
            resident_agents=False,
        )
        model.run()
        others = model.enrolment.first_action < 0
        return np.asarray(
            twin.population.months_employed[others].astype(int)
            - model.population.months_employed[others].astype(int)
        )

    assert not months_lost_by_non_participants(0.0).any()
    assert months_lost_by_non_participants(0.3).sum() > 0


def test_residents_are_mesa_agents_backed_by_arrays(small_city: City) -> None:
    """model.agents, select, agg, groupby and DataCollector work on resident views."""
    model = CityModel(small_city, seed=1, months=3)
    residents = model.agents_by_type[Resident]
    assert len(residents) == model.population.n
    collector = mesa.DataCollector(
        model_reporters={"unemployment": lambda m: m.population.unemployment_rate()},
        agenttype_reporters={Resident: {"employed": "employed"}},
    )
    for _ in range(3):
        model.step()
        collector.collect(model)
    unemployed = residents.select(lambda r: not r.employed)
    assert len(unemployed) == int((~model.population.employed).sum())
    assert residents.agg("barrier", np.mean) == pytest.approx(
        float(model.population.barrier.mean()), rel=1e-5
    )
    by_territory = residents.groupby("territory").count()
    assert by_territory == {t: s.stop - s.start for t, s in enumerate(model.population.slices)}
    frame = collector.get_model_vars_dataframe()
    assert len(frame) == 3
    assert frame["unemployment"].iloc[-1] == pytest.approx(model.population.unemployment_rate())
    agents = collector.get_agenttype_vars_dataframe(Resident)
    assert len(agents) == 3 * model.population.n
    assert agents["employed"].groupby(level=0).mean().iloc[-1] == pytest.approx(
        1 - model.population.unemployment_rate()
    )
    assert len(model.agents_by_type[Association]) == len(model.associations)
    assert len(model.agents_by_type[PublicService]) == 3


def test_services_refer_residents_to_offers(small_city: City) -> None:
    """Public services make residents in need aware of active offers, and only where offered."""
    model = CityModel(
        small_city,
        seed=2,
        months=6,
        resident_agents=False,
        actions=[
            ActionSpec(
                association="x",
                specialty="employment_support",
                territories=(0,),
                places=0,
                duration_months=6,
                true_effect=0.0,
                cost_eur_per_participant_month=1.0,
            )
        ],
    )
    model.run()
    aware = model.enrolment.aware[0]
    inside = model.population.slices[0]
    assert aware[inside].sum() > 0
    assert aware.sum() == aware[inside].sum()


def test_docstring_example_runs() -> None:
    """The example in the model module's docstring runs as written."""
    import doctest

    import sim.simulation.model

    assert doctest.testmod(sim.simulation.model, raise_on_error=True).attempted >= 1


def test_run_freezes_the_existing_objects_only_while_it_runs() -> None:
    """The month loop runs with the objects that existed before it out of the collector's full
    passes, and hands them back afterwards, also when a month fails. It starts as a process
    does: with the interpreter's own freeze, if any (CPython 3.12 freezes a few hundred
    objects of its own at start-up; a run must freeze its objects all the same)."""
    assert gc.get_freeze_count() <= model_module._FROZEN_BEFORE_SIM  # nothing frozen since
    started_with = gc.get_freeze_count()
    frozen_during: list[int] = []
    model = CityModel("demo", seed=1, months=2, resident_agents=False)
    step = model.step

    def watched_step() -> None:
        frozen_during.append(gc.get_freeze_count())
        step()

    model.step = watched_step  # type: ignore[method-assign]
    model.run()
    assert frozen_during
    assert min(frozen_during) > started_with + 1000  # the city and the model, not a few
    assert gc.get_freeze_count() == 0

    failing = CityModel("demo", seed=1, months=2, resident_agents=False)

    def failing_step() -> None:
        raise RuntimeError("a month failed")

    failing.step = failing_step  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        failing.run()
    assert gc.get_freeze_count() == 0


def test_services_refer_whom_the_plain_expression_refers(small_city: City) -> None:
    """A service meeting residents refers those met in a territory with an offer and in need
    (looked up only there): the residents of the plain expression over everyone met."""
    model = CityModel(small_city, seed=4, months=6, resident_agents=False)
    for _ in range(3):
        model.step()
    pop, enr = model.population, model.enrolment
    rng = np.random.default_rng(0)
    met = np.flatnonzero(rng.random(pop.n) < 0.3)
    with_offer = rng.random(pop.n_territories) < 0.5
    offered: list[np.ndarray | None] = [pop.per_resident(with_offer)[met] for _ in range(3)]
    # A service covering some territories only meets the residents met there.
    PublicService(model, "partial", (0, pop.n_territories - 1), ("employment_support",))
    for service in model.agents_by_type[PublicService]:
        for s in service.refers_to:
            enr.newly_aware(s)  # clear what earlier months told
            need = np.asarray(all_needs()[s].in_need(pop, slice(None)))
            here = pop.per_resident(with_offer)
            expected = met[service.covers[met] & here[met] & need[met]]
            service.meet(met, offered)
            np.testing.assert_array_equal(enr.newly_aware(s), expected)


def test_run_leaves_a_freeze_it_did_not_make() -> None:
    """A batch worker freezes what it has loaded once, for all its runs: a run keeps that
    freeze instead of giving every frozen object back when it ends."""
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        CityModel("demo", seed=1, months=1, resident_agents=False).run()
        # Frozen objects freed during the run leave the count: the freeze is kept if most stay.
        assert gc.get_freeze_count() > 0.9 * before > 0
    finally:
        gc.unfreeze()


def test_kept_offers_are_the_delivery_offers_month_after_month(small_city: City) -> None:
    """The offers table is kept while the same actions are enrolling: each month (pilots
    launched by calls and closing, an action launched between two months, follow-up months
    when nothing enrols), it is the count of the actions enrolling, and nobody may change it."""
    mechanism = make_mechanism("call_for_projects", budget_eur_per_year=600_000.0, pilot_months=12)
    model = CityModel(small_city, seed=3, months=30, follow_up_months=6, mechanism=mechanism)
    launched = toy_action(
        association="launched between months",
        specialty="french_course",
        places=20,
        duration_months=3,
    )
    changes, previous = 0, None
    while model.running:
        model.step()
        if model.month == 10:
            model.launch_action(launched)
        offers = model.enrolling_offers()
        enrolling = model.delivery.enrolling(model.month)
        np.testing.assert_array_equal(offers, model.delivery._count_offers(enrolling))
        assert not offers.flags.writeable
        changes += previous is not None and not np.array_equal(previous, offers)
        previous = offers
    assert changes >= 3, "the case is not moot"


def test_aware_contact_counts_follow_awareness_however_written(small_city: City) -> None:
    """At each catch-up of a run with offers, every resident's kept count of aware contacts
    for each need is the row product of the network with that need's awareness, also when
    awareness is written between months other than through the enrolment (a campaign seeded
    by hand): the aware are counted, not only those the enrolment reports."""
    mechanism = make_mechanism("planned", budget_eur_per_year=3_000_000.0)
    model = CityModel(small_city, seed=2, months=18, mechanism=mechanism, resident_agents=False)
    counts, network = model._aware_contacts, model.social_network
    everyone = np.arange(model.population.n)
    catch_up = counts.catch_up
    aware_counted = []

    def checked_catch_up(aware: np.ndarray, told: list[np.ndarray] | None = None) -> None:
        catch_up(aware, told)
        for need, need_aware in enumerate(aware):
            expected = network @ need_aware.astype(np.float32)
            np.testing.assert_array_equal(counts.kept_counts(need, everyone), expected)
        aware_counted.append(int(np.count_nonzero(aware)))

    counts.catch_up = checked_catch_up  # type: ignore[method-assign]
    while model.running:
        model.step()
        if model.month == 6:  # a campaign: residents made aware of every need by hand
            model.enrolment.aware[:, : model.population.n // 10] = True
    assert len(aware_counted) >= 12
    assert aware_counted[-1] > aware_counted[0] > 0
