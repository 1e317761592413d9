"""The node's keys: its account key, kept as an encrypted Ethereum V3 keystore, and its
X25519 encryption key for confidential tasks (:func:`create_encryption_key`).

The keystore's format is the one ``eth-account``, geth and ``cast wallet`` read and write (scrypt +
AES-128-CTR), so a key made by any of them works here and vice versa. The file is created
with mode 0600 and never written unencrypted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey
from nacl.pwhash import argon2id
from nacl.secret import SecretBox
from nacl.utils import random as nacl_random

from node.errors import LabelnetError
from node.files import write_atomic
from node.protocol.canonical import load_json


class KeystoreError(LabelnetError, ValueError):
    """The keystore is missing, malformed, or the password is wrong."""


FAST_SCRYPT_N = 2**10
"""A deliberately weak scrypt cost (eth-account's default is 2**18) for throwaway devnet keys:
twenty keystores are made and opened in milliseconds instead of seconds. Never for real keys."""


def create_keystore(
    path: Path,
    password: str,
    private_key: bytes | None = None,
    *,
    scrypt_n: int | None = None,
) -> LocalAccount:
    """Write a new (or the given) key to ``path``, encrypted with ``password``.

    ``scrypt_n`` is the scrypt cost (a power of two); ``None`` keeps eth-account's secure
    default. Only local devnets pass a lower one (:data:`FAST_SCRYPT_N`).
    """
    if path.exists():
        raise KeystoreError(f"{path} already exists; refusing to overwrite a key")
    if not password:
        raise KeystoreError("a keystore needs a non-empty password")
    try:
        account: LocalAccount = Account.from_key(private_key) if private_key else Account.create()
    except ValueError as exc:  # eth-keys says "must be exactly 32 bytes long" even when it is
        raise KeystoreError(
            "not a secp256k1 private key: as a number it must be from 1 to the curve order - 1 "
            "(all zeros and all ff are not)"
        ) from exc
    if scrypt_n is not None and (scrypt_n < 2 or scrypt_n & (scrypt_n - 1)):
        raise KeystoreError(f"scrypt cost must be a power of two >= 2, got {scrypt_n}")
    encrypted = (
        Account.encrypt(account.key, password)
        if scrypt_n is None
        else Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    )
    write_atomic(path, json.dumps(encrypted).encode(), mode=0o600)
    return account


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt the keystore at ``path``."""
    try:
        # Depth-checked: web3 lifts the recursion limit (see node.protocol.canonical).
        document: dict[str, Any] = load_json(path.read_text().encode())
    except FileNotFoundError as exc:
        raise KeystoreError(
            f"no keystore at {path}: create one with `labelnet wallet new`"
        ) from exc
    except ValueError as exc:  # not JSON, not UTF-8, nested too deep
        raise KeystoreError(f"{path} is not a JSON keystore: {exc}") from exc
    try:
        key = Account.decrypt(document, password)
    except ValueError as exc:
        raise KeystoreError(f"wrong password for keystore {path}") from exc
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"{path} is not a V3 keystore: missing {exc}") from exc
    account: LocalAccount = Account.from_key(key)
    return account


def keystore_address(path: Path) -> str:
    """The address recorded in a keystore, without decrypting it."""
    try:
        address = load_json(path.read_text().encode())["address"]
    except (OSError, ValueError, KeyError) as exc:
        raise KeystoreError(f"cannot read the address of keystore {path}: {exc}") from exc
    return to_checksum_address("0x" + str(address).removeprefix("0x"))


ENCRYPTION_KEY_FORMAT = "labelnet/encryption-key@1"
"""Format id of the file holding a node's X25519 key pair (see :func:`create_encryption_key`)."""


class EncryptionKey:
    """A node's X25519 key pair: the public half is announced (``NodeRegistry.announceKey``)
    so requesters and annotators can wrap content keys to it; the secret half opens them."""

    def __init__(self, secret: bytes) -> None:
        self._private = PrivateKey(secret)

    @property
    def secret(self) -> bytes:
        """The 32 secret bytes (for :func:`node.protocol.sealed_keys.unwrap_key`)."""
        return bytes(self._private)

    @property
    def public_key(self) -> bytes:
        """The 32 public bytes a node announces."""
        return bytes(self._private.public_key)


