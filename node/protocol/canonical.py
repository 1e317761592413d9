"""Canonical JSON: the one byte encoding of every protocol document.

Every honest node must produce the same bytes for the same document, because those bytes
are hashed into a CID that others verify and attest. The rule: UTF-8, keys sorted, no
insignificant whitespace, no NaN/Infinity, integers only where amounts are involved (floats
are rounded by the producer before they reach the encoder, never here).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

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


MAX_JSON_DEPTH = 64
"""Deepest nesting accepted in any JSON from outside; protocol documents need a handful."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)


class DocumentTooDeepError(LabelnetError, ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`: refused before it is parsed."""


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text ``data`` (strings ignored).

    Vectorised (a regex blanks strings, numpy sums the brackets) because item pages add up
    to hundreds of megabytes on large tasks. Malformed text gives some number, never an
    error: the parser rejects it afterwards.
    """
    bare = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    steps = np.zeros(bare.shape, dtype=np.int64)
    steps[(bare == ord("[")) | (bare == ord("{"))] = 1
    steps[(bare == ord("]")) | (bare == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def check_json_depth(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse deeply nested JSON before any parser sees it.

    ``py_ecc`` (imported with web3) raises Python's recursion limit to 100,000, so inside a
    node ``json.loads`` of ``[[[[...`` no longer stops at a ``RecursionError``: the C decoder
    overflows the thread's stack and the whole process dies of SIGSEGV. Every fetched
    document and request body is attacker-controlled, hence this linear pre-scan.
    """
    depth = json_depth(data)
    if depth > max_depth:
        raise DocumentTooDeepError(f"JSON nested {depth} deep (at most {max_depth})")


def load_json(data: bytes) -> JsonValue:
    """``json.loads`` for bytes from outside: depth-checked first (see :func:`check_json_depth`)."""
    check_json_depth(data)
    return json.loads(data)
