"""What the seam tells funders, computed the fast way, against the plain way: every territory's
share in need from one pass, and the recorded evaluations."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.needs import all_needs
from sim.funding.records import EvaluationRecord
from sim.funding.registry import make_mechanism
from sim.simulation.model import CityModel
from sim.world.params import FRENCH_A2


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_every_territorys_share_in_need_is_the_share_of_that_territory(
    seed: int, employed: float, below_a2: float
) -> None:
    model = CityModel("demo", seed=1, months=12, resident_agents=False)
    pop, city = model.population, model.funding_context
    rng = np.random.default_rng(seed)
    pop.employed[:] = rng.random(pop.n) < employed
    pop.rsa_eligible[:] = ~pop.employed & (rng.random(pop.n) < 0.5)
    pop.rsa_claimed[:] = pop.rsa_eligible & (rng.random(pop.n) < 0.5)
    pop.french[:] = np.where(rng.random(pop.n) < below_a2, FRENCH_A2 - 1, FRENCH_A2)
    for need in all_needs():
        in_need = need.in_need(pop, slice(None))
        plain = np.bincount(pop.territory[in_need], minlength=pop.n_territories)
        assert np.array_equal(city.in_need_by_territory(need), plain)
        shares = city.shares_in_need(need)
        assert len(shares) == pop.n_territories
        for territory, share in enumerate(shares.tolist()):
            # The same bits: both divide the whole count by the territory's size.
            assert share == city.share_in_need(need, territory)
            assert not math.isnan(share)


def test_a_recorded_evaluation_is_the_results_plain_record() -> None:
    model = CityModel(
        "demo",
        seed=3,
        months=40,
        mechanism=make_mechanism("call_for_projects", pilot_months=12),
        resident_agents=False,
    )
    model.run()
    city = model.funding_context
    assert model.funding.evaluations
    for recorded in model.funding.evaluations[:5]:
        result = city.state.evaluators[recorded.action].evaluate(
            city.action(recorded.action), model.population, recorded.month, None, None
        )
        assert recorded == EvaluationRecord(action=recorded.action, **result.to_dict())
