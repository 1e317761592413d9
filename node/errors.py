"""The root of every error labelnet raises on purpose.

Each subsystem subclasses ``LabelnetError`` and, where the meaning fits, a builtin
(``ValueError`` for bad input, ``LookupError`` for missing things, ``RuntimeError`` for
failed operations), so callers can catch either the project's errors as a whole or the
usual Python categories. The API maps this one root to HTTP responses in one place.
"""

from __future__ import annotations

import errno


class LabelnetError(Exception):
    """Base class of every deliberate labelnet error."""


class DiskFullError(LabelnetError, OSError):
    """The node's disk (data directory, database, store) has no space left for a write.

    Nothing of the operation was stored; it can succeed once space is freed, so the API
    answers 503 (the node cannot do this now) rather than 500, and ``/readyz`` reports the
    node not ready before this happens (``disk_reserve_bytes``).
    """


_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it wraps, says a write found no space left.

    Recognises ``OSError`` with ``ENOSPC``/``EDQUOT`` (file writes), SQLite's
    ``SQLITE_FULL`` ("database or disk is full") and PostgreSQL's ``disk_full``, also when
    SQLAlchemy wraps the driver's error (``.orig``) or another error chains it.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DiskFullError):
            return True
        if isinstance(current, OSError) and current.errno in _NO_SPACE:
            return True
        if getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if "database or disk is full" in str(current):
            return True
        if getattr(current, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return True
        orig = getattr(current, "orig", None)
        pending += [
            orig if isinstance(orig, BaseException) else None,
            current.__cause__,
            current.__context__,
        ]
    return False
