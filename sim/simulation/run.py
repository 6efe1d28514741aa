"""Run one simulation and turn it into plain, picklable data (``sim.simulation.output.RunOutput``).

Everything downstream (metrics, the results store, analysis, reports) reads ``RunOutput``s and
data frames, never the model, so workers can send them to the parent process.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.delivery.associations import AssociationProfile
from sim.funding.base import Mechanism
from sim.simulation.model import CityModel
from sim.simulation.output import ActionRecord, RunOutput, resident_fields
from sim.simulation.start import CityStart
from sim.world.params import ModelParams
from sim.world.territory import City


def simulate(
    city: City | str,
    mechanism: Mechanism,
    seed: int,
    months: int,
    params: ModelParams | None = None,
    arm: str | None = None,
    associations: Sequence[AssociationProfile] | None = None,
    follow_up_months: int = 0,
    city_start: CityStart | None = None,
) -> RunOutput:
    """Build the city (or copy ``city_start``, built for the same city, params and seed), run
    the mechanism for ``months`` of delivery and ``follow_up_months`` after them (outcomes go on,
    nobody joins), and collect the output."""
    model = CityModel(
        city,
        seed=seed,
        months=months,
        follow_up_months=follow_up_months,
        params=params,
        mechanism=mechanism,
        associations=associations,
        resident_agents=False,
        city_start=city_start,
    )
    model.run()
    return collect_output(model, arm or mechanism.name)


def collect_output(model: CityModel, arm: str) -> RunOutput:
    """Plain data of a finished run."""
    outcomes = model.resident_outcomes()
    funding = model.funding
    return RunOutput(
        arm=arm,
        mechanism=funding.mechanism,
        seed=model.seed,
        months=model.month,
        discount_rate_per_year=model.params.discount_rate_per_year,
        territory_ids=[t.territory_id for t in model.city.territories],
        territory_qpv=model.population.qpv.copy(),
        series={k: v[: model.month + 1].copy() for k, v in model.series.items()},
        territory_unemployment=model.territory_unemployment[: model.month + 1].copy(),
        residents={k: np.array(outcomes[k], copy=True) for k in resident_fields()},
        cash_flows=funding.ledger.to_records(),
        actions=[_action_record(model, a.index) for a in model.actions],
        evaluations=list(funding.evaluations),
        decisions=list(funding.decisions),
        proposals=list(funding.proposals),
        contract=funding.contract,
        budget_limit_eur=funding.budget_limit_eur,
        follow_up_months=model.follow_up_months,
    )


def _action_record(model: CityModel, index: int) -> ActionRecord:
    action = model.actions[index]
    spec = action.spec
    grant = model.funding.funded.get(index)
    return ActionRecord(
        action=index,
        name=action.name,
        association=spec.association,
        specialty=spec.specialty,
        territories=spec.territories,
        places=spec.places,
        true_effect=spec.true_effect,
        start_month=spec.start_month,
        end_month=spec.end_month,
        participants=len(action.enrolled),
        participant_months=action.participant_months,
        completions=action.completions,
        dropouts=action.dropouts,
        stage=grant.stage if grant is not None else "",
    )
