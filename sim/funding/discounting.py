"""Discounting: net present value, internal rate of return and money multiple of monthly flows.

A flow at month ``m`` is discounted by ``(1 + r) ** (-m / 12)``; annual rates are fractions
(0.05 means 5 % per year).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from sim.errors import UserInputError
from sim.funding.ledger import FloatArray

# IRR search bracket, as annual rates. Below -99 %/year the investor has recovered almost
# nothing and the exact figure carries no information; above +1000 %/year no social funding
# contract is plausible, and wider brackets only add discount factors that span hundreds of
# orders of magnitude over a multi-year horizon.
IRR_MIN_PER_YEAR = -0.99
IRR_MAX_PER_YEAR = 10.0
# Grid points used to find every sign change of the NPV inside the bracket before refining
# each one with brentq; flows with several sign changes can have several IRRs.
_IRR_GRID_POINTS = 2001


def _as_monthly_flows(monthly_flows_eur: npt.ArrayLike) -> FloatArray:
    """Return the flows as a finite 1-D float array, indexed by month."""
    flows = np.asarray(monthly_flows_eur, dtype=np.float64)
    if flows.ndim != 1:
        raise UserInputError(f"monthly_flows_eur must be 1-D, got shape {flows.shape}")
    if not np.all(np.isfinite(flows)):
        raise UserInputError("monthly_flows_eur must contain only finite amounts")
    return flows


def npv_eur(monthly_flows_eur: npt.ArrayLike, annual_discount_rate: float) -> float:
    """Net present value at month 0 of flows indexed by month.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.
        annual_discount_rate: Annual rate r, > -1; month m is discounted by (1 + r)^(-m/12).

    Returns:
        The discounted sum.

    Raises:
        UserInputError: If the rate is <= -1 or not finite, or the flows are not a finite 1-D
            series.
    """
    if not math.isfinite(annual_discount_rate) or annual_discount_rate <= -1.0:
        raise UserInputError(
            f"annual_discount_rate must be a finite number > -1, got {annual_discount_rate!r}"
        )
    flows = _as_monthly_flows(monthly_flows_eur)
    months = np.arange(flows.size, dtype=np.float64)
    factors = np.power(1.0 + annual_discount_rate, -months / 12.0)
    return float(math.fsum(flows * factors))


def _scaled_npv(log_growth: float, flows: FloatArray) -> float:
    """NPV at the annual rate exp(log_growth) - 1, times a positive factor.

    For negative rates the discount factors of late months explode; multiplying the whole sum
    by (1 + r)^(last month / 12) keeps every factor <= 1 without moving the roots, and the
    scaled function stays continuous at r = 0, which is all brentq needs.
    """
    return float(_scaled_npv_on_grid(np.array([log_growth]), flows)[0])


def _scaled_npv_on_grid(log_growths: FloatArray, flows: FloatArray) -> FloatArray:
    """``_scaled_npv`` at many log growth rates at once (one row of factors per rate)."""
    months = np.arange(flows.size, dtype=np.float64)
    last_month = float(flows.size - 1)
    rates = log_growths[:, np.newaxis]
    exponents = -rates * months / 12.0 + np.minimum(0.0, rates * last_month / 12.0)
    scaled: FloatArray = np.sum(flows * np.exp(exponents), axis=1)
    return scaled


def irr_per_year(monthly_flows_eur: npt.ArrayLike) -> float | None:
    """Annual internal rate of return of flows indexed by month.

    The IRR is the annual rate r at which ``npv_eur(flows, r) == 0``. Every sign change of
    the NPV on a grid of rates inside [IRR_MIN_PER_YEAR, IRR_MAX_PER_YEAR] is refined with
    brentq; when flows have several IRRs, the one closest to 0 is returned because it is
    the one a reader would call "the" return of an investment near break-even.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.

    Returns:
        The annual IRR, or None if the flows never change sign or no root lies in the bracket.
    """
    flows = _as_monthly_flows(monthly_flows_eur)
    if not (np.any(flows > 0) and np.any(flows < 0)):
        return None
    # Searching on log(1 + r) spreads the grid evenly over orders of magnitude of growth.
    grid = np.linspace(math.log1p(IRR_MIN_PER_YEAR), math.log1p(IRR_MAX_PER_YEAR), _IRR_GRID_POINTS)
    signs = np.sign(_scaled_npv_on_grid(grid, flows))
    roots: list[float] = [float(grid[i]) for i in np.flatnonzero(signs == 0.0)]
    # Signs rather than values: a product of two tiny NPVs could underflow to zero.
    for i in np.flatnonzero(signs[:-1] * signs[1:] < 0):
        root = brentq(_scaled_npv, grid[i], grid[i + 1], args=(flows,), xtol=1e-14, rtol=1e-14)
        roots.append(float(root))
    if not roots:
        return None
    rates = [math.expm1(x) for x in roots]
    return min(rates, key=abs)


def money_multiple(monthly_flows_eur: npt.ArrayLike) -> float | None:
    """Total inflows divided by total outflows, undiscounted.

    Args:
        monthly_flows_eur: Flow at each month (index = month), inflows positive.

    Returns:
        The multiple (1.0 means the money came back exactly), or None if nothing flowed out.
    """
    flows = _as_monthly_flows(monthly_flows_eur)
    outflows = -math.fsum(flows[flows < 0])
    if outflows == 0.0:
        return None
    return math.fsum(flows[flows > 0]) / outflows