def _encryption_file_key(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(SecretBox.KEY_SIZE, password.encode(), salt, opslimit, memlimit)


def create_encryption_key(path: Path, password: str, *, fast: bool = False) -> EncryptionKey:
    """Make a node's X25519 key pair and write it to ``path`` encrypted with ``password``.

    Kept apart from the account keystore on purpose: the account key signs transactions
    (secp256k1) and the encryption key opens wrapped content keys (X25519); one key for both
    would tie a leak of either to both. Stored like the keystore: mode 0600, never
    unencrypted, here Argon2id (libsodium's moderate cost; ``fast`` is its minimum, for
    throwaway devnet nodes only) + XSalsa20-Poly1305.
    """
    if path.exists():
        raise KeystoreError(f"{path} already exists; refusing to overwrite a key")
    if not password:
        raise KeystoreError("an encryption key file needs a non-empty password")
    opslimit = argon2id.OPSLIMIT_MIN if fast else argon2id.OPSLIMIT_MODERATE
    memlimit = argon2id.MEMLIMIT_MIN if fast else argon2id.MEMLIMIT_MODERATE
    salt = nacl_random(argon2id.SALTBYTES)
    key = EncryptionKey(bytes(PrivateKey.generate()))
    box = SecretBox(_encryption_file_key(password, salt, opslimit, memlimit))
    document = {
        "format": ENCRYPTION_KEY_FORMAT,
        "public_key": key.public_key.hex(),
        "kdf": {"name": "argon2id", "salt": salt.hex(), "opslimit": opslimit, "memlimit": memlimit},
        "ciphertext": bytes(box.encrypt(key.secret)).hex(),
    }
    write_atomic(path, json.dumps(document).encode(), mode=0o600)
    return key


def load_encryption_key(path: Path, password: str) -> EncryptionKey:
    """Decrypt the node's X25519 key pair at ``path`` (and check it is the public key the
    file states, which is what the node announced)."""
    try:
        # Depth-checked and strictly UTF-8, as keystores are (load_keystore).
        document: dict[str, Any] = load_json(path.read_text(encoding="utf-8").encode())
    except FileNotFoundError as exc:
        raise KeystoreError(f"no encryption key at {path}: a confidential task needs one") from exc
    except ValueError as exc:  # not JSON, not UTF-8, nested too deep
        raise KeystoreError(f"{path} is not a JSON encryption key file: {exc}") from exc
    try:
        if document["format"] != ENCRYPTION_KEY_FORMAT:
            raise KeystoreError(f"{path} is not a {ENCRYPTION_KEY_FORMAT} file")
        kdf = document["kdf"]
        salt, opslimit, memlimit = bytes.fromhex(kdf["salt"]), kdf["opslimit"], kdf["memlimit"]
        ciphertext = bytes.fromhex(document["ciphertext"])
        public_key = bytes.fromhex(document["public_key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"{path} is not a {ENCRYPTION_KEY_FORMAT} file: {exc}") from exc
    # A damaged file must not make argon2id take terabytes or hours: the limits this module
    # writes are libsodium's minimum and moderate ones, so its sensitive ones bound them.
    if not (
        type(opslimit) is int
        and type(memlimit) is int
        and argon2id.OPSLIMIT_MIN <= opslimit <= argon2id.OPSLIMIT_SENSITIVE
        and argon2id.MEMLIMIT_MIN <= memlimit <= argon2id.MEMLIMIT_SENSITIVE
    ):
        raise KeystoreError(
            f"{path}: argon2id limits out of range (opslimit {opslimit!r}, memlimit {memlimit!r})"
        )
    file_key = _encryption_file_key(password, salt, opslimit, memlimit)
    try:
        key = EncryptionKey(SecretBox(file_key).decrypt(ciphertext))
    except CryptoError as exc:
        raise KeystoreError(f"wrong password for encryption key {path}") from exc
    if key.public_key != public_key:
        raise KeystoreError(f"{path}: the secret key does not match the stated public key")
    return key


def encryption_key_path(keystore: Path) -> Path:
    """Where a node keeps its encryption key: beside its account keystore
    (``keystore.json`` → ``keystore.x25519.json``), under the same password."""
    return keystore.with_name(keystore.stem + ".x25519.json")


def load_or_create_encryption_key(path: Path, password: str) -> EncryptionKey:
    """The node's encryption key at ``path``, made (at the secure cost) if there is none:
    every node with an account can then announce a key and be admitted to a confidential
    task; a devnet provisions its keys beforehand at the cheap cost."""
    if not path.exists():
        return create_encryption_key(path, password)
    return load_encryption_key(path, password)
