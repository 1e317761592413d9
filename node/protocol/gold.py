"""The requester's gold set: a ``labelnet/gold@1`` canonical-JSON document.

The requester's hidden answers for some items. Its root is the same Merkle tree as a label
batch's (:func:`node.protocol.labels.label_leaf`), and the task commits to
``keccak256(abi.encode(goldRoot, salt))`` at creation, before any annotator has seen an
item; the requester reveals it after the commit deadline. It is parsed with the task
content's checks (:mod:`node.protocol.manifest`) and breaks them with the same
:class:`~node.protocol.manifest.ManifestError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.labels import label_leaf
from node.protocol.manifest import ManifestError, check_identifier, check_unique, parse_document
from node.protocol.merkle import merkle_root

GOLD_SCHEMA = "labelnet/gold@1"


@dataclass(frozen=True)
class GoldSet:
    """The requester's known answers for some items (a ``labelnet/gold@1`` document)."""

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
            "schema": GOLD_SCHEMA,
            "labels": [{"item": item, "value": value} for item, value in self.labels],
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.document())

    def cid(self) -> str:
        return compute_cid(self.to_bytes())

    def root(self) -> bytes:
        return merkle_root([label_leaf(item, value) for item, value in self.labels])

    @classmethod
    def from_bytes(cls, data: bytes) -> GoldSet:
        entries = parse_document(data, GOLD_SCHEMA).get("labels")
        if not isinstance(entries, list):
            raise ManifestError("gold labels must be a list")
        pairs: list[tuple[str, JsonValue]] = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) != {"item", "value"}:
                raise ManifestError(f"malformed gold entry: {str(entry)[:80]}")
            pairs.append((check_identifier(entry["item"], "a gold item id"), entry["value"]))
        return cls.create(pairs)
