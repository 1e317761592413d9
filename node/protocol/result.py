"""The result of one task as the protocol fixes it: the ``labelnet/result@1`` schema (and its
paged forms ``labelnet/result@2`` and ``@4``, :mod:`node.protocol.result_pages`), the document's
canonical bytes and CID, and the payout Merkle tree whose root validators attest.

Everything a validator attests is derived from integers and fixed-point strings, so two
honest validators produce the same bytes, hence the same CID and the same root. The
document's content is filled by the consensus (:mod:`node.consensus.result`,
:mod:`node.consensus.task_kinds`); this module owns its form, and :func:`parse_result` is
the one parser of it: the settlement, the requester's result fetcher and the requester's
page all read a result through it and accept one only if :meth:`ResultDocument.verify`
finds the payout root (and total) the chain finalized.

Payout tree: one leaf per annotator with a positive payout (OpenZeppelin standard leaf of
``(address, uint256)``, :mod:`node.protocol.merkle`). The requester has no leaf: the
contract refunds ``reward_pool - total_payout`` by itself. When nobody earns anything
there are no leaves; the root is then 32 zero bytes under ``result@1`` (which the market
refuses to take) and a fixed non-zero root under ``result@2`` (:func:`attested_root`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from eth_utils.address import to_checksum_address

from node.protocol.canonical import JsonValue, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.errors import ResultDocumentError as ResultDocumentError  # its parser's error
from node.protocol.kinds import TaskKind
from node.protocol.merkle import REVIEW_LEAF_TAG, MerkleTreeError, PayoutTree
from node.protocol.result_pages import (
    CELL_CONFUSION_SCHEMAS,
    NO_PAYOUTS_ROOT,
    PAGED_SCHEMAS,
    RESULT_V1,
    Fetch,
    check_result_root,
    iter_result_items,
)

SCHEMA = RESULT_V1
EMPTY_ROOT = bytes(32)
MAX_RESULT_BYTES = 512 * 1024 * 1024
"""Largest result document any reader accepts. A ``result@1`` document grows with the task
(about 90 bytes per item, plus one entry per annotator): 4 MiB, the limit of the other
protocol documents, stopped a 60,000-item task at its claims."""


@dataclass(frozen=True)
class PayoutResult:
    """Payout leaves (checksummed account, amount), their tree (if any) and its root."""

    leaves: tuple[tuple[str, int], ...]
    tree: PayoutTree | None

    @property
    def root(self) -> bytes:
        return self.tree.root if self.tree is not None else EMPTY_ROOT

    @property
    def total(self) -> int:
        """What the market pays (its ``totalPayout``): every leaf but review leaves, which
        the ReviewBoard settles from its own escrow (no unreviewed task has one)."""
        return sum(amount for _, amount in self.leaves if not amount & REVIEW_LEAF_TAG)

    def proof(self, account: str) -> list[bytes]:
        """Merkle proof of ``account``'s leaf (raises if it has none)."""
        if self.tree is None:
            raise MerkleTreeError(f"account {account} has no leaf: nobody is paid")
        return self.tree.proof(account)


def attested_root(payouts: PayoutResult, schema: str) -> bytes:
    """The payout root validators attest for ``payouts`` in a result of ``schema``: the
    tree's root; with nobody paid, 32 zero bytes under ``result@1`` (which the market
    refuses, so nobody attests) and :data:`~node.protocol.result_pages.NO_PAYOUTS_ROOT`
    under ``result@2`` (attested and finalized like any result)."""
    if payouts.tree is not None:
        return payouts.tree.root
    return NO_PAYOUTS_ROOT if schema in PAGED_SCHEMAS else EMPTY_ROOT


def payout_result(annotators: tuple[str, ...], payouts: tuple[int, ...]) -> PayoutResult:
    """The payout tree over every annotator with a positive payout."""
    leaves = tuple(
        (to_checksum_address(account), amount)
        for account, amount in zip(annotators, payouts, strict=True)
        if amount > 0
    )
    return PayoutResult(leaves=leaves, tree=PayoutTree.build(leaves) if leaves else None)


def encode_document(document: dict[str, Any]) -> tuple[bytes, str]:
    """Canonical bytes of a result document and their CID."""
    data = canonical_json(document)
    return data, compute_cid(data)


@dataclass(frozen=True, slots=True)  # one per item: slots keep a large result's parse small
class ResultItemEntry:
    """One item's line of a result document.

    ``confidence`` is the posterior of the consensus (categorical, multi-label); numeric
    tasks state ``agreement`` (the matching share of the answers) instead.
    """

    item: str
    value: JsonValue
    confident: bool
    gold: bool
    confidence: str | None = None
    agreement: str | None = None


