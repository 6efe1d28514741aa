"""Every database connection the dashboard opens is read-only, whatever the URL.

A SQLite file is opened read-only by the store itself (``mode=ro`` and ``PRAGMA query_only``).
A database server is not: the store only refrains from writing. For PostgreSQL the dashboard
process asks the server to refuse writes: each new connection runs
``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`` before anything else, so that every
transaction of that session is read-only and PostgreSQL answers any INSERT, UPDATE, DELETE or
DDL with an error (SQLSTATE 25006), whatever the code above it does.

Nothing here needs Solara: the server and the app install it (:func:`forbid_writes`), and it is
tested without a PostgreSQL server.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine

#: Sent on every new PostgreSQL connection of the dashboard process.
READ_ONLY_SESSION = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

#: Dialects whose sessions :func:`connect_read_only` makes read-only.
SERVER_DIALECTS = ("postgresql",)


def connect_read_only(
    dialect: Dialect, _connection_record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> Any:
    """SQLAlchemy's ``do_connect`` hook: open a PostgreSQL connection with a read-only session.

    Returns:
        The DBAPI connection, or None for other dialects (SQLAlchemy then connects as usual).
    """
    if dialect.name not in SERVER_DIALECTS:
        return None
    connection = dialect.connect(*cargs, **cparams)
    cursor = connection.cursor()
    try:
        cursor.execute(READ_ONLY_SESSION)
    finally:
        cursor.close()
    # A SET inside a transaction that is rolled back is undone: commit it (a no-op in
    # autocommit), so that the session stays read-only after SQLAlchemy's rollbacks.
    connection.commit()
    return connection


def forbid_writes() -> None:
    """Make every engine this process creates from now on open read-only PostgreSQL sessions
    (once; SQLite and other dialects are left to the store)."""
    if not event.contains(Engine, "do_connect", connect_read_only):
        event.listen(Engine, "do_connect", connect_read_only)


def allow_writes() -> None:
    """Undo :func:`forbid_writes` (for tests that share their process with writers)."""
    if event.contains(Engine, "do_connect", connect_read_only):
        event.remove(Engine, "do_connect", connect_read_only)
