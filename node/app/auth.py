"""The node's API token: writes require it, and so does every read of this node's labels
or uncommitted work (which items are labelled, progress); chain data and final results are
public.

The token lives in the data directory (mode 0600), created on first start. Whoever can
read the data directory can drive the node and see its labels; nobody else on the machine
can, even though the API listens on loopback.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "api-token"


def load_or_create_token(data_dir: Path) -> str:
    """Return the node's API token, creating it atomically on first use."""
    path = data_dir / TOKEN_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        # link() fails if another process created the token first; theirs wins.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def token_matches(expected: str, authorization: str | None) -> bool:
    """Constant-time check of an ``Authorization: Bearer <token>`` header.

    Compared as UTF-8 bytes: ``compare_digest`` raises ``TypeError`` for a ``str`` holding
    any non-ASCII character, and a header value is whatever bytes the client sent (decoded
    as Latin-1), so ``Bearer é`` was a 500 instead of the 401 of any other wrong token.
    """
    if not authorization:
        return False
    scheme, _, supplied = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        supplied.strip().encode(), expected.encode()
    )
