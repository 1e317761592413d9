"""The requester's gold set: its hidden answers for some items.

Its root is the same Merkle tree as a label batch's (:func:`node.protocol.labels.label_leaf`),
and the task commits to ``keccak256(abi.encode(goldRoot, salt))`` at creation, before any
annotator has seen an item; the requester reveals the root and the document's CID after
the commit deadline. Two schemas carry it; which one a task uses is a rule of the task,
named by its manifest (``gold``):

* ``labelnet/gold@1`` (tasks whose manifest names none): one document listing every answer,
  parsed up to the task documents' 4 MiB (about 70,000 answers);
* ``labelnet/gold@2`` (tasks built from now on): a root ``{schema, label_count,
  label_pages}`` listing the CIDs of ``labelnet/gold-items@1`` pages ``{schema, page,
  labels: [{item, value}]}``, cut by the one paging rule (:mod:`node.protocol.paging`).
  Neither names the task: the gold root the requester committed to before the task existed
  binds the answers, and the reader checks it.

:func:`read_gold` is the one reader of both. Documents are parsed with the task content's
checks (:mod:`node.protocol.manifest`) and break them with the same
:class:`~node.protocol.manifest.ManifestError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.labels import label_leaf
from node.protocol.manifest import (
    GOLD_PAGE_SCHEMA,
    GOLD_SCHEMAS,
    GOLD_V1,
    GOLD_V2,
    ManifestError,
    check_identifier,
    check_unique,
    parse_document,
)
from node.protocol.merkle import merkle_root
from node.protocol.paging import (
    Fetch,
    LabelEntries,
    build_pages,
    check_page_list,
    iter_pages,
    parse_page,
)

GOLD_SCHEMA = GOLD_V1
"""The schema of :meth:`GoldSet.to_bytes` (the one-document form)."""


@dataclass(frozen=True)
class GoldSet:
    """The requester's known answers for some items."""

    labels: tuple[tuple[str, JsonValue], ...]

    @classmethod
    def create(cls, labels: Mapping[str, JsonValue] | Iterable[tuple[str, JsonValue]]) -> GoldSet:
        pairs = list(labels.items()) if isinstance(labels, Mapping) else list(labels)
        if not pairs:
            raise ManifestError("a gold set needs at least one answer")
        for item, value in pairs:
            check_identifier(item, "a gold item id")
            if value is None:
                raise ManifestError(f"gold item {item!r} has no value")
        ordered = tuple(sorted(pairs, key=lambda pair: pair[0]))
        check_unique([item for item, _ in ordered], "gold items")
        return cls(ordered)

    def as_dict(self) -> dict[str, JsonValue]:
        return dict(self.labels)

    def document(self) -> dict[str, JsonValue]:
        return {
            "schema": GOLD_V1,
            "labels": [{"item": item, "value": value} for item, value in self.labels],
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.document())

    def root(self) -> bytes:
        return merkle_root([label_leaf(item, value) for item, value in self.labels])

    def pages(self) -> Iterator[bytes]:
        """The ``labelnet/gold-items@1`` pages of this set, in order, one built at a time."""
        entries = LabelEntries(self.labels)
        return build_pages(entries, schema=GOLD_PAGE_SCHEMA, header={}, key="labels")

    def publish(self, schema: str, put: Callable[[bytes], str]) -> str:
        """Write the set in ``schema`` through ``put`` (a store's ``put``, or
        :func:`~node.protocol.cid.compute_cid`) and return the CID to reveal: ``gold@2``
        pages first, then the root that lists them."""
        if schema == GOLD_V1:
            return put(self.to_bytes())
        if schema != GOLD_V2:
            raise ManifestError(f"unknown gold schema {schema!r}")
        root = {
            "schema": GOLD_V2,
            "label_count": len(self.labels),
            "label_pages": [put(page) for page in self.pages()],
        }
        return put(canonical_json(root))

    def cid(self, schema: str = GOLD_V1) -> str:
        """The CID the set is revealed under in ``schema`` (nothing is stored)."""
        return self.publish(schema, compute_cid)

    @classmethod
    def from_bytes(cls, data: bytes) -> GoldSet:
        """A whole ``labelnet/gold@1`` document of at most the task documents' size."""
        return cls.from_document(parse_document(data, GOLD_V1))

    @classmethod
    def from_document(cls, document: Mapping[str, JsonValue]) -> GoldSet:
        """A ``labelnet/gold@1`` document already parsed, of any size (the requester's own
        secret file holds its gold this way, however large; a peer's document is read by
        :func:`read_gold`, within limits)."""
        if document.get("schema") != GOLD_V1:
            raise ManifestError(f"not a {GOLD_V1} document: schema={document.get('schema')!r}")
        return cls.create(_answers(document.get("labels"), "gold"))


