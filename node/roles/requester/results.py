"""Following a task and fetching its verified result, from the chain and content alone.

:func:`fetch_results` needs no node database: the winning result document is found and
verified from the chain (:func:`node.roles.winning.winning_result`), and its items are joined
with the item data of the task's manifest pages (found through the ``TaskCreated`` event), so
an export carries the text or image reference next to each label.

The items stream (issue #14): they are :class:`~node.roles.requester.items.ResultItems`,
read a page at a time in manifest order when used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from web3 import Web3
from web3.contract import Contract

from node.chain.contracts import Contracts
from node.chain.market import Phase, TaskStatus, read_task
from node.protocol.canonical import JsonValue
from node.protocol.labels import LabelBatchError, read_batch
from node.protocol.manifest import Manifest
from node.protocol.result import (
    EMPTY_ROOT,
    PayoutResult,
    ResultAnnotatorEntry,
    ResultAssignment,
)
from node.roles.drop_rule import MAX_BATCH_BYTES, page_bytes
from node.roles.requester.items import ResultItem, ResultItems, document_bytes
from node.roles.winning import ResultNotFinalError, ResultUnavailableError, winning_result
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError
from node.store.sealed import ITEMS, SealedView

__all__ = [
    "ResultItem",
    "ResultItems",
    "ResultNotFinalError",
    "ResultUnavailableError",
    "TaskProgress",
    "TaskResults",
    "fetch_results",
    "task_progress",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskProgress:
    """Where a task stands, as the chain sees it at ``now``."""

    task_id: int
    status: TaskStatus
    phase: Phase
    commits: int
    reveals: int
    attestations: int
    commit_deadline: int
    reveal_deadline: int
    attest_deadline: int
    gold_committed: bool
    gold_revealed: bool
    escrow: int
    """Reward pool plus validator fee, as escrowed at creation."""
    paid: int
    refundable: int
    seats: int = 0
    """Seats claimed on a seated task (its ``commits`` reads 0: the market counts seats)."""
    seat_limit: int = 0
    """Seats a seated task offers; 0 for an open task."""
    seat_deadline: int = 0

    @property
    def deadlines(self) -> tuple[int, int, int]:
        return self.commit_deadline, self.reveal_deadline, self.attest_deadline


def _phase(status: TaskStatus, reveals: int, deadlines: tuple[int, int, int], now: int) -> Phase:
    """``TaskMarket.phaseOf`` evaluated at ``now`` instead of the latest block."""
    commit, reveal, attest = deadlines
    if status is not TaskStatus.OPEN:
        return Phase.CLOSED
    if now <= commit:
        return Phase.COMMIT
    if now <= reveal:
        return Phase.REVEAL
    if now <= attest and reveals > 0:
        return Phase.ATTEST
    return Phase.FINALIZABLE


def task_progress(market: Contract, task_id: int, now: int) -> TaskProgress:
    """The progress of ``task_id``; ``now`` is a chain timestamp (the phase is taken at it)."""
    state = read_task(market, task_id)
    deadlines = (state.commit_deadline, state.reveal_deadline, state.attest_deadline)
    return TaskProgress(
        task_id=task_id,
        status=state.status,
        phase=_phase(state.status, state.reveal_count, deadlines, now),
        commits=state.commit_count,
        reveals=state.reveal_count,
        attestations=state.attest_count,
        commit_deadline=state.commit_deadline,
        reveal_deadline=state.reveal_deadline,
        attest_deadline=state.attest_deadline,
        gold_committed=state.gold_commitment != EMPTY_ROOT,
        gold_revealed=state.gold_revealed,
        escrow=state.reward_pool + state.validator_fee,
        paid=state.paid_out,
        refundable=state.refundable,
        seats=state.seat_count,
        seat_limit=state.seat_limit,
        seat_deadline=state.seat_deadline,
    )


@dataclass(frozen=True)
class TaskResults:
    """A finalized task's verified result document, parsed and joined with item data."""

    task_id: int
    result_cid: str
    kind: str
    classes: tuple[str, ...]
    items: Iterable[ResultItem]
    """Every item, in order: a collection, or a re-iterable that reads the result page by
    page on each pass (:class:`ResultItems` from :func:`fetch_results`, the requester's
    page export); never a one-shot iterator, since the ``csv`` and ``labelstudio`` exports
    read it more than once."""
    annotators: tuple[ResultAnnotatorEntry, ...]
    document: dict[str, JsonValue]
    labels: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    """Item -> annotator (checksummed) -> the label they revealed, for every annotator of
    the result whose batch could be fetched and matched its revealed root. From
    :func:`fetch_results`, read on first use (exports that show no annotator skip it)."""
    manifest_cid: str = ""
    payouts: PayoutResult | None = field(default=None, repr=False)
    """The verified payout leaves and tree (what a claim proves against)."""
    assignment: ResultAssignment | None = None
    """A seated task's deal as its ``result@4`` states it: the seed's source, the seats and
    how many items got fewer labels than the task's redundancy (None otherwise)."""


