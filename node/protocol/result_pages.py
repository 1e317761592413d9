"""The paged result document, ``labelnet/result@2``: a root that commits to item pages.

A ``labelnet/result@1`` document lists every item's consensus inline, so it grows with the
task (about 90 bytes per item: 90 MB at a million items), and every reader of it, the claim
duty of every node included, held it whole. ``result@2`` is the same document with
``items`` moved out into pages, the way the manifest pages its items:

* the **root** (``labelnet/result@2``) has every ``result@1`` field except ``items``, plus
  ``item_count`` and ``item_pages``, the CIDs of the pages in order. Its CID is what
  validators attest as ``resultCid``; its payouts rebuild the payout root the chain
  finalizes, so settlement reads the root alone and never an item page;
* each **page** (``labelnet/result-items@1``) holds the next items in the document's order
  (sorted by item id), at most :data:`PAGE_ITEMS` of them and, unless a single item is
  larger, at most :data:`PAGE_BYTES` of canonical item JSON, so a page of any task kind is
  one raw block. The split is a deterministic rule of the schema (greedy, in order), so two
  honest validators produce the same pages, root and CID.

A page is verified on its own: its bytes against the CID the root lists, then its schema,
task, position and item order (strictly after the previous page's last item). A reader
streams pages one at a time (:func:`iter_result_items`), so its memory is bounded by a page.

Which schema a task's validators publish is a rule of the task, recorded in its manifest
(:data:`RESULT_V2` for tasks created from now on); tasks whose manifest names none keep
``result@1`` and its readers. Both are parsed by :func:`node.protocol.result.parse_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from node.protocol.canonical import DocumentTooDeepError, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.errors import ResultDocumentError
from node.protocol.keccak import keccak256

RESULT_V1 = "labelnet/result@1"
RESULT_V2 = "labelnet/result@2"
RESULT_SCHEMAS = (RESULT_V1, RESULT_V2)
PAGE_SCHEMA = "labelnet/result-items@1"

PAGE_ITEMS = 1000
"""Most items on one result page (about 95 KB of categorical entries)."""
PAGE_BYTES = 256 * 1024
"""A page closes before an item that would take its items' canonical JSON past this, so a
page stays one raw block (a single item larger than this gets a page of its own)."""
MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Largest result page a reader parses (a single very large item, e.g. a multi-label
value over many long class names, may exceed :data:`PAGE_BYTES`)."""
MAX_CID_LENGTH = 128

NO_PAYOUTS_ROOT = keccak256(b"labelnet/result@2: no payouts")
"""The payout root of a ``result@2`` result that pays nobody. The market refuses an all-zero
root, so under ``result@1`` such a result could not be attested: its task ended disputed,
the requester was refunded, and the validators who computed it were not paid their fee.
Under ``result@2`` it is attested and finalized like any other result (total 0: the whole
pool is refunded, which is what the reward rule owes nobody). No claim can prove a leaf
against it: a leaf is a double Keccak-256 of an (account, amount) encoding, and this root is
the hash of a fixed string, not of a pair of nodes."""

Fetch = Callable[[str], bytes]
"""Reads the bytes stored under a CID (a store's ``get`` with its limits and deadline)."""


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


def page_document(document: Mapping[str, Any]) -> PagedResult:
    """Page a result document built in the ``result@1`` shape (``items`` inline, sorted by
    item id) into its ``result@2`` root and pages. The caller's document is not changed."""
    task = document["task"]
    entries: list[Any] = list(document["items"])
    pages: list[bytes] = []
    start = 0
    while start < len(entries):
        end = min(start + PAGE_ITEMS, len(entries))
        # The greedy rule item by item, measured at once when a full page fits: the JSON
        # list "[a,b,...]" is one byte longer than the sum of (len(item) + 1).
        if len(canonical_json(entries[start:end])) - 1 > PAGE_BYTES:
            end, size = start, 0
            while end < len(entries) and end - start < PAGE_ITEMS:
                item_size = len(canonical_json(entries[end])) + 1
                if end > start and size + item_size > PAGE_BYTES:
                    break
                size += item_size
                end += 1
        page = {
            "schema": PAGE_SCHEMA,
            "task": task,
            "page": len(pages),
            "items": entries[start:end],
        }
        pages.append(canonical_json(page))
        start = end
    root = {key: value for key, value in document.items() if key != "items"}
    root["schema"] = RESULT_V2
    if not document.get("payouts"):
        root["payout_root"] = "0x" + NO_PAYOUTS_ROOT.hex()
    root["item_count"] = len(entries)
    root["item_pages"] = [compute_cid(page) for page in pages]
    return PagedResult(root=root, root_bytes=canonical_json(root), pages=tuple(pages))


