"""``INSERT ... ON CONFLICT`` for whichever backend a session is bound to.

SQLite and PostgreSQL both implement the same upsert clause, but SQLAlchemy exposes it
through dialect-specific ``insert`` constructs. These helpers pick the right one, so
repositories write one statement and run it with ``executemany`` — one round of parameter
binding per row, one statement compilation per process (SQLAlchemy caches it), no ORM
object per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a ``table=True`` model."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


def dialect_name(session: Session) -> str:
    """``"sqlite"`` or ``"postgresql"``, from the session's bind."""
    return session.get_bind().dialect.name


def upsert(
    session: Session,
    model: type[SQLModel],
    keys: Sequence[str],
    update: Sequence[str],
) -> sa.Insert:
    """``INSERT INTO model ... ON CONFLICT (keys) DO UPDATE SET col = excluded.col``.

    With an empty ``update`` the statement is ``ON CONFLICT DO NOTHING`` instead. Statements
    are built once per backend and reused: building one costs about a millisecond, more
    than executing a hundred-row batch on SQLite.
    """
    return _upsert_statement(dialect_name(session), model, tuple(keys), tuple(update))


@cache
def _upsert_statement(
    dialect: str, model: type[SQLModel], keys: tuple[str, ...], update: tuple[str, ...]
) -> sa.Insert:
    table = table_of(model)
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        if not update:
            return pg.on_conflict_do_nothing(index_elements=list(keys))
        pg_set: dict[str, Any] = {name: pg.excluded[name] for name in update}
        return pg.on_conflict_do_update(index_elements=list(keys), set_=pg_set)
    lite = sqlite.insert(table)
    if not update:
        return lite.on_conflict_do_nothing(index_elements=list(keys))
    lite_set: dict[str, Any] = {name: lite.excluded[name] for name in update}
    return lite.on_conflict_do_update(index_elements=list(keys), set_=lite_set)
