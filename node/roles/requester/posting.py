"""Posting a task: store its content, commit to hidden gold, escrow the bounty on chain.

Everything the contract would refuse is checked first against the chain's own clock and
balances, so a requester gets a sentence naming the problem instead of a revert (and pays
no gas for it). The gold secret is saved *before* the creating transaction is sent: a crash
between the two leaves a secret without a task (harmless), never a task whose gold can no
longer be revealed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from node.chain.contracts import Contracts
from node.chain.permit import sign_permit
from node.chain.qualifications import Gate
from node.chain.tx import TxSender
from node.errors import LabelnetError
from node.protocol.commitments import algorithm_id, gold_commitment
from node.protocol.deal import MAX_SEATS
from node.protocol.gold import GoldSet
from node.protocol.ids import DEFAULT_ALGORITHM
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemPage, TaskContent
from node.protocol.values import valid_value
from node.roles.requester.batch_size import minimum_batch_size
from node.roles.requester.gold import GoldSecrets
from node.store.base import ContentStore

PERMIT_LIFETIME = 3600
"""Seconds a signed permit stays valid: it is used by the very next transaction."""

_UINT16, _UINT32, _UINT64, _UINT96, _UINT128 = (2**n - 1 for n in (16, 32, 64, 96, 128))


class TaskRequestError(LabelnetError, ValueError):
    """Task parameters the market would refuse (deadlines, amounts, gold, balance)."""


class ContentPublishError(LabelnetError, RuntimeError):
    """The store returned another CID than the content's own (something rewrote it), or
    plaintext media were given beside a confidential task's content."""


class PlaintextMediaError(ContentPublishError):
    """Plaintext media beside a confidential task's content: refused before anything is
    stored. The one place this rule lives; the SDK reports it as its own error type."""


@dataclass(frozen=True)
class TaskRequest:
    """What a requester asks for; amounts in the token's smallest unit, deadlines in
    chain seconds (each the *last* second its phase accepts)."""

    content: TaskContent
    reward_per_label: int
    redundancy: int
    validator_fee: int
    commit_deadline: int
    reveal_deadline: int
    attest_deadline: int
    annotator_bond: int = 0
    algorithm: str = DEFAULT_ALGORITHM
    gold: GoldSet | None = None
    batch_size: int = 0
    """Items per seat of a seated task (market v2, docs/settlement.md §1.2); 0 posts an open
    task under v1's rules (anyone commits, pay scaled pro rata if the pool is short)."""
    seat_deadline: int = 0
    """Last second seats can be claimed (seated tasks only; 0 for an open task)."""
    gate: Gate | None = None
    """A gated task's rules (market v3, docs/qualification.md): posted through the market's
    gate, seated only by the accounts they admit. Needs a seated task."""

    @property
    def seats(self) -> int:
        """Seats of a seated task: ``num_items * redundancy / batch_size`` (0 if open)."""
        return self.num_items * self.redundancy // self.batch_size if self.batch_size else 0

    @property
    def num_items(self) -> int:
        return self.content.manifest.num_items

    @property
    def reward_pool(self) -> int:
        """The contract's ``rewardPool``: ``num_items * redundancy * reward_per_label``."""
        return self.num_items * self.redundancy * self.reward_per_label

    @property
    def escrow(self) -> int:
        """What ``createTask`` pulls from the requester: the pool plus the validator fee."""
        return self.reward_pool + self.validator_fee

    def params(self, manifest_cid: str, commitment: bytes) -> tuple[object, ...]:
        """``ITaskMarket.TaskParams`` in ABI order."""
        return (
            manifest_cid,
            algorithm_id(self.algorithm),
            commitment,
            self.reward_per_label,
            self.validator_fee,
            self.annotator_bond,
            self.commit_deadline,
            self.reveal_deadline,
            self.attest_deadline,
            self.num_items,
            self.redundancy,
            self.seat_deadline,
            self.batch_size,
        )


@dataclass(frozen=True)
class CreatedTask:
    """A task the market accepted."""

    task_id: int
    tx_hash: str
    escrow: int
    gas_used: int
    """Gas of every transaction sent to create it (approve included)."""
    manifest_cid: str
    gold_items: int = 0
    """Items whose gold answer is committed (revealed after the commit deadline)."""
    gold_conflicts: tuple[str, ...] = ()
    """Items of the imported file whose annotations disagreed, so were not made gold."""
    batch_size: int = 0
    """Items per seat (0: an open task)."""
    seats: int = 0
    """Seats of a seated task."""
    min_batch_size: int = 0
    """The least batch size the SDK would have accepted (:func:`minimum_batch`; 0: open)."""


