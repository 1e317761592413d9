"""The one paging rule of every protocol document that grows with its task.

A result (``labelnet/result@2``), a label batch (``labelnet/labels@2``) and a gold set
(``labelnet/gold@2``) hold one entry per item, so written as one document they grow without
bound, and every reader held them whole. Each is instead a small **root** that lists the
CIDs of its **pages**, in order, and the number of entries they hold. This module is the
rule all three share, so they cannot drift apart:

* **the split** (:func:`page_bounds`): entries in document order (sorted by item id), a page
  closes after :data:`PAGE_ITEMS` entries or before an entry that would take its entries'
  canonical JSON past :data:`PAGE_BYTES` (an entry larger than that gets a page of its own).
  Greedy and in order, so two honest nodes cut the same pages, hence the same CIDs;
* **a page** (:func:`build_pages`) is ``{"schema", "page": index, <key>: [entries], ...}``
  plus the header fields that bind it to its document (task, annotator);
* **a page is verified on its own** (:func:`parse_page`): its bytes against the CID the root
  lists, then its schema, header, index, size, canonical form and item order: every entry
  has an item id strictly after the previous one, the previous page's last included;
* **a reader streams** (:func:`iter_pages`): pages are fetched one at a time and checked
  against the root's count, so a reader holds one page, never the document.

What each schema's root commits to differs (a result root's CID is attested; a batch's and
a gold set's entries are committed by their labels Merkle root), so the roots are written
and checked by their own modules: :mod:`node.protocol.result_pages`,
:mod:`node.protocol.labels`, :mod:`node.protocol.gold`. The protocol never does I/O: readers
are handed ``fetch``, which the roles layer gives its size limits and deadlines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

from node.protocol.canonical import DocumentTooDeepError, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.sealed import Opened

PAGE_ITEMS = 1000
"""Most entries on one page (about 95 KB of categorical result entries, 40 KB of labels)."""
PAGE_BYTES = 256 * 1024
"""A page closes before an entry that would take its entries' canonical JSON past this, so
a page is about one raw block (a single entry larger than this gets a page of its own)."""
MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Largest page a reader parses (a single very large entry, e.g. a multi-label value over
many long class names, may exceed :data:`PAGE_BYTES`)."""
MAX_CID_LENGTH = 128

Fetch = Callable[[str], bytes]
"""Reads the bytes stored under a CID (a store's ``get`` with its limits and deadline)."""

ErrorType = Callable[[str], Exception]
"""The error a schema's readers raise (its own class, so callers catch one type)."""


