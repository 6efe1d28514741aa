"""What a scenario's runs need, checked before any run: magnitudes, budgets, operators, memory.

The type checks of :mod:`sim.experiments.scenario` say whether a value is of the right kind; this
module says whether a run could use it: sizes that fit in the simulator's integer types and in
memory, amounts that keep sums finite, a budget that covers what a mechanism commits first, an
operator that exists in every replication. Each check costs at most a pass over the city or over
the replications, so validation time grows linearly with what the scenario asks for.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import UserInputError, shorten
from sim.world.params import ModelParams
from sim.world.territory import City

#: The longest horizon a run may simulate (months are stored as 16-bit integers).
MAX_MONTHS = 600
#: Any amount of euros: large enough for a country's budget, small enough that sums over
#: millions of residents and hundreds of months stay finite.
MAX_EUR = 1e12
#: Residents of one territory and of a whole city.
MAX_TERRITORY_RESIDENTS = 50_000_000
#: Bytes a run needs per resident besides its social ties (arrays of the population, enrolment
#: and the month's draws; measured with tracemalloc: 160 B; plus the residents as built, which a
#: worker keeps for the other runs of the replication: 95 B) and per tie of the social network
#: (sparse matrix and its construction: 52 B), plus the interpreter and libraries (150 MiB).
BYTES_PER_RESIDENT = 255
BYTES_PER_TIE = 52
BASE_BYTES = 150 * 2**20
DEFAULT_DEGREE = ModelParams.network_degree
DEFAULT_CROSS_TIES = ModelParams.cross_territory_ties_per_resident

#: Bounds of the model parameters that are not probabilities (those are checked in [0, 1] by
#: ``ModelParams``): (low, high).
MODEL_PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "long_term_months": (1, 120),
    "unemployment_insurance_months": (0, MAX_MONTHS),
    "effect_persistence_months": (0, MAX_MONTHS),
    "network_degree": (0, 100),
    "cross_territory_ties_per_resident": (0, 100),
    "barrier_hazard_slope": (0, 20),
    "discount_rate_per_year": (0, 1),
}
#: Bounds of mechanism parameters by name (any mechanism); other numbers get ``GENERIC_BOUND``.
MECHANISM_PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "plan_years": (1, 50),
    "places": (1, MAX_TERRITORY_RESIDENTS),
    "pilot_places": (1, MAX_TERRITORY_RESIDENTS),
    "effect_factor": (0, 200),
    "works_effect_factor": (0, 200),
    "scale_factor": (1, 100),
    "payment_cap_ratio": (0, 1_000),
    "transaction_cost_share": (0, 10),
    "threshold_value": (0, 1e9),
    "baseline_bias": (0, 100),
    "claim_optimism": (0, 100),
    "claim_noise_sd": (0, 10),
}
GENERIC_BOUND = (-MAX_EUR, MAX_EUR)


def param_bound(name: str, mechanism: bool) -> tuple[float, float] | None:
    """The accepted range of a parameter's numbers, or None when another check covers it."""
    table = MECHANISM_PARAM_BOUNDS if mechanism else MODEL_PARAM_BOUNDS
    if name in table:
        return table[name]
    if "_eur" in name:
        return (0, MAX_EUR)
    if name.endswith("months"):
        return (0, MAX_MONTHS)
    return GENERIC_BOUND


def out_of_bounds(name: str, value: Any, mechanism: bool) -> str | None:
    """What was expected, when a number (or a number inside a list or table) is out of range."""
    bound = param_bound(name, mechanism)
    if bound is None:
        return None
    low, high = bound
    numbers: list[Any]
    if isinstance(value, Mapping):
        numbers = list(value.values())
    elif isinstance(value, list | tuple):
        numbers = list(value)
    else:
        numbers = [value]
    for number in numbers:
        is_number = isinstance(number, int | float) and not isinstance(number, bool)
        if is_number and not (math.isfinite(number) and low <= number <= high):
            return f"a number in [{low:g}, {high:g}]"
    return None


# ---------------------------------------------------------------------------- memory
@dataclass(frozen=True)
class MemoryEstimate:
    """Memory one run needs, and what this machine has."""

    run_bytes: int
    machine_bytes: int | None

    @property
    def fits(self) -> bool:
        """Whether one run fits in this machine's memory (unknown memory: assumed to fit)."""
        return self.machine_bytes is None or self.run_bytes <= self.machine_bytes

    def describe(self) -> str:
        """'about 1.2 GiB per run' (and the machine's memory when known)."""
        text = f"about {format_bytes(self.run_bytes)} per run"
        if self.machine_bytes is not None:
            text += f" (this machine has {format_bytes(self.machine_bytes)})"
        return text


