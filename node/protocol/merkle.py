"""Payout Merkle tree, byte-compatible with OpenZeppelin's ``StandardMerkleTree``.

The contracts verify claims with OpenZeppelin's ``MerkleProof`` (sorted-pair hashing), and
the JavaScript ecosystem builds the same trees with ``@openzeppelin/merkle-tree``. Using
its exact conventions means a payout root computed here can be checked by any of them:

* leaf = ``keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`` — the double
  hash keeps a 64-byte leaf preimage from ever being mistaken for an inner node;
* leaves sorted ascending by hash, laid out in a flat array of ``2n - 1`` nodes with the
  leaves at the end in reverse order, each parent ``keccak256(sort(left, right))``;
* a proof is the list of siblings from the leaf up to (not including) the root.

A tree with one leaf has that leaf as its root and an empty proof, as in OpenZeppelin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address

from node.errors import LabelnetError
from node.protocol.keccak import keccak256 as keccak

Payout = tuple[str, int]
"""``(account, amount)``: an account's checksummed address and its integer token amount."""

REVIEW_LEAF_TAG = 1 << 255
"""The bit that marks a *review leaf* (docs/review.md §6): a leaf of the same tree, paid by
the ReviewBoard and never by the market (whose claim needs ``paidOut + amount <=
totalPayout < 2**96``). Its amount packs a reviewer's pay, slash and votes
(:func:`node.protocol.review.review_leaf_amount`); the market's total leaves it out."""


class MerkleTreeError(LabelnetError, ValueError):
    """Raised for inputs that cannot form a payout tree (empty, duplicate accounts, ...)."""


def leaf_hash(account: str, amount: int) -> bytes:
    """The OpenZeppelin standard leaf for ``(address account, uint256 amount)``."""
    if amount < 0 or amount >= 2**256:
        raise MerkleTreeError(f"amount out of uint256 range: {amount}")
    return keccak(keccak(abi_encode(["address", "uint256"], [account, amount])))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative node hash: the two children in ascending byte order."""
    return keccak(a + b) if a <= b else keccak(b + a)


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Recompute the root from ``leaf`` and ``proof``, as ``MerkleProof.verify`` does."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def build_nodes(leaves: Sequence[bytes]) -> tuple[list[bytes], list[int]]:
    """Lay out a standard tree over already-hashed ``leaves``.

    Returns the flat node array (root at 0) and, for each input leaf, its position in it.
    Leaves are sorted by hash first, so the root does not depend on the input order.
    """
    if not leaves:
        raise MerkleTreeError("a Merkle tree needs at least one leaf")
    order = sorted(range(len(leaves)), key=lambda i: leaves[i])
    n = len(leaves)
    nodes: list[bytes] = [b""] * (2 * n - 1)
    positions = [0] * n
    for rank, original in enumerate(order):
        position = len(nodes) - 1 - rank
        nodes[position] = leaves[original]
        positions[original] = position
    for i in range(len(nodes) - 1 - n, -1, -1):
        nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
    return nodes, positions


def _path(nodes: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from node ``index`` up to (not including) the root."""
    path: list[bytes] = []
    while index > 0:
        sibling = index - 1 if index % 2 == 0 else index + 1
        path.append(nodes[sibling])
        index = (index - 1) // 2
    return path


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of the standard tree over already-hashed ``leaves``."""
    return build_nodes(leaves)[0][0]


@dataclass(frozen=True)
class PayoutTree:
    """An immutable payout tree; build it with :meth:`build`."""

    payouts: tuple[Payout, ...]
    _nodes: tuple[bytes, ...] = field(repr=False)
    _index_of: dict[str, int] = field(repr=False)

    @classmethod
    def build(cls, payouts: Sequence[Payout]) -> PayoutTree:
        """Build the tree. Accounts must be distinct; the input order does not matter."""
        if not payouts:
            raise MerkleTreeError("a payout tree needs at least one leaf")
        normalized = tuple((to_checksum_address(a), int(x)) for a, x in payouts)
        if len({a for a, _ in normalized}) != len(normalized):
            raise MerkleTreeError("duplicate account in payouts")
        leaves = [leaf_hash(a, x) for a, x in normalized]
        nodes, positions = build_nodes(leaves)
        index_of = {str(account): positions[i] for i, (account, _) in enumerate(normalized)}
        return cls(payouts=tuple(sorted(normalized)), _nodes=tuple(nodes), _index_of=index_of)

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    @property
    def total(self) -> int:
        """What the market pays from this tree (its attested ``totalPayout``): every leaf but
        review leaves, which the ReviewBoard pays from its own escrow."""
        return sum(amount for _, amount in self.payouts if not amount & REVIEW_LEAF_TAG)

    def proof(self, account: str) -> list[bytes]:
        """Sibling hashes from ``account``'s leaf up to the root."""
        try:
            index = self._index_of[to_checksum_address(account)]
        except KeyError as exc:
            raise MerkleTreeError(f"account {account} has no leaf in this tree") from exc
        return _path(self._nodes, index)

    def amount(self, account: str) -> int:
        """The amount in ``account``'s leaf."""
        checksummed = to_checksum_address(account)
        for holder, amount in self.payouts:
            if holder == checksummed:
                return amount
        raise MerkleTreeError(f"account {account} has no leaf in this tree")


def account_leaf(account: str) -> bytes:
    """The allowlist leaf of a gated task (``IQualifications``): the standard double hash of
    ``abi.encode(account)``."""
    return keccak(keccak(abi_encode(["address"], [account])))


@dataclass(frozen=True)
class Allowlist:
    """A gated task's allowlist: the standard tree over :func:`account_leaf`, whose root the
    requester states and whose proofs the admitted accounts send with their seat claim."""

    accounts: tuple[str, ...]
    _nodes: tuple[bytes, ...] = field(repr=False)
    _index_of: dict[str, int] = field(repr=False)

    @classmethod
    def build(cls, accounts: Sequence[str]) -> Allowlist:
        """Build the tree over distinct ``accounts`` (their order does not matter)."""
        normalized = tuple(to_checksum_address(a) for a in accounts)
        if len(set(normalized)) != len(normalized):
            raise MerkleTreeError("duplicate account in the allowlist")
        nodes, positions = build_nodes([account_leaf(a) for a in normalized])
        index_of = {str(a): positions[i] for i, a in enumerate(normalized)}
        return cls(accounts=tuple(sorted(normalized)), _nodes=tuple(nodes), _index_of=index_of)

    @property
    def root(self) -> bytes:
        return self._nodes[0]

    def proof(self, account: str) -> list[bytes]:
        """``account``'s proof; raises :class:`MerkleTreeError` if it is not listed."""
        try:
            index = self._index_of[to_checksum_address(account)]
        except KeyError as exc:
            raise MerkleTreeError(f"account {account} is not on the allowlist") from exc
        return _path(self._nodes, index)
