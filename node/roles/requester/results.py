"""Following a task and fetching its verified result, from the chain and content alone.

:func:`fetch_results` needs no node database: the chain says which payout root won, the
``ResultAttested`` events say where validators published result documents, and a document is
accepted only if the payout tree rebuilt from its own payouts has the winning root. Item data
is joined from the task's manifest pages (found through the ``TaskCreated`` event), so an
export carries the text or image reference next to each label.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from web3 import Web3
from web3.contract import Contract

from node.chain.contracts import Contracts
from node.chain.market import Phase, TaskStatus, read_task
from node.consensus.merkle import MerkleTreeError, PayoutTree
from node.consensus.result import EMPTY_ROOT
from node.content.canonical import JsonValue, check_json_depth
from node.content.labels import LabelBatch, LabelBatchError
from node.content.manifest import MAX_DOCUMENT_BYTES, ItemPage, ItemSpec, Manifest
from node.errors import LabelnetError
from node.protocol.result_pages import (
    MAX_PAGE_BYTES,
    ResultPageError,
    iter_result_items,
    parse_result_root,
)
from node.roles.settlement import result_bytes
from node.roles.validation import MAX_BATCH_BYTES
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError

log = logging.getLogger(__name__)


class ResultNotFinalError(LabelnetError, LookupError):
    """The task has no final result (still open, disputed or cancelled)."""


class ResultUnavailableError(LabelnetError, LookupError):
    """No result document with the winning payout root could be fetched and verified."""


class ResultFormatError(LabelnetError, ValueError):
    """A result document (or one of its pages) that breaks its schema."""


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
    confidence: str
    """Posterior of the consensus value, a nine-decimal string such as ``"0.973000000"``."""
    confident: bool
    gold: bool
    data: JsonValue | None = None
    content_cid: str | None = None


@dataclass(frozen=True)
class AnnotatorResult:
    """One annotator's figures in the result."""

    account: str
    labels: int
    accepted: int
    accuracy: str
    agreement: str
    confusion: tuple[tuple[int, ...], ...]
    payout: int
    eligible: bool = True
    """Whether the reward rule paid them."""
    skill: str | None = None
    evidence: str | None = None
    """Standard errors of skill above chance, when the task's rule tests it."""
    bloc: bool | None = None
    """Flagged by the bloc test as coordinating with others, when the task runs it."""


@dataclass(frozen=True)
class TaskResults:
    """A finalized task's verified result document, parsed and joined with item data."""

    task_id: int
    result_cid: str
    kind: str
    classes: tuple[str, ...]
    items: tuple[ResultItem, ...]
    annotators: tuple[AnnotatorResult, ...]
    document: dict[str, JsonValue]
    labels: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    """Item -> annotator (checksummed) -> the label they revealed, for every annotator of
    the result whose batch could be fetched and matched its revealed root."""
    manifest_cid: str = ""


def _payout_root(document: dict[str, JsonValue]) -> tuple[bytes, int]:
    payouts = document.get("payouts")
    if not isinstance(payouts, list):
        raise ResultFormatError("payouts must be a list")
    try:
        leaves = [(str(p["account"]), int(p["amount"])) for p in payouts]
        if not leaves:
            return EMPTY_ROOT, 0
        tree = PayoutTree.build(leaves)
    except (KeyError, TypeError, ValueError, MerkleTreeError) as exc:
        raise ResultFormatError(f"malformed payouts: {exc}") from exc
    return tree.root, tree.total


def _verified_document(
    store: ContentStore, cids: list[str], task_id: int, root: bytes, total: int
) -> tuple[str, dict[str, JsonValue]]:
    problems: list[str] = []
    for cid in cids:
        try:
            document = parse_result_root(result_bytes(store, cid), task_id)
            if _payout_root(document) != (root, total):
                raise ResultFormatError("its payouts do not rebuild the winning root")
        except (StoreError, ValueError) as exc:  # JSON and format errors are ValueErrors
            problems.append(f"{cid}: {exc}")
            continue
        return cid, document
    raise ResultUnavailableError(
        f"task {task_id}: no verifiable result document ({'; '.join(problems) or 'none attested'})"
    )


