"""``labelnet/sealed-keys@1``: a content key wrapped to each recipient's X25519 public key.

One document per sealed scope (a task's items and media, or one annotator's revealed label
batch), canonical JSON::

    {"schema": "labelnet/sealed-keys@1", "sealed": "labelnet/sealed@1",
     "scope": "task/7", "commitment": "<hex of key_commitment(key)>", "content": null,
     "recipients": [{"address": "0x…", "public_key": "<hex>", "wrapped": "<hex>"}, …]}

``content`` is the CID of the sealed content the key opens, or null when something else
already points at it. A confidential task's annotator reveals the CID of its batch's key
document as ``labelsCid``, with ``content`` naming the sealed ``labels@2`` root: one reveal
gives validators both the ciphertext and their wrapped keys, with no contract change.

``recipients`` is sorted by lower-case address, one entry per address. ``wrapped`` is
libsodium's ``crypto_box_seal`` of the 32-byte key to ``public_key`` (an ephemeral X25519
key, so the document reveals neither the key nor who wrapped it). The public key is listed
so a node holding another key pair (rotated, or a stale announcement) is told so plainly.
An unwrapped key is checked against ``commitment`` before use: a wrap of a wrong key (by
mistake, or by anyone who can store a document) is refused here, not by a failed page.

The document is public: anyone sees which addresses can read, never what they read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from eth_utils.address import is_checksum_address
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from node.protocol.canonical import (
    DocumentTooDeepError,
    JsonValue,
    canonical_json,
    load_json,
)
from node.protocol.sealed import (
    KEY_BYTES,
    SEALED_V1,
    SealedFormatError,
    SealedKeyMissingError,
    SealedKeyNotYoursError,
    SealedTamperedError,
    key_commitment,
)

KEYS_V1: Final = "labelnet/sealed-keys@1"
MAX_RECIPIENTS: Final = 1000
"""At about 240 bytes a recipient, the document stays one 256 KiB raw block."""
MAX_DOCUMENT_BYTES: Final = 256 * 1024
PUBLIC_KEY_BYTES: Final = 32
WRAPPED_BYTES: Final = KEY_BYTES + 48  # crypto_box_seal: ephemeral public key + MAC
_SCOPE = re.compile(r"[a-z]+/[0-9A-Za-z/]{1,128}")
_HEX = re.compile(r"[0-9a-f]*")
_CID = re.compile(r"b[a-z2-7]{1,127}")


@dataclass(frozen=True)
class Recipient:
    """Who may read: an account and the X25519 public key it announced."""

    address: str
    public_key: bytes


@dataclass(frozen=True)
class KeyDocument:
    """A parsed ``sealed-keys@1`` document; ``wrapped`` maps lower-case address to
    (public key, wrapped key)."""

    scope: str
    commitment: str
    content: str | None
    wrapped: Mapping[str, tuple[bytes, bytes]]

    @property
    def addresses(self) -> tuple[str, ...]:
        """The recipients' addresses (lower case, sorted)."""
        return tuple(self.wrapped)


def _check_public_key(public_key: bytes, what: str) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise SealedFormatError(f"{what}: an X25519 public key is {PUBLIC_KEY_BYTES} bytes")
    if public_key == bytes(PUBLIC_KEY_BYTES):
        raise SealedFormatError(f"{what}: the all-zero public key is not a key")


def _check_scope(scope: object) -> str:
    if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
        raise SealedFormatError(f"invalid key document scope {str(scope)[:64]!r}")
    return scope


def _check_content(content: object) -> str | None:
    if content is not None and (not isinstance(content, str) or not _CID.fullmatch(content)):
        raise SealedFormatError(f"content must be a base32 CIDv1 or null, not {content!r:.64}")
    return content


def build_key_document(
    scope: str, key: bytes, recipients: list[Recipient], content: str | None = None
) -> bytes:
    """The canonical bytes of a key document wrapping ``key`` to every recipient.

    Not deterministic (each wrap uses a fresh ephemeral key): a document is written once,
    by the key's owner, and referenced by its CID.
    """
    _check_scope(scope)
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise SealedFormatError(f"a key document has 1..{MAX_RECIPIENTS} recipients")
    entries: dict[str, dict[str, str]] = {}
    for recipient in recipients:
        if not is_checksum_address(recipient.address):
            raise SealedFormatError(f"{recipient.address!r} is not a checksummed address")
        _check_public_key(recipient.public_key, recipient.address)
        lower = recipient.address.lower()
        if lower in entries:
            raise SealedFormatError(f"recipient {recipient.address} is listed twice")
        wrapped = SealedBox(PublicKey(recipient.public_key)).encrypt(key)
        entries[lower] = {
            "address": recipient.address,
            "public_key": recipient.public_key.hex(),
            "wrapped": bytes(wrapped).hex(),
        }
    document: dict[str, JsonValue] = {
        "schema": KEYS_V1,
        "sealed": SEALED_V1,
        "scope": scope,
        "commitment": key_commitment(key),
        "content": _check_content(content),
        "recipients": [entries[address] for address in sorted(entries)],
    }
    return canonical_json(document)


