"""Benchmark: the month loop of two versions of the code, in lockstep, month by month.

On a shared machine the CPU time of a whole run swings by a fifth from one run to the next, so
two versions timed one after the other differ by the machine's phase as much as by the code.
Here each version runs in its own process (``before``: a git revision of this repository,
exported to a temporary directory; ``after``: this working tree), both build the same city with
the same seed, and this process asks them to step one month each in turn (the first to step
alternates every month). Each month's CPU time is paired with the other version's, taken
moments apart. On Linux both processes run on one core, one at a time: each on its own core,
their speeds differed by up to 16 % with identical code. The version built second also steps
about 2 % faster (measured with identical code), so each arm runs ``--repeat`` times, each
version built first in turn. Both versions use this environment's packages (numpy...): only
``sim`` differs.

Prints one JSON object per run as it ends: CPU seconds of each version, their ratio, the median
paired difference (ms a month), in how many months the working tree was faster, and whether
both ended in the same state (a hash of every array of the population and of the monthly
series); then one per arm with the geometric mean of the ratios. Progress goes to stderr.

    python benchmarks/bench_pair.py --before HEAD~1
    python benchmarks/bench_pair.py --before main --arms call_for_projects,planned --repeat 4
    python benchmarks/bench_pair.py --before HEAD --city demo --months 24   # the control

``--before HEAD`` against an unchanged working tree is the control: what identical code shows.
A version that gives no answer within ``--timeout`` seconds (a build, a month or the end) is
stopped, and the benchmark fails saying which.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
from io import BytesIO
from pathlib import Path
from types import ModuleType, TracebackType

REPO = Path(__file__).resolve().parent.parent
#: How the stepping process marks its answers, apart from anything the code under test prints.
ANSWER = "@@bench_pair "

#: Seconds a version may take to answer (its build, a month, its end) before it is stopped.
TIMEOUT_SECONDS = 600.0

#: What each version's process runs: build the model, then one month per "step" line read,
#: answering with its CPU seconds; "end" answers with the hash of the final state and the
#: modules of ``sim`` loaded from anywhere but its own root.
STEPPER = """
import contextlib, gc, hashlib, json, os, sys, time
mark, root, core, city, seed, months, arm, params = json.loads(sys.argv[1])
# The environment's editable install of sim would serve any module the revision lacks.
sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in type(f).__name__]
pinned = core is not None and hasattr(os, "sched_setaffinity")
if pinned:
    os.sched_setaffinity(0, {core})
import sim
from sim.funding.registry import make_mechanism
from sim.simulation import model as model_module
def answer(*words):
    print(mark + " ".join(str(w) for w in words), flush=True)
model = model_module.CityModel(city, seed=seed, months=months,
                               mechanism=make_mechanism(arm, **params), resident_agents=False)
frozen = getattr(model_module, "objects_frozen", None)  # as the version's own run does
with frozen() if frozen is not None else contextlib.nullcontext():
    answer("ready", pinned, sim.__file__)
    for line in sys.stdin:
        if line.strip() == "end":
            break
        started = time.process_time()
        model.step()
        answer(time.process_time() - started)
digest = hashlib.sha256()
for holder in (vars(model.population), model.series):
    for name in sorted(holder):
        value = holder[name]
        if hasattr(value, "tobytes"):
            digest.update(f"{name} {value.dtype} {value.shape}".encode())
            digest.update(value.tobytes())