def publish_content(store: ContentStore, content: TaskContent, media: Sequence[bytes] = ()) -> str:
    """Store the media, the item pages and the manifest; return the manifest CID.

    Media and pages go first, so the manifest is never served before what it refers to.
    A confidential task carries its media sealed in ``content.media``; plaintext ``media``
    beside it are refused, since this store's gateway would serve them to anyone.
    """
    if content.manifest.confidential is not None and media:
        raise PlaintextMediaError(
            "a confidential task's media are sealed in its content (content.media): storing "
            "the plaintext beside it would publish them"
        )
    for blob in media:
        store.put(blob)
    for blob in content.blobs()[:-1]:
        store.put(blob)
    cid = store.put(content.manifest_bytes)
    if cid != content.manifest_cid:
        raise ContentPublishError(f"store returned {cid} for manifest {content.manifest_cid}")
    return cid


def _item_ids(content: TaskContent) -> set[str]:
    return {item.id for page in content.pages for item in ItemPage.from_bytes(page).items}


def minimum_batch(request: TaskRequest) -> int:
    """The least batch size the SDK accepts for ``request``'s task (§1.6, :mod:`.batch_size`):
    the answers with which an annotator of accuracy 0.8 passes the task's evidence test with
    probability 0.9, for its class count."""
    manifest = request.content.manifest
    if manifest.kind is not TaskKind.CATEGORICAL:
        raise TaskRequestError(f"only categorical tasks can be seated, not {manifest.kind}")
    z_ppb = manifest.consensus.reward_params(1, 1).significance_z_ppb
    return minimum_batch_size(len(manifest.classes), z_ppb)


def _validate_seats(request: TaskRequest, now: int, min_label_time: int) -> None:
    """The market's checks of a seated task (``Seats.seatLimit``) and the SDK's own batch
    size floor (:func:`minimum_batch`)."""
    b, n, k = request.batch_size, request.num_items, request.redundancy
    if b < 0 or b > _UINT32:
        raise TaskRequestError(f"batch_size must be 0 (open task) or 1..{_UINT32}")
    if b == 0:
        if request.seat_deadline:
            raise TaskRequestError("an open task (batch_size 0) has no seat deadline")
        return
    if b > n or (n * k) % b or (n * k) // b > MAX_SEATS:
        raise TaskRequestError(
            f"batch_size {b} must be at most the {n} items and divide items x redundancy = "
            f"{n * k} into at most {MAX_SEATS} seats"
        )
    least = minimum_batch(request)
    if b < least:
        raise TaskRequestError(
            f"batch_size {b} is below {least}: the answers with which an annotator of accuracy "
            "0.8 passes this task's evidence test with probability 0.9 (docs/settlement.md §1.6)"
        )
    if not now < request.seat_deadline <= request.commit_deadline - min_label_time:
        raise TaskRequestError(
            f"seat deadline {request.seat_deadline} must be after the chain's time {now} and "
            f"at least the market's {min_label_time}s of labelling time before the commit "
            f"deadline {request.commit_deadline}"
        )


def validate_request(
    request: TaskRequest, now: int, max_attest_window: int, min_label_time: int = 0
) -> None:
    """Raise :class:`TaskRequestError` for anything ``createTask`` would revert on (and a
    seated task's batch below :func:`minimum_batch`)."""
    if not 1 <= request.reward_per_label <= _UINT128:
        raise TaskRequestError("reward_per_label must be positive")
    if not 1 <= request.redundancy <= _UINT16:
        raise TaskRequestError(f"redundancy must be 1..{_UINT16}")
    if not 1 <= request.num_items <= _UINT32:
        raise TaskRequestError(f"a task has 1..{_UINT32} items")
    if request.validator_fee < 0 or not 0 <= request.annotator_bond <= _UINT96:
        raise TaskRequestError("validator_fee and annotator_bond must be non-negative")
    try:
        algorithm_id(request.algorithm)
    except ValueError as exc:
        raise TaskRequestError(str(exc)) from exc
    if request.algorithm != request.content.manifest.algorithm:
        raise TaskRequestError(
            f"algorithm {request.algorithm!r} differs from the manifest's "
            f"{request.content.manifest.algorithm!r}: annotators read the manifest"
        )
    if request.escrow > _UINT96:
        raise TaskRequestError(f"escrow {request.escrow} exceeds the market's limit {_UINT96}")
    _validate_seats(request, now, min_label_time)
    if request.gate is not None and not request.batch_size:
        raise TaskRequestError("a gated task must be seated: give it a batch size")
    if request.gate is not None and any(request.gate.allowlist_root):
        published = request.content.manifest.allowlist
        if published is None or published.tree().root != request.gate.allowlist_root:
            raise TaskRequestError(
                "the manifest must list the allowlist's accounts (its allowlist field, over "
                "which the gate's root is computed): a node builds its proof from it"
            )
    commit, reveal, attest = (
        request.commit_deadline,
        request.reveal_deadline,
        request.attest_deadline,
    )
    if commit <= now:
        raise TaskRequestError(
            f"commit deadline {commit} is not after the chain's current time {now}"
        )
    if not commit < reveal < attest <= _UINT64:
        raise TaskRequestError(
            f"deadlines must increase: commit {commit} < reveal {reveal} < attest {attest}"
        )
    if attest - reveal > max_attest_window:
        raise TaskRequestError(
            f"attest window of {attest - reveal}s exceeds the market's {max_attest_window}s "
            "(the validators' unbonding delay)"
        )
    if request.gold is not None:
        unknown = {item for item, _ in request.gold.labels} - _item_ids(request.content)
        if unknown:
            raise TaskRequestError(f"gold names items the task lacks: {sorted(unknown)[:5]}")
        # The validators' own check: one answer it refuses makes them ignore the whole gold
        # set at the reveal, and then nobody is paid by it.
        manifest = request.content.manifest
        invalid = [
            (item, value)
            for item, value in request.gold.labels
            if not valid_value(manifest.kind, manifest.classes, value, manifest.annotation)
        ]
        if invalid:
            raise TaskRequestError(
                f"{len(invalid)} gold answers are not valid {manifest.kind} labels for the "
                f"classes {list(manifest.classes)}, e.g. {invalid[:3]}: validators would "
                "ignore the whole gold set"
            )


