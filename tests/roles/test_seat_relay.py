"""Relayed seats of a gated task on a real anvil (issue #19: the gas bar in the nodes' path).

The annotators' seat duties sign their ``SeatClaim`` and offer it to the requester's relay
(here its :func:`accept_offer`, which the requester node's route calls, over the requester
node's own database); the relay seats all three in one ``claimSeats`` once they fill the
seats, and a restarted relay (killed before or after recording its transaction) sends
nothing twice. Offers the gate would refuse are refused at the door. Without a relay, or
with one that takes the offer and never sends, each annotator seats itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.chain.qualifications import Gate, SignedSeat, sign_seat_claim
from node.chain.seal import seal_time
from node.chain.tx import TxSender
from node.db.models import ParticipationState, RelayState
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.relay import RelayedSeatRepository
from node.protocol.manifest_allowlist import AllowlistParams
from node.roles.claim_relay import ClaimRelayDuty
from node.roles.claimer import ClaimDuty
from node.roles.seat_relay import (
    FALLBACK_LEAD,
    SeatOfferError,
    SeatRelayDuty,
    accept_offer,
    as_signed_seat,
)
from node.roles.seats import SeatDuty
from tests.conftest import Actors, advance_time
from tests.roles.network import Network, make_network
from tests.roles.test_assignment import (
    ANNOTATORS,
    ITEMS,
    SEATS,
    VALIDATORS,
    assigner,
    post_seated,
    task_row,
)
from tests.roles.test_assignment import _commit_reveal as commit_reveal

WINDOW = 1_000
"""Seat window of these tasks: longer than the annotators' fallback lead."""


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def chain_now(net: Network) -> int:
    return int(net.w3.eth.get_block("latest")["timestamp"])


class Relay:
    """The requester node's side of ``POST /tasks/{id}/seat-claims``, in process: what it
    took, and what it refused."""

    def __init__(self, net: Network, *, takes: bool = True) -> None:
        self.net = net
        self.takes = takes
        self.refused: list[str] = []

    def offer(self, task_id: int, requester: str, seat: SignedSeat) -> str | None:
        if not self.takes:
            return "the requester announced no node this one may reach"
        net = self.net
        net.sync("requester")
        gate = net.contracts.qualifications
        assert gate is not None
        try:
            accept_offer(
                db=net.peer("requester").db,
                chain_id=net.chain_id,
                gate=gate,
                market=net.contracts.market,
                token=net.contracts.token,
                requester=requester,
                task_id=task_id,
                seat=seat,
                now=chain_now(net),
            )
        except SeatOfferError as exc:
            self.refused.append(str(exc))
            return str(exc)
        return None


def join(net: Network, task_id: int, *roles: str) -> None:
    for role in roles:
        net.sync(role)
        with net.peer(role).db.write() as session:
            ParticipationRepository(session).record(
                net.chain_id, task_id, ParticipationState.JOINED, kind="categorical"
            )


def seat_duty(net: Network, role: str, relay: Relay | None, patience: float = 600) -> SeatDuty:
    return SeatDuty(
        db=net.peer(role).db,
        market=net.contracts.market,
        token=net.contracts.token,
        sender=TxSender(net.w3, getattr(net.actors, role)),
        chain_id=net.chain_id,
        assigner=assigner(net, role),
        clock=lambda: chain_now(net),
        gate=net.contracts.qualifications,
        store=net.store,
        offers=relay,
        patience=patience,
    )


def relay_duty(net: Network, send_wait: float = 3_600) -> SeatRelayDuty:
    gate = net.contracts.qualifications
    assert gate is not None
    return SeatRelayDuty(
        db=net.peer("requester").db,
        gate=gate,
        market=net.contracts.market,
        token=net.contracts.token,
        sender=TxSender(net.w3, net.actors.requester),
        chain_id=net.chain_id,
        clock=lambda: chain_now(net),
        send_wait=send_wait,
    )


def seat_transactions(net: Network, task_id: int) -> dict[str, str]:
    """Each seat holder's ``SeatClaimed`` transaction hash."""
    events = net.contracts.market.events.SeatClaimed().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    return {str(e["args"]["annotator"]): e["transactionHash"].hex() for e in events}


def states(net: Network, task_id: int) -> dict[str, RelayState]:
    with net.peer("requester").db.session() as session:
        rows = RelayedSeatRepository(session).for_task(net.chain_id, task_id)
    return {row.annotator: row.state for row in rows}


