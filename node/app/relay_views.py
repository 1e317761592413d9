"""The requester node's intake of signed seat claims for its gated tasks' relay (issue #19).

``POST /api/v1/tasks/{id}/seat-claims`` takes one annotator's EIP-712 ``SeatClaim`` (and its
allowlist proof), checks it as the gate will (signature, deadline, admission, bond) and
stores it before answering (:func:`node.roles.seat_relay.accept_offer`); the seat relay duty
sends it with the task's others in one ``claimSeats``. No API token: the callers are other
people's nodes, and a claim can only seat the account that signed it.
"""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import BaseModel, Field

from node.app.runtime import NodeServices
from node.app.ui_views import chain_time
from node.roles.seat_relay import MAX_PROOF, NotRelayedHereError, accept_offer

HEX32 = r"^0x[0-9a-fA-F]{64}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class SeatClaimOffer(BaseModel):
    """An annotator's signed ``SeatClaim(taskId, annotator, deadline)`` (the gate's
    ``SignedSeat`` without the task id, which is the route's)."""

    annotator: str = Field(pattern=ADDRESS)
    deadline: int = Field(ge=0, lt=2**64)
    proof: list[Annotated[str, Field(pattern=HEX32)]] = Field(
        default_factory=list, max_length=MAX_PROOF
    )
    v: int = Field(ge=0, le=255)
    r: str = Field(pattern=HEX32)
    s: str = Field(pattern=HEX32)


class SeatClaimTaken(BaseModel):
    """What the relay holds for the annotator: ``pending`` until it is sent."""

    task_id: int
    annotator: str
    state: str


def relays(services: NodeServices) -> bool:
    """Whether this node relays its gated tasks' seats and claims: a requester node with an
    account, a deployment with a gate, and ``relay`` on."""
    chain = services.chain
    return (
        services.settings.role == "requester"
        and services.settings.relay
        and services.sender is not None
        and chain is not None
        and chain.contracts.qualifications is not None
    )


def offer_seat(services: NodeServices, task_id: int, offer: SeatClaimOffer) -> SeatClaimTaken:
    """Check and store ``offer`` for the relay of ``task_id``."""
    if not relays(services):
        raise NotRelayedHereError("this node relays no seat claims")
    chain, sender = services.chain, services.sender
    assert chain is not None and sender is not None
    gate = chain.contracts.qualifications
    assert gate is not None
    seat = (
        offer.annotator,
        offer.deadline,
        [bytes.fromhex(h[2:]) for h in offer.proof],
        offer.v,
        bytes.fromhex(offer.r[2:]),
        bytes.fromhex(offer.s[2:]),
    )
    row = accept_offer(
        db=services.db,
        chain_id=services.chain_id,
        gate=gate,
        market=chain.contracts.market,
        token=chain.contracts.token,
        requester=sender.address,
        task_id=task_id,
        seat=seat,
        now=_now(services),
    )
    return SeatClaimTaken(task_id=task_id, annotator=row.annotator, state=row.state.value)


def _now(services: NodeServices) -> int:
    """The seat deadline is the chain's: judge it by the latest block, else the wall clock."""
    now = chain_time(services.chain)
    return int(time.time()) if now is None else now
