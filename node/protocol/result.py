"""The result of one task as the protocol fixes it: the ``labelnet/result@1`` schema, the
document's canonical bytes and CID, and the payout Merkle tree whose root validators attest.

Everything a validator attests is derived from integers and fixed-point strings, so two
honest validators produce the same bytes, hence the same CID and the same root. The
document's content is filled by the consensus (:mod:`node.consensus.result`,
:mod:`node.consensus.task_kinds`); this module owns its form.

Payout tree: one leaf per annotator with a positive payout (OpenZeppelin standard leaf of
``(address, uint256)``, :mod:`node.protocol.merkle`). The requester has no leaf: the
contract refunds ``reward_pool - total_payout`` by itself. When nobody earns anything
there are no leaves and the attested root is 32 zero bytes (nothing can be claimed
against it, since the total is zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.merkle import MerkleTreeError, PayoutTree

SCHEMA = "labelnet/result@1"
EMPTY_ROOT = bytes(32)
MAX_RESULT_BYTES = 512 * 1024 * 1024
"""Largest result document any reader accepts. A ``result@1`` document grows with the task
(about 90 bytes per item, plus one entry per annotator): 4 MiB, the limit of the other
protocol documents, stopped a 60,000-item task at its claims."""


@dataclass(frozen=True)
class PayoutResult:
    """Payout leaves (checksummed account, amount), their tree (if any) and its root."""

    leaves: tuple[tuple[str, int], ...]
    tree: PayoutTree | None

    @property
    def root(self) -> bytes:
        return self.tree.root if self.tree is not None else EMPTY_ROOT

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.leaves)

    def proof(self, account: str) -> list[bytes]:
        """Merkle proof of ``account``'s leaf (raises if it has none)."""
        if self.tree is None:
            raise MerkleTreeError(f"account {account} has no leaf: nobody is paid")
        return self.tree.proof(account)


def payout_result(annotators: tuple[str, ...], payouts: tuple[int, ...]) -> PayoutResult:
    """The payout tree over every annotator with a positive payout."""
    leaves = tuple(
        (to_checksum_address(account), amount)
        for account, amount in zip(annotators, payouts, strict=True)
        if amount > 0
    )
    return PayoutResult(leaves=leaves, tree=PayoutTree.build(leaves) if leaves else None)


def encode_document(document: dict[str, Any]) -> tuple[bytes, str]:
    """Canonical bytes of a result document and their CID."""
    data = canonical_json(document)
    return data, compute_cid(data)
