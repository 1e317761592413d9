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
from node.protocol.result_entries import ResultAnnotatorEntry as ResultAnnotatorEntry
from node.protocol.result_entries import ResultAssignment as ResultAssignment
from node.protocol.result_entries import ResultItemEntry as ResultItemEntry
from node.protocol.result_entries import (
    parse_annotator,
    parse_assignment,
    parse_item,
    token_amount,
)
from node.protocol.result_pages import (
    NO_PAYOUTS_ROOT,
    PAGED_SCHEMAS,
    RESULT_V1,
    RESULT_V4_SCHEMAS,
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
    assignment: ResultAssignment | None = None

    def iter_items(self, fetch: Fetch) -> Iterator[ResultItemEntry]:
        """Every item entry, in the document's order: inline (``result@1``), or page by
        page (``result@2``), each page fetched with ``fetch`` and verified on its own before
        the next is read, so a reader holds one page at a time."""
        if self.schema == SCHEMA:
            yield from self.items
            return
        for entry in iter_result_items(self.document, self.task_id, fetch):
            yield parse_item(entry)

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
        parse_annotator, cells=document["schema"] in RESULT_V4_SCHEMAS, n_classes=len(classes)
    )
    return ResultDocument(
        task_id=task_id,
        kind=TaskKind(kind),
        classes=tuple(classes),
        items=tuple(parse_item(entry) for entry in items),
        annotators=tuple(annotator(entry) for entry in annotators),
        payouts=_payouts(document.get("payouts")),
        document=document,
        schema=str(document["schema"]),
        item_count=count if isinstance(count, int) else len(items),
        assignment=parse_assignment(document.get("assignment"), str(document["schema"])),
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
    return str(entry["account"]), token_amount(entry["amount"])
