"""Random streams: one independent generator per stochastic process, all derived from one seed.

Every process (baseline labour market, social diffusion, language, programme enrolment, ...) draws
from its own stream, keyed by the process name rather than by creation order, so adding a stream
never shifts another. Two runs with the same seed therefore see identical baseline shocks whatever
the programme does: the common random numbers that make the status-quo twin a counterfactual.
"""

from __future__ import annotations

import zlib
from enum import StrEnum

import numpy as np


class Stream(StrEnum):
    """Every random stream of a run, declared once: a name that is not here cannot be drawn from,
    so a typo fails instead of silently creating a new independent stream."""

    # Baseline: identical in every arm of a replication.
    POPULATION = "population"
    NETWORK = "network"
    ASSOCIATIONS = "associations"
    LABOUR = "labour"
    RSA = "rsa"
    LANGUAGE = "language"
    SERVICES = "services"
    DIFFUSION = "diffusion"  # keyed by month and need, counter-based (``counter_uniform16``)
    WARMUP = "warmup"  # the baseline months simulated before month 0
    # Programme side: what funding changes.
    PROGRAMME = "programme"  # one per action, keyed by its index (its evaluator's sampling)
    DELIVERY = "delivery"  # enrolment, drop-out and control draws of all actions
    MECHANISM = "mechanism"
    EVALUATION = "evaluation"
    COMPARISON = "comparison"  # comparison-group evaluators' samples of the registers
    MESA = "mesa"


def stream_key(name: Stream) -> int:
    """Stable integer key of a stream (CRC32 of its name, identical on every platform and run);
    an undeclared name is an error."""
    if name not in Stream.__members__.values():
        raise ValueError(f"unknown random stream {name!r}: declare it in sim.world.rng.Stream")
    return zlib.crc32(str(name).encode("utf-8"))


def stream_seed(seed: int, name: Stream) -> np.random.SeedSequence:
    """SeedSequence of the named stream of a run seeded with `seed`."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(stream_key(name),))


def stream(seed: int, name: Stream) -> np.random.Generator:
    """Generator of the named stream of a run seeded with `seed`."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, name)))


def indexed_stream(seed: int, name: Stream, index: int) -> np.random.Generator:
    """Generator of the ``index``-th member of a family of streams (e.g. one per action), so
    that an action's draws do not depend on what other actions drew before it."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(stream_key(name), index))
    return np.random.Generator(np.random.PCG64(sequence))


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Run seeds of a batch's replications, spawned from its root seed (one per replication)."""
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


#: SplitMix64's increment (the golden ratio in 64 bits) and its two mixing multipliers.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: SplitMix64's first two shifts, and the shift that keeps an output's top 16 bits.
_SHIFT1, _SHIFT2, _SHIFT_TOP = np.uint64(30), np.uint64(27), np.uint64(48)
_MASK64 = (1 << 64) - 1


def counter_uniform16(
    seed: int, name: Stream, month: int, part: int, rows: np.ndarray
) -> np.ndarray:
    """Uniform 16-bit draws (integers in [0, 65536)) of ``rows`` from a counter-based stream:
    the draw of row ``i`` is the top 16 bits of the ``i``-th output of SplitMix64 (Steele, Lea
    and Flood, 2014) started from the named stream's key for this month and part. A row's draw
    depends on nothing else, so the draws of a few rows cost what those rows cost, and a
    resident sees the same draw in every arm, whoever else draws that month.

    Example:
        >>> rows = np.array([3, 7])
        >>> a = counter_uniform16(1, Stream.DIFFUSION, 5, 0, np.arange(10))
        >>> bool((counter_uniform16(1, Stream.DIFFUSION, 5, 0, rows) == a[rows]).all())
        True
    """
    key = _counter_key(seed, name, month, part)
    # SplitMix64's i-th state is key + (i + 1) * gamma, that is rows * gamma + (key + gamma)
    # modulo 2**64: one multiplication and one addition in place on a copy of the rows.
    z = np.asarray(rows).astype(np.uint64)
    z *= _GAMMA
    z += np.uint64((key + int(_GAMMA)) & _MASK64)
    shifted = z >> _SHIFT1
    z ^= shifted
    z *= _MIX1
    np.right_shift(z, _SHIFT2, out=shifted)
    z ^= shifted
    z *= _MIX2
    # The output's last step, z ^= z >> 31, leaves its top 33 bits as they are: the top 16 are
    # those of z already.
    return _top16(z)


def _top16(z: np.ndarray) -> np.ndarray:
    """The top 16 bits of each of ``z`` (uint64), as uint16."""
    return np.asarray(z >> _SHIFT_TOP, dtype=np.uint16)


def _counter_key(seed: int, name: Stream, month: int, part: int) -> int:
    """``counter_uniform16``'s key: the first 64-bit word of the state of numpy's
    ``SeedSequence(entropy=seed, spawn_key=(stream_key(name), month, part))``."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(stream_key(name), month, part))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])
