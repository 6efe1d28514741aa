"""The lockstep benchmark of two versions: each version's own code and nothing else, the same
months, and a final state that tells identical results from different ones."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_script

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "bench_pair.py"


def _in_git_checkout() -> bool:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, check=False
        )
    except OSError:  # no git
        return False
    return done.returncode == 0


pytestmark = pytest.mark.skipif(not _in_git_checkout(), reason="needs git and this repository")


def _bench_pair() -> ModuleType:
    return load_script(SCRIPT)


def test_a_revision_against_the_tree_steps_the_same_months_to_the_same_state(
    tmp_path: Path,
) -> None:
    """HEAD's export against this tree (the same code when the tree is clean, as in CI; each
    found under its own root in any case): every month timed on both sides, each version
    built first in turn, and both ending in the same state."""
    bench = _bench_pair()
    head = bench.export_revision("HEAD", tmp_path)
    args = argparse.Namespace(city="demo", seed=1, months=3, timeout=600.0)
    runs = [bench.compare("call_for_projects", head, REPO, first, args) for first in (True, False)]
    assert [run["before_built_first"] for run in runs] == [True, False]
    for run in runs:
        assert run["months"] == 3
        assert run["before_cpu_seconds"] > 0
        assert run["after_cpu_seconds"] > 0
    clean = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "sim"], capture_output=True, check=True
    )
    if not clean.stdout:
        assert bench.summary("call_for_projects", runs)["same_final_state"] is True


def test_two_seeds_end_in_different_states(tmp_path: Path) -> None:
    bench = _bench_pair()
    head = bench.export_revision("HEAD", tmp_path)
    digests = []
    for seed in (1, 2):
        with bench.Version("before", head, [None, "demo", seed, 2, "status_quo", {}]) as version:
            version.ready()
            version.step()
            digests.append(version.end())
    assert digests[0] != digests[1]


def test_a_module_the_revision_lacks_is_not_taken_from_the_tree(tmp_path: Path) -> None:
    """The environment's editable install would serve the tree's copy: the version fails."""
    bench = _bench_pair()
    head = bench.export_revision("HEAD", tmp_path)
    (head / "sim" / "world" / "runs.py").unlink()
    with (
        pytest.raises(RuntimeError, match="ended early"),
        bench.Version("before", head, [None, "demo", 1, 2, "status_quo", {}]) as version,
    ):
        version.ready()


def test_a_version_that_gives_no_answer_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version stuck in its build (or a month) fails the benchmark within the timeout, and
    its process is ended rather than left running."""
    bench = _bench_pair()
    monkeypatch.setattr(bench, "STEPPER", "import time; time.sleep(60)")
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match=r"gave no answer in 0\.5 s"),
        bench.Version("before", tmp_path, [None, "demo", 1, 2, "status_quo", {}], 0.5) as version,
    ):
        version.ready()
    assert version.process.poll() is not None
    assert time.monotonic() - started < 30


#: A stepper that says it is built, then ends (exit 3) or is killed, instead of stepping.
BUILT_THEN = """
import json, os, signal, sys
mark, root = json.loads(sys.argv[1])[:2]
print(mark + "built True " + root, flush=True)
{then}
"""


@pytest.mark.parametrize(
    ("then", "message"),
    [
        ("sys.exit(3)", r"ended early \(exit 3\): its error is above"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL"),
    ],
)
def test_a_version_that_ends_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, then: str, message: str
) -> None:
    """Asked to step once it has ended, a version says how it ended (not a broken pipe)."""
    bench = _bench_pair()
    monkeypatch.setattr(bench, "STEPPER", BUILT_THEN.format(then=then))
    with bench.Version("before", tmp_path, [None, "demo", 1, 2, "status_quo", {}]) as version:
        version.ready()
        version.process.wait()
        with pytest.raises(RuntimeError, match=message):
            version.step()


def test_the_script_runs_end_to_end_in_a_fresh_process() -> None:
    """As a user runs it: nothing another test loaded into this process is there to help (it
    once failed to load bench_city's arms on its own, which tests loading bench_city hid)."""
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--before",
            "HEAD",
            "--city",
            "demo",
            "--months",
            "1",
            "--arms",
            "status_quo",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"arm": "status_quo"' in done.stdout


def test_bad_input_is_refused_with_what_was_expected() -> None:
    def run(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *words], capture_output=True, text=True, check=False
        )

    assert "--before HEAD~1" in run("--help").stdout
    no_revision = run("--before", "no-such-revision", "--city", "demo", "--months", "1")
    assert no_revision.returncode != 0
    assert "cannot export sim at revision 'no-such-revision'" in no_revision.stderr
    unknown_arm = run("--before", "HEAD", "--arms", "lottery")
    assert unknown_arm.returncode == 2
    assert "unknown arm ['lottery']" in unknown_arm.stderr
    assert "at least 1" in run("--before", "HEAD", "--months", "0").stderr
    for seconds in ("0", "-1", "nan", "inf"):
        refused = run("--before", "HEAD", "--timeout", seconds)
        assert refused.returncode == 2
        assert "expected a number of seconds above 0" in refused.stderr
