"""What the configured hazards imply, computed analytically, to check the simulation against.

Each resident of a closed population without minimum income and without French progression is an
independent Markov chain over (unemployed, duration) and (employed, tenure); its stationary
unemployment probability has a closed form, and the city's steady-state rate is their mean.
"""

from __future__ import annotations

import numpy as np

from sim.population import Population


def implied_steady_state_unemployment(pop: Population) -> tuple[float, float]:
    """Steady-state unemployment rate implied by each resident's hazards, and its standard error
    as the mean of independent Bernoulli chains (sqrt(mean u(1-u) / n)).

    Valid when hazards depend only on duration and fixed traits: no RSA entry, no French
    progression, no programme.
    """
    p = pop.params
    months_long = p.long_term_months
    multiplier = pop.barrier_multiplier * pop.french_factor()
    f_short = (pop.group_hazard[0] * pop.group_scale[0] * multiplier).astype(np.float64)
    f_long = (pop.group_hazard[1] * pop.group_scale[1] * multiplier).astype(np.float64)
    s_new = p.separation_new_per_month
    s_est = pop.separation_established[pop.territory].astype(np.float64)
    survive_short = 1.0 - f_short
    unemployed_mass = (
        1.0 - survive_short**months_long
    ) / f_short + survive_short**months_long / f_long
    employed_mass = sum((1.0 - s_new) ** k for k in range(3)) + (1.0 - s_new) ** 3 / s_est
    u = unemployed_mass / (unemployed_mass + employed_mass)
    return float(u.mean()), float(np.sqrt((u * (1.0 - u)).mean() / len(u)))
