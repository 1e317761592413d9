"""The paged result document, ``labelnet/result@2``: a root that commits to item pages.

A ``labelnet/result@1`` document lists every item's consensus inline, so it grows with the
task (about 90 bytes per item: 90 MB at a million items), and every reader of it, the claim
duty of every node included, held it whole. ``result@2`` is the same document with
``items`` moved out into pages, the way the manifest pages its items:

* the **root** (``labelnet/result@2``) has every ``result@1`` field except ``items``, plus
  ``item_count`` and ``item_pages``, the CIDs of the pages in order. Its CID is what
  validators attest as ``resultCid``; its payouts rebuild the payout root the chain
  finalizes, so settlement reads the root alone and never an item page;
* each **page** (``labelnet/result-items@1``, header ``task``) holds the next items in the
  document's order (sorted by item id), cut by the one paging rule of
  :mod:`node.protocol.paging` (at most :data:`PAGE_ITEMS` items, :data:`PAGE_BYTES` of item
  JSON, greedy and in order), so two honest validators produce the same pages, root and CID.

A page is verified on its own (:func:`node.protocol.paging.parse_page`): its bytes against
the CID the root lists, then its schema, task, position and item order (strictly after the
previous page's last item). A reader streams pages one at a time
(:func:`iter_result_items`), so its memory is bounded by a page.

Which schema a task's validators publish is a rule of the task, recorded in its manifest
(:data:`RESULT_V2` for tasks created from now on); tasks whose manifest names none keep
``result@1`` and its readers. Both are parsed by :func:`node.protocol.result.parse_result`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.errors import ResultDocumentError
from node.protocol.keccak import keccak256
from node.protocol.paging import MAX_PAGE_BYTES as MAX_PAGE_BYTES  # the readers' limit
from node.protocol.paging import PAGE_BYTES as PAGE_BYTES
from node.protocol.paging import PAGE_ITEMS as PAGE_ITEMS
from node.protocol.paging import Fetch as Fetch
from node.protocol.paging import build_pages, check_page_list, iter_pages, parse_page

RESULT_V1 = "labelnet/result@1"
RESULT_V2 = "labelnet/result@2"
RESULT_V4 = "labelnet/result@4"
"""``result@2`` whose annotator rows state their ``confusion`` as the cells they filled,
``[consensus class, answered class, count]`` with a positive count, sorted, where
``result@2`` states every annotator's dense classes x classes table. The root then grows
with the answers, not with annotators x classes squared (256 classes and 800 annotators:
106 MB of ``result@2`` root, nearly all of it zeros). A seated task's result also states
its deal's seed source, its seats and its short items (:data:`RESULT_V4_SCHEMAS`). What a
manifest names from now on."""
RESULT_SCHEMAS = (RESULT_V1, RESULT_V2, RESULT_V4)
"""The schemas a manifest may name (its ``result``)."""
RESULT_V3 = "labelnet/result@3"
"""A reviewed task's result (docs/review.md §9): ``result@2`` plus the root's ``review``
section and a ``review`` entry on each contested item's row. Not named by manifests: a task
whose manifest names ``result@2`` publishes it when it is reviewed
(:func:`node.chain.review.is_reviewed`), so every other task keeps its bytes."""
RESULT_V5 = "labelnet/result@5"
"""``result@4`` reviewed: what ``result@3`` is to ``result@2``."""
REVIEWED_SCHEMAS = {RESULT_V2: RESULT_V3, RESULT_V4: RESULT_V5}
"""The schema a reviewed task publishes, by the schema its manifest names (a reviewed
``result@1`` task cannot be: its items are inline, with no room for their review rows)."""
PAGED_SCHEMAS = (RESULT_V2, RESULT_V3, RESULT_V4, RESULT_V5)
PARSED_SCHEMAS = (RESULT_V1, *PAGED_SCHEMAS)
RESULT_V4_SCHEMAS = (RESULT_V4, RESULT_V5)
"""``result@4`` and its reviewed form: annotator rows list confusion cells rather than dense
rows, and a seated task's root has an ``assignment`` section, its annotator rows their
``seat`` and its item rows their ``labels`` (docs/settlement.md §1.3, §1.5)."""
PAGE_SCHEMA = "labelnet/result-items@1"

NO_PAYOUTS_ROOT = keccak256(b"labelnet/result@2: no payouts")
"""The payout root of a paged result (``result@2`` and every later schema,
:data:`PAGED_SCHEMAS`) that pays nobody; the hashed text names ``result@2``, where it began,
and stays as it is for the later schemas' determinism pins. The market refuses an all-zero
root, so under ``result@1`` such a result could not be attested: its task ended disputed,
the requester was refunded, and the validators who computed it were not paid their fee.
From ``result@2`` on it is attested and finalized like any other result (total 0: the whole
pool is refunded, which is what the reward rule owes nobody). No claim can prove a leaf
against it: a leaf is a double Keccak-256 of an (account, amount) encoding, and this root is
the hash of a fixed string, not of a pair of nodes."""


class ResultPageError(ResultDocumentError):
    """A result root or page that breaks its schema, or a page that is not the one listed."""


@dataclass(frozen=True)
class PagedResult:
    """A ``result@2`` root and its pages, as a validator publishes them."""

    root: dict[str, Any]
    root_bytes: bytes
    pages: tuple[bytes, ...]

    @property
    def cid(self) -> str:
        return compute_cid(self.root_bytes)


def page_document(document: Mapping[str, Any], schema: str = RESULT_V2) -> PagedResult:
    """Page a result document built with its ``items`` inline (sorted by item id, in the
    ``result@1`` shape but for the annotator rows ``schema`` fixes) into its root and pages.
    The caller's document is not changed."""
    if schema not in PAGED_SCHEMAS:
        raise ResultPageError(f"{schema!r} is not a paged result schema")
    entries: list[Any] = list(document["items"])
    pages = tuple(
        build_pages(entries, schema=PAGE_SCHEMA, header={"task": document["task"]}, key="items")
    )
    root = {key: value for key, value in document.items() if key != "items"}
    root["schema"] = schema
    if not document.get("payouts"):
        root["payout_root"] = "0x" + NO_PAYOUTS_ROOT.hex()
    root["item_count"] = len(entries)
    root["item_pages"] = [compute_cid(page) for page in pages]
    return PagedResult(root=root, root_bytes=canonical_json(root), pages=pages)


