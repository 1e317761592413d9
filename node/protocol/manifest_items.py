"""Task content's shared document checks and its item pages (``labelnet/items@1``).

The entry check of every task content document (:func:`parse_document`: size, depth and
schema), the identifier and uniqueness checks the manifest, the item pages and the gold set
(:mod:`node.protocol.gold`) share, and the items themselves: :class:`ItemSpec` (one item: an
id, inline ``data`` and/or a ``content`` CID with its media type) and :class:`ItemPage` (at
most :data:`PAGE_SIZE` of them, so a page stays a single raw block and one fetch verifies
one page). The manifest that lists the pages is :mod:`node.protocol.manifest`, which
re-exports every name here: import them from there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from node.errors import LabelnetError
from node.protocol.canonical import DocumentTooDeepError, JsonValue, canonical_json, load_json

ITEMS_SCHEMA = "labelnet/items@1"

PAGE_SIZE = 500
"""Items per page: small enough that a page of short texts stays one 256 KiB raw block."""
MAX_ID_LENGTH = 256
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""Largest manifest, page or gold document a node will parse."""


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
