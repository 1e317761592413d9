"""The payout tree against OpenZeppelin's ``@openzeppelin/merkle-tree``, byte for byte.

The contracts verify claims with OpenZeppelin's ``MerkleProof``; a root or proof that
differs from the reference library in any byte is a payout nobody can claim.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address

from node.protocol.merkle import PayoutTree, leaf_hash, verify_proof
from tests.support.node22 import run_node_json

MAX_UINT256 = 2**256 - 1
SIZES = [1, 2, 3, 7, 100]

Payouts = list[tuple[str, int]]


def make_payouts(size: int, seed: int) -> Payouts:
    """Random distinct accounts; amounts include both uint256 extremes when there is room."""
    rng = random.Random(seed)
    extremes = [0, MAX_UINT256, 1]
    payouts: Payouts = []
    for i in range(size):
        account = to_checksum_address(rng.randbytes(20))
        amount = (
            extremes[i]
            if i < len(extremes)
            else rng.choice([rng.randrange(10**24), rng.getrandbits(256)])
        )
        payouts.append((account, amount))
    rng.shuffle(payouts)
    return payouts


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Payouts, dict[str, Any]]]:
    """Each payout list with the tree OpenZeppelin builds from it (one Node process)."""
    all_payouts = [make_payouts(size, seed) for seed, size in enumerate(SIZES)]
    path: Path = tmp_path_factory.mktemp("merkle") / "cases.json"
    path.write_text(json.dumps([[[a, str(x)] for a, x in p] for p in all_payouts]))
    trees = run_node_json("oz_merkle.mjs", str(path), timeout=60)
    return list(zip(all_payouts, trees, strict=True))


def unhex(value: str) -> bytes:
    assert value.startswith("0x")
    return bytes.fromhex(value[2:])


@pytest.mark.parametrize("index", range(len(SIZES)), ids=[f"{n} leaves" for n in SIZES])
def test_root_and_every_proof_match_openzeppelin(
    index: int, cases: list[tuple[Payouts, dict[str, Any]]]
) -> None:
    payouts, reference = cases[index]
    tree = PayoutTree.build(payouts)
    assert tree.root == unhex(reference["root"])
    assert len(reference["entries"]) == len(payouts)
    for entry in reference["entries"]:
        account, amount = entry["account"], int(entry["amount"])
        assert leaf_hash(account, amount) == unhex(entry["leaf"])
        assert tree.proof(account) == [unhex(p) for p in entry["proof"]]
        assert tree.amount(account) == amount


@pytest.mark.parametrize("index", range(len(SIZES)), ids=[f"{n} leaves" for n in SIZES])
def test_openzeppelin_proofs_verify_and_reject_a_wrong_amount(
    index: int, cases: list[tuple[Payouts, dict[str, Any]]]
) -> None:
    _, reference = cases[index]
    root = unhex(reference["root"])
    for entry in reference["entries"]:
        account, amount = entry["account"], int(entry["amount"])
        proof = [unhex(p) for p in entry["proof"]]
        assert verify_proof(root, leaf_hash(account, amount), proof)
        wrong = amount - 1 if amount == MAX_UINT256 else amount + 1
        assert not verify_proof(root, leaf_hash(account, wrong), proof)


def test_cases_cover_the_uint256_extremes(cases: list[tuple[Payouts, dict[str, Any]]]) -> None:
    amounts = {amount for payouts, _ in cases for _, amount in payouts}
    assert {0, MAX_UINT256} <= amounts
