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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from node.errors import LabelnetError
from node.protocol.annotation import RULES, AnnotationParams, default_annotation
from node.protocol.canonical import DocumentTooDeepError, JsonValue, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.ids import (
    BLOC_TEST_ID,
    DEFAULT_ALGORITHM,
    DEFAULT_NUMERIC_ALGORITHM,
    MULTILABEL_ALGORITHM,
    bloc_test_id,
)
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABEL_SCHEMAS, LABELS_V1, LABELS_V2
from node.protocol.manifest_allowlist import AllowlistFieldError, AllowlistParams
from node.protocol.manifest_confidential import ConfidentialError, ConfidentialParams
from node.protocol.result_pages import RESULT_SCHEMAS, RESULT_V1, RESULT_V2
from node.protocol.review import ReviewParams
from node.protocol.rules import DEFAULT_SIGNIFICANCE_Z, RewardParams
from node.protocol.values import tolerance_units

MANIFEST_SCHEMA = "labelnet/manifest@1"
ITEMS_SCHEMA = "labelnet/items@1"
GOLD_V1 = "labelnet/gold@1"
GOLD_V2 = "labelnet/gold@2"
GOLD_SCHEMAS = (GOLD_V1, GOLD_V2)
GOLD_PAGE_SCHEMA = "labelnet/gold-items@1"
"""The gold set's schema ids live with the checks it shares (its builder and reader are
:mod:`node.protocol.gold`, which imports this module, so they cannot live there)."""

