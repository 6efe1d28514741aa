"""Word of mouth and outreach, the arithmetic of a month: who listens for an offer, and the
draw below which each listener hears of it.

Residents are stored sorted by territory, and every list of residents here is in increasing
order, so a territory's residents in a list are one run of it: per-territory values reach the
residents by repeating them over the runs' lengths (``territory_runs``), without reading the
residents' territories one by one.

A listener's chance of hearing depends only on their territory (the outreach of its offers) and
their whole number of aware contacts, so the thresholds are computed once per (territory,
count) cell (``hearing_thresholds``) and looked up by cell (``cells``): the same arithmetic on
the same values as computing them listener by listener, hence the same bits.
"""

from __future__ import annotations

import functools

import numpy as np

from sim.world.population import MonthlyDraws
from sim.world.runs import territory_runs


def listening(
    in_need: np.ndarray, aware: np.ndarray, offered: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    """Those of ``in_need`` (increasing) not ``aware`` yet (per resident) whose territory is
    ``offered`` (per territory; ``bounds`` as in ``territory_runs``), in increasing order:
    ``in_need[~aware[in_need] & offered[territory[in_need]]]``."""
    keep = aware[in_need]
    np.logical_not(keep, out=keep)
    if not offered.all():
        keep &= np.repeat(offered, territory_runs(in_need, bounds))
    # ``compress`` rather than a boolean index: the same rows, about twice as fast.
    return np.asarray(in_need.compress(keep))


# Typed: a numpy float and a Python float of the same value raise float32 powers to different
# precisions (numpy's promotion rules), so they must not share a table.
@functools.lru_cache(maxsize=32, typed=True)
def hearing_thresholds(
    word_of_mouth: float, outreach: float, offers: tuple[float, ...], most_contacts: int
) -> np.ndarray:
    """The 16-bit draw below which a listener hears of an offer, per cell ``territory *
    (most_contacts + 1) + contacts``: ``MonthlyDraws.SCALE`` times the chance of hearing, one
    minus that of hearing from none of their aware contacts (each ``word_of_mouth``) and none
    of the territory's ``offers`` (each ``outreach``; one number per territory).

    The arithmetic of the listener-by-listener formulation, cell by cell: powers of whole
    counts (float32 for contacts, float64 for offers), their float64 product, then its
    complement scaled, so that each cell holds exactly the value a listener would compute.
    Kept (read-only) for the next months with the same offers: they change only when an
    action opens or closes."""
    silent_by_contacts = (1.0 - word_of_mouth) ** np.arange(most_contacts + 1, dtype=np.float32)
    silent_by_territory = (1.0 - outreach) ** np.array(offers)
    silent = silent_by_contacts[np.newaxis, :] * silent_by_territory[:, np.newaxis]
    thresholds = np.asarray((1.0 - silent) * MonthlyDraws.SCALE).ravel()
    thresholds.flags.writeable = False
    return thresholds


def cells(rows: np.ndarray, contacts: np.ndarray, bounds: np.ndarray, width: int) -> np.ndarray:
    """The cell ``territory * width + contacts`` of each of ``rows`` (increasing; ``bounds`` as
    in ``territory_runs``), with ``contacts`` their whole numbers of aware contacts."""
    firsts = np.arange(0, (len(bounds) - 1) * width, width, dtype=np.intp)
    cell = np.repeat(firsts, territory_runs(rows, bounds))
    cell += contacts
    return cell
