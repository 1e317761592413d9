"""Posting, gold reveal, cancel and progress for the requester, on a real anvil.

The gold duty runs against its own SQLite database and event mirror, as in a node; a
restart is a fresh duty object over the same database and secrets directory.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts, Deployment
from node.chain.engines import attach
from node.chain.market import Phase, TaskStatus, read_task
from node.chain.mirror import ChainMirror
from node.chain.sync import EventSync, SyncConfig
from node.chain.tx import TxSender
from node.db.engine import Database, open_database
from node.protocol.commitments import gold_commitment
from node.protocol.gold import GoldSet, read_gold
from node.protocol.manifest import GOLD_V2, ItemSpec, TaskContent, build_task_content
from node.roles.requester.duty import RequesterDuty
from node.roles.requester.gold import GoldSecrets
from node.roles.requester.posting import (
    CreatedTask,
    TaskRequest,
    TaskRequestError,
    cancel_task,
    create_task,
    publish_content,
)
from node.roles.requester.results import task_progress
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import HOUR, TOKEN, fund
from tests.conftest import Actors, advance_time

GOLD = GoldSet.create({"q1": "cat", "q3": "dog"})


def content() -> TaskContent:
    items = [ItemSpec(id=f"q{i}", data={"text": f"item {i}"}) for i in range(1, 5)]
    return build_task_content(items, title="pets", classes=("cat", "dog"))


def request(w3: Web3, *, gold: GoldSet | None = GOLD, commit_in: int = HOUR) -> TaskRequest:
    now = int(w3.eth.get_block("latest")["timestamp"])
    return TaskRequest(
        content=content(),
        reward_per_label=10 * TOKEN,
        redundancy=3,
        validator_fee=9 * TOKEN,
        commit_deadline=now + commit_in,
        reveal_deadline=now + commit_in + HOUR,
        attest_deadline=now + commit_in + 2 * HOUR,
        gold=gold,
    )


@dataclass
class Requester:
    w3: Web3
    contracts: Contracts
    sender: TxSender
    store: EmbeddedStore
    secrets: GoldSecrets
    db: Database
    sync: EventSync
    chain_id: int

    def balance(self) -> int:
        return int(self.contracts.token.functions.balanceOf(self.sender.address).call())

    def nonce(self) -> int:
        """The account's transaction count once everything it sent is mined (anvil mines
        right after accepting a transaction, but the RPC may answer before it has)."""
        address = self.sender.address
        deadline = time.monotonic() + 10
        while self.w3.eth.get_transaction_count(address, "pending") != (
            mined := self.w3.eth.get_transaction_count(address, "latest")
        ):
            assert time.monotonic() < deadline, "transactions still pending after 10 s"
            time.sleep(0.02)
        return int(mined)

    def post(self, req: TaskRequest, *, permit: bool = True) -> CreatedTask:
        publish_content(self.store, req.content)
        return create_task(self.sender, self.contracts, req, self.secrets, permit=permit)

    def duty(self) -> RequesterDuty:
        """A fresh duty over the same database and secrets, as after a restart."""
        return RequesterDuty(
            db=self.db,
            store=self.store,
            market=self.contracts.market,
            sender=TxSender(self.w3, self.sender.account),
            chain_id=self.chain_id,
            secrets=self.secrets,
        )


@pytest.fixture
def requester(
    tmp_path: Path, w3: Web3, deployment: Deployment, contracts: Contracts, actors: Actors
) -> Requester:
    db = open_database(url=f"sqlite:///{tmp_path / 'node.db'}")
    mirror = ChainMirror(deployment.chain_id)
    sync = EventSync(
        w3, db, deployment, mirror, on_rewind=mirror.rewind, config=SyncConfig(confirmations=0)
    )
    return Requester(
        w3,
        contracts,
        TxSender(w3, actors.requester),
        EmbeddedStore(tmp_path / "store"),
        GoldSecrets(tmp_path / "gold"),
        db,
        sync,
        deployment.chain_id,
    )


@pytest.fixture
def funded(requester: Requester, actors: Actors) -> Requester:
    fund(requester.w3, requester.contracts, actors, actors.requester, 1_000 * TOKEN)
    return requester


@pytest.mark.parametrize("permit", [True, False], ids=["permit", "approve"])
def test_create_escrows_the_bounty_and_commits_to_the_saved_gold(
    funded: Requester, permit: bool
) -> None:
    req = request(funded.w3)
    before = funded.balance()
    created = funded.post(req, permit=permit)

    assert req.reward_pool == 4 * 3 * 10 * TOKEN
    assert created.escrow == req.reward_pool + 9 * TOKEN
    assert funded.balance() == before - created.escrow
    state = read_task(funded.contracts.market, created.task_id)
    assert (state.reward_pool, state.validator_fee) == (req.reward_pool, 9 * TOKEN)
    assert state.requester == funded.sender.address and state.status is TaskStatus.OPEN
    secret = funded.secrets.find(state.gold_commitment)
    assert secret is not None
    gold, salt = secret
    assert gold == GOLD and state.gold_commitment == gold_commitment(GOLD.root(), salt)
    assert funded.store.has(created.manifest_cid) and created.gas_used > 0
    allowance = funded.contracts.token.functions.allowance(
        funded.sender.address, funded.contracts.market.address
    ).call()
    assert allowance == 0  # exactly the escrow was allowed, and all of it was pulled


def test_task_without_gold_commits_to_zero(funded: Requester) -> None:
    created = funded.post(request(funded.w3, gold=None))
    assert read_task(funded.contracts.market, created.task_id).gold_commitment == bytes(32)
    assert not funded.secrets.directory.exists()


def test_gold_secret_is_on_disk_before_the_transaction(
    funded: Requester, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = request(funded.w3)
    publish_content(funded.store, req.content)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt("process killed while sending createTask")

    monkeypatch.setattr(funded.sender, "transact", killed)
    with pytest.raises(KeyboardInterrupt):
        create_task(funded.sender, funded.contracts, req, funded.secrets)
    (saved,) = funded.secrets.directory.glob("*.json")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    found = funded.secrets.find(bytes.fromhex(saved.stem))
    assert found is not None and found[0] == GOLD
    assert funded.contracts.market.functions.taskCount().call() == 0


def test_deadline_in_the_past_is_refused_without_a_transaction(funded: Requester) -> None:
    nonce = funded.nonce()
    with pytest.raises(TaskRequestError, match=r"commit deadline \d+ is not after the chain"):
        funded.post(request(funded.w3, commit_in=-10))
    assert funded.nonce() == nonce
    assert not funded.secrets.directory.exists()  # nothing saved for a task never sent


def test_attest_window_beyond_the_unbonding_delay_is_refused(funded: Requester) -> None:
    req = request(funded.w3)
    long = TaskRequest(**{**req.__dict__, "attest_deadline": req.reveal_deadline + 8 * 24 * HOUR})
    with pytest.raises(TaskRequestError, match="attest window"):
        funded.post(long)


def test_algorithm_other_than_the_manifests_is_refused(funded: Requester) -> None:
    req = request(funded.w3)
    other = TaskRequest(**{**req.__dict__, "algorithm": "mv@1"})
    with pytest.raises(TaskRequestError, match="differs from the manifest"):
        funded.post(other)


def test_gold_for_unknown_items_is_refused(funded: Requester) -> None:
    with pytest.raises(TaskRequestError, match="gold names items the task lacks"):
        funded.post(request(funded.w3, gold=GoldSet.create({"nope": "cat"})))


def test_insufficient_balance_is_refused_without_a_transaction(requester: Requester) -> None:
    nonce = requester.nonce()
    with pytest.raises(TaskRequestError, match=r"holds 0 tokens; the task escrows 129"):
        requester.post(request(requester.w3))
    assert requester.nonce() == nonce


def test_duty_reveals_gold_once_inside_the_reveal_window(funded: Requester) -> None:
    created = funded.post(request(funded.w3))
    market = funded.contracts.market
    funded.sync.sync_once()
    duty = funded.duty()
    duty.tick()  # commit window: too early
    assert not read_task(market, created.task_id).gold_revealed

    advance_time(funded.w3, HOUR + 1)
    nonce = funded.nonce()
    duty.tick()
    assert funded.nonce() == nonce + 1  # waits until it is mined
    assert read_task(market, created.task_id).gold_revealed
    # Peers can fetch what the event names: a gold@2 root (the task's manifest names it)
    # and its pages, which read back as the committed gold.
    revealed = funded.store.get(GOLD.cid(GOLD_V2), max_size=1 << 20)
    fetch = partial(funded.store.get, max_size=1 << 20)
    assert read_gold(revealed, fetch, gold_root=GOLD.root(), schema=GOLD_V2) == GOLD

    duty.tick()  # the mirror has not seen the event yet: the recorded tx stops a resend
    funded.sync.sync_once()
    funded.duty().tick()  # after a restart
    assert funded.nonce() == nonce + 1
    logs = market.events.GoldRevealed().get_logs(from_block=0)
    revealed_by = [(log.args.goldRoot, log.args.goldCid) for log in logs]
    assert revealed_by == [(GOLD.root(), GOLD.cid(GOLD_V2))]


def test_duty_restarted_between_send_and_record_does_not_resend(
    funded: Requester, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = funded.post(request(funded.w3))
    funded.sync.sync_once()
    advance_time(funded.w3, HOUR + 1)
    crashing = funded.duty()

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt("killed before recording the reveal")

    monkeypatch.setattr(crashing.secrets, "record_reveal", killed)
    nonce = funded.nonce()
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    monkeypatch.undo()
    assert funded.nonce() == nonce + 1  # the unrecorded reveal is mined
    funded.duty().tick()
    assert funded.nonce() == nonce + 1
    assert read_task(funded.contracts.market, created.task_id).gold_revealed


def test_duty_restarted_while_its_unrecorded_reveal_is_pending_waits_for_it(
    funded: Requester, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = funded.post(request(funded.w3))
    funded.sync.sync_once()
    advance_time(funded.w3, HOUR + 1)
    nonce = funded.nonce()
    crashing = funded.duty()

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt("killed before recording the reveal")

    monkeypatch.setattr(crashing.secrets, "record_reveal", killed)
    eth, address = funded.w3.eth, funded.sender.address
    attach(funded.w3).set_automine(False)
    try:
        with pytest.raises(KeyboardInterrupt):
            crashing.tick()
        monkeypatch.undo()
        funded.duty().tick()  # the chain does not say revealed yet, but a tx is in flight
        assert eth.get_transaction_count(address, "pending") == nonce + 1
    finally:
        attach(funded.w3).set_automine(True)
    attach(funded.w3).mine()
    funded.duty().tick()
    assert funded.nonce() == nonce + 1
    assert read_task(funded.contracts.market, created.task_id).gold_revealed


def test_duty_leaves_the_window_closed_after_the_reveal_deadline(funded: Requester) -> None:
    created = funded.post(request(funded.w3))
    funded.sync.sync_once()
    advance_time(funded.w3, 2 * HOUR + 1)
    nonce = funded.nonce()
    funded.duty().tick()
    assert funded.nonce() == nonce
    assert not read_task(funded.contracts.market, created.task_id).gold_revealed


def test_cancel_returns_the_escrow(funded: Requester) -> None:
    before = funded.balance()
    created = funded.post(request(funded.w3))
    tx_hash = cancel_task(funded.sender, funded.contracts.market, created.task_id)
    assert funded.balance() == before
    assert read_task(funded.contracts.market, created.task_id).status is TaskStatus.CANCELLED
    receipt = funded.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    (event,) = funded.contracts.market.events.TaskCancelled().process_receipt(
        receipt, errors=DISCARD
    )
    assert event.args.refunded == created.escrow


def test_progress_follows_the_phases_at_the_given_time(funded: Requester) -> None:
    req = request(funded.w3)
    created = funded.post(req)
    market = funded.contracts.market
    progress = task_progress(market, created.task_id, req.commit_deadline)
    assert progress.phase is Phase.COMMIT and progress.status is TaskStatus.OPEN
    assert (progress.commits, progress.reveals, progress.attestations) == (0, 0, 0)
    assert progress.escrow == created.escrow and progress.gold_committed
    assert progress.deadlines == (req.commit_deadline, req.reveal_deadline, req.attest_deadline)
    assert task_progress(market, created.task_id, req.commit_deadline + 1).phase is Phase.REVEAL
    # Nothing revealed: past the reveal deadline the task can only be finalized (refunded).
    late = task_progress(market, created.task_id, req.reveal_deadline + 1)
    assert late.phase is Phase.FINALIZABLE
