"""A requester node process relays its gated task's seats, and survives SIGKILL doing it.

A real ``labelnet node start`` (role requester) posts nothing itself: its account posts a
gated task with two seats, two annotators find the node through the registry (its gateway
announcement) and offer their signed ``SeatClaim``s over HTTP (:class:`SeatOffers`, what
the annotators' seat duty uses). The node takes both, then dies at a named crash point of
its seat relay: after recording the intent, before anything is sent; or after sending
``claimSeats``, before recording its hash. Restarted, it seats both annotators in exactly
one ``claimSeats`` in all: nothing lost, nothing sent twice. An offer the gate would refuse
is answered 422 and never stored. And an annotator node whose task's requester runs no
node seats itself.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.engines import attach
from node.chain.qualifications import Gate, sign_seat_claim
from node.chain.tx import TxSender
from node.db.engine import open_database
from node.db.models import RelayState
from node.db.repositories.relay import RelayedSeatRepository
from node.faults import CRASH_ENV
from node.protocol.commitments import algorithm_id
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.roles.seat_offer import SeatOffers, seat_claims_path
from tests.api.processes import ANNOTATOR, CHAIN, NodeUnderTest
from tests.api.test_crash_safety import wait_until
from tests.chain.test_lifecycle import HOUR, TOKEN, fund
from tests.conftest import TEST_CONFIG, Actors

REQUESTER = ANNOTATOR  # the node's account posts the task: it is the requester's node
WINDOW = 1_000


def post_gated(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    *,
    poster: LocalAccount = REQUESTER,
    manifest: TaskContent | None = None,
) -> tuple[int, int]:
    """A gated task of four items, k = 1, batch 2 (two seats) posted by ``poster`` (the
    node's account by default) with ``manifest``'s CID; its id and seat deadline."""
    attach(w3).set_balance(poster.address, 10**20)
    fund(w3, contracts, actors, poster, 100 * TOKEN)
    requester = TxSender(w3, poster)
    now = int(w3.eth.get_block("latest")["timestamp"])
    seat_deadline = now + WINDOW
    commit = seat_deadline + TEST_CONFIG.min_label_time
    params = (
        "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
        if manifest is None
        else manifest.manifest_cid,
        algorithm_id("rds@1"),
        bytes(32),
        TOKEN,
        TOKEN,
        0,
        commit,
        commit + HOUR,
        commit + 2 * HOUR,
        4,
        1,
        seat_deadline,
        2,
    )
    gate = contracts.qualifications
    assert gate is not None
    requester.transact(contracts.token.functions.approve(contracts.market.address, 100 * TOKEN))
    receipt = requester.transact(
        gate.functions.createGatedTask(params, Gate(domain="pets").as_tuple())
    )
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId), seat_deadline


def relayed(node: NodeUnderTest, task_id: int) -> dict[str, RelayState]:
    db = open_database(url=f"sqlite:///{node.data_dir / 'node.db'}")
    try:
        with db.session() as session:
            rows = RelayedSeatRepository(session).for_task(CHAIN, task_id)
        return {row.annotator: row.state for row in rows}
    finally:
        db.dispose()


@pytest.mark.parametrize("crash_at", ["after-seat-relay-intent", "after-seat-relay-submit"])
def test_a_killed_relay_seats_every_offer_in_one_claim_seats(
    crash_at: str, node: NodeUnderTest, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    gate = contracts.qualifications
    assert gate is not None
    task_id, seat_deadline = post_gated(w3, contracts, actors)
    node.start(LABELNET_ROLE="requester", **{CRASH_ENV: crash_at})
    wait_until(
        lambda: httpx.get(f"{node.url}/api/v1/tasks/{task_id}").status_code == 200,
        "the task to be mirrored",
    )
    offers = SeatOffers(contracts.registry, allow_private=True)
    wait_until(lambda: offers.url_of(REQUESTER.address) is not None, "the node's announcement")
    assert offers.url_of(REQUESTER.address) == node.url
    a, b, c = actors.annotator_a, actors.annotator_b, actors.annotator_c
    # Refused at the door: signed by c for a.
    forged = sign_seat_claim(c, gate, task_id, seat_deadline)
    response = httpx.post(
        node.url + seat_claims_path(task_id),
        json={
            "annotator": a.address,
            "deadline": seat_deadline,
            "proof": [],
            "v": forged[3],
            "r": "0x" + forged[4].hex(),
            "s": "0x" + forged[5].hex(),
        },
    )
    assert response.status_code == 422 and "signature" in response.text
    assert relayed(node, task_id) == {}
    for annotator in (a, b):
        signed = sign_seat_claim(annotator, gate, task_id, seat_deadline)
        assert offers.offer(task_id, REQUESTER.address, signed) is None
    assert node.wait_for_death() == -signal.SIGKILL  # at the crash point, once both are in
    sent_before_restart = w3.eth.get_transaction_count(REQUESTER.address)
    assert set(relayed(node, task_id).values()) == {RelayState.SENT}

    node.start(LABELNET_ROLE="requester")
    market = contracts.market
    wait_until(lambda: set(relayed(node, task_id).values()) == {RelayState.SEATED}, "both seated")
    time.sleep(1.0)  # a few more ticks of the relay: nothing more may be sent
    events = market.events.SeatClaimed().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    assert {e["args"]["annotator"] for e in events} == {a.address, b.address}
    assert len({e["transactionHash"] for e in events}) == 1  # one claimSeats for both
    sent = w3.eth.get_transaction_count(REQUESTER.address)
    if crash_at == "after-seat-relay-submit":
        assert sent == sent_before_restart  # sent before the kill; never again
    else:
        assert sent == sent_before_restart + 1  # nothing before the kill; once after


def test_an_annotator_node_without_a_relay_seats_itself(
    node: NodeUnderTest, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    """The task's requester runs no node (it announced none): the annotator node's offer has
    nowhere to go, so it sends its own ``claimSeat`` through the gate at once."""
    gate = contracts.qualifications
    assert gate is not None
    content = build_task_content(
        [ItemSpec(f"q{n}", data={"text": f"q{n}"}) for n in range(4)],
        title="cat or dog",
        classes=("cat", "dog"),
        algorithm="rds@1",
    )
    node.store_content(content)
    attach(w3).set_balance(ANNOTATOR.address, 10**20)
    task_id, _ = post_gated(w3, contracts, actors, poster=actors.requester, manifest=content)
    node.start()  # an annotator node
    wait_until(
        lambda: bool(contracts.market.functions.hasSeat(task_id, ANNOTATOR.address).call()),
        "the annotator's own seat",
    )
    (event,) = contracts.market.events.SeatClaimed().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    tx = w3.eth.get_transaction(event["transactionHash"])
    function, _ = gate.decode_function_input(tx["input"])
    assert (function.fn_name, tx["from"]) == ("claimSeat", ANNOTATOR.address)


def test_a_node_that_relays_nothing_answers_404(client: TestClient) -> None:
    """An annotator node (or one without a chain) takes no seat claims: the offering node
    then claims its seat itself."""
    body = {"annotator": "0x" + "ab" * 20, "deadline": 1, "proof": [], "v": 27}
    body |= {"r": "0x" + "01" * 32, "s": "0x" + "02" * 32}
    response = client.post(seat_claims_path(7), json=body)
    assert response.status_code == 404
    assert "relays no seat claims" in response.json()["detail"]
    malformed = client.post(seat_claims_path(7), json={**body, "proof": ["0x12"]})
    assert malformed.status_code == 422