@dataclass(frozen=True, slots=True)
class ResultAnnotatorEntry:
    """One annotator's line of a result document. ``agreement``, ``confusion`` and
    ``skill`` are categorical figures; ``evidence`` and ``bloc`` appear only when the task's
    rule runs the evidence and bloc tests. A categorical ``result@4`` (or ``@5``) states
    the confusion as ``confusion_cells``, ``(consensus class, answered class, count)`` for
    each filled cell in ascending order, where the older schemas state dense ``confusion``
    rows; :meth:`confusion_rows` reads either."""

    account: str
    labels: int
    accepted: int
    accuracy: str
    payout: int
    eligible: bool = True
    agreement: str | None = None
    confusion: tuple[tuple[int, ...], ...] | None = None
    skill: str | None = None
    evidence: str | None = None
    bloc: bool | None = None
    confusion_cells: tuple[tuple[int, int, int], ...] | None = None

    def confusion_rows(self, n_classes: int) -> list[list[int]] | None:
        """The classes x classes table of counts (rows: consensus class), from either form;
        None for an entry without a confusion (not categorical)."""
        if self.confusion is not None:
            return [list(row) for row in self.confusion]
        if self.confusion_cells is None:
            return None
        rows = [[0] * n_classes for _ in range(n_classes)]
        for true, given, count in self.confusion_cells:
            rows[true][given] = count
        return rows


@dataclass(frozen=True)
class ResultDocument:
    """A parsed result document: the parts readers use, its payout tree, and the whole JSON
    object (``document``) for readers that pass it on. ``items`` are the inline items of a
    ``result@1`` document; a ``result@2`` root has none inline (``item_count`` of them are
    in its pages): read them with :meth:`iter_items`, which works for both."""

    task_id: int
    kind: TaskKind
    classes: tuple[str, ...]
    items: tuple[ResultItemEntry, ...]
    annotators: tuple[ResultAnnotatorEntry, ...]
    payouts: PayoutResult
    document: dict[str, JsonValue] = field(repr=False)
    schema: str = SCHEMA
    item_count: int = 0

    def iter_items(self, fetch: Fetch) -> Iterator[ResultItemEntry]:
        """Every item entry, in the document's order: inline (``result@1``), or page by
        page (``result@2``), each page fetched with ``fetch`` and verified on its own before
        the next is read, so a reader holds one page at a time."""
        if self.schema == SCHEMA:
            yield from self.items
            return
        for entry in iter_result_items(self.document, self.task_id, fetch):
            yield _item(entry)

    def verify(self, root: bytes, total: int | None = None) -> None:
        """Raise :class:`ResultDocumentError` unless the payouts rebuild ``root`` (the
        chain's winning payout root) and, if given, sum to ``total``."""
        rebuilt = attested_root(self.payouts, self.schema)
        if rebuilt != root:
            raise ResultDocumentError(
                f"its payouts do not rebuild the finalized root: 0x{rebuilt.hex()}, "
                f"not the task's 0x{root.hex()}"
            )
        if total is not None and self.payouts.total != total:
            raise ResultDocumentError(f"its total {self.payouts.total} is not the task's {total}")


def parse_result(data: bytes, task_id: int) -> ResultDocument:
    """Parse the bytes of a result document of ``task_id``: ``labelnet/result@1``, or the
    root of a paged ``labelnet/result@2`` (whose pages :meth:`ResultDocument.iter_items`
    reads and verifies).

    Refuses (with :class:`ResultDocumentError`) anything else: not JSON, nested too deep
    to parse safely, another schema or task, or a line that breaks the form. Verifying it
    against the chain is :meth:`ResultDocument.verify`.
    """
    try:
        document = load_json(data)
    except (ValueError, RecursionError) as exc:  # also too deeply nested to parse
        raise ResultDocumentError(f"not JSON: {type(exc).__name__}: {exc}") from exc
    return parse_result_document(document, task_id)


def parse_result_document(document: JsonValue, task_id: int) -> ResultDocument:
    """:func:`parse_result` of a document already decoded from JSON."""
    if not isinstance(document, dict):
        raise ResultDocumentError("a result document is a JSON object")
    check_result_root(document)
    if document.get("task") != task_id:
        raise ResultDocumentError(f"a result of task {document.get('task')!r}, not {task_id}")
    kind, classes = document.get("kind"), document.get("classes", [])
    if kind not in tuple(TaskKind):
        raise ResultDocumentError(f"unknown task kind {kind!r}")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ResultDocumentError("classes must be a list of strings")
    items, annotators = document.get("items", []), document.get("annotators")
    if not isinstance(items, list) or not isinstance(annotators, list):
        raise ResultDocumentError("items and annotators must be lists")
    count = document.get("item_count", len(items))
    annotator = partial(
        _annotator, cells=document["schema"] in CELL_CONFUSION_SCHEMAS, n_classes=len(classes)
    )
    return ResultDocument(
        task_id=task_id,
        kind=TaskKind(kind),
        classes=tuple(classes),
        items=tuple(_item(entry) for entry in items),
        annotators=tuple(annotator(entry) for entry in annotators),
        payouts=_payouts(document.get("payouts")),
        document=document,
        schema=str(document["schema"]),
        item_count=count if isinstance(count, int) else len(items),
    )


