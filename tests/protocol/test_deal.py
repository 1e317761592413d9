"""``deal@1`` (node/protocol/deal.py): pinned to the Solidity reference, and its promises.

The vector below was produced by ONE run of ``contracts/test/utils/Deal.sol`` (the same
numbers are asserted by contracts/test/DealVector.t.sol), so Python and Solidity are checked
against the same assignment. The property tests mirror contracts/test/Deal.fuzz.t.sol.
"""

from __future__ import annotations

import numpy as np
import pytest
from eth_utils.crypto import keccak

from node.protocol.deal import (
    ITEMS_DOMAIN,
    SEATS_DOMAIN,
    _draws,
    accept_draws,
    deal,
    shuffle,
    stream_words,
)
from node.protocol.errors import InvalidDealError, InvalidParameterError

SEED = keccak(b"labelnet/deal@1 test vector")

# From Deal.sol, seed = keccak256("labelnet/deal@1 test vector"), N = 10, k = 3, B = 6, S = 5.
VECTOR_ITEMS = [1, 9, 0, 3, 8, 7, 5, 2, 6, 4]  # pi = shuffle(seed, "items", 10)
VECTOR_SEATS = [4, 0, 2, 3, 1]  # sigma = shuffle(seed, "seats", 5)
VECTOR_DEALT = [  # Deal.itemsOf(seed, 10, 3, 6, s) for the 4 claimed seats
    [8, 7, 5, 2, 6, 4],
    [1, 9, 0, 3, 8, 7],
    [0, 3, 8, 7, 5, 2],
    [6, 4, 1, 9, 0, 3],
]
# keccak256 of abi.encodePacked(Deal.itemsOf(seed, 1000, 3, 100, s) for s = 0 … 29).
VECTOR_1000_DIGEST = "b1a154e842a8cbecd1bf6423843ce499b9513ce6d261dc79e81b1a28a1753fbc"


def test_vector_matches_the_solidity_reference() -> None:
    assert SEED.hex() == "afb00fbe47eca5d1e790d312a53c597a303a1d7f956fd6e1771f1a38b1b4cfac"
    assert shuffle(SEED, ITEMS_DOMAIN, 10).tolist() == VECTOR_ITEMS
    assert shuffle(SEED, SEATS_DOMAIN, 5).tolist() == VECTOR_SEATS
    dealt = deal(SEED, 10, 3, 6, 4)
    assert [dealt.items_of(s).tolist() for s in range(4)] == VECTOR_DEALT
    # Seat 4 was not claimed: block sigma(4) = 1 (items 5, 2, 6, 4, 1, 9) reaches nobody.
    table = dealt.seats_of_items()
    assert table[5].tolist() == [-1, 2, 0]  # positions 6 (block 1), 16 (block 2), 26 (block 4)
    assert (table >= 0).sum() == 4 * 6


def test_vector_of_a_thousand_items() -> None:
    dealt = deal(SEED, 1000, 3, 100, 30)
    packed = b"".join(
        int(item).to_bytes(32, "big") for seat in range(30) for item in dealt.items_of(seat)
    )
    assert keccak(packed).hex() == VECTOR_1000_DIGEST


def _uniform_reference(words: list[int], moduli: list[int]) -> tuple[list[int], int]:
    """§1.4's ``uniform(n)`` word by word, in Python integers."""
    out: list[int] = []
    used = 0
    for n in moduli:
        while used < len(words):
            w = words[used]
            used += 1
            if w < 2**64 - (2**64 % n):
                out.append(w % n)
                break
        else:
            break
    return out, used


def test_accept_draws_rejects_exactly_the_top_words() -> None:
    top = 2**64 - 1  # 2^64 mod 3 = 1: the single top word is rejected for n = 3
    words = np.array([top, 5, top - 1, 7], dtype=np.uint64)
    drawn, used = accept_draws(words, np.array([3, 3, 2], dtype=np.uint64))
    assert drawn.tolist() == [2, (top - 1) % 3, 1] and used == 4


def test_accept_draws_matches_word_by_word_rejection() -> None:
    """Moduli just above 2^63 reject about half of all words, so the vectorized restart
    after each rejection runs many times per call."""
    rng = np.random.default_rng(16)
    for _ in range(50):
        n_words = int(rng.integers(0, 40))
        words = rng.integers(0, 2**64, n_words, dtype=np.uint64, endpoint=False)
        moduli = np.where(
            rng.random(30) < 0.5,
            rng.integers(2**63, 2**63 + 2**20, 30, dtype=np.uint64),
            rng.integers(1, 1000, 30, dtype=np.uint64),
        ).astype(np.uint64)
        drawn, used = accept_draws(words, moduli)
        expected, expected_used = _uniform_reference(
            [int(w) for w in words], [int(m) for m in moduli]
        )
        assert drawn.tolist() == expected and used == expected_used


def test_draws_refill_the_stream_after_rejections() -> None:
    """With half the words rejected, the draws need more hashes than first fetched: they
    must continue the same stream, as word-by-word rejection over it does."""
    rng = np.random.default_rng(3)
    moduli = rng.integers(2**63, 2**63 + 2**20, 101, dtype=np.uint64)
    drawn = _draws(SEED, ITEMS_DOMAIN, moduli)
    words = [int(w) for w in stream_words(SEED, ITEMS_DOMAIN, 0, 200)]
    expected, used = _uniform_reference(words, [int(m) for m in moduli])
    assert drawn.tolist() == expected and 101 < used < 800