def _hex_field(entry: Mapping[str, JsonValue], name: str, size: int) -> bytes:
    value = entry.get(name)
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise SealedFormatError(f"recipient {name} must be {size} bytes of lower-case hex")
    return bytes.fromhex(value)


def parse_key_document(data: bytes) -> KeyDocument:
    """Check and parse a key document (schema, fields, sizes, order, canonical form)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SealedFormatError(f"key document of {len(data)} bytes exceeds {MAX_DOCUMENT_BYTES}")
    try:
        document = load_json(data)
    except (DocumentTooDeepError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SealedFormatError(f"malformed key document: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != KEYS_V1:
        raise SealedFormatError(f"not a {KEYS_V1} document")
    if set(document) != {"schema", "sealed", "scope", "commitment", "content", "recipients"}:
        raise SealedFormatError(f"a {KEYS_V1} document has exactly its six fields")
    if document["sealed"] != SEALED_V1:
        raise SealedFormatError(f"unknown sealing format {document['sealed']!r}")
    scope = _check_scope(document["scope"])
    content = _check_content(document["content"])
    commitment = document["commitment"]
    if not isinstance(commitment, str) or len(commitment) != 64 or not _HEX.fullmatch(commitment):
        raise SealedFormatError("commitment must be 32 bytes of lower-case hex")
    recipients = document["recipients"]
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise SealedFormatError(f"recipients must be a list of 1..{MAX_RECIPIENTS} entries")
    wrapped: dict[str, tuple[bytes, bytes]] = {}
    for entry in recipients:
        if not isinstance(entry, dict) or set(entry) != {"address", "public_key", "wrapped"}:
            raise SealedFormatError("a recipient is {address, public_key, wrapped}")
        address = entry["address"]
        if not isinstance(address, str) or not is_checksum_address(address):
            raise SealedFormatError(f"recipient address {str(address)[:64]!r} is not checksummed")
        lower = address.lower()
        if wrapped and lower <= next(reversed(wrapped)):
            raise SealedFormatError("recipients must be sorted by address, each once")
        public_key = _hex_field(entry, "public_key", PUBLIC_KEY_BYTES)
        _check_public_key(public_key, address)
        wrapped[lower] = (public_key, _hex_field(entry, "wrapped", WRAPPED_BYTES))
    if canonical_json(document) != data:
        raise SealedFormatError("key document is not in canonical form")
    return KeyDocument(scope=scope, commitment=commitment, content=content, wrapped=wrapped)


def unwrap_key(document: KeyDocument, address: str, secret_key: bytes) -> bytes:
    """The content key ``document`` wraps for ``address``, opened with its X25519
    ``secret_key`` and checked against the document's commitment.

    Raises :class:`SealedKeyMissingError` if ``address`` is not a recipient and
    :class:`SealedKeyNotYoursError` if the entry was wrapped to another public key or does
    not open with this one.
    """
    entry = document.wrapped.get(address.lower())
    if entry is None:
        raise SealedKeyMissingError(
            f"{address} is not a recipient of {document.scope}: it can fetch the ciphertext only"
        )
    public_key, wrapped = entry
    private = PrivateKey(secret_key)
    if bytes(private.public_key) != public_key:
        raise SealedKeyNotYoursError(
            f"the key of {document.scope} for {address} is wrapped to public key"
            f" {public_key.hex()[:16]}…, this node holds {bytes(private.public_key).hex()[:16]}…"
        )
    try:
        key = SealedBox(private).decrypt(wrapped)
    except CryptoError as exc:
        raise SealedKeyNotYoursError(
            f"the wrapped key of {document.scope} for {address} does not open with this"
            " node's key (tampered)"
        ) from exc
    if len(key) != KEY_BYTES or key_commitment(key) != document.commitment:
        raise SealedTamperedError(
            f"the key wrapped for {address} is not the key {document.scope} commits to"
        )
    return key
