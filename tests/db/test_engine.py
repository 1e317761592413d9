"""Opening the database: URL resolution, SQLite pragmas, schema version, transactions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from node.db import (
    DATABASE_URL_ENV,
    SCHEMA_VERSION,
    Database,
    DatabaseError,
    create_db_engine,
    init_schema,
    open_database,
    resolve_database_url,
)
from node.db.models import ItemCreate, SchemaVersion, Task
from node.db.repositories import ItemRepository, LabelRepository
from tests.db.conftest import CHAIN, make_task

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    url = resolve_database_url(tmp_path, env={})
    assert url.drivername == "sqlite"
    assert url.database == str(tmp_path / "labelnet.db")


def test_url_from_environment_wins_over_data_dir(tmp_path: Path) -> None:
    env = {DATABASE_URL_ENV: "postgresql://node:pw@db.internal:5433/labelnet"}
    url = resolve_database_url(tmp_path, env=env)
    assert url.drivername == "postgresql+psycopg"  # psycopg 3, not SQLAlchemy's psycopg2
    assert (url.host, url.port, url.database) == ("db.internal", 5433, "labelnet")
    explicit = resolve_database_url(tmp_path, "sqlite:///x.db", env=env)
    assert explicit.database == "x.db"


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url"])
def test_url_rejects_unsupported_backends(bad: str) -> None:
    with pytest.raises(DatabaseError):
        resolve_database_url(None, bad, env={})


def test_url_needs_a_data_dir_or_an_url() -> None:
    with pytest.raises(DatabaseError, match=DATABASE_URL_ENV):
        resolve_database_url(None, env={})


def _pragma(db: Database, name: str) -> object:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    db = open_database(tmp_path, env={})
    try:
        assert _pragma(db, "journal_mode") == "wal"
        assert _pragma(db, "synchronous") == 1  # NORMAL: survives process kills
        assert _pragma(db, "foreign_keys") == 1
        assert _pragma(db, "busy_timeout") == 10_000
    finally:
        db.dispose()
    power = open_database(tmp_path, env={}, durability="power")
    try:
        assert _pragma(power, "synchronous") == 2  # FULL: fsync on every commit
    finally:
        power.dispose()


def test_schema_init_is_idempotent_and_versioned(db: Database) -> None:
    assert init_schema(db.engine) == SCHEMA_VERSION
    assert init_schema(db.engine) == SCHEMA_VERSION
    with db.session() as session:
        rows = session.exec(select(SchemaVersion)).all()
    assert [r.version for r in rows] == [SCHEMA_VERSION]


def test_schema_from_a_newer_node_is_refused(db: Database) -> None:
    with db.write() as session:
        row = session.get(SchemaVersion, 1)
        assert row is not None
        row.version = SCHEMA_VERSION + 1
        session.add(row)
    with pytest.raises(DatabaseError, match="schema version"):
        init_schema(db.engine)


def test_write_rolls_back_everything_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.write() as session:
        session.add(make_task(1))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.get(Task, (CHAIN, 1)) is None


def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    """Writers take the lock up front; readers stay deferred and never block writers."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    statements: list[str] = []

    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _record(*args: object) -> None:
        statements.append(str(args[2]))

    init_schema(engine)
    db = Database(engine)
    try:
        with db.write() as session:
            session.execute(text("SELECT 1"))
        assert "BEGIN IMMEDIATE" in statements
        statements.clear()
        with db.session() as session:
            session.execute(text("SELECT 1"))
        assert "BEGIN" in statements and "BEGIN IMMEDIATE" not in statements
    finally:
        db.dispose()


def test_importing_node_db_creates_nothing(tmp_path: Path) -> None:
    code = "import node.db, node.chain.mirror, node.chain.sync; print('imported')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "imported"
    assert list(tmp_path.iterdir()) == []


def test_acknowledged_labels_survive_sigkill(tmp_path: Path) -> None:
    """What the API promises: once ``db.write()`` returned, a SIGKILL loses nothing."""
    db = open_database(tmp_path, env={})
    try:
        with db.write() as session:
            session.add(make_task(1))
        with db.write() as session:
            items = [ItemCreate(item_id=f"item-{n:03d}", position=n) for n in range(200)]
            ItemRepository(session).upsert_many(CHAIN, 1, items)
    finally:
        db.dispose()
    writer = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from node.db import open_database
        from node.db.models import LabelCreate
        from node.db.repositories import LabelRepository
        db = open_database(Path({str(tmp_path)!r}), env={{}})
        for batch in range(20):
            labels = [LabelCreate(item_id=f"item-{{n:03d}}", value={{"b": batch}})
                      for n in range(batch * 10, batch * 10 + 10)]
            with db.write() as session:
                LabelRepository(session).upsert_batch({CHAIN}, 1, "0xA", labels)
            print(batch, flush=True)  # the acknowledgement
        time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", writer],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    acknowledged = [int(process.stdout.readline()) for _ in range(20)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert acknowledged == list(range(20))
    reopened = open_database(tmp_path, env={})
    try:
        with reopened.session() as session:
            stored = LabelRepository(session).list_for(CHAIN, 1, "0xA")
        assert len(stored) == 200
        assert stored[199].value == {"b": 19}
    finally:
        reopened.dispose()


def test_a_version_1_database_gains_the_annotation_column(db: Database) -> None:
    with db.write() as session:
        session.connection().exec_driver_sql(
            "ALTER TABLE task_participation DROP COLUMN annotation"
        )
        row = session.get(SchemaVersion, 1)
        assert row is not None
        row.version = 1
        session.add(row)
    assert init_schema(db.engine) == SCHEMA_VERSION == 2
    with db.session() as session:
        found = session.execute(text("SELECT annotation FROM task_participation")).all()
    assert found == []
