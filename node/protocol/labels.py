"""Label batches: the document an annotator commits to and later reveals.

A batch is canonical JSON (``labelnet/labels@1``) listing one label per item, sorted by
item id. Its *labels root* is a standard (OpenZeppelin-layout) Merkle tree over one leaf
per label, ``keccak256(bytes.concat(keccak256(abi.encode(item, keccak256(value)))))`` with
``value`` the label's canonical JSON. The commitment binds this root, so a validator can
check a fetched batch against what was committed, and a single label can later be proven
without publishing the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from node.errors import LabelnetError
from node.protocol.canonical import JsonValue, canonical_json, load_json
from node.protocol.cid import compute_cid
from node.protocol.keccak import keccak256 as keccak
from node.protocol.merkle import merkle_root

SCHEMA = "labelnet/labels@1"


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

    def cid(self) -> str:
        return compute_cid(self.to_bytes())

    def root(self) -> bytes:
        return merkle_root([label_leaf(item, value) for item, value in self.labels])