def test_the_seats_land_in_one_claim_seats_and_a_restarted_relay_sends_nothing_twice(
    net: Network,
) -> None:
    task_id, _ = post_seated(net, Gate(domain="pets"), window=WINDOW)
    assert SEATS == len(ANNOTATORS) == 3
    join(net, task_id, *ANNOTATORS)
    relay = Relay(net)
    before = {role: net.nonce(role) for role in ANNOTATORS}
    for role in ANNOTATORS[:2]:
        seat_duty(net, role, relay).tick()
    relay_duty(net).tick()  # two of three seats, and the first offer is young: it waits
    assert seat_transactions(net, task_id) == {}
    seat_duty(net, ANNOTATORS[2], relay).tick()
    assert relay.refused == []
    sent_before = net.nonce("requester")
    relay_duty(net).tick()  # the offers fill the seats: one claimSeats
    assert net.nonce("requester") == sent_before + 1
    seated = seat_transactions(net, task_id)
    addresses = {getattr(net.actors, role).address for role in ANNOTATORS}
    assert set(seated) == addresses
    (tx_hash,) = set(seated.values())
    tx = net.w3.eth.get_transaction(tx_hash)
    gate = net.contracts.qualifications
    assert gate is not None and tx["to"] == gate.address
    function, _ = gate.decode_function_input(tx["input"])
    assert function.fn_name == "claimSeats"
    assert tx["from"] == net.actors.requester.address
    assert set(states(net, task_id).values()) == {RelayState.SEATED}
    # The annotators sent nothing themselves (no bond, so not even an approval)...
    assert {role: net.nonce(role) for role in ANNOTATORS} == before
    # ...and their duties, ticking on, see their seats and send nothing either.
    for role in ANNOTATORS:
        net.sync(role)
        seat_duty(net, role, relay).tick()
    assert {role: net.nonce(role) for role in ANNOTATORS} == before
    # A relay restarted on the same database sends nothing again.
    relay_duty(net).tick()
    assert net.nonce("requester") == sent_before + 1


def test_a_relay_killed_between_sending_and_recording_sends_nothing_twice(net: Network) -> None:
    task_id, _ = post_seated(net, Gate(domain="pets"), window=WINDOW)
    join(net, task_id, *ANNOTATORS[:2])
    relay = Relay(net)
    for role in ANNOTATORS[:2]:
        seat_duty(net, role, relay).tick()
    duty = relay_duty(net)
    db = net.peer("requester").db
    with db.session() as session:
        rows = RelayedSeatRepository(session).for_task(net.chain_id, task_id)
    # What the duty does before a kill: the intent recorded, the transaction sent, its hash
    # never recorded.
    with db.write() as session:
        RelayedSeatRepository(session).mark(rows, RelayState.SENT)
    gate = net.contracts.qualifications
    assert gate is not None
    duty.sender.transact(gate.functions.claimSeats(task_id, [as_signed_seat(r) for r in rows]))
    sent = net.nonce("requester")
    assert states(net, task_id) == dict.fromkeys((r.annotator for r in rows), RelayState.SENT)
    relay_duty(net, send_wait=0).tick()  # restarted, and its offers are old: due at once
    assert net.nonce("requester") == sent
    assert set(states(net, task_id).values()) == {RelayState.SEATED}


def test_offers_the_gate_would_refuse_are_refused_at_the_door(net: Network) -> None:
    a, c = net.actors.annotator_a, net.actors.annotator_c
    listed = AllowlistParams.create([a.address])
    task_id, seat_deadline = post_seated(
        net, Gate(domain="pets", allowlist_root=listed.tree().root), listed, window=WINDOW
    )
    gate = net.contracts.qualifications
    assert gate is not None
    relay = Relay(net)
    proof = listed.tree().proof(a.address)
    # Not on the allowlist: the rule is named.
    assert relay.offer(
        task_id, net.actors.requester.address, sign_seat_claim(c, gate, task_id, seat_deadline)
    )
    assert "NotOnAllowlist" in relay.refused[-1]
    # Signed by someone else for a.
    forged = sign_seat_claim(c, gate, task_id, seat_deadline, proof)
    assert relay.offer(task_id, net.actors.requester.address, (a.address, *forged[1:]))
    assert "signature" in relay.refused[-1]
    # Valid, but expiring before the seat deadline: the relay could not send it in time.
    assert relay.offer(
        task_id,
        net.actors.requester.address,
        sign_seat_claim(a, gate, task_id, seat_deadline - 1, proof),
    )
    assert "seat deadline" in relay.refused[-1]
    assert states(net, task_id) == {}
    assert (
        relay.offer(
            task_id,
            net.actors.requester.address,
            sign_seat_claim(a, gate, task_id, seat_deadline, proof),
        )
        is None
    )
    assert states(net, task_id) == {a.address: RelayState.PENDING}


