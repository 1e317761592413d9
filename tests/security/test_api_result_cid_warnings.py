"""Issue #13, finding 5: an attested result CID that is not a CID was warned about for ever.

The claim duty asks for a finalized task's winning result on every tick until its payout
leaves are recorded, and every failing CID logged a warning each time: one validator's junk
CID meant a warning every second for the life of the node. Now a CID that can never work is
recorded in the database as unusable (one warning, none after a restart) and one that
cannot be fetched *yet* is retried after a back-off (one warning, not one per tick).

On a real anvil chain with the real duties (as tests/roles): two validators attest the same
winning root, one with the real result document's CID, one with a string that is no CID;
the annotator's node cannot reach the real document at first (its own, empty store).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.chain.tx import TxSender
from node.db.repositories import AttestationRepository
from node.roles.claimer import ClaimDuty
from node.roles.settlement import load_winning_result
from node.store.embedded import EmbeddedStore
from tests.conftest import Actors, advance_time
from tests.roles.network import SLOPPY, TRUTH, Network, make_network, post_task, reveal_all

JUNK = "not-a-cid"
TICKS = 6
LABELS = {"annotator_a": TRUTH, "annotator_b": TRUTH, "annotator_c": SLOPPY}


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def settle_with_a_junk_cid(net: Network) -> tuple[int, str]:
    """A finalized task whose winning root is attested with a real CID and with JUNK;
    returns the task id and the real CID."""
    task = post_task(net)
    reveal_all(net, [task], LABELS)
    net.sync("validator_1")
    net.validator("validator_1", finalize_early=False).tick()  # publishes and attests
    net.sync("validator_2")
    with net.peer("validator_2").db.session() as session:
        (honest,) = AttestationRepository(session).for_task(net.chain_id, task.task_id)
    # The second validator attests the same root and total, naming a string that is no CID.
    TxSender(net.w3, net.actors.validator_2).transact(
        net.contracts.market.functions.attest(
            task.task_id,
            bytes.fromhex(honest.payout_root.removeprefix("0x")),
            honest.total_payout,
            JUNK,
        )
    )
    advance_time(net.w3, 3600)
    net.sync("validator_1")
    net.validator("validator_1", finalize_early=False).tick()
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED
    net.sync("annotator_a")
    return task.task_id, honest.result_cid


def claimer(net: Network, store: EmbeddedStore) -> ClaimDuty:
    """annotator_a's claim duty, reading through ``store`` (a fresh one: as after a restart)."""
    return ClaimDuty(
        db=net.peer("annotator_a").db,
        store=store,
        market=net.contracts.market,
        sender=TxSender(net.w3, net.actors.annotator_a),
        chain_id=net.chain_id,
    )


def warnings_about(caplog: pytest.LogCaptureFixture, cid: str) -> int:
    return sum(
        1
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name == "node.roles.settlement"
        and cid in record.getMessage()
    )


def test_a_junk_result_cid_is_warned_about_once_and_a_missing_one_backs_off(
    net: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task_id, real = settle_with_a_junk_cid(net)
    unreachable = EmbeddedStore(tmp_path / "annotator-store")  # the document is not here yet
    caplog.set_level(logging.INFO)
    duty = claimer(net, unreachable)
    for _ in range(TICKS):
        duty.tick()
    assert warnings_about(caplog, JUNK) == 1
    assert warnings_about(caplog, real) == 1
    assert "not trying it again" in caplog.text

    # Recorded in the database, not in the duty: a restarted node stays quiet about it.
    caplog.clear()
    for _ in range(TICKS):
        claimer(net, unreachable).tick()
    assert warnings_about(caplog, JUNK) == 0
    assert warnings_about(caplog, real) == 0

    # Once the document can be fetched, the real CID is tried again after its back-off.
    unreachable.put(net.store.get(real, max_size=1 << 20))
    db = net.peer("annotator_a").db
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    result = load_winning_result(db, unreachable, net.chain_id, task_id, now=later)
    assert result is not None and result.result_cid == real
    before = net.balance("annotator_a")
    claimer(net, unreachable).tick()
    assert net.balance("annotator_a") > before  # and the annotator is paid
