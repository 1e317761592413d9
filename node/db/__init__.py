"""The node's database: SQLModel tables, the engine factory and repositories.

``node.db.mirror`` (the chain mirror) is imported on its own: it depends on
``node.chain.sync``, which depends on this package.
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