class _RevealedLabels(Mapping[str, Mapping[str, JsonValue]]):
    """:attr:`TaskResults.labels`, read from the annotators' batches on first use: the JSONL
    and CSV exports and the CLI's table show no annotator's label, and the batches are the
    largest thing a result fetch reads (held whole until label batches are paged)."""

    def __init__(self, read: Callable[[], dict[str, dict[str, JsonValue]]]) -> None:
        self._read = read
        self._labels: dict[str, dict[str, JsonValue]] | None = None

    def _loaded(self) -> dict[str, dict[str, JsonValue]]:
        if self._labels is None:
            self._labels = self._read()
        return self._labels

    def __getitem__(self, item: str) -> Mapping[str, JsonValue]:
        return self._loaded()[item]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _revealed_labels(
    market: Contract,
    store: ContentStore,
    task_id: int,
    annotators: tuple[ResultAnnotatorEntry, ...],
    from_block: int,
) -> dict[str, dict[str, JsonValue]]:
    """Each result annotator's revealed labels, by item (see :attr:`TaskResults.labels`).

    A batch is used only if its labels root is the one revealed on chain; one that cannot be
    fetched or does not match is left out with a warning (the consensus stands without it).
    """
    counted = {a.account.lower() for a in annotators}
    labels: dict[str, dict[str, JsonValue]] = {}
    revealed = market.events.LabelsRevealed().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    for event in revealed:
        args = event["args"]
        if str(args["annotator"]).lower() not in counted:
            continue
        try:
            data = store.get(
                str(args["labelsCid"]),
                max_size=MAX_BATCH_BYTES,
                budget=FetchBudget(RESULT_SECONDS),
                canonical=True,
            )
            batch = read_batch(
                data,
                lambda cid: page_bytes(store, cid, RESULT_SECONDS),
                task_id=task_id,
                annotator=str(args["annotator"]),
                labels_root=bytes(args["labelsRoot"]),
            )
        except (StoreError, LabelBatchError) as exc:
            log.warning("task %s: labels of %s left out: %s", task_id, args["annotator"], exc)
            continue
        for item, value in batch.labels:
            labels.setdefault(item, {})[batch.annotator] = value
    return labels


def fetch_results(
    w3: Web3,
    contracts: Contracts,
    store: ContentStore,
    task_id: int,
    from_block: int = 0,
    task_key: bytes | None = None,
) -> TaskResults:
    """The verified result of a FINALIZED task, joined with its items' data, in manifest
    order (the order the items were imported in).

    Reads the winning result's root and the task's manifest now; the items
    (:class:`ResultItems`) and the revealed labels are read when used, through ``store``,
    which must stay open while they are. A result page that cannot be read or verified
    raises :class:`ResultUnavailableError` from the iteration.

    ``from_block`` bounds the event scan (the deployment's start block is a good value).
    ``task_key``: a confidential task's key (its requester keeps it), to read the items;
    the revealed labels of such a task are sealed and not read here (docs/confidential.md).
    """
    market = contracts.market
    cid, result = winning_result(market, store, task_id, from_block)
    created = market.events.TaskCreated().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    if not created:
        raise ResultUnavailableError(f"task {task_id}: no TaskCreated event after {from_block}")
    manifest_cid = str(created[0]["args"]["params"]["manifestCid"])
    manifest = Manifest.from_bytes(document_bytes(store, manifest_cid))
    annotators = result.annotators
    return TaskResults(
        task_id=task_id,
        result_cid=cid,
        kind=str(result.kind),
        classes=result.classes,
        items=ResultItems(
            store,
            task_id,
            result,
            tuple(manifest.pages),
            None if task_key is None else SealedView(store, task_key, ITEMS),
        ),
        annotators=annotators,
        document=result.document,
        labels=_RevealedLabels(
            lambda: _revealed_labels(market, store, task_id, annotators, from_block)
        ),
        manifest_cid=manifest_cid,
        payouts=result.payouts,
        assignment=result.assignment,
    )
