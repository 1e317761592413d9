"""``labelnet/sealed@1``: content readable only by holders of a key, still addressed by CID.

A confidential task (see ``docs/confidential.md``) stores its item pages, media and revealed
label batches *sealed*: encrypted with a 32-byte content key under XChaCha20-Poly1305 (IETF
AEAD, libsodium through PyNaCl). The CID is computed over the sealed bytes, so the store,
the gateway and every reader verify exactly as they do for public content; decryption is an
extra step only key holders can take.

A sealed blob is ``MAGIC || nonce (24 bytes) || ciphertext+tag``. The associated data binds
the blob to its *context* (``items/3``, ``media/<item id>``, ``label-items/0``...), so a
page sealed as page 3 cannot be presented as page 1 even under the same key.

Nonces are *synthetic*: ``BLAKE2b-192`` keyed with a subkey of the content key over the
context and the plaintext. Sealing is therefore deterministic (a requester rebuilding a task
gets the same CIDs), and this is safe because a (key, nonce) pair can only repeat for the
same context *and* the same plaintext, i.e. the same ciphertext; different plaintexts get
different nonces except with probability 2^-96 per pair, so no keystream is ever reused for
two messages. What it reveals is only that two sealed blobs are equal, which their equal
CIDs already say. A random nonce would be equally safe but makes every rebuild a new CID.
"""

from __future__ import annotations

import re
from typing import Final

from nacl import bindings
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.utils import random as random_bytes

from node.errors import LabelnetError

SEALED_V1: Final = "labelnet/sealed@1"
"""Id of this format; a confidential manifest names it in its ``confidential`` field."""

MAGIC: Final = b"lnsealed\x01"
"""First bytes of every sealed blob: the format and its version, so a reader refuses a blob
of another version instead of failing its tag check."""

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 24
TAG_BYTES: Final = 16
OVERHEAD: Final = len(MAGIC) + NONCE_BYTES + TAG_BYTES
"""Bytes a sealed blob adds to its plaintext (a gateway observer sees the size minus this)."""

MAX_CONTEXT: Final = 512
_CONTEXT = re.compile(r"[a-z][a-z-]*/[^\x00-\x1f]+|[a-z][a-z-]*")
"""A context is a purpose (``items``, ``media``, ``labels``...) and, for one of many, a
position or id after a slash."""

_PERSON_ENC: Final = b"lnsealed1-enc"
_PERSON_NONCE: Final = b"lnsealed1-nonce"
_PERSON_COMMIT: Final = b"lnsealed1-commit"


class SealedError(LabelnetError, ValueError):
    """A sealed blob, key or key document is unusable; subclasses say why."""


class SealedTamperedError(SealedError):
    """The blob fails authentication: changed bytes, another context, or another key."""


class SealedFormatError(SealedError):
    """The bytes are not a ``sealed@1`` blob (or a key document is malformed)."""


class SealedKeyMissingError(SealedError):
    """This node has no key for the content: it is not a recipient, or holds no key pair."""


class SealedKeyNotYoursError(SealedError):
    """A wrapped key was made for another public key than the one this node holds."""


class Opened(bytes):
    """Plaintext of a sealed blob whose ciphertext was verified against its CID and whose
    tag was checked: the CID a root lists names the ciphertext, so page readers
    (:func:`node.protocol.paging.parse_page`) take these bytes as that CID's content
    instead of hashing the plaintext. Only :class:`node.store.sealed.SealedView` makes
    them, after both checks; bytes from anywhere else are hashed as before."""

    __slots__ = ()


def new_content_key() -> bytes:
    """A fresh random 32-byte content key (per task for items and media, per batch for
    revealed labels); it never leaves its holder except wrapped to a recipient."""
    return random_bytes(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise SealedFormatError(f"a content key is {KEY_BYTES} bytes")


def _check_context(context: str) -> bytes:
    encoded = context.encode()
    if len(encoded) > MAX_CONTEXT or not _CONTEXT.fullmatch(context):
        raise SealedFormatError(f"invalid sealing context {context[:64]!r}")
    return encoded


def _subkey(key: bytes, person: bytes, size: int = KEY_BYTES) -> bytes:
    """Domain-separated subkeys, so the encryption key is never the nonce or commitment key."""
    return blake2b(b"", digest_size=size, key=key, person=person, encoder=RawEncoder)


def key_commitment(key: bytes) -> str:
    """A public, hex commitment to ``key``; a recipient checks an unwrapped key against it
    (the key document states it) before trusting the key, so a forged wrap is refused with
    a clear error rather than a failed decryption later. Reveals nothing about a random key."""
    _check_key(key)
    return _subkey(key, _PERSON_COMMIT).hex()


def _aad(context: bytes) -> bytes:
    return MAGIC + context


def seal(key: bytes, context: str, plaintext: bytes) -> bytes:
    """``plaintext`` sealed under ``key`` for ``context`` (deterministic; see module doc)."""
    _check_key(key)
    aad = _aad(_check_context(context))
    nonce = blake2b(
        len(aad).to_bytes(4, "big") + aad + plaintext,
        digest_size=NONCE_BYTES,
        key=_subkey(key, _PERSON_NONCE),
        encoder=RawEncoder,
    )
    ciphertext = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, aad, nonce, _subkey(key, _PERSON_ENC)
    )
    return MAGIC + nonce + ciphertext


def is_sealed(blob: bytes) -> bool:
    """Whether ``blob`` claims to be a ``sealed@1`` blob (says nothing about its tag)."""
    return blob.startswith(MAGIC) and len(blob) >= OVERHEAD


def open_sealed(key: bytes, context: str, blob: bytes) -> bytes:
    """The plaintext of ``blob``; :class:`SealedTamperedError` if it fails authentication."""
    _check_key(key)
    aad = _aad(_check_context(context))
    if not is_sealed(blob):
        raise SealedFormatError(f"not a {SEALED_V1} blob ({len(blob)} bytes)")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[len(MAGIC) + NONCE_BYTES :], aad, nonce, _subkey(key, _PERSON_ENC)
        )
    except CryptoError as exc:
        raise SealedTamperedError(
            f"sealed blob for {context!r} fails authentication: tampered, another"
            " context, or another key"
        ) from exc
