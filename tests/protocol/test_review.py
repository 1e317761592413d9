"""The review round's bytes (node/protocol/review.py): the vote commitment, pinned; the
review parameters as a manifest states them; the valid-reveal rule; votes as label batches."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from node.protocol.commitments import label_commitment
from node.protocol.errors import InvalidParameterError
from node.protocol.labels import LabelBatch, label_leaf
from node.protocol.merkle import REVIEW_LEAF_TAG, PayoutTree, merkle_root
from node.protocol.review import (
    REVIEW_TAG,
    ReviewParams,
    ReviewTerms,
    contested_cap,
    read_review_leaf,
    review_commitment,
    review_leaf_amount,
    valid_votes,
    vote_batch,
)

REVIEWER = "0x" + "ab" * 20
ROOT = bytes(range(32))
SALT = b"\x11" * 32

# keccak256(abi.encode(bytes32("review@1"), 7, 0xabab…ab, 0x0001…1f, 0x1111…11)), pinned once.
PINNED_COMMITMENT = "4f9b41a465b958bdb36a9be57b95de6837c8151d9dc8ce33c5650e358d8bc836"


def test_commitment_is_pinned_and_is_the_tagged_abi_encoding() -> None:
    commitment = review_commitment(7, REVIEWER, ROOT, SALT)
    assert commitment.hex() == PINNED_COMMITMENT
    assert len(REVIEW_TAG) == 32
    assert REVIEW_TAG.rstrip(b"\0") == b"review@1"
    encoded = abi_encode(
        ["bytes32", "uint256", "address", "bytes32", "bytes32"],
        [REVIEW_TAG, 7, "0x" + "Ab" * 20, ROOT, SALT],
    )
    assert commitment == keccak(encoded)


def test_commitment_binds_task_account_root_and_salt_and_is_not_a_label_commitment() -> None:
    base = review_commitment(7, REVIEWER, ROOT, SALT)
    assert base != label_commitment(7, REVIEWER, ROOT, SALT)
    assert base != review_commitment(8, REVIEWER, ROOT, SALT)
    assert base != review_commitment(7, "0x" + "cd" * 20, ROOT, SALT)
    assert base != review_commitment(7, REVIEWER, bytes(32), SALT)
    assert base != review_commitment(7, REVIEWER, ROOT, bytes(32))


def test_votes_are_a_label_batch_with_its_root() -> None:
    batch = vote_batch(3, REVIEWER, {"b": "cat", "a": "dog"})
    assert isinstance(batch, LabelBatch)
    assert batch.labels == (("a", "dog"), ("b", "cat"))
    assert batch.root() == merkle_root([label_leaf("a", "dog"), label_leaf("b", "cat")])


@pytest.mark.parametrize(
    ("votes", "task", "valid"),
    [
        ({"a": "dog", "b": "cat"}, 3, True),
        ({"a": "dog"}, 3, False),  # a contested item without a vote
        ({"a": "dog", "b": "cat", "c": "cat"}, 3, False),  # a vote on an item not contested
        ({"a": "dog", "b": "cow"}, 3, False),  # not a class of the task
        ({"a": "dog", "c": "cat"}, 3, False),  # right count, wrong item
        ({"a": "dog", "b": "cat"}, 4, False),  # another task's batch
    ],
)
def test_a_valid_reveal_votes_once_on_every_contested_item(
    votes: dict[str, str], task: int, valid: bool
) -> None:
    batch = vote_batch(task, REVIEWER, votes)
    got = valid_votes(batch, 3, ("b", "a"), ("cat", "dog"))
    assert got == ({"a": "dog", "b": "cat"} if valid else None)


def test_an_integer_vote_reads_as_its_class_id() -> None:
    batch = LabelBatch.create(3, REVIEWER, [("a", 1), ("b", "0")])
    assert valid_votes(batch, 3, ("a", "b"), ("0", "1")) == {"a": "1", "b": "0"}


def test_parameters_round_trip_through_the_manifest_section() -> None:
    params = ReviewParams.create(10, 20, "0.05", "1", "0.75", 9)
    section = params.document()
    assert section == {
        "rule": "review@1",
        "contested": "contested@1",
        "contested_share": "0.050000000",
        "contested_below": "1.000000000",
        "fee_per_vote": "10",
        "slash_per_vote": "20",
        "gold_floor": "0.750000000",
        "max_reviewers": 9,
    }
    assert ReviewParams.from_document(section) == params


@pytest.mark.parametrize(
    "change",
    [
        {"rule": "review@2"},
        {"contested": "contested@2"},
        {"fee_per_vote": "-1"},
        {"fee_per_vote": "010"},
        {"fee_per_vote": "\u00b2"},
        {"slash_per_vote": "0"},
        {"contested_share": "1.5"},
        {"gold_floor": 0.8},
        {"max_reviewers": 33},
        {"max_reviewers": "7"},
    ],
)
def test_a_section_this_engine_cannot_run_is_refused(change: dict[str, object]) -> None:
    section: dict[str, object] = {**ReviewParams.create(10, 20).document(), **change}
    with pytest.raises(InvalidParameterError):
        ReviewParams.from_document(section)  # type: ignore[arg-type]


def test_a_section_missing_a_field_is_refused() -> None:
    section = ReviewParams.create(10, 20).document()
    del section["gold_floor"]
    with pytest.raises(InvalidParameterError, match="gold_floor"):
        ReviewParams.from_document(section)


def test_cap_lock_and_escrow_are_exact_integers() -> None:
    params = ReviewParams.create(10**16, 2 * 10**16)  # share 0.1, seven seats
    assert contested_cap(8315, params.contested_share_ppb) == 831
    assert contested_cap(9, params.contested_share_ppb) == 0
    assert params.lock(831) == 831 * 2 * 10**16
    assert params.fee_escrow(8315) == 831 * 7 * 10**16


def test_a_review_leaf_packs_pay_slash_and_votes_under_the_tag() -> None:
    amount = review_leaf_amount(5, 7, 3)
    assert amount == (1 << 255) | (3 << 192) | (7 << 96) | 5
    assert amount == REVIEW_LEAF_TAG | review_leaf_amount(5, 7, 3)
    assert read_review_leaf(amount) == (5, 7, 3)
    top = (2**96 - 1, 2**96 - 1, 2**32 - 1)
    assert read_review_leaf(review_leaf_amount(*top)) == top
    assert read_review_leaf(10**18) is None  # a market leaf
    assert read_review_leaf(REVIEW_LEAF_TAG | 1 << 224) is None  # bits the layout never sets


@pytest.mark.parametrize("fields", [(-1, 0, 0), (2**96, 0, 0), (0, 2**96, 0), (0, 0, 2**32)])
def test_a_review_leaf_out_of_range_is_refused(fields: tuple[int, int, int]) -> None:
    with pytest.raises(InvalidParameterError):
        review_leaf_amount(*fields)


def test_the_market_total_of_a_tree_leaves_review_leaves_out() -> None:
    tree = PayoutTree.build([(REVIEWER, review_leaf_amount(40, 0, 2)), ("0x" + "cd" * 20, 9)])
    assert tree.total == 9
    assert tree.amount(REVIEWER) == review_leaf_amount(40, 0, 2)


def test_board_terms_match_the_manifest_section_only_exactly() -> None:
    params = ReviewParams.create(10, 30, max_reviewers=3)  # share 0.1
    terms = ReviewTerms(10, 30, 2, 3, 1, 2, 3, bytes(32))
    assert terms.matches(params, 20)
    assert not terms.matches(params, 30)  # the cap of 30 items is 3
    for other in (
        ReviewTerms(9, 30, 2, 3, 1, 2, 3, bytes(32)),
        ReviewTerms(10, 29, 2, 3, 1, 2, 3, bytes(32)),
        ReviewTerms(10, 30, 2, 4, 1, 2, 3, bytes(32)),
    ):
        assert not other.matches(params, 20)