def _result_items(
    store: ContentStore, document: dict[str, JsonValue], task_id: int
) -> list[JsonValue]:
    """The result's item entries: inline (``result@1``) or read page by page (``result@2``)."""

    def page(cid: str) -> bytes:
        return store.get(
            cid, max_size=MAX_PAGE_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
        )

    try:
        return list(iter_result_items(document, task_id, page))
    except ResultPageError as exc:
        raise ResultFormatError(str(exc)) from exc
    except StoreError as exc:
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
    annotators: tuple[AnnotatorResult, ...],
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
            check_json_depth(data)
            document = json.loads(data)
            if not isinstance(document, dict):
                raise LabelBatchError("a label batch is a JSON object")
            batch = LabelBatch.from_document(document)
            revealed_by = (batch.task_id, batch.annotator.lower(), batch.root())
            if revealed_by != (task_id, str(args["annotator"]).lower(), bytes(args["labelsRoot"])):
                raise LabelBatchError("the batch is not the one revealed")
        except (StoreError, ValueError) as exc:  # LabelBatchError and JSON errors included
            log.warning("task %s: labels of %s left out: %s", task_id, args["annotator"], exc)
            continue
        for item, value in batch.labels:
            labels.setdefault(item, {})[batch.annotator] = value
    return labels


def _annotator(entry: JsonValue) -> AnnotatorResult:
    if not isinstance(entry, dict):
        raise ResultFormatError("an annotator entry must be an object")
    try:
        return AnnotatorResult(
            account=str(entry["account"]),
            labels=int(entry["labels"]),
            accepted=int(entry["accepted"]),
            accuracy=str(entry["accuracy"]),
            agreement=str(entry["agreement"]),
            confusion=tuple(tuple(int(x) for x in row) for row in entry["confusion"]),
            payout=int(entry["payout"]),
            eligible=bool(entry.get("eligible", True)),
            skill=_optional_text(entry.get("skill")),
            evidence=_optional_text(entry.get("evidence")),
            bloc=None if entry.get("bloc") is None else bool(entry["bloc"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFormatError(f"malformed annotator entry: {exc}") from exc


def _optional_text(value: JsonValue) -> str | None:
    return None if value is None else str(value)


def _manifest_order(entries: JsonValue, order: list[str]) -> list[JsonValue]:
    """Result entries (sorted by id in the document) in the manifest's order, as imported."""
    position = {item: index for index, item in enumerate(order)}
    last = len(order)
    return sorted(
        entries,
        key=lambda e: position.get(str(e.get("item")), last) if isinstance(e, dict) else last,
    )


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
    cid, document = _verified_document(store, cids, task_id, state.payout_root, state.total_payout)
    created = market.events.TaskCreated().get_logs(from_block=from_block, argument_filters=filters)
    if not created:
        raise ResultUnavailableError(f"task {task_id}: no TaskCreated event after {from_block}")
    manifest_cid = str(created[0]["args"]["params"]["manifestCid"])
    specs = _items_by_id(store, manifest_cid)
    items: list[ResultItem] = []
    for entry in _manifest_order(_result_items(store, document, task_id), list(specs)):
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise ResultFormatError("an item entry must be an object with an item id")
        spec = specs.get(entry["item"])
        items.append(
            ResultItem(
                item=entry["item"],
                value=entry.get("value"),
                confidence=str(entry.get("confidence")),
                confident=bool(entry.get("confident")),
                gold=bool(entry.get("gold")),
                data=None if spec is None else spec.data,
                content_cid=None if spec is None else spec.content,
            )
        )
    classes = document.get("classes") or []
    annotators = tuple(_annotator(a) for a in document["annotators"])
    return TaskResults(
        task_id=task_id,
        result_cid=cid,
        kind=str(document.get("kind")),
        classes=tuple(str(c) for c in classes),
        items=tuple(items),
        annotators=annotators,
        document=document,
        labels=_revealed_labels(market, store, task_id, annotators, from_block),
        manifest_cid=manifest_cid,
    )
