"""The node's account key, kept as an encrypted Ethereum V3 keystore.

The format is the one ``eth-account``, geth and ``cast wallet`` read and write (scrypt +
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

from node.errors import LabelnetError
from node.files import write_atomic


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
    account: LocalAccount = Account.from_key(private_key) if private_key else Account.create()
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
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise KeystoreError(
            f"no keystore at {path}: create one with `labelnet wallet new`"
        ) from exc
    except json.JSONDecodeError as exc:
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
        address = json.loads(path.read_text())["address"]
    except (OSError, ValueError, KeyError) as exc:
        raise KeystoreError(f"cannot read the address of keystore {path}: {exc}") from exc
    return to_checksum_address("0x" + str(address).removeprefix("0x"))