def _answers(entries: JsonValue, what: str) -> list[tuple[str, JsonValue]]:
    if not isinstance(entries, list):
        raise ManifestError("gold labels must be a list")
    pairs: list[tuple[str, JsonValue]] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"item", "value"}:
            raise ManifestError(f"malformed {what} entry: {str(entry)[:80]}")
        pairs.append((check_identifier(entry["item"], "a gold item id"), entry["value"]))
    return pairs


def _gold_page(data: bytes, cid: str, index: int, after: str | None) -> list[dict[str, Any]]:
    return parse_page(
        data,
        cid,
        schema=GOLD_PAGE_SCHEMA,
        index=index,
        header={},
        key="labels",
        after=after,
        error=ManifestError,
        what="gold",
    )


@dataclass(frozen=True)
class GoldRoot:
    """What a revealed gold document says before its pages are read: the whole set
    (``gold@1``), or a ``gold@2`` root's count and page CIDs."""

    schema: str
    label_count: int
    pages: tuple[str, ...] = ()
    inline: GoldSet | None = None


def parse_gold_root(data: bytes) -> GoldRoot:
    """The revealed gold document, parsed: a whole ``gold@1`` set, or a ``gold@2`` root
    (its three keys, canonical, a page list that can hold its count); anything else raises
    :class:`ManifestError`. Its pages are read by :func:`read_gold`."""
    document = parse_document(data, *GOLD_SCHEMAS)
    if document["schema"] == GOLD_V1:
        gold = GoldSet.from_document(document)
        return GoldRoot(GOLD_V1, len(gold.labels), (), gold)
    if set(document) != {"schema", "label_count", "label_pages"}:
        raise ManifestError(f"a {GOLD_V2} root has exactly its three keys")
    count, pages = document.get("label_count"), document.get("label_pages")
    check_page_list(
        count, pages, count_key="label_count", pages_key="label_pages", error=ManifestError
    )
    if canonical_json(document) != data:
        raise ManifestError(f"a {GOLD_V2} root is not in canonical form")
    assert isinstance(count, int) and isinstance(pages, list)  # check_page_list checked them
    return GoldRoot(GOLD_V2, count, tuple(str(cid) for cid in pages))


def read_gold(
    data: bytes | GoldRoot, fetch: Fetch, *, gold_root: bytes | None, schema: str | None = None
) -> GoldSet:
    """The gold set whose revealed document is ``data`` (its bytes, or
    :func:`parse_gold_root` of them), verified: of ``schema`` if given (the task's rule: a
    set of the other schema is refused), each ``gold@2`` page fetched with ``fetch`` and
    verified on its own, one at a time, and its root equal to ``gold_root`` (None: not
    checked, for the requester's own copy).

    Content that breaks any of this raises :class:`ManifestError`; whatever ``fetch``
    raises propagates, for the caller to retry.
    """
    root = data if isinstance(data, GoldRoot) else parse_gold_root(data)
    if schema is not None and root.schema != schema:
        raise ManifestError(f"a {root.schema} gold set on a task whose gold is {schema}")
    if root.inline is not None:
        gold = root.inline
    else:
        pairs: list[tuple[str, JsonValue]] = []
        for entries in iter_pages(root.pages, root.label_count, fetch, _gold_page, ManifestError):
            pairs.extend(_answers(list(entries), "gold page"))
        gold = GoldSet.create(pairs)
    if gold_root is not None and gold.root() != gold_root:
        raise ManifestError(
            f"gold root 0x{gold.root().hex()} is not the revealed 0x{gold_root.hex()}"
        )
    return gold
