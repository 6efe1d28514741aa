"""Faults end cleanly: workers die with their parent, a killed batch shows as interrupted, Ctrl-C
never prints a traceback, a full disk says what is kept, read-only databases open, a second
``sim run`` of a batch in progress refuses, secrets and control characters never reach the
terminal."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import TINY
from sqlalchemy import event

from sim._ctrl_c import is_the_sim_command
from sim.cli import _rerun_command, main
from sim.errors import EnvironmentFault
from sim.experiments import store as store_module
from sim.experiments.batch import make_executor, run_batch
from sim.experiments.scenario import parse_scenario
from sim.experiments.store import ResultStore, mask_password


def _slow(tmp_path: Path, replications: int = 16) -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(
        TINY.replace("replications = 2", f"replications = {replications}").replace(
            "months = 14", "months = 36"
        )
    )
    return path


def _sim(*args: str, cwd: Path, new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
        # As from a terminal: Ctrl-C not ignored (a background job of a script ignores it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _done_runs(db: Path) -> int:
    try:
        with closing(sqlite3.connect(db, timeout=5)) as con:
            return int(con.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _wait_for_runs(db: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not db.exists() or _done_runs(db) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _descendants(pid: int) -> set[int]:
    """Every process whose chain of parents leads to ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_kill_9_of_the_parent_leaves_no_process_of_the_batch(tmp_path: Path, executor: str) -> None:
    """After ``kill -9`` of ``sim run`` (2 worker processes, local or a local Dask cluster's),
    every process it started (fork server, resource tracker, workers) is gone within seconds;
    the batch then shows as interrupted."""
    if executor == "dask":
        pytest.importorskip("distributed")
    scenario = _slow(tmp_path)
    db = tmp_path / "k.db"
    args = ("run", str(scenario), "--db", str(db), "--workers", "2", "--no-progress")
    process = _sim(*args, "--executor", executor, cwd=tmp_path)
    _wait_for_runs(db, 2, process)
    family = _descendants(process.pid)
    assert len(family) >= 4, "fork server, resource tracker and two workers"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in family if _alive(p)] == []
    listing = subprocess.run(
        [sys.executable, "-m", "sim.cli", "list", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "interrupted (its process ended without closing it" in listing
    assert "running" not in listing


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _fork_server_started(pid: int) -> bool:
    """Whether ``sim run`` (process ``pid``) has started its fork server."""
    return any(b"multiprocessing.forkserver" in _command_line(p) for p in _descendants(pid))


def _worker_started(pid: int) -> bool:
    """Whether ``sim run`` (process ``pid``) has started a worker (a child of its fork server)."""
    family = _descendants(pid)
    servers = {p for p in family if b"multiprocessing.forkserver" in _command_line(p)}
    return any(_descendants(server) for server in servers)


def _ctrl_c_when(
    tmp_path: Path, name: str, ready: Callable[[int, Path], bool], delay: float = 0.0
) -> None:
    """Start ``sim run`` (2 workers) as from a terminal, press Ctrl-C (SIGINT to its whole
    process group) ``delay`` seconds after ``ready(pid, db)``, and check that it exits with 130,
    its clean message and no traceback from any process (they all share its standard error)."""
    scenario = _slow(tmp_path)
    db = tmp_path / f"{name}.db"
    args = ("run", str(scenario), "--db", str(db), "--workers", "2", "--no-progress")
    process = _sim(*args, cwd=tmp_path, new_session=True)
    deadline = time.monotonic() + 120
    while process.poll() is None and not ready(process.pid, db):
        assert time.monotonic() < deadline, name
        time.sleep(0.005)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (name, delay, out, err)
    assert "Traceback" not in err + out, (name, delay, err)
    assert "Interrupted" in err + out, (name, delay, out, err)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    ("name", "ready", "delay"),
    [
        ("loading", lambda pid, db: True, 1.0),
        ("fork server starting", lambda pid, db: _fork_server_started(pid), 0.1),
        ("running", lambda pid, db: _done_runs(db) >= 1, 0.0),
    ],
    ids=["loading", "fork-server-starting", "running"],
)
def test_ctrl_c_of_the_process_group_prints_no_traceback(
    tmp_path: Path, name: str, ready: Callable[[int, Path], bool], delay: float
) -> None:
    """Ctrl-C from a terminal signals the whole process group: while the command loads, while
    its fork server starts (its interpreter's first tenth of a second printed a traceback nearly
    every time) and while the batch runs, the command exits with 130 and one clean message, and
    no process prints a traceback."""
    _ctrl_c_when(tmp_path, name, ready, delay)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_at_many_moments_prints_no_traceback(tmp_path: Path) -> None:
    """As above, Ctrl-C every 0.1 s of the command's first two seconds (from 0.3 s: before,
    Python itself may still be starting, see README), every 0.05 s of its fork server's first
    two, and as each of its first workers starts."""
    for step in range(20):
        _ctrl_c_when(tmp_path, f"start {step}", lambda pid, db: True, 0.3 + 0.1 * step)
    for step in range(5):
        _ctrl_c_when(tmp_path, f"worker {step}", lambda pid, db: _worker_started(pid), 0.0)
    for step in range(40):
        _ctrl_c_when(
            tmp_path, f"fork server {step}", lambda pid, db: _fork_server_started(pid), 0.05 * step
        )


def test_only_the_sim_command_ends_at_once_on_ctrl_c_while_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``import sim`` takes Ctrl-C over (to end at once while loading) only in the ``sim``
    command itself: its console script, or ``python -m sim.cli`` with or without options of
    Python's; never in a program, notebook or worker that imports sim."""
    monkeypatch.setattr(sys, "argv", ["-m"])
    for argv, expected in (
        (["python", "-m", "sim.cli", "run", "x.toml"], True),
        (["python", "-X", "importtime", "-B", "-m", "sim.cli"], True),
        (["python", "-msim.cli", "list"], True),
        (["python", "script.py", "-m", "sim.cli"], False),
        (["python", "-c", "import sim"], False),
        (["python", "-m", "pytest", "-m", "sim.cli"], False),
    ):
        monkeypatch.setattr(sys, "orig_argv", argv)
        assert is_the_sim_command() is expected, argv
    monkeypatch.setattr(sys, "argv", [str(Path("venv", "bin", "sim")), "run"])
    assert is_the_sim_command()


def _as_left_by_a_killed_run(db: Path, pid: int, process_start: str) -> None:
    """Make batch 1 of ``db`` look as a ``sim run`` leaves it while it runs, or once killed with
    ``kill -9``: stored as running, owned by process ``pid`` of this host."""
    now = datetime.now(UTC).isoformat()
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE batches SET status = 'running', finished_at = NULL WHERE id = 1")
        con.execute("DELETE FROM batch_owners")
        con.execute(
            "INSERT INTO batch_owners VALUES (1, ?, ?, ?, ?, ?)",
            (pid, socket.gethostname(), process_start, now, now),
        )


def test_a_batch_left_running_by_a_dead_process_reads_as_interrupted_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch stored as running whose process has ended reads as interrupted wherever its status
    reaches people, all through ``ResultStore.batches``: ``sim list``, ``sim compare`` (table and
    CSV), the report (its HTML, its French provenance), the dashboard's batch list and
    ``sim.open_results``. Owned by a live process, it reads as running."""
    from sim.api import open_results
    from sim.dashboard.views import batch_choices
    from sim.reading.i18n import Labels
    from sim.reading.report import load_batch, provenance, write_report

    db = tmp_path / "left.db"
    with ResultStore(str(db)) as store:
        run_batch(parse_scenario(TINY, source="tiny.toml"), store, make_executor("serial"), False)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _as_left_by_a_killed_run(db, int(ended.stdout), "0")
    with ResultStore(str(db), read_only=True) as store:
        row = store.batches().iloc[0]
    assert (row["status"], row["stored_status"]) == ("interrupted", "running")
    why = "interrupted (its process ended without closing it; run it again to resume)"
    assert main(["list", "--db", str(db)]) == 0
    assert why in capsys.readouterr().out
    for form in ("table", "csv"):
        assert main(["compare", "--db", str(db), "--format", form]) == 0
        err = capsys.readouterr().err
        assert f"note: batch 1 is {why}; the comparison covers its 6 run(s) done of 6" in err
    page = write_report(str(db), tmp_path / "report").read_text(encoding="utf-8")
    assert '<th scope="row">Batch status</th><td>interrupted</td>' in page
    french = {row["label"]: row["value"] for row in provenance(load_batch(str(db)), Labels("fr"))}
    assert french["État du lot"] == "interrompu"
    assert batch_choices(str(db)) == [(1, "tiny", "interrupted")]
    assert open_results(str(db)).batch_info["status"] == "interrupted"

    _as_left_by_a_killed_run(db, os.getpid(), store_module._process_start(os.getpid()))
    assert open_results(str(db)).batch_info["status"] == "running"
    assert batch_choices(str(db)) == [(1, "tiny", "running")]
    assert main(["compare", "--db", str(db), "--format", "csv"]) == 0
    assert "note: batch 1 is running; the comparison covers" in capsys.readouterr().err


def test_a_second_run_of_a_batch_in_progress_refuses(tmp_path: Path) -> None:
    """Two ``sim run`` on one database: the second exits with code 3 and says which process runs
    the batch; the first completes it; no run is computed twice."""
    scenario = _slow(tmp_path, replications=40)
    db = tmp_path / "two.db"
    args = ("run", str(scenario), "--db", str(db), "--executor", "serial", "--no-progress")
    first = _sim(*args, cwd=tmp_path)
    _wait_for_runs(db, 1, first)
    second = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 3, second.stderr
    assert f"is being run by process {first.pid}" in second.stderr
    assert second.stderr.count("\n") == 1
    first.communicate(timeout=300)
    assert first.returncode == 0
    with closing(sqlite3.connect(db)) as con:
        keys = [k for (k,) in con.execute("SELECT run_key FROM runs")]
        owners = con.execute("SELECT COUNT(*) FROM batch_owners").fetchone()[0]
    assert len(keys) == len(set(keys)) == 120
    assert owners == 0


def test_simultaneous_opening_of_one_batch_is_no_integrity_error(tmp_path: Path) -> None:
    """The same batch opened twice at once (the second insert hits the unique constraint) gives
    the same batch, and the second claim while the first owner lives is refused."""
    scenario = parse_scenario(TINY, source="tiny.toml")
    db = str(tmp_path / "race.db")
    fields = {
        "name": "tiny",
        "description": "",
        "scenario_text": scenario.text,
        "scenario_hash": "h",
        "scenario_path": "tiny.toml",
        "root_seed": 1,
        "months": 14,
        "replications": 2,
        "planned_runs": 6,
        "package_version": "0",
        "git_commit": None,
    }
    with ResultStore(db) as a, ResultStore(db) as b:
        calls = {"n": 0}
        original = b.open_batch

        def racing(**kwargs: object) -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                a.open_batch(**fields)  # the other process wins the race
                from sqlalchemy import exc

                raise exc.IntegrityError("insert", {}, Exception("UNIQUE constraint failed"))
            return original(**kwargs)  # type: ignore[arg-type]

        b.open_batch = racing  # type: ignore[method-assign]
        assert b.open_batch_once(**fields) == 1
        a.claim_batch(1)
        owner = b.owner(1)
        assert owner is not None
        assert owner.pid == os.getpid()
        a.release_batch(1)
        assert b.owner(1) is None


def test_disk_full_is_a_clean_message_saying_what_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite's 'database or disk is full' while storing: exit 3, one line that says how many
    runs are kept and how to resume; the batch shows as interrupted; rerunning completes it."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    db = tmp_path / "full.db"
    original = store_module.ResultStore.__init__

    def small_disk(self: ResultStore, url: str, read_only: bool = False) -> None:
        original(self, url, read_only)
        if not read_only:
            pages = {"n": 0}

            def limit(dbapi_connection: sqlite3.Connection, _record: object) -> None:
                count = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
                pages["n"] = pages["n"] or count + 8
                dbapi_connection.execute(f"PRAGMA max_page_count={pages['n']}")

            event.listen(self._engine, "connect", limit)
            self._engine.dispose()

    monkeypatch.setattr(store_module.ResultStore, "__init__", small_disk)
    args = ["run", str(scenario), "--db", str(db), "--executor", "serial", "--no-progress"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "database or disk is full" in err
    assert "stored before are complete and kept" in err
    assert "run the same command again to resume" in err
    monkeypatch.undo()
    with ResultStore(str(db), read_only=True) as store:
        batches = store.batches()
        assert store.shown_status(1, str(batches["status"].iloc[0])) == "interrupted"
        kept = len(store.runs(1))
    assert 0 < kept < 6
    assert main(args) == 0
    assert f"{6 - kept} run(s) now, {kept} already stored" in capsys.readouterr().out


def test_a_closed_database_is_one_file_and_opens_read_only(tmp_path: Path) -> None:
    """After a batch the file is back in rollback-journal mode (no -wal to copy along); a file
    left in WAL mode by a killed writer, on media where no -shm file can be created, still opens
    read-only (immutable)."""
    scenario = parse_scenario(TINY, source="tiny.toml")
    db = tmp_path / "ro.db"
    with ResultStore(str(db)) as store:
        run_batch(scenario, store, make_executor("serial"), progress=False)
    header = db.read_bytes()[:20]
    assert header[18:20] == b"\x01\x01", "rollback journal, not WAL"
    assert not Path(f"{db}-wal").exists()
    with closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA journal_mode=WAL")
    Path(f"{db}-shm").mkdir()  # as on read-only media: no -shm file can be created
    with ResultStore(str(db), read_only=True) as store:
        assert len(store.runs(1)) == 6
    assert main(["compare", str(db), "--format", "csv"]) == 0


def test_results_folder_that_cannot_be_created_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db under a plain file (its folder cannot be created): exit 2 and one line."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["run", str(scenario), "--db", str(blocker / "sub" / "x.db"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot create its folder" in err
    assert err.count("\n") == 1


def test_a_read_only_database_refuses_writes_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sim run` into a database it can read but not write: exit 3 with one line."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    db = tmp_path / "ro.db"
    with ResultStore(str(db)):
        pass
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    code = main(["run", str(scenario), "--db", url, "--executor", "serial", "--no-progress"])
    err = capsys.readouterr().err
    assert code in (2, 3), err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_passwords_are_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """The resume and compare hints, and errors, hide a database password."""
    url = "postgresql+psycopg://analyst:s3cret@db.example:5432/sim"
    assert mask_password(url) == "postgresql+psycopg://analyst:***@db.example:5432/sim"
    assert "s3cret" not in mask_password("postgresql://analyst:s3cret@host:not-a-port/x")

    class Args:
        file = "s.toml"
        executor = "processes"
        workers = None
        scheduler = None

    assert "s3cret" not in _rerun_command(Args(), url)  # type: ignore[arg-type]
    assert main(["compare", url]) in (2, 3)
    assert "s3cret" not in capsys.readouterr().err


def test_control_characters_in_names_are_neutralised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Terminal escape codes in a scenario's name are printed as visible escapes."""
    scenario = tmp_path / "esc.toml"
    scenario.write_text(TINY.replace('name = "tiny"', 'name = "\\u001b]0;owned\\u0007\\u001b[2J"'))
    assert main(["validate", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\\x1b]0;owned\\x07" in out


def test_environment_fault_is_not_an_input_error() -> None:
    """Faults of the environment are their own kind (exit code 3), not bad input (2)."""
    assert not issubclass(EnvironmentFault, ValueError)
