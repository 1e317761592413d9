"""The node's database: SQLModel tables, the engine factory and repositories.

The chain mirror, which writes these tables from the contracts' events, is
:mod:`node.chain.mirror`: the chain layer sits above this one, which imports nothing of it.
"""

from node.db.engine import (
    DATABASE_URL_ENV,
    SCHEMA_VERSION,
    Database,
    DatabaseError,
    create_db_engine,
    init_schema,
    open_database,
    resolve_database_url,
)

__all__ = [
    "DATABASE_URL_ENV",
    "SCHEMA_VERSION",
    "Database",
    "DatabaseError",
    "create_db_engine",
    "init_schema",
    "open_database",
    "resolve_database_url",
]