def check_result_root(document: Mapping[str, Any]) -> None:
    """Check what locates a result document's items: ``items`` a list (``result@1``), or
    ``item_count`` and ``item_pages`` that can hold that many items (``result@2``). The rest
    of the document (schema, task, payouts, annotators) is checked by its one parser,
    :func:`node.protocol.result.parse_result`, which calls this."""
    schema = document.get("schema")
    if schema not in PARSED_SCHEMAS:
        raise ResultPageError(f"not a result document: schema={schema!r}")
    if (schema in REVIEWED_SCHEMAS.values()) != isinstance(document.get("review"), dict):
        raise ResultPageError("a reviewed result's root, and only it, has a review section")
    if schema == RESULT_V1:
        if not isinstance(document.get("items"), list):
            raise ResultPageError("items must be a list")
        return
    if "items" in document:
        raise ResultPageError(f"a {schema} root lists its items in pages, not inline")
    check_page_list(
        document.get("item_count"),
        document.get("item_pages"),
        count_key="item_count",
        pages_key="item_pages",
        error=ResultPageError,
    )


def parse_result_page(
    data: bytes, cid: str, *, task_id: int, index: int, after: str | None
) -> list[dict[str, Any]]:
    """The items of page ``index`` of a ``result@2`` root of ``task_id``, verified on its own:
    the bytes are the ones ``cid`` names, in canonical form, and the page is the one at
    ``index``, with 1..:data:`PAGE_ITEMS` items sorted by id, all after ``after`` (the
    previous page's last item)."""
    return parse_page(
        data,
        cid,
        schema=PAGE_SCHEMA,
        index=index,
        header={"task": task_id},
        key="items",
        after=after,
        error=ResultPageError,
        what="result",
    )


def iter_result_items(root: Mapping[str, Any], task_id: int, fetch: Fetch) -> Iterator[Any]:
    """Every item entry of a parsed result document
    (:func:`node.protocol.result.parse_result`), in order.

    ``result@1``: its inline items. ``result@2``: each page fetched, verified on its own
    (:func:`parse_result_page`) and yielded before the next is read, so at most one page is
    held; raises :class:`ResultPageError` at the first bad page, or if the pages do not add
    up to ``item_count``.
    """
    if root.get("schema") == RESULT_V1:
        yield from root["items"]
        return
    read = partial(_read_page, task_id=task_id)
    for items in iter_pages(root["item_pages"], root["item_count"], fetch, read, ResultPageError):
        yield from items


def _read_page(
    data: bytes, cid: str, index: int, after: str | None, *, task_id: int
) -> list[dict[str, Any]]:
    return parse_result_page(data, cid, task_id=task_id, index=index, after=after)
