"""Aware contacts on the residents' social network: for each resident listening for an offer, how
many of their contacts already know of it.

The plain expression, ``network[rows] @ aware.astype(np.float32)``, copies the listed rows into a
new matrix and multiplies, whatever the number of aware residents. The network is symmetric, so
the same counts can be taken from the other end of the ties: each tie of an aware resident counts
once for the resident at its other end, which is much cheaper while few residents are aware.
Awareness of an offer only grows in a run, so ``AwareContactCounts`` keeps every resident's count
and adds only the ties of the residents who became aware since the last month.

Counts are small integers, exact in float32 whatever the order of the additions, so every way of
counting gives exactly the plain expression's result for a 0/1 matrix (``build_social_network``
makes one: symmetric, no repeated entries, every stored value 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from sim.world.runs import expand_ranges


def aware_contacts(network: sp.csr_matrix, rows: np.ndarray, aware: np.ndarray) -> np.ndarray:
    """For each of ``rows``, how many of its contacts are ``aware``, as float32: exactly
    ``network[rows] @ aware.astype(np.float32)`` for a symmetric CSR matrix of zeros and ones.
    Counted from the aware residents' ties when they are fewer than half the listed residents'
    ties (a tie costs about twice as much there, numpy's passes against scipy's compiled loop),
    with the plain expression otherwise.

    Args:
        network: the residents' social network (n x n).
        rows: residents to count for (indices; any order, repeats allowed).
        aware: whether each of the n residents is aware (booleans).
    """
    rows = np.asarray(rows, dtype=np.intp)
    indptr = network.indptr
    listed_ties = int((indptr[rows + 1] - indptr[rows]).sum())
    # The aware residents' ties, estimated from the mean degree before looking them up.
    aware_ties = np.count_nonzero(aware) * network.nnz / max(network.shape[0], 1)
    if 2 * aware_ties < listed_ties:
        ends = _tie_ends(network, np.flatnonzero(aware))
        counts: np.ndarray = np.bincount(ends, minlength=network.shape[0])[rows]
        return counts.astype(np.float32)
    return np.asarray(network[rows] @ np.asarray(aware, dtype=np.float32), dtype=np.float32)


class AwareContactCounts:
    """Every resident's number of aware contacts for each of several offers (``offers``, one
    row each), kept from call to call: each call adds the ties of the residents who became
    aware since the previous one (and takes off those of any who no longer are), so a month
    costs what its new awareness costs. The offers' counts are caught up together
    (``catch_up``): one pass over the new ties of all of them, not one per offer.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> ring = sp.csr_matrix(np.roll(np.eye(4, dtype=np.float32), 1, axis=1))
        >>> network = (ring + ring.T).tocsr()
        >>> counts = AwareContactCounts(network)
        >>> counts.of(np.array([0, 2]), np.array([False, True, False, False])).tolist()
        [1.0, 1.0]

    Args:
        network: the residents' social network (n x n), a symmetric CSR matrix of zeros and ones.
        offers: how many offers are counted (rows of ``catch_up``'s awareness).
    """

    def __init__(self, network: sp.csr_matrix, offers: int = 1) -> None:
        self.network = network
        n = network.shape[0]
        self._aware = np.zeros((offers, n), dtype=bool)
        #: The most ties any resident has: no count exceeds it. Counts are taken at the other end
        #: of each tie, so a resident's count is bounded by its column: the larger of the longest
        #: row and the longest column, the same for the symmetric network of a run.
        self.most_ties = ties_at_most(network)
        # The narrowest whole numbers that hold any resident's number of ties: a count touches
        # one resident's entry at random, and a small array stays in the processor's caches.
        self._counts = np.zeros((offers, n), dtype=_count_type(self.most_ties))
        # np.add.at takes numpy's fast path when the added value has the array's type (a Python
        # integer sends a narrow array down a loop some 20x slower).
        self._one = self._counts.dtype.type(1)
        # How many residents each row of ``_aware`` holds.
        self._known = np.zeros(offers, dtype=np.int64)

    def of(
        self, rows: np.ndarray, aware: np.ndarray, told: np.ndarray | None = None, offer: int = 0
    ) -> np.ndarray:
        """For each of ``rows``, how many of its contacts are ``aware`` (of ``offer``), as
        float32: exactly ``aware_contacts(network, rows, aware)``.

        ``told``: the residents made aware since the previous call, each once, if the caller
        knows them (residents already aware allowed), for awareness that only grows (as in a
        run): only their ties are then added, unless the number of aware residents shows that
        others became aware untold, when every resident is compared."""
        if told is not None:
            self._add_told([offer], [told])
        self._settle(offer, aware, told is not None)
        return self.kept_counts(offer, rows).astype(np.float32)

    def catch_up(self, aware: np.ndarray, told: Sequence[np.ndarray] | None = None) -> None:
        """Bring every offer's counts to ``aware`` (offers x n booleans, one row per offer), to
        be read with ``kept_counts``. ``told``: one array per offer, as in ``of``; the new ties
        of all offers are then counted in one pass. The aware are counted all the same, so that
        awareness written other than through ``told`` (a user seeding a campaign between
        months) is found and counted."""
        offers = list(range(len(self._known)))
        if told is not None:
            self._add_told(offers, list(told))
            # Awareness that only grows holds every resident kept: the kept numbers add up to
            # the aware residents' only if each offer's do, so one count checks them all.
            if np.count_nonzero(aware) == self._known.sum():
                return
        for offer in offers:
            self._settle(offer, aware[offer], told is not None)

    def kept_counts(self, offer: int, rows: np.ndarray) -> np.ndarray:
        """The counts of ``rows`` for ``offer`` as of the last catch-up, as whole numbers."""
        return np.asarray(self._counts[offer][np.asarray(rows, dtype=np.intp)])

    def _add_told(self, offers: list[int], told: list[np.ndarray]) -> None:
        """Count the ties of those of ``told`` (one array per offer of ``offers``) not kept yet."""
        n = self.network.shape[0]
        fresh_cells = []
        for offer, heard in zip(offers, told, strict=True):
            kept = self._aware[offer]
            fresh = kept[heard]
            np.logical_not(fresh, out=fresh)
            fresh = heard.compress(fresh)
            kept[fresh] = True
            self._known[offer] += len(fresh)
            fresh_cells.append(fresh + offer * n)
        if fresh_cells:
            self._add(np.concatenate(fresh_cells), 1)

    def _settle(self, offer: int, aware: np.ndarray, told: bool) -> None:
        """After the told were added (``told``), or with nobody told, bring ``offer``'s counts to
        ``aware``: its aware counted, and every resident compared only if they differ."""
        if not told or np.count_nonzero(aware) != self._known[offer]:
            self._compare(offer, aware)

    def _compare(self, offer: int, aware: np.ndarray) -> None:
        """Bring ``offer``'s kept awareness and counts to ``aware``, comparing every resident."""
        kept = self._aware[offer]
        changed = np.flatnonzero(aware != kept)
        if len(changed):
            now_aware = np.asarray(aware[changed], dtype=bool)
            cells = changed + offer * self.network.shape[0]
            self._add(cells[now_aware], 1)
            self._add(cells[~now_aware], -1)
            kept[changed] = now_aware
            self._known[offer] = np.count_nonzero(kept)

    def _add(self, cells: np.ndarray, sign: int) -> None:
        """Count (sign 1) or uncount (-1) the ties of the residents of ``cells`` (``offer * n +
        resident``) at their other ends, in the same offer's row."""
        if len(cells) == 0:
            return
        n = self.network.shape[0]
        sources = cells % n
        ends = _tie_ends(self.network, sources, cells - sources)
        counts = self._counts.reshape(-1)  # a view: the rows are laid end to end
        if sign > 0:
            np.add.at(counts, ends, self._one)
        else:
            np.subtract.at(counts, ends, self._one)


def ties_at_most(network: sp.csr_matrix) -> int:
    """The largest number of ties at either end of any resident (0 for an empty network): the
    largest count ``AwareContactCounts`` can hold."""
    if network.shape[0] == 0:
        return 0
    longest_row = int(np.diff(network.indptr).max())
    longest_column = int(np.bincount(network.indices, minlength=1).max())
    return max(longest_row, longest_column)


def _count_type(most: int) -> np.dtype:
    """The narrowest signed integer type that holds ``most``: the smaller the counts, the
    fewer cache lines a month's scattered reads and additions touch (numpy's np.add.at is as
    fast on 8-bit integers as on 16-bit ones)."""
    for kind in (np.int8, np.int16, np.int32):
        if most <= np.iinfo(kind).max:
            return np.dtype(kind)
    return np.dtype(np.int64)


def _tie_ends(
    network: sp.csr_matrix, sources: np.ndarray, shifts: np.ndarray | None = None
) -> np.ndarray:
    """The residents at the other end of every tie of ``sources``, one per tie, each plus its
    source's ``shift`` if given."""
    indptr = network.indptr
    starts = indptr[sources]
    lengths = indptr[sources + 1] - starts
    ends = network.indices[expand_ranges(starts, lengths)]
    if shifts is None:
        return np.asarray(ends)
    return np.asarray(ends + np.repeat(shifts, lengths))
