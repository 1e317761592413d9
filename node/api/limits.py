"""Refusing request bodies that would hurt the node before any parser sees them.

FastAPI decodes JSON bodies with ``json.loads``. Inside a node that is not safe on its own:
``py_ecc`` (imported with web3) lifts Python's recursion limit to 100,000, so a body of a
few hundred kilobytes of ``[`` overflows the C stack and kills the process instead of
raising. This middleware reads a JSON body once, checks its nesting with
:func:`node.content.canonical.check_json_depth`, answers 422 if it is too deep or 413 if
it is too large, and otherwise hands the same bytes on to the app.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.content.canonical import DocumentTooDeepError, check_json_depth

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest request body the node reads (a full label batch is far below it)."""


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