foreign = sorted(
    name for name, module in list(sys.modules.items())
    if name.split(".")[0] == "sim" and getattr(module, "__file__", None)
    and not os.path.realpath(module.__file__).startswith(os.path.realpath(root) + os.sep)
)
answer(digest.hexdigest()[:16], json.dumps(foreign))
"""


def _sibling(name: str) -> ModuleType:
    """A benchmark script of this directory, as a module, registered under its name as an import
    would (its dataclasses look their module up); not left registered if it fails to load. One
    already registered (loaded by a test, say) is that module."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    if spec is None or spec.loader is None:
        raise ImportError(name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def export_revision(revision: str, into: Path) -> Path:
    """The ``sim`` package of ``revision`` of this repository, written under ``into``."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "sim"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise SystemExit(f"bench_pair: cannot export sim at revision {revision!r}: {message}")
    with tarfile.open(fileobj=BytesIO(done.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into.resolve()


class Version:
    """One version's stepping process (its ``sim`` found under ``root``), ended on exit. Its
    answers are read by a thread of their own, so that waiting for one can time out."""

    def __init__(
        self, label: str, root: Path, setup: list[object], timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.label, self.root, self.timeout = label, root.resolve(), timeout
        env = dict(os.environ, PYTHONPATH=str(self.root), OMP_NUM_THREADS="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", STEPPER, json.dumps([ANSWER, str(self.root), *setup])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self.root,  # python -c looks in its working directory first
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    def __enter__(self) -> Version:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        # Its output closes with it, unless a process it started still holds it: then the
        # reader, a daemon, is left behind rather than waited for.
        self._reader.join(timeout=5.0)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()

    def ready(self) -> bool:
        """Wait for the model to be built; whether the process runs on the one core asked."""
        _, pinned, found = self._read().split(maxsplit=2)
        if not Path(found).resolve().is_relative_to(self.root):
            raise RuntimeError(f"the {self.label} version's sim came from {found}")
        return pinned == "True"

    def step(self) -> float:
        """Step one month; its CPU seconds."""
        return float(self._ask("step"))

    def end(self) -> str:
        """The hash of the final state; fails if any module of sim came from elsewhere."""
        digest, foreign = self._ask("end").split(maxsplit=1)
        if json.loads(foreign):
            raise RuntimeError(f"the {self.label} version loaded {foreign} from elsewhere")
        return digest

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        # A process that has ended cannot be asked; reading then says how it ended.
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        return self._read()

    def _read_answers(self) -> None:
        """Pass on each answer of the process, skipping anything else the code under test
        prints; None once its output ends."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(ANSWER):
                self._answers.put(line[len(ANSWER) :].strip())
        self._answers.put(None)

    def _read(self) -> str:
        """The next answer, within ``timeout`` seconds."""
        try:
            answer = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            self.process.kill()  # a late answer would be taken for the next one
            raise RuntimeError(
                f"the {self.label} version's process gave no answer in {self.timeout:g} s"
            ) from None
        if answer is None:
            raise RuntimeError(f"the {self.label} version's process {self._ending()}")
        return answer

    def _ending(self) -> str:
        """How the process ended, for an error message."""
        code = self.process.wait()
        if code < 0:
            return f"was killed by {signal.Signals(-code).name} (out of memory?)"
        return f"ended early (exit {code}): its error is above"


def compare(
    arm: str, before: Path, after: Path, before_built_first: bool, args: argparse.Namespace
) -> dict[str, object]:
    """Step both versions of one arm in lockstep; their paired monthly CPU times."""
    core = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    params = _sibling("bench_city").ARM_PARAMS.get(arm, {})
    setup = [core, args.city, args.seed, args.months, arm, params]
    with contextlib.ExitStack() as stack:
        builds = [("before", before), ("after", after)]
        if not before_built_first:
            builds.reverse()
        versions = {}
        for label, root in builds:  # one built after the other, as the order says
            versions[label] = stack.enter_context(Version(label, root, setup, args.timeout))
            pinned = versions[label].ready()
        old, new = versions["before"], versions["after"]
        old_ms, new_ms = [], []
        for month in range(args.months):
            if month % 2:  # each steps first every other month
                new_ms.append(new.step() * 1e3)
                old_ms.append(old.step() * 1e3)
            else:
                old_ms.append(old.step() * 1e3)
                new_ms.append(new.step() * 1e3)
        same = old.end() == new.end()
    differences = [n - o for n, o in zip(new_ms, old_ms, strict=True)]
    return {
        "arm": arm,
        "months": args.months,
        "before_cpu_seconds": round(sum(old_ms) / 1e3, 3),
        "after_cpu_seconds": round(sum(new_ms) / 1e3, 3),
        "after_over_before": round(sum(new_ms) / sum(old_ms), 3),
        "median_difference_ms_per_month": round(statistics.median(differences), 3),
        "months_after_faster": sum(d < 0 for d in differences),
        "before_built_first": before_built_first,
        "one_core": pinned,
        "same_final_state": same,
    }


def summary(arm: str, runs: list[dict[str, object]]) -> dict[str, object]:
    """The runs of one arm together: the geometric mean of their ratios, in which the build
    order's bias cancels when as many runs built each version first."""
    ratios = [float(str(run["after_over_before"])) for run in runs]
    return {
        "arm": arm,
        "runs": len(runs),
        "after_over_before_geometric_mean": round(statistics.geometric_mean(ratios), 3),
        "after_over_before": ratios,
        "same_final_state": all(run["same_final_state"] for run in runs),
    }


def _parser(arms: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", required=True, help="git revision to compare the tree with")
    parser.add_argument("--city", default="bordeaux_scale", help="built-in city or table")
    parser.add_argument("--months", type=_at_least_one, default=120, help="months stepped")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed, both versions")
    parser.add_argument(
        "--arms",
        type=lambda text: _arms(text, arms),
        default="call_for_projects,planned",
        help=f"comma-separated, among: {', '.join(arms)}",
    )
    parser.add_argument(
        "--repeat",
        type=_at_least_one,
        default=2,
        help="runs per arm, each version built first in turn (even: the bias cancels)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=TIMEOUT_SECONDS,
        help="seconds a version may take to build, step a month or end before it is stopped",
    )
    return parser


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text}")
    return value


def _arms(text: str, known: list[str]) -> list[str]:
    asked = text.split(",")
    unknown = [arm for arm in asked if arm not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown arm {unknown}; expected among {known}")
    return asked


def main() -> None:
    from sim.funding.registry import MECHANISMS

    args = _parser(sorted(MECHANISMS)).parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        before = export_revision(args.before, Path(scratch))
        for arm in args.arms:
            runs = []
            for run in range(args.repeat):
                print(f"{arm}: run {run + 1} of {args.repeat}", file=sys.stderr, flush=True)
                runs.append(compare(arm, before, REPO, run % 2 == 0, args))
                print(json.dumps(runs[-1]), flush=True)
            print(json.dumps(summary(arm, runs)), flush=True)


if __name__ == "__main__":
    main()
