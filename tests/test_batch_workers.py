"""Batch workers: no model outlives its run, and Dask workers run without what made them cost
more CPU than local processes."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
from collections.abc import Iterator

import pytest
from helpers import TINY

from sim.experiments import batch
from sim.experiments.batch import DaskExecutor, execute_task, local_dask_settings
from sim.experiments.scenario import parse_scenario
from sim.simulation.model import CityModel


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only explicit collections run (as in a worker between two rare automatic ones)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_collection")
def test_no_model_outlives_its_task() -> None:
    """A model is a cycle of references: the task frees each one when its run ends, instead of
    leaving its arrays to a collection that may come many runs later."""
    task = parse_scenario(TINY, source="tiny.toml").expand()[0]
    results = execute_task(task)
    assert [r.status for r in results] == ["done"] * 3
    assert not [o for o in gc.get_objects() if isinstance(o, CityModel)]


def test_local_dask_settings_keep_malloc_adaptive_and_monitors_slow() -> None:
    """Dask's MALLOC_TRIM_THRESHOLD_ goes (its thread limits stay); the profiler is off."""
    settings = local_dask_settings(forked=True)
    environ = settings["distributed.nanny.pre-spawn-environ"]
    assert "MALLOC_TRIM_THRESHOLD_" not in environ
    assert environ["OMP_NUM_THREADS"] == 1
    assert settings["distributed.worker.profile.enabled"] is False
    assert settings["distributed.worker.multiprocessing-method"] == "forkserver"


def _worker_setup() -> tuple[str | None, bool, int]:
    import dask

    return (
        os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        bool(dask.config.get("distributed.worker.profile.enabled")),
        gc.get_freeze_count(),
    )


def test_local_dask_workers_start_without_the_costly_settings() -> None:
    """In the workers of a local cluster: no malloc threshold, no profiler, the loaded modules
    frozen out of the collections."""
    executor = DaskExecutor(1)
    try:
        setups = list(executor.client.run(_worker_setup).values())
    finally:
        executor.shutdown()
    assert len(setups) == 1
    threshold, profiling, frozen = setups[0]
    assert threshold is None
    assert not profiling
    assert frozen > 0


#: Allocates and frees a 1 MiB array 200 times; prints the page faults it took.
PAGE_FAULTS = """
import resource, sys
import numpy as np
from sim.experiments.batch import reuse_freed_memory
if sys.argv[1] == "reuse":
    reuse_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    np.ones(1 << 17).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    environment = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    out = subprocess.run(
        [sys.executable, "-c", PAGE_FAULTS, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc thresholds")
def test_a_worker_started_with_a_malloc_threshold_reuses_freed_memory() -> None:
    """Where a (remote) Dask worker was started with MALLOC_TRIM_THRESHOLD_, every array of more
    than 128 KiB was mapped afresh (a page fault per 4 KiB); with the thresholds set back where
    glibc adapts them, freed memory is reused."""
    assert _page_faults("reuse") * 10 < _page_faults("as started")


#: Allocates 40 MiB in blocks glibc takes from its heap (under its mmap threshold), frees all but
#: the last (which keeps the heap's top in use), then gives freed memory back if asked; prints
#: the resident memory freed by that, MiB.
GIVE_BACK = """
import sys
from sim.experiments.batch import give_back_freed_memory

def resident_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

blocks = [bytearray(100_000) for _ in range(400)]
last = blocks.pop()
del blocks
before = resident_kib()
if sys.argv[1] == "give back":
    give_back_freed_memory()
print((before - resident_kib()) / 1024)
"""


def _freed_mib(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", GIVE_BACK, mode], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_freed_memory_is_given_back() -> None:
    """Memory freed below blocks still in use stays in the process (glibc keeps it for later)
    until it is given back, as a worker does after each task."""
    assert _freed_mib("keep") < 5
    assert _freed_mib("give back") > 30


def test_a_task_gives_freed_memory_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once after each task."""
    calls: list[None] = []
    monkeypatch.setattr(batch, "give_back_freed_memory", lambda: calls.append(None))
    task = parse_scenario(TINY, source="tiny.toml").expand()[0]
    execute_task(task)
    assert len(calls) == 1