def test_without_a_relay_or_with_one_that_never_sends_annotators_seat_themselves(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    task_id, seat_deadline = post_seated(net, Gate(domain="pets"), window=WINDOW)
    join(net, task_id, *ANNOTATORS)
    market = net.contracts.market
    absent, silent = Relay(net, takes=False), Relay(net)
    a, b, c = (getattr(net.actors, role) for role in ANNOTATORS)
    with caplog.at_level(logging.INFO, logger="node.roles.seats"):
        # No relay takes the claim: a seats itself at once.
        seat_duty(net, "annotator_a", absent).tick()
        assert market.functions.hasSeat(task_id, a.address).call()
        assert "no relay for this seat" in caplog.text
        # A relay took b's claim and c's but never sends: b gives up after its patience...
        impatient = seat_duty(net, "annotator_b", silent, patience=0)
        patient = seat_duty(net, "annotator_c", silent)
        impatient.tick()
        patient.tick()
        assert states(net, task_id) == dict.fromkeys((b.address, c.address), RelayState.PENDING)
        assert not market.functions.hasSeat(task_id, b.address).call()
        impatient.tick()
        assert market.functions.hasSeat(task_id, b.address).call()
        # ...and c when the seat deadline is near.
        patient.tick()
        assert not market.functions.hasSeat(task_id, c.address).call()
        advance_time(net.w3, seat_deadline - FALLBACK_LEAD - chain_now(net))
        patient.tick()
        assert market.functions.hasSeat(task_id, c.address).call()
    assert caplog.text.count("has not seated this node") == 2
    seated = seat_transactions(net, task_id)
    assert len(set(seated.values())) == 3  # three transactions, one per annotator
    # The relay, waking up late, finds them seated and sends nothing.
    sent = net.nonce("requester")
    relay_duty(net, send_wait=0).tick()
    assert net.nonce("requester") == sent
    assert set(states(net, task_id).values()) == {RelayState.SEATED}


def test_the_requester_pays_the_unpaid_leaves_in_one_claim_for(net: Network) -> None:
    """The whole relayed path of a gated task: seats relayed, labels dealt, committed and
    revealed, validators finalize; annotator a's claimer, given no grace, claims itself
    (the fallback); b's and c's wait, and the requester's claim relay pays them in one
    ``claimFor``. Restarted, the relay sends nothing more."""
    gate = net.contracts.qualifications
    assert gate is not None
    market = net.contracts.market
    task_id, seat_deadline = post_seated(net, Gate(domain="pets"), window=WINDOW)
    join(net, task_id, *ANNOTATORS)
    relay = Relay(net)
    for role in ANNOTATORS:
        seat_duty(net, role, relay).tick()
    relay_duty(net).tick()
    assert len(set(seat_transactions(net, task_id).values())) == 1
    advance_time(net.w3, seal_time(seat_deadline) + 1 - chain_now(net))
    items = list(ITEMS)
    labels: dict[str, dict[str, object]] = {}
    for role in ANNOTATORS:
        net.sync(role)
        dealt = assigner(net, role).task_deal(task_row(net, role, task_id))
        assert dealt is not None
        positions = dealt.positions_of(getattr(net.actors, role).address)
        labels[role] = {items[p]: ITEMS[items[p]] for p in positions}
    commit_reveal(net, task_id, labels)
    for role in VALIDATORS:
        net.sync(role)
        net.validator(role, assigner=assigner(net, role)).tick()  # type: ignore[arg-type]
    assert read_task(market, task_id).status is TaskStatus.FINALIZED

    def claimer(role: str, grace: float) -> ClaimDuty:
        net.sync(role)
        peer = net.peer(role)
        return ClaimDuty(
            db=peer.db,
            store=net.store,
            market=market,
            sender=TxSender(net.w3, peer.account),
            chain_id=net.chain_id,
            gate=gate,
            grace=grace,
        )

    waiting = {role: net.nonce(role) for role in ANNOTATORS[1:]}
    for role in ANNOTATORS[1:]:
        claimer(role, grace=3_600).tick()  # holds its leaf for the relay
    assert {role: net.nonce(role) for role in ANNOTATORS[1:]} == waiting
    claimer("annotator_a", grace=0).tick()  # the fallback: claims itself
    net.sync("requester")
    sent = net.nonce("requester")
    claim_relay(net).tick()
    assert net.nonce("requester") == sent + 1
    state = read_task(market, task_id)
    assert state.paid_out == state.total_payout > 0
    claims = market.events.PayoutClaimed().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    by_tx: dict[str, set[str]] = {}
    for event in claims:
        by_tx.setdefault(event["transactionHash"].hex(), set()).add(event["args"]["account"])
    a, b, c = (getattr(net.actors, role).address for role in ANNOTATORS)
    assert sorted(by_tx.values(), key=len) == [{a}, {b, c}]
    (relayed_tx,) = [tx for tx, accounts in by_tx.items() if accounts == {b, c}]
    tx = net.w3.eth.get_transaction(relayed_tx)
    function, _ = gate.decode_function_input(tx["input"])
    assert (function.fn_name, tx["from"]) == ("claimFor", net.actors.requester.address)
    # Everyone paid: the claimers find nothing to claim, the restarted relay nothing to send.
    for role in ANNOTATORS[1:]:
        claimer(role, grace=0).tick()
    assert {role: net.nonce(role) for role in ANNOTATORS[1:]} == waiting
    net.sync("requester")
    claim_relay(net).tick()
    assert net.nonce("requester") == sent + 1


def claim_relay(net: Network) -> ClaimRelayDuty:
    gate = net.contracts.qualifications
    assert gate is not None
    return ClaimRelayDuty(
        db=net.peer("requester").db,
        store=net.store,
        gate=gate,
        market=net.contracts.market,
        sender=TxSender(net.w3, net.actors.requester),
        chain_id=net.chain_id,
    )
