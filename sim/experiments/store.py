"""The results database: batches of runs, their metrics, series and detailed records.

One SQLite file per scenario by default (``results/<scenario>.db``); any SQLAlchemy URL works too
(PostgreSQL, for instance). The parent process is the only writer: workers send ``RunResult``s
back and the parent stores each task's runs in one transaction, so a batch interrupted at any
point can be resumed by skipping the runs already done.

The schema is versioned (``schema_info.schema_version``): a database written by another version
of the schema is refused rather than silently mixed with new rows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import socket
import threading
import time
import typing
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    exc,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection, CursorResult, make_url

from sim.delivery.needs import need_keys
from sim.errors import EnvironmentFault, UserInputError
from sim.experiments.results import (
    STATUS_DONE,
    STATUS_FAILED,
    CashFlowRecord,
    RunResult,
    TerritoryResult,
)
from sim.funding.records import EvaluationRecord, PilotDecision
from sim.world.territory import Territory

SCHEMA_VERSION = 3
#: Status of a batch while runs are being stored, and the statuses ``finish_batch`` accepts.
BATCH_RUNNING = "running"
BATCH_FINAL_STATUSES = ("finished", "interrupted", "finished_with_failures")
#: Milliseconds a connection waits for a lock held by another one (readers, a stale writer).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Status shown for a batch left ``running`` by a process that is gone (killed, machine stopped).
BATCH_ABANDONED = "interrupted"
#: Seconds between two heartbeats of a batch's owner, and after which an owner on another host
#: that has not beaten is taken for gone.
HEARTBEAT_SECONDS = 10.0
OWNER_STALE_SECONDS = 120.0

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

batches_table = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("description_fr", Text, nullable=False, default=""),
    Column("primary_outcome", Text, nullable=False, default="employment"),
    Column("values_eur_per_outcome", Text, nullable=False, default="{}"),
    Column("scenario_text", Text, nullable=False),
    Column("scenario_hash", Text, nullable=False),
    Column("scenario_path", Text, nullable=False),
    Column("package_version", Text, nullable=False),
    Column("git_commit", Text, nullable=True),
    Column("root_seed", BigInteger, nullable=False),
    Column("months", Integer, nullable=False),
    # Of ``months``, those simulated after the delivery horizon (nobody joins, outcomes go on).
    Column("follow_up_months", Integer, nullable=False, default=0),
    Column("replications", Integer, nullable=False),
    Column("planned_runs", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("finished_at", Text, nullable=True),
    Column("status", Text, nullable=False),
    UniqueConstraint("name", "scenario_hash", name="uq_batches_name_hash"),
)

runs_table = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "batch_id",
        Integer,
        ForeignKey("batches.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("run_key", Text, nullable=False),
    Column("point", Integer, nullable=False),
    Column("replication", Integer, nullable=False),
    Column("arm", Text, nullable=False),
    Column("mechanism", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("mechanism_params", Text, nullable=False),
    Column("model_params", Text, nullable=False),
    Column("point_values", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("started_at", Text, nullable=True),
    Column("finished_at", Text, nullable=True),
    Column("elapsed_seconds", Float, nullable=True),
    Column("contract", Text, nullable=False),
    UniqueConstraint("batch_id", "run_key", name="uq_runs_batch_key"),
)


def _run_id(*, primary_key: bool = False) -> Column[int]:
    """The ``run_id`` column of a child table (cascading deletes from ``runs``)."""
    return Column(
        "run_id",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
        index=not primary_key,
    )


def _row_id() -> Column[int]:
    """Surrogate key of a child table without a natural one: keeps rows in insertion order."""
    return Column("id", Integer, primary_key=True, autoincrement=True)


run_metrics_table = Table(
    "run_metrics",
    metadata,
    _run_id(primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float, nullable=True),
)

series_table = Table(
    "series",
    metadata,
    _run_id(primary_key=True),
    Column("name", Text, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("value", Float, nullable=True),
)


def _sql_type(annotation: Any) -> Any:
    """The SQL column type of a record field's type."""
    kinds = set(typing.get_args(annotation)) - {type(None)} or {annotation}
    if typing.get_origin(annotation) is tuple:
        return Text  # a tuple of names, joined by ";"
    for python, sql in ((bool, Boolean), (int, Integer), (float, Float), (str, Text)):
        if python in kinds:
            return sql
    raise TypeError(f"no SQL column type for a record field of type {annotation!r}")


def _record_columns(record_type: type) -> list[Column[Any]]:
    """One column per field of a record type; a per-need mapping (``dict[str, int]``) becomes
    one column per registered need, ``<field>_<need>``."""
    hints = typing.get_type_hints(record_type)
    columns: list[Column[Any]] = []
    for f in dataclasses.fields(record_type):
        annotation = hints[f.name]
        if typing.get_origin(annotation) is dict:
            value_type = typing.get_args(annotation)[1]
            columns += [Column(f"{f.name}_{need}", _sql_type(value_type)) for need in need_keys()]
        else:
            columns.append(Column(f.name, _sql_type(annotation)))
    return columns


def record_table(name: str, record_type: type) -> Table:
    """A child table of ``runs`` derived from a record type: a new field becomes a new column."""
    return Table(name, metadata, _row_id(), _run_id(), *_record_columns(record_type))


