"""A month's register samples, drawn for every comparison sampler at once, are what each
sampler drawing from its own register in turn gives."""

from __future__ import annotations

import functools

import numpy as np
from helpers import toy_action
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.delivery.actions import Action, Enrolment
from sim.delivery.needs import all_needs
from sim.funding.evaluation import SamplerFacts, _register_samples
from sim.world.params import ModelParams
from sim.world.population import Population
from sim.world.territory import generate_city

TERRITORIES = 5


@functools.cache
def _city() -> tuple[Population, Enrolment, Action]:
    pop = Population(generate_city(TERRITORIES, 6_000, seed=3, qpv_share=0.5), ModelParams(), 4)
    enr = Enrolment(pop.n)
    # Some residents already served: the registers leave them out.
    served = np.random.default_rng(1).random(enr.participated.shape) < 0.3
    enr.participated[served] = True
    return pop, enr, Action(0, toy_action(), 4)


def _one_by_one(
    facts: list[SamplerFacts], sizes: np.ndarray, seed: int, pop: Population, enr: Enrolment
) -> tuple[np.ndarray, np.ndarray]:
    """Each sampler's register (its territories' residents in need, not yet served, in
    territory then resident order), taken whole when not larger than its size, else sampled:
    the floor of as many uniforms (the stream's next ones) times its length, each once."""
    rng = np.random.default_rng(seed)
    rows, group = [], []
    for index, f in enumerate(facts):
        scan = enr.in_need_anywhere(pop, f.specialty, 1)
        register = np.concatenate([scan[pop.territory[scan] == t] for t in f.territories])
        if len(register) > sizes[index]:
            drawn = np.floor(rng.random(sizes[index]) * len(register)).astype(np.int64)
            register = register[np.unique(drawn)]
        rows.append(register)
        group.append(np.full(len(register), index))
    return np.concatenate(rows), np.concatenate(group)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(all_needs()) - 1),
            st.lists(st.integers(0, TERRITORIES - 1), min_size=1, max_size=3, unique=True),
            st.sampled_from([0, 1, 7, 40, 300, 5_000]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
)
def test_register_samples_are_each_samplers_own_draws_in_turn(
    samplers: list[tuple[int, list[int], int]], seed: int
) -> None:
    pop, enr, action = _city()
    facts = [
        SamplerFacts(action, np.array(sorted(t), dtype=np.int64), s, None, False)
        for s, t, _ in samplers
    ]
    sizes = np.array([size for _, _, size in samplers], dtype=np.int64)
    sample = _register_samples(facts, sizes, np.random.default_rng(seed), pop, enr, 1)
    rows, group = _one_by_one(facts, sizes, seed, pop, enr)
    assert np.array_equal(sample.rows, rows)
    assert np.array_equal(sample.group, group)