def test_promises_at_scale() -> None:
    """100,000 items, k = 3, B = 500: 600 seats, 550 claimed, checked through the table."""
    n, k, batch, claimed = 100_000, 3, 500, 550
    dealt = deal(keccak(b"scale"), n, k, batch, claimed)
    table = dealt.seats_of_items()
    assert table.shape == (n, k)
    per_item = (table >= 0).sum(axis=1)
    assert per_item.sum() == claimed * batch
    assert per_item.max() <= k
    # No item twice in a seat: an item's claimed seats are distinct.
    ordered = np.sort(table, axis=1)
    assert not ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any()
    # Every claimed seat holds exactly B items.
    assert (np.bincount(table[table >= 0], minlength=claimed) == batch).all()
    assert dealt.is_dealt(dealt.items_of(549), np.full(batch, 549)).all()


def _shape(rng: np.random.Generator) -> tuple[int, int, int]:
    """A task shape as Deal.fuzz.t.sol draws it: B divides N·k and B ≤ N."""
    n = int(rng.integers(1, 61))
    k = int(rng.integers(1, 6))
    batch = next(d for d in range(int(rng.integers(1, n + 1)), n + 1) if (n * k) % d == 0)
    return n, k, batch


def test_deal_promises_over_random_shapes() -> None:
    rng = np.random.default_rng(2026)
    for _ in range(300):
        n, k, batch = _shape(rng)
        seats = n * k // batch
        claimed = int(rng.integers(0, seats + 1))
        dealt = deal(rng.bytes(32), n, k, batch, claimed)
        per_item = np.zeros(n, dtype=np.int64)
        for seat in range(claimed):
            items = dealt.items_of(seat)
            assert len(items) == batch, "every batch is full"
            assert len(np.unique(items)) == batch, "no seat gets an item twice"
            assert items.min() >= 0 and items.max() < n
            per_item[items] += 1
        assert per_item.max() <= k, "no item reaches more than k seats"
        if claimed == seats:
            assert (per_item == k).all(), "every seat claimed: exactly k"
        assert per_item.sum() == claimed * batch
        # The item → seats table and the per-label check say the same as items_of.
        table = dealt.seats_of_items()
        assert ((table >= 0).sum(axis=1) == per_item).all()
        pairs_item = np.repeat(np.arange(n), max(claimed, 1))
        pairs_seat = np.tile(np.arange(max(claimed, 1)), n)
        if claimed:
            mask = dealt.is_dealt(pairs_item, pairs_seat)
            for item, seat, ok in zip(pairs_item, pairs_seat, mask, strict=True):
                assert bool(ok) == (seat in table[item]), (n, k, batch, item, seat)


def test_shuffle_is_a_permutation() -> None:
    rng = np.random.default_rng(7)
    for n in [1, 2, 3, *rng.integers(4, 301, 20).tolist()]:
        out = shuffle(rng.bytes(32), ITEMS_DOMAIN, int(n))
        assert sorted(out.tolist()) == list(range(n))


def test_deal_is_read_only_and_its_seats_complete() -> None:
    dealt = deal(SEED, 10, 3, 6, 5)
    assert dealt.seats == 5 and dealt.claimed == 5
    with pytest.raises(ValueError):
        dealt.order[0] = 0
    with pytest.raises(ValueError):
        dealt.items_of(0)[0] = 0
    assert sorted(dealt.blocks.tolist()) == list(range(5))


@pytest.mark.parametrize(
    ("seed", "n", "k", "batch", "claimed", "message"),
    [
        (b"short", 10, 3, 6, 0, "seed must be 32 bytes"),
        (SEED, 0, 3, 6, 0, "num_items"),
        (SEED, 10, 0, 6, 0, "redundancy"),
        (SEED, 10, 3, 11, 0, "batch_size"),
        (SEED, 10, 3, 0, 0, "batch_size"),
        (SEED, 10, 3, 7, 0, "does not divide"),
        (SEED, 10, 3, 6, 6, "claimed"),
        (SEED, 10, 3, 6, -1, "claimed"),
        (SEED, 10, True, 6, 0, "must be an int"),
        (SEED, 2**24, 1, 1, 0, "seats"),
    ],
)
def test_deal_rejects_bad_inputs(
    seed: bytes, n: int, k: int, batch: int, claimed: int, message: str
) -> None:
    with pytest.raises(InvalidDealError, match=message):
        deal(seed, n, k, batch, claimed)


def test_queries_outside_the_deal_are_errors() -> None:
    dealt = deal(SEED, 10, 3, 6, 4)
    with pytest.raises(InvalidDealError, match="seat"):
        dealt.items_of(4)  # seat 4 exists but was not claimed
    with pytest.raises(InvalidDealError, match="seat out of range"):
        dealt.is_dealt([0], [4])
    with pytest.raises(InvalidDealError, match="item out of range"):
        dealt.is_dealt([10], [0])
    with pytest.raises(InvalidParameterError, match="equally long"):
        dealt.is_dealt([0, 1], [0])


def test_stream_refuses_a_short_seed_or_a_long_domain() -> None:
    with pytest.raises(InvalidDealError, match="32 bytes"):
        stream_words(SEED[:31], ITEMS_DOMAIN, 0, 1)
    with pytest.raises(InvalidDealError, match="at most 32"):
        stream_words(SEED, b"d" * 33, 0, 1)
