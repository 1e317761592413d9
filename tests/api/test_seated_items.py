"""``GET /tasks/{id}/items/next`` on a seated task (market v2, docs/settlement.md §1.6):
403 ``no_seat`` without a seat, 409 ``not_dealt_yet`` before the seal, and an open task
unchanged. The seats come from the event journal, as the chain mirror writes it; the seal
is read from a real anvil (the serving of dealt items after the seal is tested on chain in
tests/roles/test_assignment.py and end to end in tests/e2e/test_demo_seated.py)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from web3 import Web3

from node.api.errors import status_for
from node.app.runtime import NodeServices
from node.chain.contracts import Contracts
from node.db.models import ChainEventRecord
from node.roles.assignment import Assigner, NoSeatError, NotDealtYetError
from tests.api.conftest import CHAIN, add_task

SEAT_DEADLINE = 4_000_000_000 - 7_200


def journal(services: NodeServices, task_id: int, batch_size: int, seated: list[str]) -> None:
    """The task's ``TaskCreated`` and ``SeatClaimed`` events in the node's journal."""
    records = [
        ChainEventRecord(
            chain_id=CHAIN,
            contract="0x" + "00" * 20,
            event="TaskCreated",
            task_id=task_id,
            block_number=1,
            block_hash="0x" + f"{task_id:064x}",
            log_index=0,
            tx_hash="0x" + "00" * 32,
            args={"params": {"batchSize": batch_size, "seatDeadline": SEAT_DEADLINE}},
        ),
        *(
            ChainEventRecord(
                chain_id=CHAIN,
                contract="0x" + "00" * 20,
                event="SeatClaimed",
                task_id=task_id,
                block_number=2,
                block_hash="0x" + f"{task_id:064x}",
                log_index=1 + seat,
                tx_hash="0x" + "00" * 32,
                args={"annotator": address, "seat": seat},
            )
            for seat, address in enumerate(seated)
        ),
    ]
    with services.db.write() as session:
        session.add_all(records)


def seated_node(services: NodeServices, w3: Web3, contracts: Contracts) -> None:
    services.assigner = Assigner(
        db=services.db, w3=w3, market=contracts.market, chain_id=CHAIN, finality_depth=0
    )


def test_no_seat_is_403_and_before_the_seal_is_409(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    annotator: LocalAccount,
    w3: Web3,
    contracts: Contracts,
) -> None:
    seated_node(services, w3, contracts)
    add_task(services.db, task_id=1, items=10)
    add_task(services.db, task_id=2, items=10)
    journal(services, 1, 5, ["0x" + "ab" * 20])  # someone else's seat
    journal(services, 2, 5, [annotator.address])

    response = client.get("/api/v1/tasks/1/items/next", headers=auth)
    assert response.status_code == 403
    assert response.json()["error"] == "NoSeatError"
    assert response.json()["detail"].startswith("no_seat")

    response = client.get("/api/v1/tasks/2/items/next", headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == "NotDealtYetError"
    assert response.json()["detail"].startswith("not_dealt_yet")


def test_an_open_task_serves_every_item_as_before(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    w3: Web3,
    contracts: Contracts,
) -> None:
    seated_node(services, w3, contracts)
    ids = add_task(services.db, task_id=3, items=4)
    journal(services, 3, 0, [])  # batchSize 0: an open task
    response = client.get("/api/v1/tasks/3/items/next", headers=auth)
    assert response.status_code == 200
    assert [item["item_id"] for item in response.json()] == ids


def test_the_errors_map_to_their_statuses_once() -> None:
    assert status_for(NoSeatError("no_seat")) == 403
    assert status_for(NotDealtYetError("not_dealt_yet")) == 409
