"""The manifest's ``allowlist`` field: a gated task's allowlist, published so that each
admitted node can build its own Merkle proof (issue #19 item 2, docs/qualification.md).

A gated task may admit only the accounts of an allowlist: the gate stores the root of the
tree :class:`node.protocol.merkle.Allowlist` over them, and a seat claim must carry the
claimant's proof. A proof is a path through the whole tree, so a node can only build it from
the whole list; the task's manifest states it::

    "allowlist": {"scheme": "labelnet/allowlist@1", "accounts": ["0x…", …]}

``accounts`` are checksummed, sorted by address (any case), each once, 1..:data:`MAX_ACCOUNTS`.
A node reads the field, rebuilds the tree, checks its root against the gate's rule (the
chain is authoritative: a list that is not the root's gives no proof, and the node says so)
and sends its proof with ``claimSeat``.

Chosen over a proof handed to each expert off chain because it needs no channel to the
node and no step by its operator, and over a separate document because the manifest is
already what every node fetches, verifies and keeps before it seats. The cost: the list
is public (the accounts would show anyway at their first seat), and it is bytes in the
manifest: :data:`MAX_ACCOUNTS` checksummed addresses are under half a MiB of the
manifest's 4 MiB. A manifest without the field (every task of no allowlist) omits the key,
so its bytes and CID stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from eth_utils.address import is_checksum_address, to_checksum_address

from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.protocol.merkle import Allowlist

ALLOWLIST_V1: Final = "labelnet/allowlist@1"
"""The field's scheme: the accounts as listed here, the tree :class:`Allowlist` over them."""
MAX_ACCOUNTS: Final = 10_000


class AllowlistFieldError(LabelnetError, ValueError):
    """A malformed ``allowlist`` field (raised as a ``ManifestError`` by the parser)."""


@dataclass(frozen=True)
class AllowlistParams:
    """What a manifest states about its task's allowlist (see the module doc)."""

    accounts: tuple[str, ...]
    scheme: str = ALLOWLIST_V1

    def __post_init__(self) -> None:
        if self.scheme != ALLOWLIST_V1:
            raise AllowlistFieldError(f"unknown allowlist scheme {self.scheme!r}")
        if not 1 <= len(self.accounts) <= MAX_ACCOUNTS:
            raise AllowlistFieldError(f"an allowlist lists 1..{MAX_ACCOUNTS} accounts")
        for account in self.accounts:
            if not isinstance(account, str) or not is_checksum_address(account):
                raise AllowlistFieldError(f"account {str(account)[:64]!r} is not checksummed")
        lowered = [account.lower() for account in self.accounts]
        if lowered != sorted(set(lowered)):
            raise AllowlistFieldError("allowlist accounts must be sorted by address, each once")

    def tree(self) -> Allowlist:
        """The Merkle tree whose root a gate states and whose paths are the proofs."""
        return Allowlist.build(self.accounts)

    def document(self) -> dict[str, JsonValue]:
        return {"scheme": self.scheme, "accounts": list(self.accounts)}

    @classmethod
    def from_document(cls, entry: JsonValue) -> AllowlistParams:
        if not isinstance(entry, dict) or set(entry) != {"scheme", "accounts"}:
            raise AllowlistFieldError("allowlist is {scheme, accounts}")
        accounts, scheme = entry["accounts"], entry["scheme"]
        if not isinstance(accounts, list) or not isinstance(scheme, str):
            raise AllowlistFieldError("allowlist.accounts is a list, scheme a string")
        return cls(
            accounts=tuple(str(a) if isinstance(a, str) else "" for a in accounts),
            scheme=scheme,
        )

    @classmethod
    def create(cls, accounts: Sequence[str]) -> AllowlistParams:
        """The field for a new task: ``accounts`` (any case, any order) checksummed and
        sorted as the format requires; a duplicate is an error, as in :class:`Allowlist`."""
        try:
            normalized = [to_checksum_address(account) for account in accounts]
        except ValueError as exc:
            raise AllowlistFieldError(f"not an address: {exc}") from exc
        if len(set(normalized)) != len(normalized):
            raise AllowlistFieldError("duplicate account in the allowlist")
        return cls(accounts=tuple(sorted(normalized, key=str.lower)))