def create_task(
    sender: TxSender,
    contracts: Contracts,
    request: TaskRequest,
    secrets: GoldSecrets | None = None,
    *,
    permit: bool = True,
) -> CreatedTask:
    """Create the task on chain, escrowing ``request.escrow`` from ``sender``'s account.

    The content must already be published (:func:`publish_content`). With ``permit`` the
    allowance is an EIP-2612 signature inside the one ``createTaskWithPermit`` transaction;
    otherwise ``approve`` is sent first.
    """
    w3, token, market = sender.w3, contracts.token, contracts.market
    now = int(w3.eth.get_block("latest")["timestamp"])
    validate_request(
        request,
        now,
        int(contracts.staking.functions.unbondingDelay().call()),
        int(market.functions.minLabelTime().call()) if request.batch_size else 0,
    )
    balance = int(token.functions.balanceOf(sender.address).call())
    if balance < request.escrow:
        raise TaskRequestError(
            f"{sender.address} holds {balance} tokens; the task escrows {request.escrow}"
        )
    commitment = bytes(32)
    if request.gold is not None:
        if secrets is None:
            raise TaskRequestError("a task with gold needs a GoldSecrets store to keep the salt")
        salt = os.urandom(32)
        commitment = gold_commitment(request.gold.root(), salt)
        secrets.save(commitment, request.gold, salt)
    params = request.params(request.content.manifest_cid, commitment)
    gas = 0
    gate = contracts.qualifications
    if request.gate is not None and gate is None:
        raise TaskRequestError("this deployment has no gate: gated tasks need market v3")
    signature = None
    if permit:
        signature = sign_permit(
            sender.account, token, market.address, request.escrow, now + PERMIT_LIFETIME
        )
    else:
        gas += int(
            sender.transact(token.functions.approve(market.address, request.escrow))["gasUsed"]
        )
    if request.gate is not None and gate is not None:  # a gated task, through the gate
        rule = request.gate.as_tuple()
        call = (
            gate.functions.createGatedTask(params, rule)
            if signature is None
            else gate.functions.createGatedTaskWithPermit(
                params, rule, signature.deadline, signature.v, signature.r, signature.s
            )
        )
    else:
        call = (
            market.functions.createTask(params)
            if signature is None
            else market.functions.createTaskWithPermit(
                params, signature.deadline, signature.v, signature.r, signature.s
            )
        )
    receipt = sender.transact(call)
    return CreatedTask(
        task_id=_created_task_id(market, receipt),
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        escrow=request.escrow,
        gas_used=gas + int(receipt["gasUsed"]),
        manifest_cid=request.content.manifest_cid,
        gold_items=len(request.gold.labels) if request.gold is not None else 0,
        batch_size=request.batch_size,
        seats=request.seats,
        min_batch_size=minimum_batch(request) if request.batch_size else 0,
    )


def _created_task_id(market: Contract, receipt: TxReceipt) -> int:
    events = market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    if len(events) != 1:
        raise TaskRequestError(f"expected one TaskCreated event, the receipt has {len(events)}")
    return int(events[0]["args"]["taskId"])


def cancel_task(sender: TxSender, market: Contract, task_id: int) -> str:
    """Cancel a task nobody has committed to yet (the whole escrow returns); the tx hash."""
    receipt = sender.transact(market.functions.cancel(task_id))
    return "0x" + bytes(receipt["transactionHash"]).hex()
