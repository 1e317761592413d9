"""keccak256 for the protocol's hot loops: label leaves and Merkle nodes.

A validator hashes every label of every batch (three hashes per label, one more per inner
node), and an annotator its own batch: about four million hashes for a task of a million
items. ``eth_utils.keccak`` spends most of its ~10 µs per call in argument checks and
backend dispatch; ``safe-pysha3``'s C ``keccak_256`` is the same function (Keccak-256 with
the original padding, as the EVM computes it) in under 1 µs. The bytes are identical; a
test holds them equal to ``eth_utils``.
"""

from __future__ import annotations

from sha3 import keccak_256


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data``, as Solidity's ``keccak256``."""
    return bytes(keccak_256(data).digest())
