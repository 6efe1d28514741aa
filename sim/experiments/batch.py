"""Running a scenario's runs on one machine or a Dask cluster, into the results store.

Workers run tasks (one sweep point and replication: the status-quo twin and the arms) and send
back plain ``RunResult``s; only this process writes to the store, one task's runs per
transaction, as results arrive. A failing run is stored as failed with its error and the batch
goes on; Ctrl-C stops cleanly; running the same command again resumes (finished runs are
skipped).

Names follow the direction of Mesa 4's runner (scenario, run configuration, store, executor) so
that a later port stays cheap.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib import metadata
from multiprocessing import forkserver, get_all_start_methods, get_context, resource_tracker
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sim.errors import UserInputError
from sim.experiments.metrics import SimulationMeasures, fill_result
from sim.experiments.resettle import can_resettle, resettle_output, simulation_key
from sim.experiments.results import RUN_IDENTITY, STATUS_DONE, STATUS_FAILED, RunResult
from sim.experiments.scenario import RunSpec, Scenario, TaskSpec
from sim.funding.base import Mechanism
from sim.funding.registry import MECHANISMS
from sim.simulation.model import objects_frozen
from sim.simulation.output import RunOutput
from sim.simulation.run import simulate
from sim.simulation.start import CityStart, build_city_start
from sim.world.params import ModelParams
from sim.world.territory import City

if TYPE_CHECKING:
    from sim.experiments.store import ResultStore

EXECUTORS = ("serial", "processes", "dask")


# ---------------------------------------------------------------------------- the worker side
def execute_task(task: TaskSpec) -> list[RunResult]:
    """Run a task's twin and arms in this process; never raises for a failing run. The runs
    start from one build of the replication's residents, network and associations; the memory
    they used and freed is given back to the system when the task ends."""
    reuse_freed_memory()
    try:
        return _run_task(task)
    finally:
        give_back_freed_memory()


def _run_task(task: TaskSpec) -> list[RunResult]:
    twin_spec = task.twin
    started = time.time()
    try:
        city = twin_spec.city.build()
        params = ModelParams().with_overrides(**twin_spec.model_params)
        start_of = CityStarts(city, params)
        twin = _simulate_and_free(
            city,
            arm_mechanism("status_quo", {}),
            twin_spec.seed,
            twin_spec.months,
            params,
            arm=twin_spec.arm,
            follow_up_months=twin_spec.follow_up_months,
            city_start=start_of(twin_spec.seed),
        )
    except Exception:  # a failing run is data, not a crash: it is stored with its error
        error = (
            "status-quo twin failed, so no run of this replication can be measured:\n"
            + traceback.format_exc()
        )
        return [_failed(spec, error, started) for spec in _specs(task)]
    results = []
    # The twin records of a task are one simulation: measured once, stored under each key.
    measured: RunResult | None = None
    for record in task.twin_records:
        if measured is None:
            measured = _done(record, twin, twin, started)
            results.append(measured)
        else:
            results.append(_same_as(record, measured))
    # Runs that differ only by settlement terms share one simulation, settled again, and what
    # it shows whatever the terms (truth metrics, series, territories) is measured once.
    simulated: dict[str, SimulationMeasures] = {}
    for spec in task.arms:
        arm_started = time.time()
        try:
            mechanism = arm_mechanism(spec.mechanism, spec.mechanism_params)
            key = simulation_key(spec) if can_resettle(mechanism) else None
            if key is not None and key in simulated:
                measures = simulated[key]
                output = resettle_output(measures.arm, mechanism)
            else:
                output = _simulate_and_free(
                    city,
                    mechanism,
                    spec.seed,
                    spec.months,
                    params,
                    arm=spec.arm,
                    follow_up_months=spec.follow_up_months,
                    city_start=start_of(spec.seed),
                )
                measures = SimulationMeasures(output, twin)
                if key is not None:
                    simulated[key] = measures
            results.append(_done(spec, output, twin, arm_started, measures))
        except Exception:
            results.append(_failed(spec, traceback.format_exc(), arm_started))
    return results


#: glibc's ``mallopt`` options, and the largest thresholds it reaches when it adapts them itself
#: (64-bit): memory blocks up to 32 MiB are reused, the heap is trimmed past 64 MiB free.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
ADAPTED_MMAP_THRESHOLD, ADAPTED_TRIM_THRESHOLD = 32 << 20, 64 << 20


@functools.cache
def reuse_freed_memory() -> None:
    """In a worker started with ``MALLOC_TRIM_THRESHOLD_`` set (what Dask's nannies do, on a
    cluster this process does not start), set glibc's thresholds where it would have adapted
    them: with the variable set it no longer adapts, and every array of more than 128 KiB is
    mapped afresh and its pages zeroed by the kernel (a run cost twice the CPU). Once a process.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, ADAPTED_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, ADAPTED_TRIM_THRESHOLD)
    except (OSError, AttributeError):
        pass  # another C library: nothing to undo


