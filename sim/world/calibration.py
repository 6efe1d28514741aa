"""What the configured hazards imply, computed analytically, and what a run realises, to check
the simulation against.

Each resident of a closed population without minimum income and without French progression is an
independent Markov chain over (unemployed, duration) and (employed, tenure); its stationary
unemployment probability has a closed form, and the city's steady-state rate is their mean.
"""

from __future__ import annotations

import numpy as np

from sim.world.params import ModelParams
from sim.world.population import LONG_TERM, SHORT_TERM, Population, new_job_period


def implied_steady_state_unemployment(pop: Population) -> tuple[float, float]:
    """Steady-state unemployment rate implied by each resident's hazards, and its standard error
    as the mean of independent Bernoulli chains (sqrt(mean u(1-u) / n)).

    Valid when hazards depend only on duration and fixed traits: no RSA entry, no churn of
    unemployment spells, no French progression, no programme.
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


#: Names of the job-finding calibration groups, in the order of ``SHORT_TERM, LONG_TERM, ON_RSA``.
GROUP_NAMES = ("short_term", "long_term", "rsa_eligible")


class ExitTally:
    """Job-finding exits and residents at risk per calibration group, pooled over the months of a
    run: call ``before`` at the start of a month and ``after`` once it is simulated.

    Example:
        >>> from sim.simulation.model import CityModel
        >>> model = CityModel("demo", seed=1, months=3, resident_agents=False)
        >>> tally = ExitTally()
        >>> for _ in range(3):
        ...     tally.before(model.population)
        ...     model.step()
        ...     tally.after(model.population)
        >>> bool(tally.at_risk.min() > 0)
        True
    """

    def __init__(self) -> None:
        self.exits = np.zeros(3, dtype=np.int64)
        self.at_risk = np.zeros(3, dtype=np.int64)
        self._groups: np.ndarray | None = None

    def before(self, pop: Population) -> None:
        """Remember each resident's group at the start of the month."""
        self._groups = pop.hazard_group().copy()

    def after(self, pop: Population) -> None:
        """Count who of each group was at risk and found a job this month."""
        if self._groups is None:
            raise RuntimeError("ExitTally.after without before")
        groups, self._groups = self._groups, None
        at_risk = groups < 3  # the unemployed
        found = at_risk & pop.employed
        self.at_risk += np.bincount(groups[at_risk], minlength=4)[:3]
        self.exits += np.bincount(groups[found], minlength=4)[:3]

    def rates(self) -> np.ndarray:
        """Realised monthly exit rate of each group."""
        return np.asarray(self.exits / np.maximum(self.at_risk, 1))

    def standard_errors(self, hazards: np.ndarray) -> np.ndarray:
        """Binomial standard error of each group's rate if its hazard were ``hazards``."""
        return np.asarray(np.sqrt(hazards * (1.0 - hazards) / np.maximum(self.at_risk, 1)))


def configured_hazards(params: ModelParams) -> np.ndarray:
    """Configured mean job-finding hazards of the three groups (``GROUP_NAMES``)."""
    return np.array(
        [
            params.job_hazard_short_per_month,
            params.job_hazard_long_per_month,
            params.job_hazard_rsa_per_month,
        ]
    )


def territory_state(pop: Population) -> dict[str, np.ndarray]:
    """Per territory: unemployment rate, long-term share of the unemployed, RSA claimers' share
    of residents, non-take-up, and the share of registered jobseekers paid unemployment insurance
    (registered: the unemployed without RSA and the registered share of RSA recipients)."""
    starts, sizes = pop.territory_starts, pop.territory_sizes.astype(np.float64)
    unemployed = ~pop.employed

    def count(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.float64), starts)

    n_u, eligible = count(unemployed), count(pop.rsa_eligible)
    claimed = count(pop.rsa_claimed)
    jobseekers = n_u - (1.0 - pop.params.rsa_registered_share) * eligible
    return {
        "unemployment_rate": n_u / sizes,
        "long_term_share": count(unemployed & (pop.duration >= pop.params.long_term_months))
        / np.maximum(n_u, 1),
        "rsa_share": claimed / sizes,
        "non_take_up": 1.0 - claimed / np.maximum(eligible, 1),
        "are_paid_jobseeker_share": count(pop.insured) / np.maximum(jobseekers, 1),
    }
