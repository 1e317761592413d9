"""Opening the node's database: SQLite in the data directory, or PostgreSQL by URL.

Nothing here runs at import time; :func:`open_database` builds the engine when the node
starts. Which database: an explicit URL, else ``LABELNET_DATABASE_URL``, else
``<data_dir>/labelnet.db``.

SQLite durability. The database runs in WAL mode. ``synchronous=NORMAL`` (the default here)
makes a commit a ``write()`` into the WAL without an ``fsync``: once ``COMMIT`` returns the
transaction is in the operating system's page cache, so it survives the *process* being
killed (SIGKILL, OOM, crash) — which is the promise the API makes when it acknowledges
labels. Only an OS crash or power loss can lose the last transactions before the next
checkpoint (the database stays consistent either way). ``durability="power"`` selects
``synchronous=FULL`` (an ``fsync`` of the WAL on every commit) for machines where that
matters more than commit latency.

SQLite write transactions start with ``BEGIN IMMEDIATE`` (the writer lock is taken up front
and waited for under ``busy_timeout``); a deferred transaction that reads first and writes
later can fail with ``SQLITE_BUSY`` no timeout can fix, when another writer committed in
between. Read-only sessions (:meth:`Database.session`) stay deferred so they never queue
behind writers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, select

from node.db.models import SchemaVersion
from node.errors import LabelnetError

DATABASE_URL_ENV = "LABELNET_DATABASE_URL"
SQLITE_FILENAME = "labelnet.db"
SCHEMA_VERSION = 2
"""Bump with every schema change and teach :func:`init_schema` to migrate from the previous.
2: ``task_participation.annotation`` (the label kinds of issue #20)."""
_MIGRATIONS = {1: "ALTER TABLE task_participation ADD COLUMN annotation JSON"}
"""The statement that takes a database of each version to the next."""

Durability = Literal["process", "power"]

_WRITE_OPTION = "labelnet_write"


class DatabaseError(LabelnetError, RuntimeError):
    """The database cannot be opened, or holds a schema this node does not understand."""


def resolve_database_url(
    data_dir: Path | None, url: str | None = None, env: Mapping[str, str] | None = None
) -> URL:
    """The URL to open: ``url``, else $LABELNET_DATABASE_URL, else SQLite in ``data_dir``.

    ``postgresql://`` URLs are pointed at psycopg 3 (SQLAlchemy would pick psycopg2, which
    labelnet does not install).
    """
    environ = os.environ if env is None else env
    raw = url or environ.get(DATABASE_URL_ENV)
    if not raw:
        if data_dir is None:
            raise DatabaseError(f"no database: pass a data directory or set {DATABASE_URL_ENV}")
        return URL.create("sqlite", database=str(Path(data_dir) / SQLITE_FILENAME))
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseError(f"malformed database URL in {DATABASE_URL_ENV}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r}")
    return parsed


def _configure_sqlite(engine: Engine, durability: Durability, busy_timeout_ms: int) -> None:
    synchronous = "FULL" if durability == "power" else "NORMAL"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) issue BEGIN, instead of the sqlite3 module's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(
    url: URL | str,
    *,
    durability: Durability = "process",
    busy_timeout_ms: int = 10_000,
    pool_size: int = 8,
    echo: bool = False,
) -> Engine:
    """An engine for ``url`` with the pragmas (SQLite) or pool settings (PostgreSQL) set."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine, durability, busy_timeout_ms)
        return engine
    return create_engine(
        parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def init_schema(engine: Engine) -> int:
    """Create missing tables and record (or check) the schema version; returns the version.

    A database written by a newer node is refused rather than silently misread.
    """
    try:
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            row = session.exec(select(SchemaVersion)).first()
            if row is None:
                session.add(SchemaVersion(id=1, version=SCHEMA_VERSION))
                return SCHEMA_VERSION
            found = row.version
            while found in _MIGRATIONS and found < SCHEMA_VERSION:
                session.connection().exec_driver_sql(_MIGRATIONS[found])
                found += 1
                row.version = found
                session.add(row)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot initialise the database schema: {exc}") from exc
    if found != SCHEMA_VERSION:
        raise DatabaseError(
            f"database schema version {found} but this node uses {SCHEMA_VERSION}: "
            "use a node release that matches, or a fresh data directory"
        )
    return found


@dataclass(frozen=True)
class Database:
    """The node's engine plus the two kinds of session it hands out."""

    engine: Engine

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A session for reads (and writes that can tolerate a deferred SQLite BEGIN)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block exits, rolled back on error.

        On SQLite it starts with ``BEGIN IMMEDIATE``; the commit is durable (see the module
        docstring) before the block returns, so callers may acknowledge after it.
        """
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @cached_property
    def _write_engine(self) -> Engine:
        # Same pool, different execution option: the SQLite "begin" hook sees it.
        return self.engine.execution_options(**{_WRITE_OPTION: True})

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or before a test deletes the file)."""
        self.engine.dispose()


def open_database(
    data_dir: Path | None = None,
    *,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
    durability: Durability = "process",
) -> Database:
    """Resolve the URL, build the engine and make sure the schema is there."""
    engine = create_db_engine(resolve_database_url(data_dir, url, env), durability=durability)
    init_schema(engine)
    return Database(engine)