def check_result_root(document: Mapping[str, Any]) -> None:
    """Check what locates a result document's items: ``items`` a list (``result@1``), or
    ``item_count`` and ``item_pages`` that can hold that many items (``result@2``). The rest
    of the document (schema, task, payouts, annotators) is checked by its one parser,
    :func:`node.protocol.result.parse_result`, which calls this."""
    schema = document.get("schema")
    if schema not in RESULT_SCHEMAS:
        raise ResultPageError(f"not a result document: schema={schema!r}")
    if schema == RESULT_V1:
        if not isinstance(document.get("items"), list):
            raise ResultPageError("items must be a list")
        return
    if "items" in document:
        raise ResultPageError(f"a {RESULT_V2} root lists its items in pages, not inline")
    count, pages = document.get("item_count"), document.get("item_pages")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ResultPageError("item_count must be a positive integer")
    if not isinstance(pages, list) or not all(
        isinstance(cid, str) and 1 <= len(cid) <= MAX_CID_LENGTH for cid in pages
    ):
        raise ResultPageError("item_pages must be a list of CIDs")
    if not -(-count // PAGE_ITEMS) <= len(pages) <= count:
        raise ResultPageError(f"{len(pages)} pages cannot hold {count} items")


def parse_result_page(
    data: bytes, cid: str, *, task_id: int, index: int, after: str | None
) -> list[dict[str, Any]]:
    """The items of page ``index`` of a ``result@2`` root of ``task_id``, verified on its own:
    the bytes are the ones ``cid`` names, in canonical form, and the page is the one at
    ``index``, with 1..:data:`PAGE_ITEMS` items sorted by id, all after ``after`` (the
    previous page's last item)."""
    if len(data) > MAX_PAGE_BYTES:
        raise ResultPageError(f"result page of {len(data)} bytes exceeds {MAX_PAGE_BYTES}")
    if compute_cid(data) != cid:
        raise ResultPageError(f"result page {index} is not the content of {cid}")
    try:
        page = load_json(data)
    except (DocumentTooDeepError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ResultPageError(f"result page {index} is not JSON: {exc}") from exc
    if not isinstance(page, dict) or page.get("schema") != PAGE_SCHEMA:
        raise ResultPageError(f"result page {index} is not a {PAGE_SCHEMA} document")
    if page.get("task") != task_id or page.get("page") != index:
        raise ResultPageError(
            f"result page {index} says it is page {page.get('page')!r} of task {page.get('task')!r}"
        )
    items = page.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= PAGE_ITEMS:
        raise ResultPageError(f"result page {index} must list 1..{PAGE_ITEMS} items")
    previous = after
    for entry in items:
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise ResultPageError(f"result page {index}: an item entry without an item id")
        if previous is not None and not previous < entry["item"]:
            raise ResultPageError(f"result page {index}: items out of order at {entry['item']!r}")
        previous = entry["item"]
    if canonical_json(page) != data:
        raise ResultPageError(f"result page {index} is not in canonical form")
    return items


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
    seen, last = 0, None
    for index, cid in enumerate(root["item_pages"]):
        items = parse_result_page(fetch(cid), cid, task_id=task_id, index=index, after=last)
        seen += len(items)
        if seen > root["item_count"]:
            raise ResultPageError(f"the pages hold more than {root['item_count']} items")
        last = items[-1]["item"]
        yield from items
    if seen != root["item_count"]:
        raise ResultPageError(f"the pages hold {seen} items, the root says {root['item_count']}")