def page_bounds(entries: Sequence[Any]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each page of ``entries`` under the greedy rule (see the module)."""
    start = 0
    while start < len(entries):
        end = min(start + PAGE_ITEMS, len(entries))
        # The greedy rule entry by entry, measured at once when a full page fits: the JSON
        # list "[a,b,...]" is one byte longer than the sum of (len(entry) + 1).
        if len(canonical_json(list(entries[start:end]))) - 1 > PAGE_BYTES:
            end, size = start, 0
            while end < len(entries) and end - start < PAGE_ITEMS:
                entry_size = len(canonical_json(entries[end])) + 1
                if end > start and size + entry_size > PAGE_BYTES:
                    break
                size += entry_size
                end += 1
        yield start, end
        start = end


class LabelEntries(Sequence[dict[str, Any]]):
    """``(item, value)`` pairs seen as the ``{"item", "value"}`` entries of label and gold
    pages, each built when read: paging a million labels holds one page of entries, not a
    million dictionaries."""

    def __init__(self, pairs: Sequence[tuple[str, Any]]) -> None:
        self._pairs = pairs

    def __len__(self) -> int:
        return len(self._pairs)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [{"item": item, "value": value} for item, value in self._pairs[index]]
        item, value = self._pairs[index]
        return {"item": item, "value": value}


def build_pages(
    entries: Sequence[Any], *, schema: str, header: Mapping[str, Any], key: str
) -> Iterator[bytes]:
    """The canonical bytes of each page of ``entries``, in order (one built at a time)."""
    for index, (start, end) in enumerate(page_bounds(entries)):
        page = {"schema": schema, **header, "page": index, key: list(entries[start:end])}
        yield canonical_json(page)


def check_page_list(
    count: object, pages: object, *, count_key: str, pages_key: str, error: ErrorType
) -> None:
    """Check a root's ``count_key`` (a positive integer) and ``pages_key`` (CIDs, as many
    as can hold that many entries: at least ``count / PAGE_ITEMS``, at most ``count``)."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise error(f"{count_key} must be a positive integer")
    if not isinstance(pages, list) or not all(
        isinstance(cid, str) and 1 <= len(cid) <= MAX_CID_LENGTH for cid in pages
    ):
        raise error(f"{pages_key} must be a list of CIDs")
    if not -(-count // PAGE_ITEMS) <= len(pages) <= count:
        raise error(f"{len(pages)} pages cannot hold {count} items")


def _same(value: object, expected: object) -> bool:
    """Equal and of one type (JSON ``true`` is not the task id 1)."""
    return type(value) is type(expected) and value == expected


def parse_page(
    data: bytes,
    cid: str,
    *,
    schema: str,
    index: int,
    header: Mapping[str, Any],
    key: str,
    after: str | None,
    error: ErrorType,
    what: str,
) -> list[dict[str, Any]]:
    """The entries of page ``index``, verified on its own: ``data`` is the content of
    ``cid`` (hashed, or the checked plaintext of a sealed ``cid``), in canonical form, a
    ``schema`` page at ``index`` with ``header``'s values, listing 1..:data:`PAGE_ITEMS`
    objects under ``key``, each with an item id, strictly increasing and all after ``after``
    (the previous page's last item). ``what`` names the document in errors ("result",
    "label", "gold")."""
    name = f"{what} page {index}"
    if len(data) > MAX_PAGE_BYTES:
        raise error(f"{what} page of {len(data)} bytes exceeds {MAX_PAGE_BYTES}")
    if not isinstance(data, Opened) and compute_cid(data) != cid:
        raise error(f"{name} is not the content of {cid}")
    try:
        page = load_json(data)
    except (DocumentTooDeepError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise error(f"{name} is not JSON: {exc}") from exc
    if not isinstance(page, dict) or page.get("schema") != schema:
        raise error(f"{name} is not a {schema} document")
    if not _same(page.get("page"), index) or not all(
        _same(page.get(field), value) for field, value in header.items()
    ):
        of = ", ".join(f"{field} {page.get(field)!r}" for field in header)
        raise error(f"{name} says it is page {page.get('page')!r}" + (f" of {of}" if of else ""))
    entries = page.get(key)
    if not isinstance(entries, list) or not 1 <= len(entries) <= PAGE_ITEMS:
        raise error(f"{name} must list 1..{PAGE_ITEMS} {key}")
    previous = after
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise error(f"{name}: an entry without an item id")
        if previous is not None and not previous < entry["item"]:
            raise error(f"{name}: items out of order at {entry['item']!r}")
        previous = entry["item"]
    if canonical_json(page) != data:
        raise error(f"{name} is not in canonical form")
    return entries


PageReader = Callable[[bytes, str, int, str | None], list[dict[str, Any]]]
"""Parses one page: ``(data, cid, index, after) -> entries`` (a :func:`parse_page` with the
schema's arguments bound)."""


def iter_pages(
    cids: Sequence[str], count: int, fetch: Fetch, read: PageReader, error: ErrorType
) -> Iterator[list[dict[str, Any]]]:
    """Each page's entries, in order: fetched, verified on its own by ``read`` and yielded
    before the next is fetched, so a reader holds one page. Raises ``error`` if the pages
    hold more or fewer than ``count`` entries (at the first page past the count)."""
    seen, last = 0, None
    for index, cid in enumerate(cids):
        entries = read(fetch(cid), cid, index, last)
        seen += len(entries)
        if seen > count:
            raise error(f"the pages hold more than {count} items")
        last = entries[-1]["item"]
        yield entries
    if seen != count:
        raise error(f"the pages hold {seen} items, the root says {count}")
