"""Refusing request bodies that would hurt the node before any parser sees them.

FastAPI decodes JSON bodies with ``json.loads``. Inside a node that is not safe on its own:
``py_ecc`` (imported with web3) lifts Python's recursion limit to 100,000, so a body of a
few hundred kilobytes of ``[`` overflows the C stack and kills the process instead of
raising. This middleware reads a JSON body once, checks its nesting with
:func:`node.protocol.canonical.check_json_depth`, answers 422 if it is too deep or 413 if
it is too large, and otherwise hands the same bytes on to the app.

It also answers 400 to a body that is not UTF-8 text, or whose JSON escapes name a lone
UTF-16 surrogate (``"\ud800"``): ``json.loads`` accepts both (it even decodes UTF-16 and
surrogate bytes), but the strings it returns have no UTF-8 encoding, so the database, the
canonical JSON of a commitment and any response echoing them would fail later, as a 500 or
a batch that can never be committed. RFC 8259 requires UTF-8 between systems anyway.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.protocol.canonical import DocumentTooDeepError, check_json_depth

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest request body the node reads (a full label batch is far below it)."""

_SURROGATE_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a pair: one character
    rb"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"  # a surrogate on its own
)
"""Escapes of UTF-16 surrogates, a pair taken whole. Both branches start with a literal
backslash, so the scan skips ahead at C speed: a body without such escapes costs about a
millisecond per 400 KB."""


def _escaped(body: bytes, at: int) -> bool:
    """Whether the backslash at ``at`` is itself escaped (an odd run of backslashes before)."""
    run = 0
    while at - run - 1 >= 0 and body[at - run - 1] == 0x5C:
        run += 1
    return run % 2 == 1


def undecodable(body: bytes) -> str | None:
    """Why ``body`` is not UTF-8 JSON text with Unicode strings only, or None if it is."""
    try:
        body.decode("utf-8")  # strict: also refuses encoded surrogates and overlong forms
    except UnicodeDecodeError as exc:
        return f"not UTF-8 at byte {exc.start}"
    for match in _SURROGATE_ESCAPE.finditer(body):
        pair = match.end() - match.start() == 12
        # A pair is fine unless its first escape is literal text (``\\ud800``): then the
        # second one is a low surrogate on its own. A lone one is fine only as literal text.
        if _escaped(body, match.start()) == pair:
            where = match.start() + (6 if pair else 0)
            escape = body[where : where + 6].decode()
            return f"a lone UTF-16 surrogate escape {escape} at byte {where}"
    return None


async def send_json_error(send: Send, status: int, error: str, detail: str) -> None:
    """Answer ``status`` with the API's error body, from middleware (before any route)."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class JsonBodyGuard:
    """ASGI middleware: depth- and size-check JSON request bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json_error(
                    send, 413, "PayloadTooLarge", f"request body over {self.max_bytes} bytes"
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = undecodable(body)
        if problem is not None:
            detail = f"the body is not UTF-8 JSON: {problem}"
            await send_json_error(send, 400, "BadRequest", detail)
            return
        try:
            check_json_depth(body)
        except DocumentTooDeepError as exc:
            await send_json_error(send, 422, type(exc).__name__, str(exc))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
