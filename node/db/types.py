"""Column types shared by the tables.

Token amounts are ``uint256`` on chain, far beyond SQL's 64-bit integers and beyond what a
SQLite ``NUMERIC`` keeps exactly (it silently falls back to a float). :class:`Uint256`
stores them as ``NUMERIC(78, 0)`` on PostgreSQL (78 digits hold any uint256) and as a
decimal string on SQLite, and always hands Python an ``int``. Timestamps are stored as UTC
and come back timezone-aware whatever the backend, so comparisons never mix naive and aware
datetimes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

UINT256_DIGITS = 78
"""Decimal digits of 2**256 - 1."""

MAX_UINT256 = 2**256 - 1


def _decimal_string(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


DecimalStr = Annotated[str, BeforeValidator(_decimal_string)]
"""A token amount in API output: a base-10 string, exact in every JSON client."""


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (the one clock every table uses)."""
    return dt.datetime.now(dt.UTC)


class Uint256(TypeDecorator[int]):
    """A non-negative integer below 2**256: NUMERIC(78,0) on PostgreSQL, text on SQLite."""

    impl = sa.String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(UINT256_DIGITS, 0, asdecimal=True))
        return dialect.type_descriptor(sa.String(UINT256_DIGITS))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"token amounts are ints, got {type(value).__name__}")
        if not 0 <= value <= MAX_UINT256:
            raise ValueError(f"not a uint256: {value}")
        if dialect.name == "postgresql":
            return Decimal(value)
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and returned timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use node.db.types.utcnow()")
        utc = value.astimezone(dt.UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum: type[StrEnum]) -> sa.Enum:
    """A portable enum column storing the members' values as VARCHAR (no PostgreSQL TYPE).

    Native PostgreSQL enums need an ``ALTER TYPE`` for every new member; plain strings keep
    schema changes to ordinary column migrations on both backends.
    """
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


ADDRESS = sa.String(42)
"""A checksummed ``0x`` address."""

HASH32 = sa.String(66)
"""A 32-byte value (root, commitment, salt, hash) as lowercase ``0x`` hex."""

CID = sa.String(128)
"""A CIDv1 string."""


def hex32(value: bytes) -> str:
    """A bytes32 as the ``0x``-prefixed lowercase hex the tables store."""
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return "0x" + value.hex()
