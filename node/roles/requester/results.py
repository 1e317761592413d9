"""Following a task and fetching its verified result, from the chain and content alone.

:func:`fetch_results` needs no node database: the chain says which payout root won, the
``ResultAttested`` events say where validators published result documents, and a document is
accepted only if the payout tree rebuilt from its own payouts has the winning root. Item data
is joined from the task's manifest pages (found through the ``TaskCreated`` event), so an
export carries the text or image reference next to each label.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from web3 import Web3
from web3.contract import Contract

from node.chain.contracts import Contracts
from node.chain.market import Phase, TaskStatus, read_task
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue, check_json_depth
from node.protocol.labels import LabelBatchError, read_batch
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemPage, ItemSpec, Manifest
from node.protocol.result import (
    EMPTY_ROOT,
    PayoutResult,
    ResultAnnotatorEntry,
    ResultDocument,
    ResultDocumentError,
    ResultItemEntry,
    parse_result,
)
from node.roles.settlement import result_bytes, result_page_bytes
from node.roles.validation import MAX_BATCH_BYTES, page_bytes
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError

log = logging.getLogger(__name__)


class ResultNotFinalError(LabelnetError, LookupError):
    """The task has no final result (still open, disputed or cancelled)."""


class ResultUnavailableError(LabelnetError, LookupError):
    """No result document with the winning payout root could be fetched and verified."""


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
    )


@dataclass(frozen=True)
class ResultItem:
    """One item's consensus, with the item's own data for exports."""

    item: str
    value: JsonValue
    confidence: str | None
    """Posterior of the consensus value, a nine-decimal string such as ``"0.973000000"``
    (numeric tasks state none: their items have an agreement share instead)."""
    confident: bool
    gold: bool
    data: JsonValue | None = None
    content_cid: str | None = None

    @classmethod
    def joined(
        cls, entry: ResultItemEntry, data: JsonValue | None, content_cid: str | None
    ) -> ResultItem:
        """A result document's entry joined with the item's data and media CID."""
        return cls(
            item=entry.item,
            value=entry.value,
            confidence=entry.confidence,
            confident=entry.confident,
            gold=entry.gold,
            data=data,
            content_cid=content_cid,
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
    page on each pass (the requester's page export); never a one-shot iterator, since the
    ``csv`` and ``labelstudio`` exports read it more than once. :func:`fetch_results` gives
    a tuple: it puts the items in manifest order, which needs them all."""
    annotators: tuple[ResultAnnotatorEntry, ...]
    document: dict[str, JsonValue]
    labels: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    """Item -> annotator (checksummed) -> the label they revealed, for every annotator of
    the result whose batch could be fetched and matched its revealed root."""
    manifest_cid: str = ""
    payouts: PayoutResult | None = field(default=None, repr=False)
    """The verified payout leaves and tree (what a claim proves against)."""


def _verified_document(
    store: ContentStore, cids: list[str], task_id: int, root: bytes, total: int
) -> tuple[str, ResultDocument]:
    problems: list[str] = []
    for cid in cids:
        try:
            result = parse_result(result_bytes(store, cid), task_id)
            result.verify(root, total)
        except (StoreError, ResultDocumentError) as exc:
            problems.append(f"{cid}: {exc}")
            continue
        return cid, result
    raise ResultUnavailableError(
        f"task {task_id}: no verifiable result document ({'; '.join(problems) or 'none attested'})"
    )


def _result_items(
    store: ContentStore, result: ResultDocument, task_id: int
) -> tuple[ResultItemEntry, ...]:
    """The result's item entries: inline (``result@1``) or read page by page (``result@2``),
    each page verified against the CID its root lists."""
    try:
        return tuple(result.iter_items(lambda cid: result_page_bytes(store, cid)))
    except (StoreError, ResultDocumentError) as exc:
        raise ResultUnavailableError(f"task {task_id}: a result page: {exc}") from exc


def _document(store: ContentStore, cid: str) -> bytes:
    data = store.get(
        cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )
    check_json_depth(data)
    return data


def _items_by_id(store: ContentStore, manifest_cid: str) -> dict[str, ItemSpec]:
    manifest = Manifest.from_bytes(_document(store, manifest_cid))
    return {
        item.id: item
        for page in manifest.pages
        for item in ItemPage.from_bytes(_document(store, page)).items
    }


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


def _manifest_order(
    entries: tuple[ResultItemEntry, ...], order: list[str]
) -> list[ResultItemEntry]:
    """Result entries (sorted by id in the document) in the manifest's order, as imported."""
    position = {item: index for index, item in enumerate(order)}
    last = len(order)
    return sorted(entries, key=lambda e: position.get(e.item, last))


def fetch_results(
    w3: Web3, contracts: Contracts, store: ContentStore, task_id: int, from_block: int = 0
) -> TaskResults:
    """The verified result of a FINALIZED task, joined with its items' data, in manifest
    order (the order the items were imported in).

    ``from_block`` bounds the event scan (the deployment's start block is a good value).
    """
    market = contracts.market
    state = read_task(market, task_id)
    if state.status is not TaskStatus.FINALIZED:
        raise ResultNotFinalError(f"task {task_id} is {state.status.name.lower()}, not finalized")
    filters = {"taskId": task_id}
    attested = market.events.ResultAttested().get_logs(
        from_block=from_block, argument_filters=filters
    )
    cids = list(
        dict.fromkeys(
            str(log["args"]["resultCid"])
            for log in attested
            if bytes(log["args"]["payoutRoot"]) == state.payout_root
        )
    )
    cid, result = _verified_document(store, cids, task_id, state.payout_root, state.total_payout)
    created = market.events.TaskCreated().get_logs(from_block=from_block, argument_filters=filters)
    if not created:
        raise ResultUnavailableError(f"task {task_id}: no TaskCreated event after {from_block}")
    manifest_cid = str(created[0]["args"]["params"]["manifestCid"])
    specs = _items_by_id(store, manifest_cid)
    items: list[ResultItem] = []
    for entry in _manifest_order(_result_items(store, result, task_id), list(specs)):
        spec = specs.get(entry.item)
        items.append(
            ResultItem.joined(
                entry, None if spec is None else spec.data, None if spec is None else spec.content
            )
        )
    annotators = result.annotators
    return TaskResults(
        task_id=task_id,
        result_cid=cid,
        kind=str(result.kind),
        classes=result.classes,
        items=tuple(items),
        annotators=annotators,
        document=result.document,
        labels=_revealed_labels(market, store, task_id, annotators, from_block),
        manifest_cid=manifest_cid,
        payouts=result.payouts,
    )