PAGE_SIZE = 500
"""Items per page: small enough that a page of short texts stays one 256 KiB raw block."""
MAX_ITEMS = 1_000_000
MAX_CLASSES = 256
MAX_ID_LENGTH = 256
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""Largest manifest, page or gold document a node will parse."""
MAX_TEXT = 64 * 1024
"""Longest title or instructions text."""


class ManifestError(LabelnetError, ValueError):
    """A manifest, item page or gold document that breaks the format."""


def parse_document(data: bytes, schema: str, *others: str) -> dict[str, JsonValue]:
    """The JSON object of a ``schema`` (or one of ``others``) document, size, depth and
    schema checked (the one entry check of every task content document, the gold set's
    included)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ManifestError(f"{schema} document of {len(data)} bytes exceeds {MAX_DOCUMENT_BYTES}")
    try:
        document = load_json(data)
    except DocumentTooDeepError as exc:
        raise ManifestError(f"malformed {schema} document: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"not a JSON document: {exc}") from exc
    if not isinstance(document, dict):
        raise ManifestError(f"a {schema} document is a JSON object")
    if document.get("schema") not in (schema, *others):
        names = " or ".join((schema, *others))
        raise ManifestError(f"not a {names} document: schema={document.get('schema')!r}")
    return document


def check_identifier(value: JsonValue, what: str) -> str:
    """``value`` as an item id: a string of 1..:data:`MAX_ID_LENGTH` characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ManifestError(f"{what} must be a string of 1..{MAX_ID_LENGTH} characters")
    return value


def _text(value: JsonValue, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ManifestError(f"{what} must be a string of at most {MAX_TEXT} characters")
    return value


def check_unique(values: Sequence[str], what: str) -> None:
    """Raise :class:`ManifestError` if ``values`` repeat one."""
    if len(set(values)) != len(values):
        raise ManifestError(f"duplicate {what}")


@dataclass(frozen=True)
class ItemSpec:
    """One item to label: inline ``data`` and/or a ``content`` CID with its media type."""

    id: str
    data: JsonValue = None
    content: str | None = None
    media_type: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.id, "an item id")
        if self.data is None and self.content is None:
            raise ManifestError(f"item {self.id!r} has neither data nor content")
        if self.content is not None:
            check_identifier(self.content, f"item {self.id!r} content CID")

    def document(self) -> dict[str, JsonValue]:
        entry: dict[str, JsonValue] = {"id": self.id}
        if self.data is not None:
            entry["data"] = self.data
        if self.content is not None:
            entry["content"] = self.content
        if self.media_type is not None:
            entry["media_type"] = self.media_type
        return entry

    @classmethod
    def from_document(cls, entry: JsonValue) -> ItemSpec:
        if not isinstance(entry, dict) or not set(entry) <= {"id", "data", "content", "media_type"}:
            raise ManifestError(f"malformed item entry: {str(entry)[:80]}")
        media = entry.get("media_type")
        if media is not None:
            check_identifier(media, "a media type")
        return cls(
            id=check_identifier(entry.get("id"), "an item id"),
            data=entry.get("data"),
            content=entry.get("content"),
            media_type=media,
        )


@dataclass(frozen=True)
class ItemPage:
    """One ``labelnet/items@1`` page."""

    items: tuple[ItemSpec, ...]

    def document(self) -> dict[str, JsonValue]:
        return {"schema": ITEMS_SCHEMA, "items": [item.document() for item in self.items]}

    def to_bytes(self) -> bytes:
        return canonical_json(self.document())

    @classmethod
    def from_bytes(cls, data: bytes) -> ItemPage:
        document = parse_document(data, ITEMS_SCHEMA)
        entries = document.get("items")
        if not isinstance(entries, list) or not 1 <= len(entries) <= PAGE_SIZE:
            raise ManifestError(f"an item page lists 1..{PAGE_SIZE} items")
        items = tuple(ItemSpec.from_document(entry) for entry in entries)
        check_unique([item.id for item in items], "item ids in a page")
        return cls(items)


def _ratio(value: JsonValue, what: str) -> str:
    # RewardParams parses it exactly; here only the type is checked, so the error says where.
    if not isinstance(value, str):
        raise ManifestError(f"{what} must be a decimal string such as '0.8'")
    return value


THRESHOLD_BOUNDS = {
    "confidence_threshold": "0.99",
    "accuracy_floor": "0.9",
    "skill_floor": "0.8",
    "significance_z": "5",
}
"""Highest value each reward threshold may take. The rule that sets them: an annotator
with true accuracy 0.95 on a balanced two-class task, with 50 answers among two others like
them, clears every threshold (estimated accuracy 0.95 +- 0.03, kappa 0.9, evidence about
6, posterior of a three-way agreement above 0.999). A requester may ask for experts; not
for thresholds that nobody can meet, which would leave the task unpaid while its labels are
public. Values above them make the manifest invalid."""


@dataclass(frozen=True)
class ConsensusParams:
    """The thresholds validators apply (see :mod:`node.consensus.rewards`); ``tolerance`` is
    how far (absolute, in the task's unit) a numeric answer may be from the consensus and
    still match it. Each threshold is at most its :data:`THRESHOLD_BOUNDS` entry."""

    confidence_threshold: str = "0.8"
    accuracy_floor: str = "0.6"
    skill_floor: str = "0.2"
    tolerance: str = "0.5"
    significance_z: str = DEFAULT_SIGNIFICANCE_Z
    bloc_test: str = BLOC_TEST_ID
    """Categorical tasks: the bloc test validators run (``""``: none)."""

    def __post_init__(self) -> None:
        for name, bound in THRESHOLD_BOUNDS.items():
            value = getattr(self, name)
            try:
                too_high = Fraction(Decimal(value)) > Fraction(Decimal(bound))
            except (InvalidOperation, ValueError, TypeError) as exc:
                raise ManifestError(f"consensus.{name}: not a number: {value!r}") from exc
            if too_high:
                raise ManifestError(
                    f"consensus.{name} is {value}, above the highest allowed {bound}: "
                    "a threshold nobody can meet pays nobody"
                )

    def reward_params(self, reward_per_label: int, reward_pool: int) -> RewardParams:
        return RewardParams.create(
            reward_per_label,
            reward_pool,
            confidence_threshold=self.confidence_threshold,
            accuracy_floor=self.accuracy_floor,
            skill_floor=self.skill_floor,
            significance_z=self.significance_z,
        )

    def document(self) -> dict[str, JsonValue]:
        return {
            "confidence_threshold": self.confidence_threshold,
            "accuracy_floor": self.accuracy_floor,
            "skill_floor": self.skill_floor,
            "tolerance": self.tolerance,
            "significance_z": self.significance_z,
            "bloc_test": self.bloc_test,
        }

    @classmethod
    def from_document(cls, entry: JsonValue) -> ConsensusParams:
        if not isinstance(entry, dict):
            raise ManifestError("consensus must be an object")
        if set(entry) - _CONSENSUS_KEYS:
            raise ManifestError(f"unknown consensus keys: {sorted(set(entry) - _CONSENSUS_KEYS)}")
        # A manifest from before the evidence test has no significance_z: "0" keeps it off;
        # one from before the bloc test has no bloc_test: "" keeps that off.
        fields = {"significance_z": "0"} | {k: v for k, v in entry.items() if k != "bloc_test"}
        try:
            bloc_test = bloc_test_id(entry.get("bloc_test", ""))
        except ValueError as exc:
            raise ManifestError(f"consensus.bloc_test: {exc}") from exc
        params = cls(
            **{k: _ratio(v, f"consensus.{k}") for k, v in fields.items()}, bloc_test=bloc_test
        )
        try:
            params.reward_params(0, 0)
            tolerance_units(params.tolerance)
        except ValueError as exc:
            raise ManifestError(f"consensus: {exc}") from exc
        return params


_CONSENSUS_KEYS = {
    "confidence_threshold",
    "accuracy_floor",
    "skill_floor",
    "tolerance",
    "significance_z",
    "bloc_test",
}


def default_consensus(kind: TaskKind) -> ConsensusParams:
    """The consensus parameters a task of ``kind`` gets unless its requester gives them; the
    bloc test is for categorical answers, so other kinds do not name it."""
    return ConsensusParams() if kind is TaskKind.CATEGORICAL else ConsensusParams(bloc_test="")


def default_algorithm(kind: TaskKind) -> str:
    """The consensus algorithm a task of ``kind`` gets unless its requester names one."""
    if kind is TaskKind.NUMERIC:
        return DEFAULT_NUMERIC_ALGORITHM
    if kind is TaskKind.MULTILABEL:
        return MULTILABEL_ALGORITHM
    return RULES.get(kind, DEFAULT_ALGORITHM)


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
    """The result schema the task's validators publish: :data:`RESULT_V2` (paged) for tasks
    built from now on; a manifest that names none is from before paging and keeps
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
    result: str = RESULT_V2,
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