def give_back_freed_memory() -> None:
    """Give the pages of the memory this process has freed back to the system (glibc; nothing
    elsewhere).

    glibc keeps freed memory for later allocations: at the top of its heap up to a threshold
    that grows with the arrays allocated, and in the holes between blocks still in use. At
    Bordeaux scale, a worker's heap held 19 MiB freed after a twin alone and 76 MiB after a
    replication (whose runs need more at their peak: the twin's output and the city start are
    kept while the arms run), for the same memory in use: the worker stayed a third larger
    after its first replication than after its first run, whatever it ran next. Once per task,
    never per allocation as with ``MALLOC_TRIM_THRESHOLD_`` (see ``reuse_freed_memory``): the
    trim takes about 10 ms and the next task takes the pages again (16,000 page faults, about
    0.1 s of system time for a 4 s replication: 2 % of a run's CPU)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None under another C library."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def _simulate_and_free(*args: Any, **kwargs: Any) -> RunOutput:
    """``simulate``, then free its model at once. A model is a cycle of references (Mesa's
    agents and their model, the funding context's callbacks): left to the collector, it goes
    only after many runs, and a worker's memory grew by a model's arrays at each run."""
    try:
        return simulate(*args, **kwargs)
    finally:
        gc.collect()


class CityStarts:
    """The city starts of one task's runs (which share the city and the model parameters),
    built on first use for each seed: a replication's runs share one build, runs of other
    seeds never do."""

    def __init__(self, city: City, params: ModelParams) -> None:
        self.city = city
        self.params = params
        self._built: dict[int, CityStart] = {}

    def __call__(self, seed: int) -> CityStart:
        """The start of the runs of ``seed``."""
        if seed not in self._built:
            self._built[seed] = build_city_start(self.city, self.params, seed)
        return self._built[seed]


def arm_mechanism(name: str, params: dict[str, Any]) -> Mechanism:
    """The mechanism of an arm (its parameters were validated when the scenario was read, and
    are again by the model that receives it)."""
    return MECHANISMS[name](**params)


def _specs(task: TaskSpec) -> list[RunSpec]:
    return list(task.twin_records) + list(task.arms)


def _record(spec: RunSpec, started: float) -> RunResult:
    """An empty result carrying the run's identity (the fields it shares with its spec)."""
    identity = {name: copy.copy(getattr(spec, name)) for name in RUN_IDENTITY}
    return RunResult(**identity, started_at=started)


def _same_as(spec: RunSpec, measured: RunResult) -> RunResult:
    """The result of another run of the same simulation, under ``spec``'s identity."""
    result = copy.copy(measured)
    for name in RUN_IDENTITY:
        setattr(result, name, copy.copy(getattr(spec, name)))
    return result


def _done(
    spec: RunSpec,
    output: RunOutput,
    twin: RunOutput,
    started: float,
    measures: SimulationMeasures | None = None,
) -> RunResult:
    result = fill_result(_record(spec, started), output, twin, measures)
    result.status = STATUS_DONE
    result.finished_at = time.time()
    return result


def _failed(spec: RunSpec, error: str, started: float) -> RunResult:
    result = _record(spec, started)
    result.status = STATUS_FAILED
    result.error = error
    result.finished_at = time.time()
    return result


# ---------------------------------------------------------------------------- Ctrl-C
class CtrlC:
    """Ctrl-C while a batch runs (in the main thread, under Python's default handling): raised
    as ``KeyboardInterrupt`` as usual, and remembered. Python runs a signal handler wherever the
    main thread is, also inside a weak reference's callback or a ``__del__``, where an exception
    is dropped; a remembered Ctrl-C is raised again at the next ``check`` (the batch checks at
    each result, and twice a second while it waits for one) instead of being lost. Held back
    (only remembered) while worker processes start; raised once they have."""

    def __init__(self) -> None:
        self.active = False
        self.pressed = False
        self.held = False

    def _handle(self, _signum: int, _frame: object) -> None:
        self.pressed = True
        if not self.held:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def remembered(self) -> Iterator[None]:
        """Watch Ctrl-C in this block, where Python's default handler is in place in the main
        thread (elsewhere, as under a handler of the caller's own, nothing changes)."""
        if (
            self.active
            or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield
            return
        self.active, self.pressed, self.held = True, False, False
        signal.signal(signal.SIGINT, self._handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.active = self.held = self.pressed = False

    @contextlib.contextmanager
    def held_back(self, raise_at_end: bool = True) -> Iterator[None]:
        """Only remember a Ctrl-C in this block; raise it at the block's end (or not at all)."""
        with self.remembered():
            held, self.held = self.held, True
            try:
                yield
            finally:
                self.held = held
            if raise_at_end:
                self.check()

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (and is not held back)."""
        if self.active and self.pressed and not self.held:
            raise KeyboardInterrupt


#: The batch's Ctrl-C (one batch at a time runs in the main thread).
CTRL_C = CtrlC()

#: Seconds between two checks of a remembered Ctrl-C while the batch waits for a result.
CTRL_C_CHECK_SECONDS = 0.5


# ---------------------------------------------------------------------------- executors
class Executor(Protocol):
    """Runs tasks somewhere and yields each task's results as it completes."""

    def run(self, tasks: Sequence[TaskSpec]) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
        """Results in completion order."""

    def shutdown(self) -> None:
        """Stop the workers, cancelling what has not started."""


class SerialExecutor:
    """Every task in this process, one after the other."""

    def run(self, tasks: Sequence[TaskSpec]) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
        """Results in task order."""
        with _frozen_while_running():
            for task in tasks:
                yield task, execute_task(task)

    def shutdown(self) -> None:
        """Nothing to stop."""


class ProcessExecutor:
    """Local worker processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def run(self, tasks: Sequence[TaskSpec]) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
        """Keep at most two tasks per worker in flight, so Ctrl-C has little to cancel."""
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_worker_context(),
            initializer=prepare_worker,
            initargs=owner_identity(),
        )
        _start_every_worker(self._pool, min(self.workers, len(tasks)))
        yield from _bounded(tasks, self._pool.submit, 2 * self.workers)

    def shutdown(self) -> None:
        """Stop the pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _worker_pid(seconds: float) -> int:
    """This worker's process id, after a short pause (so that other workers take other calls)."""
    time.sleep(seconds)
    return os.getpid()


def _start_every_worker(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker process now, Ctrl-C held back meanwhile. A worker still starting when
    the command ends would fail to rebuild its queues' semaphores (gone with the parent) and
    print a traceback; once all have started, the pool starts no other process. The processes
    start with SIGINT blocked (``_children_start_deaf_to_ctrl_c``). A Ctrl-C that came in the
    meantime is raised once they have."""
    with CTRL_C.held_back(), _children_start_deaf_to_ctrl_c():
        try:
            started: set[int] = set()
            deadline = time.monotonic() + 60
            while len(started) < workers and time.monotonic() < deadline:
                calls = [pool.submit(_worker_pid, 0.05) for _ in range(workers)]
                started.update(call.result() for call in calls)
        except (EOFError, OSError, BrokenProcessPool):
            if not CTRL_C.pressed:
                raise
            # Stopped while they started (Ctrl-C): the pool is gone, as asked.


@contextlib.contextmanager
def _children_start_deaf_to_ctrl_c() -> Iterator[None]:
    """Processes started from this thread meanwhile (the fork server, spawned workers) start with
    SIGINT blocked, as CPython starts its resource tracker: a Ctrl-C in their first instants,
    before they ignore it (the fork server once it serves, a worker in ``prepare_worker``),
    cannot interrupt their interpreter's start-up or their imports, which printed a traceback.
    Ctrl-C in this process is unchanged: Python handles it in the main thread whichever thread
    the kernel gives it to (and a signal blocked here waits until the block ends)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # The resource tracker unblocks SIGINT in the calling thread once it has started itself:
    # start it first (it ignores SIGINT in any case).
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


#: What the fork server imports before it forks workers (``worker_group`` first: see there).
WORKER_PRELOAD = ["sim.experiments.worker_group", "sim.experiments.batch"]


def _worker_context() -> BaseContext:
    """A fork server where the platform has one (workers start from a clean process that has
    already imported the simulator), else spawn; never a plain fork of this threaded process."""
    if "forkserver" in get_all_start_methods():
        context = get_context("forkserver")
        context.set_forkserver_preload(WORKER_PRELOAD)
        return context
    return get_context("spawn")


def _start_fork_server_for_dask() -> bool:
    """Start the fork server now, with the simulator and Dask imported, where the platform has
    one; whether it runs. Dask would start it importing its own packages only, and each worker
    would then import the simulator itself (seconds of CPU per worker, as with spawn). It starts
    deaf to Ctrl-C, as the local workers' one does (``_children_start_deaf_to_ctrl_c``)."""
    if "forkserver" not in get_all_start_methods():
        return False
    get_context("forkserver").set_forkserver_preload([*WORKER_PRELOAD, "distributed"])
    with _children_start_deaf_to_ctrl_c():
        forkserver.ensure_running()
    return True


class DaskExecutor:
    """A Dask distributed scheduler: a given address, or a local cluster of worker processes."""

    def __init__(self, workers: int, scheduler: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserInputError(
                "the dask executor needs the 'distributed' package: pip install 'sim[dask]'"
            ) from None
        self._cluster = None
        if scheduler is None:
            import dask

            with dask.config.set(local_dask_settings(forked=_start_fork_server_for_dask())):
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # Its few HTTP routes (no dashboard) on a free port: Dask's default one
                    # (8787) is taken by any other batch running on the machine.
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                )
            self.client = Client(self._cluster)
            # Local workers end with this process, however it ends.
            self.client.run(prepare_worker, *owner_identity(), False)
        else:
            self.client = Client(scheduler)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)

    def run(self, tasks: Sequence[TaskSpec]) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
        """Submit tasks to the cluster, a bounded number at a time."""

        def submit(fn: Callable[[TaskSpec], list[RunResult]], task: TaskSpec) -> Any:
            return self.client.submit(fn, task, pure=False)

        yield from _bounded(tasks, submit, 2 * self.workers)

    def shutdown(self) -> None:
        """Close the client (and the local cluster)."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def local_dask_settings(forked: bool) -> dict[str, Any]:
    """Dask settings of a local cluster, without what made a batch cost 2.5 times the CPU of
    local processes (Bordeaux scale, 2 workers):

    - Dask's nannies set ``MALLOC_TRIM_THRESHOLD_`` in their workers' environment; with any
      malloc threshold set, glibc stops adapting its mmap threshold, so every array of more
      than 128 KiB is mapped afresh and its pages zeroed by the kernel (30 times the page
      faults). The workers keep Dask's other variables (one BLAS thread each).
    - ``forked``: workers start from the fork server, which has imported the simulator (see
      ``_start_fork_server_for_dask``), rather than as new interpreters that each import it.
    - A task is a whole replication, seconds long: the statistical profiler (every 10 ms), the
      event loop's health check (20 ms) and the system and memory monitors (500 and 100 ms)
      cost about a tenth of a core while nobody looks at them; slower, they cost a hundredth.
    """
    import dask
    import distributed  # noqa: F401  (puts its defaults into dask.config)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    method = dask.config.get("distributed.worker.multiprocessing-method", default="spawn")
    return {
        "distributed.worker.multiprocessing-method": "forkserver" if forked else method,
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "5s",
        "distributed.worker.memory.monitor-interval": "1s",
    }


# ---------------------------------------------------------------------------- worker lifetime
#: Seconds between two checks, in a worker, that the process that started the batch still runs.
WATCH_SECONDS = 0.5


def owner_identity() -> tuple[int, str]:
    """This process's id and start time: what a worker watches."""
    return os.getpid(), _process_start(os.getpid())


def prepare_worker(owner_pid: int, owner_start: str, kill_with_parent: bool = True) -> None:
    """Set up a worker process: Ctrl-C is the parent's to handle (the worker ignores SIGINT),
    and the worker exits as soon as the parent is gone (``kill -9`` included): the kernel kills
    it when its parent (the fork server) dies (Linux, ``kill_with_parent``) and a watchdog
    thread checks the batch's process."""
    with contextlib.suppress(ValueError):  # not the main thread (Dask): its nanny handles it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "pthread_sigmask"):  # it started with SIGINT blocked: ignored now
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if kill_with_parent:
        _die_with_parent()
    watch_owner(owner_pid, owner_start)
    _freeze_what_is_loaded()


@contextlib.contextmanager
def _frozen_while_running() -> Iterator[None]:
    """Leave this process's objects out of the collections while it runs tasks itself, so that
    the one after each run walks only what the runs create (a tenth of a second less per run);
    they are all given back to the collector afterwards (``objects_frozen``, which each run's
    own freeze then leaves as it is)."""
    gc.collect()
    with objects_frozen():
        yield


def _freeze_what_is_loaded() -> None:
    """Leave the objects the worker has loaded so far (modules, the executor's own) out of every
    later collection, so that the one after each run (``_simulate_and_free``) walks only what
    runs create: a few milliseconds instead of about a tenth of a second."""
    gc.collect()
    gc.freeze()


def watch_owner(owner_pid: int, owner_start: str, every_seconds: float = WATCH_SECONDS) -> None:
    """Start a daemon thread that ends this process when process ``owner_pid`` is gone."""
    if owner_pid == os.getpid():
        return

    def watch() -> None:
        while _alive(owner_pid, owner_start):
            time.sleep(every_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="sim-owner-watchdog", daemon=True).start()


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    now = _process_start(pid)
    return now != "zombie" and (not started or now in ("", started))


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart;
    'zombie' for a process that has ended but not been reaped yet; '' where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[-1].split()
    except OSError:
        return ""
    if fields[:1] in (["Z"], ["X"]):
        return "zombie"
    return fields[19] if len(fields) > 19 else ""


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGKILL to this process when its parent process dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _bounded(
    tasks: Sequence[TaskSpec], submit: Callable[..., Any], in_flight: int
) -> Iterator[tuple[TaskSpec, list[RunResult]]]:
    """Submit tasks keeping at most ``in_flight`` pending; yield results as they complete. A task
    whose worker died is reported as failed runs rather than stopping the batch."""
    queue = list(tasks)
    pending: dict[Any, TaskSpec] = {}
    while queue or pending:
        while queue and len(pending) < in_flight:
            task = queue.pop(0)
            pending[submit(execute_task, task)] = task
        done = _wait_any(list(pending))
        for future in done:
            task = pending.pop(future)
            try:
                results = future.result()
            except Exception as error:  # the worker itself died (out of memory, killed)
                message = f"worker failed: {type(error).__name__}: {error}"
                results = [_failed(spec, message, time.time()) for spec in _specs(task)]
            yield task, results


def _wait_any(futures: list[Any]) -> list[Any]:
    """The futures done, once one is; a remembered Ctrl-C is raised meanwhile (``CtrlC``)."""
    while True:
        done = _wait_some(futures, CTRL_C_CHECK_SECONDS)
        CTRL_C.check()
        if done or not futures:
            return done


def _wait_some(futures: list[Any], seconds: float) -> list[Any]:
    """The futures done within ``seconds`` (none if none is)."""
    if futures and isinstance(futures[0], Future):
        return list(wait(futures, timeout=seconds, return_when=FIRST_COMPLETED).done)
    from distributed import wait as dask_wait

    try:
        return list(dask_wait(futures, timeout=seconds, return_when="FIRST_COMPLETED").done)
    except TimeoutError:
        return []


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """An executor by name; ``workers`` defaults to every core."""
    count = workers or os.cpu_count() or 1
    if name == "serial":
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(count)
    if name == "dask":
        return DaskExecutor(count, scheduler)
    raise UserInputError(f"--executor: expected one of {', '.join(EXECUTORS)}, got '{name}'")


# ---------------------------------------------------------------------------- the batch
@dataclass
class BatchSummary:
    """What a batch run did."""

    batch_id: int
    total_runs: int
    already_done: int
    ran_now: int
    failed: int
    interrupted: bool
    seconds: float


def run_batch(
    scenario: Scenario,
    store: ResultStore,
    executor: Executor,
    progress: bool = True,
    on_result: Callable[[RunResult], None] | None = None,
) -> BatchSummary:
    """Run every unfinished run of a scenario and store each task's runs as it completes.
    Ctrl-C stops it cleanly (``CtrlC``): the summary says it was interrupted; a Ctrl-C before the
    batch is opened raises ``KeyboardInterrupt``, with nothing stored."""
    with CTRL_C.remembered():
        return _run_batch(scenario, store, executor, progress, on_result)


def _run_batch(
    scenario: Scenario,
    store: ResultStore,
    executor: Executor,
    progress: bool,
    on_result: Callable[[RunResult], None] | None,
) -> BatchSummary:
    started = time.perf_counter()
    version, commit = package_version(), git_commit()
    batch_id = store.open_batch_once(
        name=scenario.name,
        description=scenario.description,
        scenario_text=scenario.text,
        scenario_hash=scenario.fingerprint(version, commit),
        scenario_path=scenario.source,
        root_seed=scenario.seed,
        months=scenario.simulated_months,
        follow_up_months=scenario.follow_up_months,
        replications=scenario.replications,
        planned_runs=scenario.run_count(),
        package_version=version,
        git_commit=commit,
        description_fr=scenario.description_fr,
        primary_outcome=scenario.primary_outcome,
        values_eur_per_outcome=scenario.values_eur_per_outcome,
        territories=scenario.city.build().territories,
    )
    try:
        store.claim_batch(batch_id)  # one runner per batch: no run computed twice
    except BaseException:
        executor.shutdown()
        raise
    store.start_heartbeat(batch_id)
    done = store.done_run_keys(batch_id)
    tasks = scenario.expand(done)
    total = scenario.run_count()
    bar = _progress_bar(total, len(done), progress)
    ran = failed = 0
    interrupted = False
    fault = True
    try:
        for _, results in executor.run(tasks):
            # A task's runs in one transaction: a killed batch keeps them all or none, and a
            # Ctrl-C during the transaction waits for its end (it would leave the connection in
            # a transaction that can neither commit nor end).
            with CTRL_C.held_back(raise_at_end=False):  # raised below, once counted
                store.store_runs(batch_id, results, len(done) + ran)
            ran += len(results)
            failed += sum(result.status == STATUS_FAILED for result in results)
            if on_result is not None:
                for result in results:
                    on_result(result)
            bar.update(len(results))
            bar.set_postfix(failed=failed)
            CTRL_C.check()
        fault = False
    except KeyboardInterrupt:
        interrupted = True
        fault = False
    finally:
        bar.close()
        try:
            executor.shutdown()
        except KeyboardInterrupt:
            # A second Ctrl-C while running tasks end: stop without waiting for them (their
            # workers end with this process).
            interrupted = True
        finally:
            if fault:  # a full disk, a database gone: say so in the batch if it still can
                store.finish_batch_if_possible(batch_id, "interrupted")
    status = "interrupted" if interrupted else ("finished_with_failures" if failed else "finished")
    with CTRL_C.held_back(raise_at_end=False):  # the outcome is settled: record it
        store.finish_batch(batch_id, status)
        store.release_batch(batch_id)
    return BatchSummary(
        batch_id, total, len(done), ran, failed, interrupted, time.perf_counter() - started
    )


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm  # a widget in notebooks, text elsewhere

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        disable=not enabled,
        desc="runs",
        dynamic_ncols=True,
    )


def package_version() -> str:
    """Installed version of sim."""
    try:
        return metadata.version("sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    """The source tree's commit, when sim runs from a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
