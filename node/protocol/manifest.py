"""Task content: the manifest and its item pages.

Two canonical-JSON documents (see :mod:`node.protocol.canonical`); the requester's gold set
(``labelnet/gold@1``) is :mod:`node.protocol.gold`, parsed with the same checks:

* ``labelnet/manifest@1`` — what an annotator needs to decide whether to join and how to
  label: title, instructions (markdown), the task kind and class set, the consensus
  thresholds validators apply, the item count and the CIDs of the item pages, in order.
  Its CID is what ``createTask`` records on chain.
* ``labelnet/items@1`` — one page of at most :data:`PAGE_SIZE` items. An item has an id, and
  inline ``data`` (text, fields) and/or a ``content`` CID (an image or audio file stored
  separately, fetched and verified like everything else) with its media type. Pages keep
  every document a single raw block, so one fetch verifies one page.

Parsers never trust the input: every ``from_bytes`` checks the schema, types, sizes and
uniqueness and raises :class:`ManifestError` (a ``ValueError``) with what is wrong.

This module is the manifest document and :func:`build_task_content`; the item pages and
the checks every task content document shares are :mod:`node.protocol.manifest_items`, the
``consensus`` section and the per-kind defaults :mod:`node.protocol.manifest_consensus`.
Their names are re-exported here (``__all__``), the one import path for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from node.protocol.annotation import RULES, AnnotationParams, default_annotation
from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.ids import DEFAULT_ALGORITHM
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABEL_SCHEMAS, LABELS_V1, LABELS_V2
from node.protocol.manifest_allowlist import AllowlistFieldError, AllowlistParams
from node.protocol.manifest_confidential import ConfidentialError, ConfidentialParams
from node.protocol.manifest_consensus import (
    THRESHOLD_BOUNDS,
    ConsensusParams,
    default_algorithm,
    default_consensus,
)
from node.protocol.manifest_items import (
    ITEMS_SCHEMA,
    MAX_DOCUMENT_BYTES,
    MAX_ID_LENGTH,
    PAGE_SIZE,
    ItemPage,
    ItemSpec,
    ManifestError,
    check_identifier,
    check_unique,
    parse_document,
)
from node.protocol.result_pages import RESULT_SCHEMAS, RESULT_V1, RESULT_V4
from node.protocol.review import ReviewParams

__all__ = [
    "GOLD_PAGE_SCHEMA",
    "GOLD_SCHEMAS",
    "GOLD_V1",
    "GOLD_V2",
    "ITEMS_SCHEMA",
    "MANIFEST_SCHEMA",
    "MAX_CLASSES",
    "MAX_DOCUMENT_BYTES",
    "MAX_ID_LENGTH",
    "MAX_ITEMS",
    "MAX_TEXT",
    "PAGE_SIZE",
    "THRESHOLD_BOUNDS",
    "ConsensusParams",
    "ItemPage",
    "ItemSpec",
    "Manifest",
    "ManifestError",
    "TaskContent",
    "build_task_content",
    "check_identifier",
    "check_unique",
    "default_algorithm",
    "default_consensus",
    "parse_document",
]

MANIFEST_SCHEMA = "labelnet/manifest@1"
GOLD_V1 = "labelnet/gold@1"
GOLD_V2 = "labelnet/gold@2"
GOLD_SCHEMAS = (GOLD_V1, GOLD_V2)
GOLD_PAGE_SCHEMA = "labelnet/gold-items@1"
"""The gold set's schema ids live here, where the manifest names them (its builder and
reader are :mod:`node.protocol.gold`, which imports this module, so they cannot live there);
the checks it shares are :mod:`node.protocol.manifest_items`."""
MAX_ITEMS = 1_000_000
MAX_CLASSES = 256
MAX_TEXT = 64 * 1024
"""Longest title or instructions text."""


def _text(value: JsonValue, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ManifestError(f"{what} must be a string of at most {MAX_TEXT} characters")
    return value


@dataclass(frozen=True)
class Manifest:
    """A ``labelnet/manifest@1`` document."""

    title: str
    instructions: str
    kind: TaskKind
    classes: tuple[str, ...]
    num_items: int
    pages: tuple[str, ...]
    consensus: ConsensusParams = field(default_factory=ConsensusParams)
    algorithm: str = DEFAULT_ALGORITHM
    """The algorithm the requester intends; the task's on-chain id is authoritative."""
    result: str = RESULT_V1
    """The result schema the task's validators publish: :data:`RESULT_V4` (paged, confusion
    as filled cells) for tasks built from now on, ``result@2`` for tasks built before
    it; a manifest that names none is from before paging and keeps
    ``result@1`` (its document omits the key, so its bytes and CID stay as they were)."""
    labels: str = LABELS_V1
    """The schema of the task's label batches: :data:`LABELS_V2` (paged) for tasks built from
    now on; a manifest that names none keeps ``labels@1`` (the key is omitted, as above).
    Validators drop a batch of the other schema."""
    gold: str = GOLD_V1
    """The schema of the task's gold set: :data:`GOLD_V2` (paged) for tasks built from now
    on, ``gold@1`` for a manifest that names none (the key is omitted, as above)."""
    annotation: AnnotationParams | None = None
    """The kinds of issue #20 only (boxes, spans, text, pairwise), where it is required: the
    rule (``boxes@1``...) and its parameters (:mod:`node.protocol.annotation`). Absent from
    every other manifest, whose bytes stay as they were."""
    review: ReviewParams | None = None
    """The review round's parameters (issue #17, docs/review.md): a categorical task only.
    Absent from a task without review, whose bytes stay as they were."""
    confidential: ConfidentialParams | None = None
    """A confidential task (docs/confidential.md): its sealing, key commitment and named
    validators. Absent from a public task's manifest, whose bytes stay as they were."""
    allowlist: AllowlistParams | None = None
    """A gated task's allowlist accounts (``allowlist@1``, :mod:`.manifest_allowlist`), from
    which admitted nodes build their proofs. Absent from every other manifest, whose bytes
    stay as they were."""

    def __post_init__(self) -> None:
        _text(self.title, "title")
        if self.result not in RESULT_SCHEMAS:
            raise ManifestError(f"unknown result schema {self.result!r}")
        if self.labels not in LABEL_SCHEMAS:
            raise ManifestError(f"unknown label batch schema {self.labels!r}")
        if self.gold not in GOLD_SCHEMAS:
            raise ManifestError(f"unknown gold schema {self.gold!r}")
        _text(self.instructions, "instructions")
        self._check_annotation()
        if self.review is not None and self.kind is not TaskKind.CATEGORICAL:
            raise ManifestError(f"a {self.kind} task has no review: contested@1 is categorical")
        if self.kind in (TaskKind.BOXES, TaskKind.SPANS):
            if not 1 <= len(self.classes) <= MAX_CLASSES:
                raise ManifestError(f"a {self.kind} task needs 1..{MAX_CLASSES} classes")
            for name in self.classes:
                check_identifier(name, "a class name")
            check_unique(list(self.classes), "class names")
        elif self.kind in (TaskKind.TEXT, TaskKind.PAIRWISE, TaskKind.NUMERIC):
            if self.classes:
                raise ManifestError(f"a {self.kind} task has no classes")
        else:
            if not 2 <= len(self.classes) <= MAX_CLASSES:
                raise ManifestError(f"a {self.kind} task needs 2..{MAX_CLASSES} classes")
            for name in self.classes:
                check_identifier(name, "a class name")
            check_unique(list(self.classes), "class names")
        if not 1 <= self.num_items <= MAX_ITEMS:
            raise ManifestError(f"a task has 1..{MAX_ITEMS} items, not {self.num_items}")
        if len(self.pages) != -(-self.num_items // PAGE_SIZE):
            raise ManifestError(
                f"{self.num_items} items need {-(-self.num_items // PAGE_SIZE)} pages of "
                f"{PAGE_SIZE}, the manifest lists {len(self.pages)}"
            )
        for cid in self.pages:
            check_identifier(cid, "a page CID")

    def _check_annotation(self) -> None:
        if self.kind not in RULES:
            if self.annotation is not None:
                raise ManifestError(f"a {self.kind} task has no annotation parameters")
            return
        if self.annotation is None or self.annotation.kind is not self.kind:
            raise ManifestError(f"a {self.kind} task needs its annotation parameters")
        if self.algorithm != self.annotation.rule:
            raise ManifestError(
                f"a {self.kind} task's algorithm is its rule {self.annotation.rule!r}, "
                f"not {self.algorithm!r}"
            )

    def document(self) -> dict[str, JsonValue]:
        document: dict[str, JsonValue] = {
            "schema": MANIFEST_SCHEMA,
            "title": self.title,
            "instructions": self.instructions,
            "kind": str(self.kind),
            "classes": list(self.classes),
            "num_items": self.num_items,
            "pages": list(self.pages),
            "consensus": self.consensus.document(),
            "algorithm": self.algorithm,
        }
        if self.result != RESULT_V1:
            document["result"] = self.result
        if self.labels != LABELS_V1:
            document["labels"] = self.labels
        if self.gold != GOLD_V1:
            document["gold"] = self.gold
        if self.annotation is not None:
            document["annotation"] = self.annotation.document()
        if self.review is not None:
            document["review"] = dict(self.review.document())
        if self.confidential is not None:
            document["confidential"] = self.confidential.document()
        if self.allowlist is not None:
            document["allowlist"] = self.allowlist.document()
        return document

    def to_bytes(self) -> bytes:
        return canonical_json(self.document())

    def cid(self) -> str:
        return compute_cid(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        document = parse_document(data, MANIFEST_SCHEMA)
        try:
            kind = TaskKind(str(document.get("kind")))
        except ValueError as exc:
            raise ManifestError(f"unknown task kind {document.get('kind')!r}") from exc
        classes, pages, num_items = (
            document.get("classes", []),
            document.get("pages"),
            document.get("num_items"),
        )
        if not isinstance(classes, list) or not isinstance(pages, list):
            raise ManifestError("classes and pages must be lists")
        if not isinstance(num_items, int) or isinstance(num_items, bool):
            raise ManifestError("num_items must be an integer")
        algorithm = document.get("algorithm", DEFAULT_ALGORITHM)
        annotation = None
        if "annotation" in document:
            try:
                annotation = AnnotationParams.from_document(kind, document["annotation"])
            except ValueError as exc:
                raise ManifestError(f"annotation: {exc}") from exc
        review = None
        if "review" in document:
            section = document["review"]
            if not isinstance(section, dict):
                raise ManifestError("review must be an object")
            try:
                review = ReviewParams.from_document(section)
            except ValueError as exc:
                raise ManifestError(f"review: {exc}") from exc
        confidential = None
        if "confidential" in document:
            try:
                confidential = ConfidentialParams.from_document(document["confidential"])
            except ConfidentialError as exc:
                raise ManifestError(f"confidential: {exc}") from exc
        allowlist = None
        if "allowlist" in document:
            try:
                allowlist = AllowlistParams.from_document(document["allowlist"])
            except AllowlistFieldError as exc:
                raise ManifestError(f"allowlist: {exc}") from exc
        return cls(
            title=_text(document.get("title", ""), "title"),
            instructions=_text(document.get("instructions", ""), "instructions"),
            kind=kind,
            classes=tuple(check_identifier(c, "a class name") for c in classes),
            num_items=num_items,
            pages=tuple(check_identifier(p, "a page CID") for p in pages),
            consensus=ConsensusParams.from_document(document.get("consensus", {})),
            algorithm=check_identifier(algorithm, "algorithm"),
            result=check_identifier(document.get("result", RESULT_V1), "result"),
            labels=check_identifier(document.get("labels", LABELS_V1), "labels"),
            gold=check_identifier(document.get("gold", GOLD_V1), "gold"),
            annotation=annotation,
            review=review,
            confidential=confidential,
            allowlist=allowlist,
        )


@dataclass(frozen=True)
class TaskContent:
    """Everything a requester stores before ``createTask``: the manifest and its pages."""

    manifest: Manifest
    manifest_bytes: bytes
    pages: tuple[bytes, ...]
    media: tuple[bytes, ...] = ()
    """Media blobs that belong to the content itself: a confidential task's media, sealed
    under its key (the pages name their ciphertext CIDs). A public task's media are the
    requester's files, passed beside the content as before."""

    @property
    def manifest_cid(self) -> str:
        return compute_cid(self.manifest_bytes)

    def blobs(self) -> list[bytes]:
        """Every document to store, referents first: media, pages, then the manifest."""
        return [*self.media, *self.pages, self.manifest_bytes]


def build_task_content(
    items: Sequence[ItemSpec],
    *,
    title: str,
    instructions: str = "",
    kind: TaskKind = TaskKind.CATEGORICAL,
    classes: Sequence[str] = (),
    consensus: ConsensusParams | None = None,
    algorithm: str | None = None,
    result: str = RESULT_V4,
    labels: str = LABELS_V2,
    gold: str = GOLD_V2,
    annotation: AnnotationParams | None = None,
    review: ReviewParams | None = None,
    confidential: ConfidentialParams | None = None,
    allowlist: AllowlistParams | None = None,
) -> TaskContent:
    """Page ``items`` (in the given order) and build the manifest over the pages."""
    if not items:
        raise ManifestError("a task needs at least one item")
    check_unique([item.id for item in items], "item ids")
    pages = tuple(
        ItemPage(tuple(items[start : start + PAGE_SIZE])).to_bytes()
        for start in range(0, len(items), PAGE_SIZE)
    )
    manifest = Manifest(
        title=title,
        instructions=instructions,
        kind=kind,
        classes=tuple(classes),
        num_items=len(items),
        pages=tuple(compute_cid(page) for page in pages),
        consensus=consensus or default_consensus(kind),
        algorithm=algorithm or default_algorithm(kind),
        result=result,
        labels=labels,
        gold=gold,
        annotation=annotation or default_annotation(kind),
        review=review,
        confidential=confidential,
        allowlist=allowlist,
    )
    return TaskContent(manifest=manifest, manifest_bytes=manifest.to_bytes(), pages=pages)