def format_bytes(count: float) -> str:
    """Bytes for people: MiB below a GiB, else GiB (or TiB)."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count / 2**20:,.0f} MiB"


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine, when the platform says."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimate_memory(residents: int, params: Mapping[str, Any]) -> MemoryEstimate:
    """Memory of one run of ``residents`` residents under model parameters ``params``."""
    degree = int(params.get("network_degree", DEFAULT_DEGREE))
    cross = float(params.get("cross_territory_ties_per_resident", DEFAULT_CROSS_TIES))
    ties_per_resident = 2 * max(1, degree // 2) + cross
    run = BASE_BYTES + residents * (BYTES_PER_RESIDENT + BYTES_PER_TIE * ties_per_resident)
    return MemoryEstimate(int(run), machine_memory_bytes())


# ---------------------------------------------------------------------------- run needs
def planned_budget_problem(params: Mapping[str, Any], months: int) -> tuple[str, str] | None:
    """(expected, got) when a planned programme's budget cannot pay the monitoring it commits at
    each plan (the plan's first commitment) and leave money for actions."""
    from sim.funding.base import EVALUATION_COST_EUR

    budget = float(params.get("budget_eur_per_year", 1_000_000.0))
    years = params.get("plan_years", 3)
    design = params.get("evaluation", "none")
    if not isinstance(years, int) or design not in EVALUATION_COST_EUR:
        return None  # reported by the mechanism's own checks
    cycle = 12 * years
    shortest = months - (math.ceil(months / cycle) - 1) * cycle
    monitoring = EVALUATION_COST_EUR[design]
    if budget * shortest / 12.0 <= monitoring:
        need = monitoring * 12.0 / shortest
        return (
            f"a yearly budget above EUR {need:,.0f}, so that each plan (the shortest lasts "
            f"{shortest} months) covers its monitoring (EUR {monitoring:,.0f} with evaluation "
            f"'{design}') and leaves money for actions",
            shorten(params.get("budget_eur_per_year", 1_000_000.0)),
        )
    return None


#: Replications x territories above which the associations of each replication are not drawn
#: (about 0.4 ms per territory): in a city of 20 territories or more each specialty misses in
#: fewer than one draw in 10^9.
ASSOCIATION_CHECK_LIMIT = 2_000
SPECIALTY_CHECK_TERRITORIES = 20


def contract_operator_problem(
    params: Mapping[str, Any], city: City, seeds: list[int]
) -> tuple[str, str, str] | None:
    """(parameter, expected, got) when a contract could not find its operator in some
    replication: a named association that does not exist, or no association of the outcome's
    specialty at all (small cities)."""
    from sim.funding.impact_contract import outcomes
    from sim.world.rng import Stream, stream

    operator = params.get("operator")
    specialty = outcomes().get(str(params.get("outcome", "employment_6_months")))
    if specialty is None:
        return None
    if operator is not None:
        first = {f"A{t + 1:02d}-1" for t in range(city.size)}
        if operator in first:
            return None  # every territory has at least one association
        if len(seeds) * city.size > ASSOCIATION_CHECK_LIMIT:
            return (
                "operator",
                f"the first association of a territory (A01-1 to A{city.size:02d}-1): with "
                f"{len(seeds)} replications of {city.size} territories the others are not "
                "checked",
                shorten(operator),
            )
    elif city.size >= SPECIALTY_CHECK_TERRITORIES or len(seeds) * city.size > (
        ASSOCIATION_CHECK_LIMIT
    ):
        return None
    from sim.delivery.associations import generate_associations as generate

    qpv = np.array([t.qpv for t in city.territories], dtype=bool)
    for replication, seed in enumerate(seeds):
        profiles = generate(city.size, qpv, stream(seed, Stream.ASSOCIATIONS))
        if operator is not None and all(p.name != operator for p in profiles):
            return (
                "operator",
                f"an association of the city in every replication (replication {replication} "
                f"has none named so; A01-1 to A{city.size:02d}-1 always exist)",
                shorten(operator),
            )
        if operator is None and all(p.specialty != specialty for p in profiles):
            return (
                "outcome",
                f"an outcome some association can deliver: in replication {replication} this "
                f"city of {city.size} territor{'y' if city.size == 1 else 'ies'} has no "
                f"'{specialty}' association (use a larger city or name an operator)",
                shorten(params.get("outcome", "employment_6_months")),
            )
    return None


def check_residents(city: City, source: str) -> None:
    """Residents per territory within the simulator's limits."""
    for territory in city.territories:
        if territory.working_age_population > MAX_TERRITORY_RESIDENTS:
            raise UserInputError(
                f"{source}: city: territory '{shorten(territory.territory_id)[1:-1]}' has "
                f"{territory.working_age_population:,} residents; expected at most "
                f"{MAX_TERRITORY_RESIDENTS:,} per territory"
            )
