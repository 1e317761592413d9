"""The requester's gold secrets: the answers and salt behind a task's gold commitment.

``createTask`` records only ``keccak256(abi.encode(goldRoot, salt))``; revealing later needs
the gold set and the salt, and losing them loses the gold for good. So they are written to
disk *before* the transaction is sent (a crash after sending still finds them), atomically
(temporary file, fsync, rename, fsync of the directory: a file is either whole or absent)
and readable by the owner only, since anyone holding them could leak the answers to
annotators before the reveal.
"""

from __future__ import annotations

import json
from pathlib import Path

from node.errors import LabelnetError
from node.files import write_atomic
from node.protocol.commitments import gold_commitment
from node.protocol.gold import GoldSet
from node.protocol.manifest import ManifestError

SECRET_SCHEMA = "labelnet/gold-secret@1"


class GoldSecretError(LabelnetError, ValueError):
    """A stored gold secret that is unreadable or does not match its commitment."""


class GoldSecrets:
    """Gold sets and salts by commitment, one file each: ``<directory>/<commitment hex>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, commitment: bytes) -> Path:
        return self.directory / f"{commitment.hex()}.json"

    def save(self, commitment: bytes, gold: GoldSet, salt: bytes) -> None:
        """Store the secret (idempotent: saving the same secret twice is harmless)."""
        if len(salt) != 32 or gold_commitment(gold.root(), salt) != commitment:
            raise GoldSecretError("the gold set and salt do not produce this commitment")
        document = {
            "schema": SECRET_SCHEMA,
            "salt": "0x" + salt.hex(),
            "gold": json.loads(gold.to_bytes()),
        }
        write_atomic(self.path(commitment), json.dumps(document, sort_keys=True).encode())

    def find(self, commitment: bytes) -> tuple[GoldSet, bytes] | None:
        """The gold set and salt saved for ``commitment``, or None if there is none."""
        path = self.path(commitment)
        try:
            document = json.loads(path.read_bytes())
            salt = bytes.fromhex(str(document["salt"]).removeprefix("0x"))
            stored = document["gold"]
            if not isinstance(stored, dict):
                raise TypeError("the gold is not a JSON object")
            gold = GoldSet.from_document(stored)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ManifestError) as exc:
            raise GoldSecretError(f"{path}: unreadable gold secret: {exc}") from exc
        if gold_commitment(gold.root(), salt) != commitment:
            raise GoldSecretError(f"{path}: the stored gold does not match its commitment")
        return gold, salt

    def record_reveal(self, commitment: bytes, tx_hash: str) -> None:
        """Remember the hash of the sent ``revealGold``, so a restart looks it up instead of
        sending again."""
        write_atomic(self.directory / f"{commitment.hex()}.reveal", tx_hash.encode("ascii"))

    def reveal_tx(self, commitment: bytes) -> str | None:
        """The recorded ``revealGold`` transaction hash, if one was sent."""
        try:
            return (self.directory / f"{commitment.hex()}.reveal").read_text("ascii").strip()
        except FileNotFoundError:
            return None
