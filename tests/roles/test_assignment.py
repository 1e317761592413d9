"""Seated tasks (market v2) on a real anvil: seats from events, the seal's seed, the deal, and
the validators' drop rule and ``assigned@1`` pay (docs/settlement.md §1).

Three annotators take the three seats of a six-item task (k = 2, batch 4); the requester,
wanting a fourth, is refused and does no work. Each seat holder labels its dealt items; one
also labels an item it was not dealt, which the validators drop before consensus. Every
paid annotator gets exactly the rate per accepted label, and no item has more than k labels.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from web3 import Web3
from web3.logs import DISCARD

from node.app.views import next_items, progress
from node.chain.contracts import Contracts, Deployment
from node.chain.engines import attach
from node.chain.errors import ContractRevertError
from node.chain.market import TaskStatus, read_task
from node.chain.qualifications import Gate
from node.chain.seal import read_seal, seal_time
from node.db.models import ItemCreate, ParticipationState, Task
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import ItemRepository, TaskRepository
from node.protocol.commitments import algorithm_id, label_commitment
from node.protocol.deal import SEAL_DELAY, deal, deal_seed
from node.protocol.labels import LABELS_V2, LabelBatch
from node.protocol.manifest import ItemSpec, build_task_content
from node.protocol.manifest_allowlist import AllowlistParams
from node.roles.assignment import Assigner, NoSeatError, NotDealtYetError
from node.roles.seats import SeatDuty
from node.roles.validator import ValidatorDuty
from tests.chain.test_lifecycle import HOUR, TOKEN, fund, sender
from tests.conftest import TEST_CONFIG, Actors, advance_time
from tests.roles.network import TINY_TASK_CONSENSUS, Network, make_network
from tests.roles.test_validator_duty import published_result

ITEMS = {f"q{i}": ("cat" if i % 2 else "dog") for i in range(1, 7)}
K, BATCH = 2, 4
SEATS = len(ITEMS) * K // BATCH
RATE = 10 * TOKEN
ANNOTATORS = ("annotator_a", "annotator_b", "annotator_c")
VALIDATORS = ("validator_1", "validator_2", "validator_3")


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def post_seated(
    net: Network,
    gate: Gate | None = None,
    allowlist: AllowlistParams | None = None,
    *,
    window: int = 100,
) -> tuple[int, int]:
    """The six-item seated task (gated by ``gate`` through the market's gate, if given; its
    manifest listing ``allowlist``, if given) whose seats close in ``window`` seconds;
    returns its id and seat deadline."""
    content = build_task_content(
        [ItemSpec(item, data={"text": item}) for item in ITEMS],
        title="cat or dog",
        classes=("cat", "dog"),
        algorithm="rds@1",
        consensus=TINY_TASK_CONSENSUS,
        allowlist=allowlist,
    )
    for blob in content.blobs():
        net.store.put(blob)
    fund(net.w3, net.contracts, net.actors, net.actors.requester, 1_000 * TOKEN)
    requester = sender(net.w3, net.actors.requester)
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    seat_deadline = now + window
    commit = seat_deadline + TEST_CONFIG.min_label_time
    params = (
        content.manifest_cid,
        algorithm_id("rds@1"),
        bytes(32),
        RATE,
        9 * TOKEN,
        0,
        commit,
        commit + HOUR,
        commit + 2 * HOUR,
        len(ITEMS),
        K,
        seat_deadline,
        BATCH,
    )
    market = net.contracts.market
    requester.transact(net.contracts.token.functions.approve(market.address, 200 * TOKEN))
    if gate is None:
        receipt = requester.transact(market.functions.createTask(params))
    else:
        assert net.contracts.qualifications is not None
        create = net.contracts.qualifications.functions.createGatedTask(params, gate.as_tuple())
        receipt = requester.transact(create)
    (event,) = market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId), seat_deadline


def assigner(net: Network, role: str) -> Assigner:
    return Assigner(
        db=net.peer(role).db,
        w3=net.w3,
        market=net.contracts.market,
        chain_id=net.chain_id,
        finality_depth=0,
    )


def task_row(net: Network, role: str, task_id: int) -> Task:
    with net.peer(role).db.session() as session:
        task = TaskRepository(session).get(net.chain_id, task_id)
    assert task is not None
    return task


def claim(net: Network, role: str, task_id: int) -> None:
    account = getattr(net.actors, role)
    sender(net.w3, account).transact(net.contracts.market.functions.claimSeat(task_id))


def test_the_seal_is_the_first_block_after_the_seat_deadline_and_delay(net: Network) -> None:
    task_id, seat_deadline = post_seated(net)
    kwargs = {
        "chain_id": net.chain_id,
        "market": net.contracts.market.address,
        "task_id": task_id,
        "seat_deadline": seat_deadline,
        "finality_depth": 2,
    }
    assert read_seal(net.w3, **kwargs) is None  # the seal time has not come
    dev = attach(net.w3)
    dev.set_next_timestamp(seal_time(seat_deadline))  # a block exactly at the seal time
    dev.mine()
    assert read_seal(net.w3, **kwargs) is None  # the seal time is not passed
    dev.set_next_timestamp(seal_time(seat_deadline) + 1)  # the first block after it: the seal
    dev.mine()
    sealed_at = int(net.w3.eth.block_number)
    assert read_seal(net.w3, **kwargs) is None  # not final yet
    dev.mine()
    assert read_seal(net.w3, **kwargs) is None
    dev.mine()  # two blocks on top
    seal = read_seal(net.w3, **kwargs)
    assert seal is not None and seal.block_number == sealed_at
    block = net.w3.eth.get_block(sealed_at)
    assert int(block["timestamp"]) > seat_deadline + SEAL_DELAY
    assert int(net.w3.eth.get_block(sealed_at - 1)["timestamp"]) <= seat_deadline + SEAL_DELAY
    randomness = bytes(block["mixHash"]) if seal.source == "mixHash" else bytes(block["hash"])
    expected = deal_seed(net.chain_id, net.contracts.market.address, task_id, randomness)
    assert seal.seed == expected and seal.block_hash == "0x" + bytes(block["hash"]).hex()
    # Reading again from a later head finds the same block and seed.
    advance_time(net.w3, 50)
    assert read_seal(net.w3, **kwargs) == seal


def test_a_seated_task_end_to_end_on_chain(net: Network) -> None:
    task_id, seat_deadline = post_seated(net)
    market = net.contracts.market
    for role in ANNOTATORS:
        claim(net, role, task_id)
    with pytest.raises(ContractRevertError) as refused:
        claim(net, "requester", task_id)  # more want seats than exist
    assert refused.value.name == "TaskMarketNoSeatsLeft"

    # The annotator's node: its seat duty finds the seat taken, the API says not dealt yet.
    net.sync("annotator_a", "requester")
    node_a = assigner(net, "annotator_a")
    task = task_row(net, "annotator_a", task_id)
    with net.peer("annotator_a").db.write() as session:
        ItemRepository(session).upsert_many(
            net.chain_id,
            task_id,
            [ItemCreate(item_id=item, position=i) for i, item in enumerate(ITEMS)],
        )
    address_a = net.actors.annotator_a.address
    with pytest.raises(NotDealtYetError):
        next_items(net.peer("annotator_a").db, net.chain_id, task_id, address_a, 10, node_a)
    with pytest.raises(NoSeatError):
        node_a.dealt_positions(task, net.actors.requester.address)

    now = int(net.w3.eth.get_block("latest")["timestamp"])
    advance_time(net.w3, seal_time(seat_deadline) + 1 - now)
    net.sync("annotator_a")
    dealt = node_a.task_deal(task)
    assert dealt is not None and len(dealt.seating.seats) == SEATS
    served = next_items(net.peer("annotator_a").db, net.chain_id, task_id, address_a, 10, node_a)
    positions = node_a.dealt_positions(task, address_a)
    assert positions is not None and len(positions) == BATCH
    item_ids = list(ITEMS)
    assert sorted(i.item_id for i in served) == sorted(item_ids[p] for p in positions)
    shown = progress(net.peer("annotator_a").db, net.chain_id, task_id, address_a, 0, node_a)
    assert (shown.done, shown.total) == (0, BATCH)  # the seat's batch, not the task

    # The deal every node computes: from the seal's seed and the claimed seats.
    seeded = deal(dealt.seal.seed, len(ITEMS), K, BATCH, SEATS)
    holders = {role: dealt.seat_of(getattr(net.actors, role).address) for role in ANNOTATORS}
    labels: dict[str, dict[str, object]] = {}
    per_item: dict[str, int] = dict.fromkeys(ITEMS, 0)
    for role, seat in holders.items():
        assert seat is not None
        mine = [item_ids[int(p)] for p in seeded.items_of(seat)]
        labels[role] = {item: ITEMS[item] for item in mine}
        for item in mine:
            per_item[item] += 1
    assert max(per_item.values()) <= K
    undealt = next(item for item in ITEMS if item not in labels["annotator_a"])
    wrong = "dog" if ITEMS[undealt] == "cat" else "cat"
    labels["annotator_a"][undealt] = wrong  # a label on an item a's seat was not dealt

    _commit_reveal(net, task_id, labels)
    for role in VALIDATORS:
        net.sync(role)
        ValidatorDuty(
            db=net.peer(role).db,
            store=net.store,
            market=market,
            staking=net.contracts.staking,
            sender=sender(net.w3, getattr(net.actors, role)),
            chain_id=net.chain_id,
            assigner=assigner(net, role),
        ).tick()
    state = read_task(market, task_id)
    assert state.status is TaskStatus.FINALIZED

    result = published_result(net, "validator_1", task_id)
    rows = {row["account"]: row for row in result["annotators"]}  # type: ignore[index]
    a_row = rows[address_a]
    assert a_row["labels"] == BATCH  # the undealt label was dropped before consensus
    paid = 0
    for role in ANNOTATORS:
        row = rows[getattr(net.actors, role).address]
        assert int(row["payout"]) == RATE * int(row["accepted"])  # exactly the rate
        assert int(row["accepted"]) <= BATCH
        paid += int(row["payout"])
    assert net.actors.requester.address not in rows  # no seat, no work, no pay
    assert state.total_payout == paid <= len(ITEMS) * K * RATE
    assert any(int(rows[getattr(net.actors, r).address]["payout"]) > 0 for r in ANNOTATORS)
    items = {row["item"]: row for row in result["items"]}  # type: ignore[index]
    assert set(items) <= set(ITEMS)
    # result@4 states the seal, the seats and the labels every item got (docs/settlement.md)
    assert result["assignment"] == {
        "deal": "deal@1",
        "reward_rule": "assigned@1",
        "seed_source": dealt.seal.source,
        "seal_block": dealt.seal.block_number,
        "items": len(ITEMS),
        "redundancy": K,
        "batch_size": BATCH,
        "seats": SEATS,
        "claimed": SEATS,
        "short_items": sum(1 for count in per_item.values() if count < K),
    }
    assert {item: row["labels"] for item, row in items.items()} == {
        item: count for item, count in per_item.items() if count
    }
    for role, seat in holders.items():
        assert rows[getattr(net.actors, role).address]["seat"] == seat


def _commit_reveal(net: Network, task_id: int, labels: dict[str, dict[str, object]]) -> None:
    """Commit and reveal each seat holder's labels, moving the clock through the windows."""
    market = net.contracts.market
    batches = {}
    for role, answers in labels.items():
        account = getattr(net.actors, role)
        batch = LabelBatch.create(task_id, account.address, answers.items())  # type: ignore[arg-type]
        salt = os.urandom(32)
        batches[role] = (batch, salt)
        commitment = label_commitment(task_id, account.address, batch.root(), salt)
        sender(net.w3, account).transact(market.functions.commit(task_id, commitment))
    state = read_task(market, task_id)
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    advance_time(net.w3, state.commit_deadline + 1 - now)
    for role, (batch, salt) in batches.items():
        cid = batch.publish(LABELS_V2, net.store.put)
        account = getattr(net.actors, role)
        sender(net.w3, account).transact(market.functions.reveal(task_id, batch.root(), cid, salt))
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    advance_time(net.w3, state.reveal_deadline + 1 - now)


