"""Loading a finalized task's winning result: only a document matching the chain is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.db.engine import Database, open_database
from node.db.models import Attestation, Task, TaskStatus
from node.db.repositories.settlement import PayoutRepository
from node.protocol.canonical import canonical_json
from node.protocol.merkle import leaf_hash, verify_proof
from node.protocol.result import payout_result
from node.roles.settlement import load_winning_result
from node.store.embedded import EmbeddedStore

CHAIN, TASK = 31337, 7
ALICE, BOB = "0x" + "a1" * 20, "0x" + "b2" * 20
WINNER = payout_result((ALICE, BOB), (300, 100))
ROOT = "0x" + WINNER.root.hex()


def result_document(task: int = TASK, amounts: tuple[int, int] = (300, 100)) -> bytes:
    payouts = payout_result((ALICE, BOB), amounts)
    return canonical_json(
        {
            "schema": "labelnet/result@1",
            "task": task,
            "kind": "categorical",
            "items": [],
            "annotators": [],
            "payouts": [{"account": a, "amount": str(x)} for a, x in payouts.leaves],
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(url=f"sqlite:///{tmp_path / 'node.db'}")


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


def add_task(db: Database, status: TaskStatus) -> None:
    with db.write() as session:
        session.add(
            Task(
                chain_id=CHAIN,
                task_id=TASK,
                requester=ALICE,
                manifest_cid="bafkreimanifest",
                algorithm="rds@1",
                commit_deadline=1,
                reveal_deadline=2,
                attest_deadline=3,
                num_items=4,
                redundancy=3,
                status=status,
                payout_root=ROOT if status is TaskStatus.FINALIZED else None,
                total_payout=400 if status is TaskStatus.FINALIZED else None,
                reward_per_label=100,
                validator_fee=0,
                annotator_bond=0,
                reward_pool=1_200,
            )
        )


def attest(db: Database, validator: int, cid: str, root: str = ROOT) -> None:
    with db.write() as session:
        session.add(
            Attestation(
                chain_id=CHAIN,
                task_id=TASK,
                validator="0x" + f"{validator:040x}",
                payout_root=root,
                result_cid=cid,
                total_payout=400,
                weight=1,
                block_number=validator,
                tx_hash="0x" + f"{validator:064x}",
            )
        )


def test_first_verifiable_document_of_the_winning_root_is_recorded(
    db: Database, store: EmbeddedStore
) -> None:
    add_task(db, TaskStatus.FINALIZED)
    good = store.put(result_document())
    attest(db, 1, store.put(result_document(amounts=(350, 50))), root="0x" + "11" * 32)
    attest(db, 2, "bafkreigzbmnxq5v2zyvyesijuxjxbqdtkrftwfkn4mcgw7yatzi5sabqjm")  # nobody has it
    attest(db, 3, store.put(result_document(task=8)))  # another task's result
    attest(db, 4, store.put(b"not json"))
    attest(db, 5, store.put(b"[" * 100_000))  # would crash json.loads (see check_json_depth)
    attest(db, 6, good)

    result = load_winning_result(db, store, CHAIN, TASK)
    assert result is not None and result.result_cid == good
    amounts = {leaf.account.lower(): leaf.amount for leaf in result.leaves}
    assert amounts == {ALICE: 300, BOB: 100}
    for leaf in result.leaves:
        proof = [bytes.fromhex(p[2:]) for p in leaf.proof]
        assert verify_proof(WINNER.root, leaf_hash(leaf.account, leaf.amount), proof)
    with db.session() as session:
        stored = PayoutRepository(session).for_task(CHAIN, TASK)
    assert {(p.account.lower(), p.amount) for p in stored} == {(ALICE, 300), (BOB, 100)}
    assert all(p.proof for p in stored)


def test_recording_again_keeps_claimed_flags(db: Database, store: EmbeddedStore) -> None:
    add_task(db, TaskStatus.FINALIZED)
    attest(db, 1, store.put(result_document()))
    first = load_winning_result(db, store, CHAIN, TASK)
    assert first is not None
    with db.write() as session:
        row = PayoutRepository(session).get(CHAIN, TASK, first.leaves[0].account)
        assert row is not None
        row.claimed = True
        session.add(row)
    assert load_winning_result(db, store, CHAIN, TASK) == first
    with db.session() as session:
        claimed = [p.claimed for p in PayoutRepository(session).for_task(CHAIN, TASK)]
    assert sorted(claimed) == [False, True]


def test_nothing_until_finalized_and_verifiable(db: Database, store: EmbeddedStore) -> None:
    assert load_winning_result(db, store, CHAIN, TASK) is None  # unknown task
    add_task(db, TaskStatus.OPEN)
    attest(db, 1, store.put(result_document()))
    assert load_winning_result(db, store, CHAIN, TASK) is None  # not finalized


def test_a_document_whose_total_differs_from_the_chain_is_refused(
    db: Database, store: EmbeddedStore
) -> None:
    add_task(db, TaskStatus.FINALIZED)
    with db.write() as session:
        task = session.get(Task, (CHAIN, TASK))
        assert task is not None
        task.total_payout = 399
        session.add(task)
    attest(db, 1, store.put(result_document()))
    assert load_winning_result(db, store, CHAIN, TASK) is None


def test_a_result_larger_than_other_documents_is_read(db: Database, store: EmbeddedStore) -> None:
    """Issue #14: a 60,000-item task's result (5.3 MB) was refused by the claimers' reader,
    which capped it at the 4 MiB of the other documents, so nobody could claim."""
    add_task(db, TaskStatus.FINALIZED)
    payouts = payout_result((ALICE, BOB), (300, 100))
    items = [
        {"item": f"item-{n:06d}", "value": "cat", "confidence": "0.912345678"}
        for n in range(80_000)
    ]
    document = canonical_json(
        {
            "schema": "labelnet/result@1",
            "task": TASK,
            "kind": "categorical",
            "items": items,  # type: ignore[dict-item]
            "annotators": [],
            "payouts": [{"account": a, "amount": str(x)} for a, x in payouts.leaves],
        }
    )
    assert len(document) > 4 * 1024 * 1024
    attest(db, 1, store.put(document))
    result = load_winning_result(db, store, CHAIN, TASK)
    assert result is not None
    assert {leaf.account.lower(): leaf.amount for leaf in result.leaves} == {ALICE: 300, BOB: 100}
