"""Label batches: the document an annotator commits to and later reveals.

A batch lists one label per item, sorted by item id. Its *labels root* is a standard
(OpenZeppelin-layout) Merkle tree over one leaf per label,
``keccak256(bytes.concat(keccak256(abi.encode(item, keccak256(value)))))`` with ``value``
the label's canonical JSON. The commitment binds this root, so a validator can check a
fetched batch against what was committed, and a single label can later be proven without
publishing the rest. Two schemas carry it; which one a task's batches use is a rule of the
task, named by its manifest (``labels``):

* ``labelnet/labels@1`` (tasks whose manifest names none): one canonical-JSON document with
  every label, so it grows with the task and its readers held it whole;
* ``labelnet/labels@2`` (tasks built from now on): a root ``{schema, task, annotator,
  label_count, label_pages}`` listing the CIDs of ``labelnet/label-items@1`` pages
  ``{schema, task, annotator, page, labels: [{item, value}]}``, cut by the one paging rule
  (:mod:`node.protocol.paging`). The revealed ``labelsCid`` is the root's CID; the labels
  root is the same tree over the same labels, so commitments and the contract are unchanged.

:func:`read_batch` is the one reader of both: it verifies each page on its own (listed CID,
schema, task, annotator, index, order after the previous page, count) as it streams them,
then the labels root against the revealed one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_utils.address import is_checksum_address, to_checksum_address

from node.errors import LabelnetError
from node.protocol.canonical import JsonValue, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.keccak import keccak256 as keccak
from node.protocol.merkle import merkle_root
from node.protocol.paging import (
    Fetch,
    LabelEntries,
    build_pages,
    check_page_list,
    iter_pages,
    parse_page,
)

LABELS_V1 = "labelnet/labels@1"
LABELS_V2 = "labelnet/labels@2"
LABEL_SCHEMAS = (LABELS_V1, LABELS_V2)
LABEL_PAGE_SCHEMA = "labelnet/label-items@1"
SCHEMA = LABELS_V1
"""The schema of :meth:`LabelBatch.to_bytes` (the one-document form)."""


class LabelBatchError(LabelnetError, ValueError):
    """A batch that breaks the format: no labels, duplicate items, wrong schema."""


_HEAD = (64).to_bytes(32, "big")
"""``abi.encode(string, bytes32)`` starts with the offset of the string's tail: 2 words."""


def label_leaf(item: str, value: JsonValue) -> bytes:
    """The Merkle leaf of one label.

    The ABI encoding of ``(string item, bytes32 valueHash)`` is written out by hand (offset,
    hash, length, data padded to 32 bytes) because ``eth_abi.encode`` costs more than the
    three hashes together, and validators hash every label of every batch; a property test
    holds it equal to ``eth_abi``.
    """
    value_hash = keccak(canonical_json(value))
    raw = item.encode("utf-8")
    padded = raw + bytes(-len(raw) % 32)
    encoded = _HEAD + value_hash + len(raw).to_bytes(32, "big") + padded
    return keccak(keccak(encoded))


