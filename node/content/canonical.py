"""Canonical JSON: the one byte encoding of every protocol document.

Every honest node must produce the same bytes for the same document, because those bytes
are hashed into a CID that others verify and attest. The rule: UTF-8, keys sorted, no
insignificant whitespace, no NaN/Infinity, integers only where amounts are involved (floats
are rounded by the producer before they reach the encoder, never here).
"""

from __future__ import annotations

import json
from typing import Any

from node.errors import LabelnetError

JsonValue = Any  # JSON documents are recursive; json.dumps validates the concrete types.


class CanonicalJsonError(LabelnetError, ValueError):
    """A value that has no canonical JSON encoding (NaN, Infinity, non-string keys...)."""


def canonical_json(document: JsonValue) -> bytes:
    """Encode ``document`` canonically: sorted keys, compact separators, UTF-8."""
    try:
        text = json.dumps(
            document,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise CanonicalJsonError(f"not canonically encodable: {exc}") from exc
    return text.encode("utf-8")
