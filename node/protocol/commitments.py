"""The hashes annotators and requesters commit to, exactly as the market recomputes them."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak


def label_commitment(task_id: int, annotator: str, labels_root: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(taskId, annotator, labelsRoot, salt))``.

    Binding the task and the annotator stops a commitment from being replayed on another
    task or copied by another account; the secret salt stops the root being guessed.
    """
    return keccak(
        abi_encode(
            ["uint256", "address", "bytes32", "bytes32"],
            [task_id, to_checksum_address(annotator), labels_root, salt],
        )
    )


def gold_commitment(gold_root: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(goldRoot, salt))``, fixed at task creation."""
    return keccak(abi_encode(["bytes32", "bytes32"], [gold_root, salt]))


def algorithm_id(name: str) -> bytes:
    """A consensus algorithm name such as ``"ds-gold@1"`` as a left-aligned bytes32."""
    raw = name.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"algorithm id must be 1..32 ASCII bytes: {name!r}")
    return raw.ljust(32, b"\0")
