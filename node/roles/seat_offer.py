"""An annotator node's offer of its signed seat claim to a gated task's requester node.

**Where the requester node is.** Every node announces its gateway URL in the
``NodeRegistry`` under its account (:mod:`node.chain.registry`), and the API is served at
the same origin, so the node that posted a task (``TaskCreated``'s requester) is found at
the URL its account announced: the chain says who relays and where, no setting is needed.
A requester that announced nothing, a URL this node's policy refuses (a private address
without ``allow_private_peers``, as for content), or a node that does not take the claim
(it is down, relays nothing, or refuses it) all mean: no relay, and the seat duty claims
the seat itself at once (:mod:`node.roles.seats`).

The offer carries only what the gate checks anyway (a signature over the task, the account
and a deadline, and the allowlist proof): a relayer can send it or not, never use it for
anything else, so a dead or malicious relayer costs the annotator gas, never the seat.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import httpx
from web3.contract import Contract

from node.chain.qualifications import SignedSeat
from node.chain.registry import discover_gateways
from node.errors import LabelnetError
from node.peer_url import OnceLog, PeerUrlError, parse_peer

log = logging.getLogger(__name__)

OFFER_TIMEOUT = 5.0
"""Seconds one offer may take: the requester node answers after one database write."""
REGISTRY_REFRESH = 30.0
"""Seconds the announced URLs are kept before the registry is read again."""


def seat_claims_path(task_id: int) -> str:
    """The requester node's route that takes signed seat claims (``node.api.routes.tasks``)."""
    return f"/api/v1/tasks/{task_id}/seat-claims"


class SeatOfferer(Protocol):
    """What the seat duty offers its signed claims to (:class:`SeatOffers` over HTTP)."""

    def offer(self, task_id: int, requester: str, seat: SignedSeat) -> str | None:
        """Offer ``seat``: None if a relayer took it, else why not."""
        ...


class SeatOffers:
    """Offers signed seat claims to the requester nodes announced in ``registry``."""

    def __init__(self, registry: Contract, *, allow_private: bool, from_block: int = 0) -> None:
        self.registry = registry
        self.allow_private = allow_private
        self.from_block = from_block
        self._urls: dict[str, str] = {}
        self._read_at = float("-inf")
        self._once = OnceLog(log)

    def url_of(self, requester: str) -> str | None:
        """The origin ``requester``'s node announced, if this node may reach it."""
        if time.monotonic() - self._read_at >= REGISTRY_REFRESH:
            try:
                found = discover_gateways(self.registry, self.from_block)
            except (LabelnetError, OSError, ValueError) as exc:
                log.warning("cannot read the node registry: %s", exc)
                found = self._urls
            self._urls = {node.lower(): url for node, url in found.items()}
            self._read_at = time.monotonic()
        url = self._urls.get(requester.lower())
        if url is None:
            return None
        try:
            return parse_peer(url, private_ok=self.allow_private).origin
        except PeerUrlError as exc:
            self._once.warning(url, "not offering seat claims to %s: %s", url, exc)
            return None

    def offer(self, task_id: int, requester: str, seat: SignedSeat) -> str | None:
        """Offer ``seat`` to ``requester``'s node; None if it took it, else why not (said in
        the seat duty's log line before it claims itself)."""
        origin = self.url_of(requester)
        if origin is None:
            return "the requester announced no node this one may reach"
        annotator, deadline, proof, v, r, s = seat
        body = {
            "annotator": annotator,
            "deadline": deadline,
            "proof": ["0x" + bytes(h).hex() for h in proof],
            "v": v,
            "r": "0x" + bytes(r).hex(),
            "s": "0x" + bytes(s).hex(),
        }
        try:
            response = httpx.post(
                origin + seat_claims_path(task_id), json=body, timeout=OFFER_TIMEOUT
            )
        except httpx.HTTPError as exc:
            return f"the requester's node at {origin} did not answer: {exc}"
        if response.status_code != 200:
            answer = response.text[:200]
            return f"the requester's node at {origin} answered {response.status_code}: {answer}"
        return None
