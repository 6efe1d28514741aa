"""What the configured hazards imply, computed analytically, to check the simulation against.

Each resident of a closed population without minimum income and without French progression is an
independent Markov chain over (unemployed, duration) and (employed, tenure); its stationary
unemployment probability has a closed form, and the city's steady-state rate is their mean.
"""

from __future__ import annotations

import numpy as np

from sim.world.population import LONG_TERM, SHORT_TERM, Population, new_job_period


def implied_steady_state_unemployment(pop: Population) -> tuple[float, float]:
    """Steady-state unemployment rate implied by each resident's hazards, and its standard error
    as the mean of independent Bernoulli chains (sqrt(mean u(1-u) / n)).

    Valid when hazards depend only on duration and fixed traits: no RSA entry, no French
    progression, no programme.
    """
    months_long = pop.params.long_term_months
    traits = pop.trait_multiplier.astype(np.float64)
    f_short = pop.group_rate[SHORT_TERM] * traits
    f_long = pop.group_rate[LONG_TERM] * traits
    s_est = pop.separation_established_per_resident.astype(np.float64)
    survive_short = 1.0 - f_short
    unemployed_mass = (
        1.0 - survive_short**months_long
    ) / f_short + survive_short**months_long / f_long
    months_new, retained = new_job_period(pop.params)
    employed_mass = months_new + retained / s_est
    u = unemployed_mass / (unemployed_mass + employed_mass)
    return float(u.mean()), float(np.sqrt((u * (1.0 - u)).mean() / len(u)))