@dataclass(frozen=True)
class LabelBatch:
    """One annotator's labels for one task."""

    task_id: int
    annotator: str
    labels: tuple[tuple[str, JsonValue], ...]

    @classmethod
    def create(
        cls, task_id: int, annotator: str, labels: Iterable[tuple[str, JsonValue]]
    ) -> LabelBatch:
        ordered = tuple(sorted(labels, key=lambda pair: pair[0]))
        if not ordered:
            raise LabelBatchError("a label batch needs at least one label")
        items = [item for item, _ in ordered]
        if len(set(items)) != len(items):
            raise LabelBatchError("a label batch has at most one label per item")
        return cls(task_id=task_id, annotator=to_checksum_address(annotator), labels=ordered)

    @classmethod
    def from_document(cls, document: Mapping[str, JsonValue]) -> LabelBatch:
        if document.get("schema") != SCHEMA:
            raise LabelBatchError(f"not a {SCHEMA} document: schema={document.get('schema')!r}")
        try:
            labels = [(str(entry["item"]), entry["value"]) for entry in document["labels"]]
            return cls.create(int(document["task"]), str(document["annotator"]), labels)
        except LabelBatchError:
            raise
        # ValueError: a task id like "" or an annotator that is no address; OverflowError:
        # a task id of infinity. Each is a batch some peer wrote wrong, not a node fault.
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise LabelBatchError(f"malformed label batch: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelBatch:
        """The batch ``data`` holds: every reader of batches parses them here (depth check
        first, see :func:`~node.protocol.canonical.check_json_depth`). Anything else, JSON
        or not, raises :class:`LabelBatchError`."""
        try:
            document = load_json(data)
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8, too deep
            raise LabelBatchError(f"not JSON: {type(exc).__name__}: {exc}") from exc
        if not isinstance(document, dict):
            raise LabelBatchError("not a JSON object")
        return cls.from_document(document)

    def document(self) -> dict[str, JsonValue]:
        return {
            "schema": SCHEMA,
            "task": self.task_id,
            "annotator": self.annotator,
            "labels": [{"item": item, "value": value} for item, value in self.labels],
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.document())

    def root(self) -> bytes:
        return merkle_root([label_leaf(item, value) for item, value in self.labels])

    def pages(self) -> Iterator[bytes]:
        """The ``labelnet/label-items@1`` pages of this batch, in order, one built at a time."""
        entries = LabelEntries(self.labels)
        header = {"task": self.task_id, "annotator": self.annotator}
        return build_pages(entries, schema=LABEL_PAGE_SCHEMA, header=header, key="labels")

    def publish(self, schema: str, put: Callable[[bytes], str]) -> str:
        """Write the batch in ``schema`` through ``put`` (a store's ``put``, or
        :func:`~node.protocol.cid.compute_cid` to learn the CID without storing) and return
        the CID to reveal: ``labels@2`` pages first, then the root that lists them, so
        whoever can read the root can read its pages."""
        if schema == LABELS_V1:
            return put(self.to_bytes())
        if schema != LABELS_V2:
            raise LabelBatchError(f"unknown label batch schema {schema!r}")
        root = {
            "schema": LABELS_V2,
            "task": self.task_id,
            "annotator": self.annotator,
            "label_count": len(self.labels),
            "label_pages": [put(page) for page in self.pages()],
        }
        return put(canonical_json(root))

    def cid(self, schema: str = LABELS_V1) -> str:
        """The CID the batch is revealed under in ``schema`` (nothing is stored)."""
        return self.publish(schema, compute_cid)


@dataclass(frozen=True)
class BatchRoot:
    """What a batch's revealed document says before its pages are read: the whole batch
    (``labels@1``), or the root of a ``labels@2`` batch and the CIDs of its pages."""

    schema: str
    task_id: int
    annotator: str
    label_count: int
    pages: tuple[str, ...] = ()
    inline: LabelBatch | None = None
    """The batch itself, for a ``labels@1`` document."""


def parse_batch_root(data: bytes) -> BatchRoot:
    """The document revealed as a batch's ``labelsCid``, parsed: a whole ``labels@1`` batch,
    or a ``labels@2`` root (canonical, checksummed annotator, a page list that can hold its
    count). Anything else raises :class:`LabelBatchError`. Its pages are read by
    :func:`read_batch`."""
    try:
        document = load_json(data)
    except (ValueError, RecursionError) as exc:  # JSON, UTF-8, too deep
        raise LabelBatchError(f"not JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(document, dict):
        raise LabelBatchError("not a JSON object")
    if document.get("schema") != LABELS_V2:
        batch = LabelBatch.from_document(document)
        return BatchRoot(LABELS_V1, batch.task_id, batch.annotator, len(batch.labels), (), batch)
    task, annotator = document.get("task"), document.get("annotator")
    if set(document) != {"schema", "task", "annotator", "label_count", "label_pages"}:
        raise LabelBatchError(f"a {LABELS_V2} root has exactly its five keys")
    if not isinstance(task, int) or isinstance(task, bool) or task < 0:
        raise LabelBatchError("task must be a task id")
    if not isinstance(annotator, str) or not is_checksum_address(annotator):
        raise LabelBatchError("annotator must be a checksummed address")
    count, pages = document.get("label_count"), document.get("label_pages")
    check_page_list(
        count,
        pages,
        count_key="label_count",
        pages_key="label_pages",
        error=LabelBatchError,
    )
    if canonical_json(document) != data:
        raise LabelBatchError(f"a {LABELS_V2} root is not in canonical form")
    assert isinstance(count, int) and isinstance(pages, list)  # check_page_list checked them
    return BatchRoot(LABELS_V2, task, annotator, count, tuple(str(cid) for cid in pages))


def _label_page(
    data: bytes, cid: str, index: int, after: str | None, *, root: BatchRoot
) -> list[dict[str, Any]]:
    entries = parse_page(
        data,
        cid,
        schema=LABEL_PAGE_SCHEMA,
        index=index,
        header={"task": root.task_id, "annotator": root.annotator},
        key="labels",
        after=after,
        error=LabelBatchError,
        what="label",
    )
    for entry in entries:
        if set(entry) != {"item", "value"}:
            raise LabelBatchError(f"label page {index}: a label is {{item, value}}")
    return entries


def read_batch(
    data: bytes | BatchRoot,
    fetch: Fetch,
    *,
    task_id: int,
    annotator: str,
    labels_root: bytes | None,
    schema: str | None = None,
) -> LabelBatch:
    """The batch revealed by ``annotator`` for ``task_id`` whose document is ``data`` (its
    bytes, or :func:`parse_batch_root` of them), verified: of ``schema`` if given (the
    task's rule: a batch of the other schema is refused), of that task and annotator, each
    ``labels@2`` page fetched with ``fetch`` and verified on its own, one at a time, and the
    labels root equal to ``labels_root`` (None: a reveal without a root, refused).

    Content that breaks any of this raises :class:`LabelBatchError`; whatever ``fetch``
    raises (a page nobody serves) propagates, for the caller to retry. Only the labels are
    kept (what consensus needs), never a page's bytes after it is checked.
    """
    root = data if isinstance(data, BatchRoot) else parse_batch_root(data)
    if schema is not None and root.schema != schema:
        raise LabelBatchError(f"a {root.schema} batch on a task whose batches are {schema}")
    if root.task_id != task_id or root.annotator != to_checksum_address(annotator):
        raise LabelBatchError(f"batch of task {root.task_id} by {root.annotator}")
    if root.inline is not None:
        batch = root.inline
    else:
        labels: list[tuple[str, JsonValue]] = []
        read = partial(_label_page, root=root)
        for entries in iter_pages(root.pages, root.label_count, fetch, read, LabelBatchError):
            labels.extend((entry["item"], entry["value"]) for entry in entries)
        # Pages verified in strict item order: sorted and unique, as create() would make them.
        batch = LabelBatch(task_id=root.task_id, annotator=root.annotator, labels=tuple(labels))
    computed = batch.root()
    if labels_root is None or computed != labels_root:
        shown = "none" if labels_root is None else "0x" + labels_root.hex()
        raise LabelBatchError(f"root 0x{computed.hex()} is not the revealed {shown}")
    return batch
