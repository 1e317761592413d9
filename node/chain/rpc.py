"""Raw JSON-RPC requests that raise on an error reply.

web3's ``provider.make_request`` returns the reply as it came, so an ``{"error": ...}``
answer (a method the node does not support, a refused argument) passes silently unless
every caller looks for it — one that did not is how a Hardhat devnet once went on with
unfunded accounts. Every raw request in labelnet goes through :func:`rpc_request` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import RPCEndpoint

from node.chain.errors import ChainError


class RpcError(ChainError):
    """The JSON-RPC endpoint answered a request with an error (``code``, ``message``)."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"{method} failed: {message} (code {code})")


def raise_for_error(method: str, reply: object) -> Any:
    """The ``result`` of a JSON-RPC reply; raises :class:`RpcError` for an error reply."""
    if not isinstance(reply, dict):
        raise RpcError(method, None, f"malformed reply {reply!r}")
    error = reply.get("error")
    if error is not None:
        if isinstance(error, dict):
            code = error.get("code")
            raise RpcError(
                method, code if isinstance(code, int) else None, str(error.get("message"))
            )
        raise RpcError(method, None, str(error))
    if "result" not in reply:
        raise RpcError(method, None, f"reply without a result: {reply!r}")
    return reply["result"]


def rpc_request(w3: Web3, method: str, params: Sequence[object] = ()) -> Any:
    """Send one raw request through ``w3``'s provider and return its result.

    Raises :class:`RpcError` if the endpoint answers with an error and :class:`ChainError`
    if it cannot be reached.
    """
    try:
        reply = w3.provider.make_request(RPCEndpoint(method), list(params))
    except (Web3Exception, OSError) as exc:
        raise ChainError(f"{method}: the RPC endpoint cannot be reached: {exc}") from exc
    return raise_for_error(method, reply)