def _payouts(entries: JsonValue) -> PayoutResult:
    if not isinstance(entries, list):
        raise ResultDocumentError("payouts must be a list")
    try:
        leaves = [_payout(entry) for entry in entries]
        tree = PayoutTree.build(leaves) if leaves else None
    except (KeyError, TypeError, ValueError, MerkleTreeError) as exc:
        raise ResultDocumentError(f"malformed payouts: {exc}") from exc
    return PayoutResult(leaves=tree.payouts if tree is not None else (), tree=tree)


def _payout(entry: JsonValue) -> tuple[str, int]:
    if not isinstance(entry, dict):
        raise TypeError("a payout entry is an object")
    return str(entry["account"]), _amount(entry["amount"])


def _amount(value: JsonValue) -> int:
    """A token amount: a decimal string (as written) or a JSON integer, never a bool."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"an amount is a decimal string, not {value!r}")
    return int(value)


def _text(entry: dict[str, JsonValue], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is a string, not {value!r}")
    return value


def _flag(entry: dict[str, JsonValue], key: str, default: bool | None) -> bool | None:
    value = entry.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{key} is a boolean, not {value!r}")
    return value


def _count(entry: dict[str, JsonValue], key: str) -> int:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is an integer, not {value!r}")
    return value


def _item(entry: JsonValue) -> ResultItemEntry:
    try:
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise TypeError("an item entry is an object with an item id")
        return ResultItemEntry(
            item=entry["item"],
            value=entry.get("value"),
            confident=bool(_flag(entry, "confident", False)),
            gold=bool(_flag(entry, "gold", False)),
            confidence=_text(entry, "confidence"),
            agreement=_text(entry, "agreement"),
        )
    except (KeyError, TypeError) as exc:
        raise ResultDocumentError(f"malformed item entry: {exc}") from exc


def _annotator(entry: JsonValue, *, cells: bool, n_classes: int) -> ResultAnnotatorEntry:
    try:
        if not isinstance(entry, dict):
            raise TypeError("an annotator entry is an object")
        confusion = entry.get("confusion")
        if confusion is not None and not isinstance(confusion, list):
            raise TypeError("confusion is a list of rows")
        accuracy = _text(entry, "accuracy")
        if accuracy is None:
            raise KeyError("accuracy")
        labels = _count(entry, "labels")
        confusion_cells = None
        if cells and confusion is not None:
            confusion_cells, confusion = _cells(confusion, n_classes, labels), None
        return ResultAnnotatorEntry(
            account=str(entry["account"]),
            labels=labels,
            accepted=_count(entry, "accepted"),
            accuracy=accuracy,
            payout=_amount(entry["payout"]),
            eligible=bool(_flag(entry, "eligible", True)),
            agreement=_text(entry, "agreement"),
            confusion=None if confusion is None else tuple(_row(row) for row in confusion),
            skill=_text(entry, "skill"),
            evidence=_text(entry, "evidence"),
            bloc=_flag(entry, "bloc", None),
            confusion_cells=confusion_cells,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultDocumentError(f"malformed annotator entry: {exc}") from exc


def _row(row: JsonValue) -> tuple[int, ...]:
    if not isinstance(row, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in row
    ):
        raise TypeError("a confusion row is a list of integers")
    return tuple(row)


def _cells(cells: list[JsonValue], n_classes: int, labels: int) -> tuple[tuple[int, int, int], ...]:
    """``result@4`` confusion cells: ``[consensus class, answered class, count]`` with both
    classes in range, a positive count, in strictly ascending order, one per answer at most
    (their counts add up to the annotator's labels)."""
    parsed: list[tuple[int, int, int]] = []
    for cell in cells:
        values = _row(cell)
        if len(values) != 3:
            raise ValueError(f"a confusion cell is [consensus, answered, count], not {cell!r}")
        true, given, count = values
        if not (0 <= true < n_classes and 0 <= given < n_classes and count > 0):
            raise ValueError(f"confusion cell {cell!r} is out of range")
        if parsed and parsed[-1][:2] >= (true, given):
            raise ValueError("confusion cells are in strictly ascending order")
        parsed.append((true, given, count))
    if sum(count for _, _, count in parsed) != labels:
        raise ValueError(f"confusion cells count other than the annotator's {labels} labels")
    return tuple(parsed)