#: The batch's city: its territory table with positions and adjacency (``neighbours`` joined by
#: ``;``), so that reports draw the map from stored data alone.
batch_territories_table = Table(
    "batch_territories",
    metadata,
    Column("batch_id", Integer, ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    *_record_columns(Territory),
)


territory_results_table = record_table("territory_results", TerritoryResult)
cash_flows_table = record_table("cash_flows", CashFlowRecord)
pilot_decisions_table = record_table("pilot_decisions", PilotDecision)
evaluations_table = record_table("evaluations", EvaluationRecord)

#: Who is running a batch now: one row per batch being run (process id, host, the process's
#: start time, to tell a reused process id apart, and a heartbeat). A second ``sim run`` of the
#: batch refuses while the owner lives; a row left by a killed owner is taken over.
batch_owners_table = Table(
    "batch_owners",
    metadata,
    Column("batch_id", Integer, ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("host", Text, nullable=False),
    Column("process_start", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("heartbeat_at", Text, nullable=False),
)

#: Every table that hangs off ``runs``, deleted explicitly before a run is replaced.
CHILD_TABLES = (
    run_metrics_table,
    series_table,
    territory_results_table,
    cash_flows_table,
    pilot_decisions_table,
    evaluations_table,
)
#: Tables whose rows are copied column by column from a ``RunResult`` list of records.
RECORD_TABLES = {
    "territories": territory_results_table,
    "cash_flows": cash_flows_table,
    "decisions": pilot_decisions_table,
    "evaluations": evaluations_table,
}


class SchemaVersionError(UserInputError):
    """A results database written with another schema, or not by ``sim`` at all."""

    def __init__(self, location: str, found: str | None, expected: int = SCHEMA_VERSION) -> None:
        if found is None:
            what = "has tables but no sim schema version (schema_info is missing or empty)"
        else:
            what = f"has schema version {found!r}"
        super().__init__(
            f"results database {location} {what}; this version of sim expects schema version "
            f"{expected}. Use a new --db file (or move this one away) to store new results."
        )
        self.location = location
        self.found = found
        self.expected = expected


def require_existing(db: str) -> None:
    """Refuse a SQLite file (path or sqlite:/// URL) that does not exist: opening it would
    create an empty database."""
    path = db[len("sqlite:///") :] if db.startswith("sqlite:///") else db
    if "://" not in path and path not in ("", ":memory:") and not Path(path).is_file():
        raise UserInputError(f"{db}: no such results database")


def default_db_path(scenario_name: str) -> str:
    """The default results file of a scenario.

    Args:
        scenario_name: The scenario's name, as written in its file.

    Returns:
        ``results/<safe name>.db``, where every character other than an ASCII letter, a digit,
        ``-`` or ``_`` is replaced by ``_`` (``scenario`` if the name is empty).
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", scenario_name) or "scenario"
    return f"results/{safe}.db"


def _now() -> str:
    """The current time, ISO 8601 in UTC (fixed width, so strings sort as times)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _iso(epoch_seconds: float) -> str | None:
    """An epoch timestamp as ISO 8601 UTC, or None when unset (zero or not finite)."""
    if not math.isfinite(epoch_seconds) or epoch_seconds <= 0:
        return None
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="microseconds")


def _float(value: Any) -> float | None:
    """A value as a float, with NaN and infinities as None (SQL NULL)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


#: Types whose values are JSON-ready as they are.
_ATOMS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> Any:
    """A value turned into JSON-ready Python data (non-finite floats become None)."""
    # The built-in types nearly every value has, told by their exact type first: the general
    # checks below (an ABC's isinstance, a missing attribute) answer the same, several times
    # slower, and a contract holds hundreds of values.
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return _plain(value.tolist())  # numpy arrays and scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(value: Any) -> str:
    """Strict JSON text of a value (sorted keys; anything unknown written as its ``str``)."""
    return json.dumps(_plain(value), sort_keys=True, allow_nan=False, default=str)


#: Python types a value of a record is most often already in: no numpy scalar to make plain.
_PLAIN_TYPES = (bool, int, float, str)


def _converter(column: Column[Any]) -> Callable[[Any], Any]:
    """How a value becomes what ``column`` holds: a float (None when not finite), a bool, an
    int or a text."""
    kind = column.type
    if isinstance(kind, Float):
        return _float
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Integer):
        return int
    return str


def _cell(convert: Callable[[Any], Any], value: Any) -> Any:
    """A record's value converted by its column's converter (numpy scalars made plain)."""
    if value is None:
        return None
    if type(value) not in _PLAIN_TYPES and hasattr(value, "item"):
        value = value.item()
    return convert(value)


#: The fields of each record type seen, in order (looked up once per type, not per record).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(record_type: type) -> tuple[str, ...]:
    """The fields of a record type, in order."""
    names = _FIELD_NAMES.get(record_type)
    if names is None:
        names = _FIELD_NAMES[record_type] = tuple(f.name for f in dataclasses.fields(record_type))
    return names


def _flat_record(record: Any) -> dict[str, Any]:
    """A record's fields, a per-need mapping spread over ``<field>_<need>`` keys and a tuple
    joined by ``;``. Read field by field: ``dataclasses.asdict`` deep-copies every value first,
    which cost more than the rest of storing a run, and fields hold plain values only."""
    flat: dict[str, Any] = {}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, dict):
            flat.update({f"{name}_{need}": v for need, v in value.items()})
        elif isinstance(value, tuple):
            flat[name] = ";".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def _data_columns(table: Table) -> list[Column[Any]]:
    """The columns a stored row fills, in table order: all but an autoincremented ``id``."""
    return [c for c in table.columns if not (c.name == "id" and c.autoincrement is True)]


@dataclass(frozen=True)
class _RecordLayout:
    """Where a child table's record fields go, worked out once per table rather than per run:
    its data columns after ``run_id``, in table order, each with its conversion."""

    table: Table
    names: tuple[str, ...]
    converters: tuple[Callable[[Any], Any], ...]

    @classmethod
    def of(cls, table: Table) -> _RecordLayout:
        """The layout of a child table of ``runs``."""
        columns = [c for c in _data_columns(table) if c.name != "run_id"]
        return cls(table, tuple(c.name for c in columns), tuple(map(_converter, columns)))

    def values(self, records: Iterable[Any]) -> list[tuple[Any, ...]]:
        """Each record's column values (without ``run_id``); a field without a column is an
        error, never silently dropped."""
        rows = []
        for record in records:
            flat = _flat_record(record)
            unknown = flat.keys() - set(self.names)
            if unknown:
                raise ValueError(f"table {self.table.name} has no column for {sorted(unknown)}")
            rows.append(
                tuple(
                    _cell(convert, flat.get(name))
                    for name, convert in zip(self.names, self.converters, strict=True)
                )
            )
        return rows


def _metric_values(metrics: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """``run_metrics`` rows of a run (without ``run_id``): name, value."""
    return [(name, _float(value)) for name, value in metrics.items()]


def _series_values(series: Mapping[str, Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``series`` rows of a run (without ``run_id``): name, month, value."""
    return [
        (name, month, _float(value))
        for name, values in series.items()
        for month, value in enumerate(values)
    ]


#: A done run's children: each table, the ``RunResult`` field it is stored from, and how that
#: field's value becomes rows (without ``run_id``).
CHILD_SOURCES: tuple[tuple[Table, str, Callable[[Any], list[tuple[Any, ...]]]], ...] = (
    (run_metrics_table, "metrics", _metric_values),
    (series_table, "series", _series_values),
    *((table, field, _RecordLayout.of(table).values) for field, table in RECORD_TABLES.items()),
)


def _sqlite_read_only_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    """Per-connection settings of a read-only SQLite connection: busy timeout, no writes."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    """Per-connection SQLite settings: WAL journal, NORMAL sync, busy timeout, foreign keys.

    WAL is only kept while a writer has the file open: closing the store checkpoints it and
    goes back to a rollback journal, so that a copied or read-only file opens on its own."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _to_url(url_or_path: str) -> tuple[URL, str]:
    """A SQLAlchemy URL from a URL or a plain file path, and how to name it in messages.

    A SQLite file's parent folder is created if missing.
    """
    if "://" in url_or_path:
        try:
            url = make_url(url_or_path)
        except (exc.ArgumentError, ValueError) as error:
            raise UserInputError(
                f"invalid results database URL {mask_password(url_or_path)!r}: {error}"
            ) from None
        location = url.render_as_string(hide_password=True)
    else:
        url = URL.create("sqlite", database=url_or_path)
        location = url_or_path
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = url.database or ""
        if not database.startswith("file:"):
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserInputError(
                    f"results database {location}: cannot create its folder {folder}: "
                    f"{error.strerror or error}"
                ) from None
    return url, location


def mask_password(url_or_path: str) -> str:
    """A database URL or path fit to print: any password replaced by ``***``."""
    if "://" not in url_or_path:
        return url_or_path
    try:
        return make_url(url_or_path).render_as_string(hide_password=True)
    except (exc.ArgumentError, ValueError):
        return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url_or_path)


def _sqlite_file(url: URL) -> str | None:
    """The file of a SQLite URL, or None (memory, URI forms, other backends)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def _read_only_url(path: str, immutable: bool) -> URL:
    """A SQLite URI that opens a file read-only (``immutable``: not even a lock or a -shm file,
    for read-only media)."""
    quoted = urllib.parse.quote(str(Path(path).resolve()))
    flags = {"mode": "ro", "uri": "true", **({"immutable": "1"} if immutable else {})}
    return URL.create("sqlite", database=f"file:{quoted}", query=flags)


def _process_start(pid: int) -> str:
    """When a process started (Linux: clock ticks since boot), to tell a reused pid apart; ''
    where the platform does not say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return ""
    if fields[:1] in (["Z"], ["X"]):
        return "zombie"  # ended, not reaped yet
    return fields[19] if len(fields) > 19 else ""


def _pid_alive(pid: int, started: str) -> bool:
    """Whether process ``pid`` of this host runs (and is the one that started at ``started``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return False
    now = _process_start(pid)
    return now != "zombie" and (not started or now in ("", started))


@dataclass(frozen=True)
class BatchOwner:
    """The process running a batch."""

    pid: int
    host: str
    process_start: str
    started_at: str
    heartbeat_at: str

    def alive(self) -> bool:
        """Whether the owner still runs: by its process on this host, by a recent heartbeat on
        another one."""
        if self.host == socket.gethostname():
            return _pid_alive(self.pid, self.process_start)
        try:
            beat = datetime.fromisoformat(self.heartbeat_at).timestamp()
        except ValueError:
            return False
        return time.time() - beat < OWNER_STALE_SECONDS

    def describe(self) -> str:
        """'process 123 on host h (started ..., last heartbeat ...)'."""
        return (
            f"process {self.pid} on host {self.host} (started {self.started_at}, "
            f"last heartbeat {self.heartbeat_at})"
        )


class BatchBusyError(EnvironmentFault):
    """Another live process is running the batch."""


class StoreWriteError(EnvironmentFault):
    """The results database refused a write: a full disk, a read-only file, an I/O error."""


class ResultStore:
    """The results database of a batch runner (single writer: the parent process).

    Args:
        url: A SQLAlchemy URL (``sqlite:///results/x.db``, ``postgresql://...``) or a plain file
            path (``results/x.db``), taken as a SQLite file whose folder is created if missing.

    Raises:
        SchemaVersionError: The database holds tables of another schema version, or tables but
            no schema version at all.
        UserInputError: The URL is invalid or the database cannot be opened.
    """

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.read_only = read_only
        self._heartbeat: threading.Event | None = None
        #: SQL text of each table's insert, compiled once per store (SQLite: ``_insert``).
        self._statements: dict[str, str] = {}
        sa_url, self._location = _to_url(url)
        self._file = _sqlite_file(sa_url)
        if read_only and self._file is not None:
            self._open_read_only(self._file)
            return
        try:
            self._engine: Engine = create_engine(sa_url)
        except exc.ArgumentError as error:  # unknown dialect or driver
            raise UserInputError(
                f"cannot use results database {self._location}: {error}"
            ) from error
        except ModuleNotFoundError as error:  # the backend's driver is not installed
            raise UserInputError(
                f"cannot use results database {self._location}: driver not installed ({error})"
            ) from error
        self._closed = False
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        try:
            self._prepare_schema()
        except exc.DatabaseError as error:
            self.close()
            if "readonly" in str(error.orig) or "read-only" in str(error.orig):
                raise StoreWriteError(
                    f"results database {self._location} is read-only: it can be read (sim "
                    "list, compare, report) but new runs need a --db that can be written"
                ) from None
            raise UserInputError(
                f"cannot open results database {self._location}: {error.orig}"
            ) from None
        except BaseException:
            self.close()
            raise

    def _open_read_only(self, path: str) -> None:
        """Open a SQLite file for reading only: as it is, or (when its folder cannot be written,
        e.g. a WAL file on read-only media) as an immutable file."""
        if not Path(path).is_file():
            raise UserInputError(f"{self._location}: no such results database")
        problem: BaseException | None = None
        for immutable in (False, True):
            self._engine = create_engine(_read_only_url(path, immutable))
            self._closed = False
            event.listen(self._engine, "connect", _sqlite_read_only_pragmas)
            try:
                self._prepare_schema()
                return
            except SchemaVersionError:
                self.close()
                raise
            except exc.DatabaseError as error:
                problem = error.orig
                self.close()
        raise UserInputError(f"cannot read results database {self._location}: {problem}")

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, with any password hidden."""
        if self.read_only and self._file is not None:
            return URL.create("sqlite", database=self._file).render_as_string()
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection (safe to call twice). A SQLite file written through
        this store is checkpointed and put back in rollback-journal mode, so that it can be
        copied as one file and read from read-only media."""
        if not self._closed:
            self.stop_heartbeat()
            if self._file is not None and not self.read_only:
                self._leave_wal()
            self._engine.dispose()
            self._closed = True

    def _leave_wal(self) -> None:
        """Checkpoint the WAL into the file and switch to a rollback journal; left in WAL when
        another connection still uses the file (the last writer to close switches it)."""
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=500")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
        except exc.DBAPIError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _prepare_schema(self) -> None:
        """Check the schema version of a used database; create the tables of an empty one."""
        with self._engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            self._has_owners = batch_owners_table.name in tables or not self.read_only
            if self.read_only and not tables:
                raise UserInputError(f"{self._location}: not a results database (it is empty)")
            if tables and schema_info.name not in tables:
                raise SchemaVersionError(self._location, None)
            if schema_info.name in tables:
                found = conn.execute(
                    select(schema_info.c.value).where(schema_info.c.key == "schema_version")
                ).scalar_one_or_none()
                if found is None:
                    raise SchemaVersionError(self._location, None)
                if str(found) != str(SCHEMA_VERSION):
                    raise SchemaVersionError(self._location, str(found))
        if self.read_only:
            return
        with self._engine.begin() as conn:
            metadata.create_all(conn)
            if not tables:
                conn.execute(
                    insert(schema_info), [{"key": "schema_version", "value": str(SCHEMA_VERSION)}]
                )

    # -- writing ---------------------------------------------------------------------------------

    def open_batch(
        self,
        *,
        name: str,
        description: str,
        scenario_text: str,
        scenario_hash: str,
        scenario_path: str,
        root_seed: int,
        months: int,
        replications: int,
        planned_runs: int,
        package_version: str,
        git_commit: str | None,
        description_fr: str = "",
        territories: Sequence[Territory] = (),
        follow_up_months: int = 0,
        primary_outcome: str = "employment",
        values_eur_per_outcome: Mapping[str, float] | None = None,
    ) -> int:
        """Open the batch of a scenario: the existing one (resume) or a new one.

        A batch is identified by its name and scenario hash. Resuming sets its status back to
        ``running``, clears ``finished_at`` and touches ``updated_at``; its other fields keep
        the values of its first opening.

        Args:
            name: The scenario's name.
            description: The scenario's description.
            scenario_text: The scenario file's full text, kept for reproduction.
            scenario_hash: Hash of the scenario text: a changed scenario opens a new batch.
            scenario_path: Where the scenario file was read from.
            root_seed: The seed every run seed derives from.
            months: Months simulated by every run (delivery and follow-up).
            replications: Replications per sweep point.
            planned_runs: Runs the batch will store once complete (twins included).
            package_version: Version of ``sim`` that ran the batch.
            git_commit: Commit of the source tree, if known.
            description_fr: The scenario's description in French, if it has one.
            territories: The batch's city (its territory table), kept for reports and maps.
            follow_up_months: Of ``months``, those after the delivery horizon.
            primary_outcome: The need whose outcome conclusions rank arms on.
            values_eur_per_outcome: Euro values per outcome of each need (monetised view).

        Returns:
            The batch id.
        """
        now = _now()
        with self._engine.begin() as conn:
            existing = conn.execute(
                select(batches_table.c.id).where(
                    batches_table.c.name == name, batches_table.c.scenario_hash == scenario_hash
                )
            ).scalar_one_or_none()
            if existing is not None:
                conn.execute(
                    update(batches_table)
                    .where(batches_table.c.id == existing)
                    .values(updated_at=now, status=BATCH_RUNNING, finished_at=None)
                )
                return int(existing)
            result = conn.execute(
                insert(batches_table).values(
                    name=name,
                    description=description,
                    description_fr=description_fr,
                    primary_outcome=primary_outcome,
                    values_eur_per_outcome=_json(dict(values_eur_per_outcome or {})),
                    scenario_text=scenario_text,
                    scenario_hash=scenario_hash,
                    scenario_path=scenario_path,
                    package_version=package_version,
                    git_commit=git_commit,
                    root_seed=int(root_seed),
                    months=int(months),
                    follow_up_months=int(follow_up_months),
                    replications=int(replications),
                    planned_runs=int(planned_runs),
                    created_at=now,
                    updated_at=now,
                    finished_at=None,
                    status=BATCH_RUNNING,
                )
            )
            batch_id = _inserted_id(result)
            if territories:
                conn.execute(
                    insert(batch_territories_table),
                    [
                        {"batch_id": batch_id, "position": i, **_flat_record(t)}
                        for i, t in enumerate(territories)
                    ],
                )
            return batch_id

    def write_run(self, batch_id: int, result: RunResult) -> None:
        """Store one run with all its records, in one transaction (``write_runs`` of one)."""
        self.write_runs(batch_id, [result])

    def write_runs(self, batch_id: int, results: Sequence[RunResult]) -> None:
        """Store runs (a task's) with all their records, in one transaction: a batch stopped at
        any moment, ``kill -9`` included, keeps each call's runs all or none, and the same
        command runs again the ones it lost.

        An earlier row of the same key in the batch (a failed attempt) is replaced, with its
        children. A failed run stores its identity and error but no metrics or records. What
        several results share (a task's twin records; the runs settled again from one
        simulation share its series, territories, decisions and evaluations) is converted to
        rows once.

        Args:
            batch_id: The batch the runs belong to.
            results: What the worker sent back.

        Raises:
            ValueError: A result's status is neither ``done`` nor ``failed``, or two results
                have the same key.
        """
        _check_results(results)
        if not results:
            return
        keys = [result.key for result in results]
        with self._engine.begin() as conn:
            self._delete_runs(conn, batch_id, keys)
            self._insert(conn, runs_table, [_run_row(batch_id, result) for result in results])
            run_ids = _run_ids(conn, batch_id, keys)
            done = [(run_ids[r.key], r) for r in results if r.status == STATUS_DONE]
            for table, field, to_rows in CHILD_SOURCES:
                self._insert(conn, table, _child_rows(done, field, to_rows))
            conn.execute(
                update(batches_table)
                .where(batches_table.c.id == batch_id)
                .values(updated_at=_now())
            )

    @staticmethod
    def _delete_runs(conn: Connection, batch_id: int, keys: Sequence[str]) -> None:
        """Delete the batch's runs of these keys (failed attempts), children first."""
        for chunk in _chunks(keys):
            earlier = (
                conn.execute(
                    select(runs_table.c.id).where(
                        runs_table.c.batch_id == batch_id, runs_table.c.run_key.in_(chunk)
                    )
                )
                .scalars()
                .all()
            )
            if earlier:
                for child in CHILD_TABLES:
                    conn.execute(delete(child).where(child.c.run_id.in_(earlier)))
                conn.execute(delete(runs_table).where(runs_table.c.id.in_(earlier)))

    def _insert(self, conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows given as tuples in the order of ``_data_columns(table)``, in one
        executemany.

        SQLite gets them through its driver: SQLAlchemy would hand them to the same
        ``cursor.executemany`` after building and processing a parameter set per row, which
        took twice as long as the insert itself for the series of the shipped terms sweep. The
        values are already what the columns hold (``_cell``, ``_float``), as SQLAlchemy's SQLite
        bind processors would make them (a bool goes in as the integer either way). Other
        databases get SQLAlchemy's insert, which batches the rows its own way for each driver.
        """
        if not rows:  # an empty parameter list would insert one row of NULLs
            return
        names = [c.name for c in _data_columns(table)]
        if conn.dialect.name != "sqlite":
            conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
            return
        statement = self._statements.get(table.name)
        if statement is None:
            compiled = insert(table).compile(dialect=conn.dialect, column_keys=names)
            if list(compiled.positiontup or ()) != names:
                raise RuntimeError(f"unexpected parameter order inserting into {table.name}")
            statement = self._statements[table.name] = compiled.string
        conn.exec_driver_sql(statement, rows)

    def finish_batch(self, batch_id: int, status: str) -> None:
        """Mark a batch finished, interrupted or finished with failures.

        Args:
            batch_id: The batch.
            status: ``finished``, ``interrupted`` or ``finished_with_failures``.

        Raises:
            ValueError: Unknown status.
        """
        if status not in BATCH_FINAL_STATUSES:
            raise ValueError(
                f"batch status {status!r} is not one of {', '.join(BATCH_FINAL_STATUSES)}"
            )
        now = _now()
        with self._engine.begin() as conn:
            conn.execute(
                update(batches_table)
                .where(batches_table.c.id == batch_id)
                .values(status=status, finished_at=now, updated_at=now)
            )

    # -- owning a batch --------------------------------------------------------------------------

    def open_batch_once(self, **fields: Any) -> int:
        """``open_batch``, once more when another process created the same batch at the same
        moment (the unique constraint refused the second insert)."""
        try:
            return self.open_batch(**fields)
        except exc.IntegrityError:
            return self.open_batch(**fields)

    def owner(self, batch_id: int) -> BatchOwner | None:
        """The process that holds the batch, if any row says so (alive or not)."""
        if not self._has_owners:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(
                select(batch_owners_table).where(batch_owners_table.c.batch_id == batch_id)
            ).one_or_none()
        if row is None:
            return None
        return BatchOwner(
            int(row.pid), str(row.host), str(row.process_start), row.started_at, row.heartbeat_at
        )

    def claim_batch(self, batch_id: int) -> None:
        """Become the batch's only runner, taking over from an owner that is gone.

        Raises:
            BatchBusyError: another live process runs the batch.
            StoreWriteError: the database cannot be written.
        """
        me = (os.getpid(), socket.gethostname(), _process_start(os.getpid()))
        for _ in range(2):
            owner = self.owner(batch_id)
            if owner is not None and owner.alive() and (owner.pid, owner.host) != me[:2]:
                raise BatchBusyError(
                    f"batch {batch_id} of {self._location} is being run by {owner.describe()}; "
                    "running it twice would compute every run twice. Wait for it to end (sim "
                    "list shows its progress), or stop that process and run this command again"
                )
            now = _now()
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        delete(batch_owners_table).where(batch_owners_table.c.batch_id == batch_id)
                    )
                    conn.execute(
                        insert(batch_owners_table).values(
                            batch_id=batch_id,
                            pid=me[0],
                            host=me[1],
                            process_start=me[2],
                            started_at=now,
                            heartbeat_at=now,
                        )
                    )
                return
            except exc.IntegrityError:  # another process claimed it between our read and write
                continue
            except exc.OperationalError as error:
                raise StoreWriteError(
                    f"cannot write to results database {self._location}: {error.orig}"
                ) from None
        raise BatchBusyError(f"batch {batch_id} of {self._location} was claimed by another process")

    def release_batch(self, batch_id: int) -> None:
        """Give the batch up (its runs are all stored or the run was interrupted)."""
        self.stop_heartbeat()
        with self._engine.begin() as conn:
            conn.execute(
                delete(batch_owners_table).where(
                    batch_owners_table.c.batch_id == batch_id,
                    batch_owners_table.c.pid == os.getpid(),
                )
            )

    def beat(self, batch_id: int) -> None:
        """Say the owner still runs the batch."""
        with self._engine.begin() as conn:
            conn.execute(
                update(batch_owners_table)
                .where(batch_owners_table.c.batch_id == batch_id)
                .values(heartbeat_at=_now())
            )

    def start_heartbeat(self, batch_id: int, every_seconds: float = HEARTBEAT_SECONDS) -> None:
        """Beat from a background thread while the batch runs (a failed beat is retried)."""
        stop = threading.Event()
        self._heartbeat = stop

        def beat_until_stopped() -> None:
            while not stop.wait(every_seconds):
                try:
                    self.beat(batch_id)
                except Exception:  # a busy or closing database: beat again next time
                    continue

        threading.Thread(target=beat_until_stopped, name="sim-heartbeat", daemon=True).start()

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat thread, if any."""
        if self._heartbeat is not None:
            self._heartbeat.set()
            self._heartbeat = None

    def store_runs(self, batch_id: int, results: Sequence[RunResult], stored: int) -> None:
        """``write_runs``, with a full disk or an unwritable file as a clean fault that says what
        is kept (``stored`` runs of this batch, each complete) and how to go on."""
        try:
            self.write_runs(batch_id, results)
        except (exc.OperationalError, OSError) as error:
            cause = getattr(error, "orig", None) or error
            raise StoreWriteError(
                f"cannot store {_what(results)} in {self._location}: {cause}. The {stored} "
                "run(s) stored before are complete and kept (the runs of a task are written "
                "together in one transaction); free some space (or make the file writable) and "
                "run the same command again to resume"
            ) from None

    def finish_batch_if_possible(self, batch_id: int, status: str) -> None:
        """``finish_batch`` and give the batch up, when the database still takes writes."""
        try:
            self.finish_batch(batch_id, status)
            self.release_batch(batch_id)
        except (exc.DBAPIError, OSError):
            pass

    def shown_status(self, batch_id: int, status: str) -> str:
        """A batch's status for people: a ``running`` batch whose owner is gone was interrupted
        (its process was killed or its machine stopped)."""
        if status != BATCH_RUNNING:
            return status
        owner = self.owner(batch_id)
        if owner is not None and owner.alive():
            return status
        return BATCH_ABANDONED

    def set_batch_size(self, batch_id: int, replications: int, planned_runs: int) -> None:
        """Record a batch's replications and planned runs when they grow (``replications =
        "auto"`` adds replications round by round); never shrinks them."""
        with self._engine.begin() as conn:
            conn.execute(
                update(batches_table)
                .where(
                    batches_table.c.id == batch_id,
                    batches_table.c.replications < int(replications),
                )
                .values(replications=int(replications), planned_runs=int(planned_runs))
            )

    # -- reading ---------------------------------------------------------------------------------

    def done_run_keys(self, batch_id: int) -> set[str]:
        """Keys of the batch's runs stored as done (the runs a resumed batch skips).

        Args:
            batch_id: The batch.

        Returns:
            The run keys; failed runs are not included.
        """
        with self._engine.connect() as conn:
            keys = conn.execute(
                select(runs_table.c.run_key).where(
                    runs_table.c.batch_id == batch_id, runs_table.c.status == STATUS_DONE
                )
            ).scalars()
            return {str(key) for key in keys}

    def latest_batch_id(self) -> int | None:
        """The most recently opened or written batch (latest ``updated_at``), if any."""
        with self._engine.connect() as conn:
            latest = conn.execute(
                select(batches_table.c.id)
                .order_by(batches_table.c.updated_at.desc(), batches_table.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return None if latest is None else int(latest)

    def batch_id(self, batch: int | None = None) -> int:
        """The given batch id if the database holds it, else the latest batch.

        Raises:
            UserInputError: the database holds no batch, or not this one.
        """
        batches = self.batches()
        ids = [int(i) for i in batches["id"]] if not batches.empty else []
        if not ids:
            raise UserInputError(f"{self.url}: the database holds no batch")
        if batch is None:
            latest = self.latest_batch_id()
            return latest if latest is not None else ids[-1]
        if batch not in ids:
            raise UserInputError(
                f"{self.url}: no batch {batch}; the database holds batch(es) "
                + ", ".join(str(i) for i in ids)
            )
        return batch

    def integrity_ok(self) -> bool:
        """Whether the database is sound.

        Returns:
            For SQLite, whether ``PRAGMA integrity_check`` says ``ok`` and
            ``PRAGMA foreign_key_check`` finds no orphan row; True for other backends.
        """
        if self._engine.dialect.name != "sqlite":
            return True
        with self._engine.connect() as conn:
            checks = [str(row[0]) for row in conn.execute(text("PRAGMA integrity_check"))]
            orphans = conn.execute(text("PRAGMA foreign_key_check")).all()
        return checks == ["ok"] and not orphans

    def _frame(self, statement: Select[Any]) -> pd.DataFrame:
        """A query's rows as a data frame; float columns as float64 (NULL as NaN)."""
        with self._engine.connect() as conn:
            result = conn.execute(statement)
            columns = list(result.keys())
            rows = [tuple(row) for row in result]
        frame = pd.DataFrame(rows, columns=columns)
        for column in statement.selected_columns:
            if isinstance(column.type, Float) and column.name in frame.columns:
                frame[column.name] = frame[column.name].astype("float64")
        return frame

    def batches(self) -> pd.DataFrame:
        """Every batch, one row each, in creation order: all columns of ``batches``, with
        ``status`` as people should read it (``shown_status``: a batch left ``running`` by a
        process that is gone is ``interrupted``) and, next to it, ``stored_status`` as written.
        Every reader (``sim list``, ``sim compare``, reports, the dashboard, ``sim.open_results``)
        shows this one."""
        frame = self._frame(select(batches_table).order_by(batches_table.c.id))
        stored = frame["status"].astype(str)
        frame["status"] = [
            self.shown_status(int(i), status) for i, status in zip(frame["id"], stored, strict=True)
        ]
        frame.insert(int(frame.columns.get_loc("status")) + 1, "stored_status", stored)
        return frame

    def runs(self, batch_id: int) -> pd.DataFrame:
        """The batch's runs, one row each, ordered by point, replication, arm and key.

        Args:
            batch_id: The batch.

        Returns:
            Every column of ``runs``; the JSON columns (``mechanism_params``, ``model_params``,
            ``point_values``, ``contract``) as JSON text, with sorted keys (``json.loads`` them).
        """
        return self._frame(
            select(runs_table).where(runs_table.c.batch_id == batch_id).order_by(*_run_order())
        )

    def metrics(self, batch_id: int, wide: bool = True) -> pd.DataFrame:
        """The batch's run metrics.

        Args:
            batch_id: The batch.
            wide: One row per run (failed runs included, with NaN metrics): ``run_id``,
                ``run_key``, ``point``, ``replication``, ``arm``, ``mechanism``, ``seed``,
                ``status``, then one column per metric name (sorted). Otherwise one row per run
                and metric: the identity columns (without ``status``), ``name`` and ``value``.

        Returns:
            The metrics frame; NULL values read back as NaN.
        """
        identity = [
            runs_table.c.id.label("run_id"),
            runs_table.c.run_key,
            runs_table.c.point,
            runs_table.c.replication,
            runs_table.c.arm,
            runs_table.c.mechanism,
            runs_table.c.seed,
        ]
        long = self._frame(
            select(*identity, run_metrics_table.c.name, run_metrics_table.c.value)
            .select_from(run_metrics_table.join(runs_table))
            .where(runs_table.c.batch_id == batch_id)
            .order_by(*_run_order(), run_metrics_table.c.name)
        )
        if not wide:
            return long
        base = self._frame(
            select(*identity, runs_table.c.status)
            .where(runs_table.c.batch_id == batch_id)
            .order_by(*_run_order())
        )
        if long.empty:
            return base
        table = long.pivot(index="run_id", columns="name", values="value")
        table = table.reindex(columns=sorted(table.columns)).astype("float64")
        table.columns.name = None
        return base.merge(table, how="left", left_on="run_id", right_index=True)

    def series(self, batch_id: int) -> pd.DataFrame:
        """The batch's monthly series, long: run identity, ``month``, ``name``, ``value``."""
        return self._child_frame(
            batch_id,
            series_table,
            [series_table.c.month, series_table.c.name, series_table.c.value],
            order=[series_table.c.name, series_table.c.month],
        )

    def city_table(self, batch_id: int) -> pd.DataFrame:
        """The batch's territory table (one row per territory, in the city's order; empty for a
        batch stored without one)."""
        return self._frame(
            select(batch_territories_table)
            .where(batch_territories_table.c.batch_id == batch_id)
            .order_by(batch_territories_table.c.position)
        ).drop(columns=["batch_id", "position"], errors="ignore")

    def territories(self, batch_id: int) -> pd.DataFrame:
        """The batch's per-territory results, with run identity, in stored order."""
        return self._child_frame(batch_id, territory_results_table)

    def cash_flows(self, batch_id: int) -> pd.DataFrame:
        """The batch's cash flows (per month, payer, payee role and kind), with run identity."""
        return self._child_frame(batch_id, cash_flows_table)

    def pilot_decisions(self, batch_id: int) -> pd.DataFrame:
        """The batch's pilot decisions (calls for projects), with run identity."""
        return self._child_frame(batch_id, pilot_decisions_table)

    def evaluations(self, batch_id: int) -> pd.DataFrame:
        """The batch's evaluations (infinite standard errors read back as NaN), with identity."""
        return self._child_frame(batch_id, evaluations_table)

    def _child_frame(
        self,
        batch_id: int,
        table: Table,
        columns: list[Column[Any]] | None = None,
        order: list[Column[Any]] | None = None,
    ) -> pd.DataFrame:
        """A child table of the batch's runs, after the columns ``run_id``, ``run_key``,
        ``point``, ``replication`` and ``arm``; by default every data column in stored order."""
        if columns is None:
            columns = [c for c in table.columns if c.name not in ("id", "run_id")]
        if order is None:
            order = [table.c.id]
        return self._frame(
            select(
                table.c.run_id,
                runs_table.c.run_key,
                runs_table.c.point,
                runs_table.c.replication,
                runs_table.c.arm,
                *columns,
            )
            .select_from(table.join(runs_table))
            .where(runs_table.c.batch_id == batch_id)
            .order_by(*_run_order(), *order)
        )


def _inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row insert created."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the database returned no id for an inserted row")
    return int(key[0])


def _run_order() -> list[Column[Any]]:
    """Order of runs in every reader: sweep point, replication, arm, key."""
    return [runs_table.c.point, runs_table.c.replication, runs_table.c.arm, runs_table.c.run_key]


#: Keys looked up or deleted per statement: below SQLite's oldest limit of 999 parameters.
KEYS_PER_STATEMENT = 500


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """``items`` in slices of at most ``KEYS_PER_STATEMENT``."""
    for start in range(0, len(items), KEYS_PER_STATEMENT):
        yield items[start : start + KEYS_PER_STATEMENT]


def _what(results: Sequence[RunResult]) -> str:
    """'run <key>' or 'runs <first key> and N others', to name what could not be stored."""
    if len(results) == 1:
        return f"run {results[0].key}"
    return f"runs {results[0].key} and {len(results) - 1} others"


def _check_results(results: Sequence[RunResult]) -> None:
    """Refuse results that are neither done nor failed, or that repeat a key."""
    for result in results:
        if result.status not in (STATUS_DONE, STATUS_FAILED):
            raise ValueError(
                f"run {result.key!r}: status {result.status!r} is not "
                f"'{STATUS_DONE}' or '{STATUS_FAILED}'"
            )
    keys = [result.key for result in results]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"runs stored together repeat keys {repeated}")


#: Columns of a ``runs`` row, in table order.
RUN_COLUMNS = tuple(c.name for c in _data_columns(runs_table))


def _run_row(batch_id: int, result: RunResult) -> tuple[Any, ...]:
    """A run's ``runs`` row, in ``RUN_COLUMNS`` order."""
    started, finished = _iso(result.started_at), _iso(result.finished_at)
    elapsed = (
        _float(result.finished_at - result.started_at)
        if started is not None and finished is not None
        else None
    )
    row = {
        "batch_id": batch_id,
        "run_key": result.key,
        "point": int(result.point),
        "replication": int(result.replication),
        "arm": result.arm,
        "mechanism": result.mechanism,
        "seed": int(result.seed),
        "mechanism_params": _json(result.mechanism_params),
        "model_params": _json(result.model_params),
        "point_values": _json(result.point_values),
        "status": result.status,
        "error": result.error,
        "started_at": started,
        "finished_at": finished,
        "elapsed_seconds": elapsed,
        "contract": _json(result.contract),
    }
    return tuple(row[name] for name in RUN_COLUMNS)


def _run_ids(conn: Connection, batch_id: int, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the batch's runs of these keys."""
    ids: dict[str, int] = {}
    for chunk in _chunks(keys):
        found = conn.execute(
            select(runs_table.c.run_key, runs_table.c.id).where(
                runs_table.c.batch_id == batch_id, runs_table.c.run_key.in_(chunk)
            )
        )
        ids.update((str(key), int(run_id)) for key, run_id in found)
    return ids


def _child_rows(
    done: Sequence[tuple[int, RunResult]],
    field: str,
    to_rows: Callable[[Any], list[tuple[Any, ...]]],
) -> list[tuple[Any, ...]]:
    """A child table's rows of done runs (``run_id`` first), from each result's ``field``.

    A value that several results hold (the same object: a task's twin records, the runs settled
    again from one simulation) is converted once. Its ``id`` is a safe key: ``done`` keeps every
    value alive while this runs."""
    converted: dict[int, list[tuple[Any, ...]]] = {}
    rows: list[tuple[Any, ...]] = []
    for run_id, result in done:
        source = getattr(result, field)
        values = converted.get(id(source))
        if values is None:
            values = converted[id(source)] = to_rows(source)
        rows += [(run_id, *value) for value in values]
    return rows