def seat_duty(net: Network, role: str) -> SeatDuty:
    return SeatDuty(
        db=net.peer(role).db,
        market=net.contracts.market,
        token=net.contracts.token,
        sender=sender(net.w3, getattr(net.actors, role)),
        chain_id=net.chain_id,
        assigner=assigner(net, role),
        clock=lambda: int(net.w3.eth.get_block("latest")["timestamp"]),
        gate=net.contracts.qualifications,
        store=net.store,
    )


def test_the_seat_duty_claims_one_seat_and_stops_when_none_is_left(net: Network) -> None:
    task_id, _ = post_seated(net)
    for role in ("annotator_a", "annotator_b", "annotator_c", "requester"):
        net.sync(role)
        with net.peer(role).db.write() as session:
            ParticipationRepository(session).record(
                net.chain_id, task_id, ParticipationState.JOINED, kind="categorical"
            )
    market = net.contracts.market
    for role in ("annotator_a", "annotator_b", "annotator_c"):
        duty = seat_duty(net, role)
        duty.tick()
        net.sync(role)
        nonce = net.nonce(role)
        duty.tick()  # seated already: nothing sent
        assert net.nonce(role) == nonce
    assert read_task(market, task_id).seat_count == SEATS
    late = seat_duty(net, "requester")
    late.tick()  # refused with TaskMarketNoSeatsLeft: logged, never retried
    nonce = net.nonce("requester")
    late.tick()
    assert net.nonce("requester") == nonce
    net.sync("requester")
    seats = assigner(net, "requester").seating(task_id)
    assert seats is not None and net.actors.requester.address.lower() not in seats.seats
    assert sorted(seats.seats.values()) == list(range(SEATS))


def test_the_seat_duty_joins_only_gated_tasks_it_qualifies_for(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    open_gate, _ = post_seated(net, Gate(domain="pets"))
    strict, _ = post_seated(net, Gate(domain="pets", min_accuracy_bps=1))
    net.sync("annotator_a")
    with net.peer("annotator_a").db.write() as session:
        for task_id in (open_gate, strict):
            ParticipationRepository(session).record(
                net.chain_id, task_id, ParticipationState.JOINED, kind="categorical"
            )
    duty = seat_duty(net, "annotator_a")
    with caplog.at_level(logging.INFO, logger="node.roles.seats"):
        duty.tick()
    me = net.actors.annotator_a.address
    assert net.contracts.market.functions.hasSeat(open_gate, me).call()
    assert not net.contracts.market.functions.hasSeat(strict, me).call()
    assert f"skipped task {strict}: AccuracyTooLow" in caplog.text
    nonce = net.nonce("annotator_a")
    duty.tick()  # the refusal is final: nothing is sent again
    assert net.nonce("annotator_a") == nonce
