"""The manifest's ``confidential`` field: which sealing a task uses and who may validate it.

A confidential task (docs/confidential.md) states, in its otherwise public manifest::

    "confidential": {"sealed": "labelnet/sealed@1", "commitment": "<hex>",
                     "validators": ["0x…", …]}

``commitment`` is :func:`node.protocol.sealed.key_commitment` of the task key: a node that
unwraps a key from a key document checks it against the manifest's commitment, so a key
document published by anyone but the requester cannot make it open (and label) other
content. ``validators`` are the accounts the requester wraps the task key and every batch
key to; only they can compute the task's consensus, so an unnamed validator skips the task.

A manifest without the field is a public task: its document omits the key, so the bytes
and CID of every existing manifest stay as they were. Kept out of ``manifest.py`` only for
size; :meth:`node.protocol.manifest.Manifest.from_bytes` is still the one parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from eth_utils.address import is_checksum_address

from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.protocol.sealed import SEALED_V1

MAX_VALIDATORS: Final = 64
"""Named validators a task may list: the market's committee is at most 16, a few times that
leaves room for replacements without making every batch key document large."""
_COMMITMENT = re.compile(r"[0-9a-f]{64}")


class ConfidentialError(LabelnetError, ValueError):
    """A malformed ``confidential`` field (raised as a ``ManifestError`` by the parser)."""


@dataclass(frozen=True)
class ConfidentialParams:
    """What a confidential manifest states about its sealing (see the module doc)."""

    commitment: str
    validators: tuple[str, ...]
    sealed: str = SEALED_V1

    def __post_init__(self) -> None:
        if self.sealed != SEALED_V1:
            raise ConfidentialError(f"unknown sealing format {self.sealed!r}")
        if not isinstance(self.commitment, str) or not _COMMITMENT.fullmatch(self.commitment):
            raise ConfidentialError("commitment must be 32 bytes of lower-case hex")
        if not 1 <= len(self.validators) <= MAX_VALIDATORS:
            raise ConfidentialError(f"a confidential task names 1..{MAX_VALIDATORS} validators")
        lowered = [
            address.lower() if isinstance(address, str) else "" for address in self.validators
        ]
        for address in self.validators:
            if not isinstance(address, str) or not is_checksum_address(address):
                raise ConfidentialError(f"validator {str(address)[:64]!r} is not checksummed")
        if lowered != sorted(set(lowered)):
            raise ConfidentialError("validators must be sorted by address, each once")

    def names(self, address: str) -> bool:
        """Whether ``address`` is one of the named validators (any case)."""
        return address.lower() in {validator.lower() for validator in self.validators}

    def document(self) -> dict[str, JsonValue]:
        return {
            "sealed": self.sealed,
            "commitment": self.commitment,
            "validators": list(self.validators),
        }

    @classmethod
    def from_document(cls, entry: JsonValue) -> ConfidentialParams:
        if not isinstance(entry, dict) or set(entry) != {"sealed", "commitment", "validators"}:
            raise ConfidentialError("confidential is {sealed, commitment, validators}")
        validators, commitment, sealed = entry["validators"], entry["commitment"], entry["sealed"]
        if not isinstance(validators, list) or not isinstance(commitment, str):
            raise ConfidentialError("confidential.validators is a list, commitment a string")
        if not isinstance(sealed, str):
            raise ConfidentialError("confidential.sealed is a format id")
        return cls(
            commitment=commitment,
            validators=tuple(str(v) if isinstance(v, str) else "" for v in validators),
            sealed=sealed,
        )

    @classmethod
    def create(cls, commitment: str, validators: list[str]) -> ConfidentialParams:
        """The field for a new task: ``validators`` sorted as the format requires."""
        return cls(commitment=commitment, validators=tuple(sorted(validators, key=str.lower)))
