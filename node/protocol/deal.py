"""The ``deal@1`` dealing rule: which items each claimed seat of an assigned task gets.

docs/settlement.md §1.4 is the specification; ``contracts/test/utils/Deal.sol`` is the
Solidity reference, and both are pinned to the same test vector (tests/protocol/test_deal.py,
contracts/test/DealVector.t.sol). Every honest node must compute the same deal from the same
seed, so this is protocol: any change to the bytes hashed, the draw or the layout is a new id.

In short: two exactly uniform Fisher-Yates shuffles driven by keccak streams, pi of the items
and sigma of the seats; the shuffled item list repeated ``k`` times is cut into blocks of ``B``
consecutive positions, and claimed seat ``s`` gets block ``sigma(s)``. A block never holds an item
twice (``B ≤ N``) and an item lies in at most ``k`` blocks, so no seat gets an item twice and
no item reaches more than ``k`` seats.

Why numpy here: a task can have millions of items and a validator computes the deal once per
task, then checks every label against it. The keccak words, the rejection test and the
item → seats table are array operations; only the Fisher-Yates swaps themselves are a Python
loop, because each swap depends on the previous ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from node.protocol.errors import InvalidDealError

IntArray = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]

MAX_ITEMS = (1 << 32) - 1
"""``TaskParams.numItems`` is a uint32 on chain."""
MAX_REDUNDANCY = (1 << 16) - 1
"""``TaskParams.redundancy`` is a uint16 on chain."""
MAX_SEATS = (1 << 24) - 1
"""Market v2 requires ``S < 2^24`` at task creation (docs/settlement.md §1.2)."""

ITEMS_DOMAIN = b"items"
SEATS_DOMAIN = b"seats"

_U64_MAX = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_WORDS_PER_HASH = 4


def stream_words(seed: bytes, domain: bytes, first_hash: int, n_hashes: int) -> UInt64Array:
    """Words ``4·first_hash …`` of ``stream(domain)``: hash ``i`` is
    ``keccak256(seed ‖ bytes32(domain) ‖ uint64_be(i))``, read as four big-endian uint64.

    ``bytes32(domain)`` is the ASCII name right-padded with zeros, which is how Solidity
    stores the string literal ``"items"`` in a ``bytes32`` (Deal.sol's ``domain``).
    """
    if len(seed) != 32 or len(domain) > 32:
        raise InvalidDealError("the seed is 32 bytes and a domain at most 32")
    prefix = bytes(seed) + bytes(domain).ljust(32, b"\0")
    counters = np.arange(first_hash, first_hash + n_hashes, dtype=">u8").tobytes()
    digests = b"".join(keccak(prefix + counters[8 * i : 8 * i + 8]) for i in range(n_hashes))
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


def accept_draws(words: UInt64Array, moduli: UInt64Array) -> tuple[UInt64Array, int]:
    """Exactly uniform draws ``w mod n`` for as many ``moduli`` as ``words`` allow.

    A word is accepted for modulus ``n`` when ``w < 2^64 - (2^64 mod n)``; a rejected word is
    skipped and the same modulus takes the next word, as Deal.sol's ``_uniform`` does.
    Returns the values drawn (a prefix of ``moduli``'s length) and how many words they used.
    Vectorized on the assumption that rejections are rare (probability below ``n / 2^64``
    per draw): each rejection costs one more pass over the remaining words.
    """
    values: list[UInt64Array] = []
    used = 0
    done = 0
    while done < len(moduli) and used < len(words):
        m = moduli[done : done + len(words) - used]
        w = words[used : used + len(m)]
        # 2^64 mod n, without leaving uint64: (2^64 - 1 - n + 1) mod n, and n ≥ 1.
        excess = (_U64_MAX - m + np.uint64(1)) % m
        rejected = np.flatnonzero(w > _U64_MAX - excess)
        take = int(rejected[0]) if len(rejected) else len(m)
        values.append(w[:take] % m[:take])
        done += take
        used += take + (1 if len(rejected) else 0)
    drawn = np.concatenate(values) if values else np.empty(0, dtype=np.uint64)
    return drawn, used


def _draws(seed: bytes, domain: bytes, moduli: UInt64Array) -> UInt64Array:
    """``uniform(n)`` for each ``n`` of ``moduli`` in turn, from ``stream(domain)``."""
    parts: list[UInt64Array] = []
    done = 0
    next_hash = 0
    pending = np.empty(0, dtype=np.uint64)
    while done < len(moduli):
        # As many hashes as the remaining draws need if nothing is rejected (at least one).
        n_hashes = max(1, -(-(len(moduli) - done - len(pending)) // _WORDS_PER_HASH))
        words = np.concatenate((pending, stream_words(seed, domain, next_hash, n_hashes)))
        next_hash += n_hashes
        drawn, used = accept_draws(words, moduli[done:])
        parts.append(drawn)
        done += len(drawn)
        pending = words[used:]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def shuffle(seed: bytes, domain: bytes, n: int) -> IntArray:
    """Fisher-Yates shuffle of ``[0, n)`` driven by ``stream(domain)``:
    ``for i = n-1 … 1: j = uniform(i+1); swap(a[i], a[j])``."""
    moduli = np.arange(n, 1, -1, dtype=np.uint64)
    swaps = _draws(seed, domain, moduli).tolist()
    a = list(range(n))
    for i, j in zip(range(n - 1, 0, -1), swaps, strict=True):
        a[i], a[j] = a[j], a[i]
    return _frozen(np.array(a, dtype=np.int64))


def _frozen(array: IntArray) -> IntArray:
    array.flags.writeable = False
    return array


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidDealError(f"{name} must be an int, got {value!r}")
    if not low <= int(value) <= high:
        raise InvalidDealError(f"{name} must be within [{low}, {high}], got {value}")
    return int(value)


@dataclass(frozen=True, eq=False)
class Deal:
    """The outcome of :func:`deal` for one task: read-only, and cheap to query per label.

    ``order`` is pi (position ``p`` of the repeated list holds item ``order[p mod N]``) and
    ``blocks`` is sigma restricted to the claimed seats (seat ``s`` gets block ``blocks[s]``).
    """

    num_items: int
    redundancy: int
    batch_size: int
    order: IntArray
    blocks: IntArray

    @property
    def seats(self) -> int:
        """``S = N·k / B``: the seats the task offers."""
        return self.num_items * self.redundancy // self.batch_size

    @property
    def claimed(self) -> int:
        return len(self.blocks)

    @cached_property
    def positions(self) -> IntArray:
        """pi inverse: the position in ``[0, N)`` of each item in the shuffled list."""
        position = np.empty(self.num_items, dtype=np.int64)
        position[self.order] = np.arange(self.num_items, dtype=np.int64)
        return _frozen(position)

    def items_of(self, seat: int) -> IntArray:
        """The ``B`` distinct items of claimed seat ``seat``, in dealing order."""
        seat = _count(seat, "seat", 0, self.claimed - 1)
        start = int(self.blocks[seat]) * self.batch_size
        positions = np.arange(start, start + self.batch_size, dtype=np.int64) % self.num_items
        return _frozen(self.order[positions])

    def seats_of_items(self) -> IntArray:
        """``(N, k)``: column ``r`` is the seat dealt item ``i``'s ``r``-th repetition, or
        ``-1`` where that block's seat was never claimed."""
        n, b = self.num_items, self.batch_size
        seat_of_block = np.full(self.seats, -1, dtype=np.int64)
        seat_of_block[self.blocks] = np.arange(self.claimed, dtype=np.int64)
        repeats = np.arange(self.redundancy, dtype=np.int64) * n
        return _frozen(seat_of_block[(self.positions[:, None] + repeats[None, :]) // b])

    def is_dealt(self, items: npt.ArrayLike, seats: npt.ArrayLike) -> BoolArray:
        """Per pair, whether item ``items[i]`` was dealt to claimed seat ``seats[i]``.

        This is the validators' drop rule (docs/settlement.md §1.6) for a whole label table
        at once: block ``j`` holds item ``x`` exactly when ``(pos(x) - j·B) mod N < B``.
        """
        item = np.asarray(items, dtype=np.int64)
        seat = np.asarray(seats, dtype=np.int64)
        if item.shape != seat.shape or item.ndim != 1:
            raise InvalidDealError("items and seats must be one-dimensional and equally long")
        if len(item) and not (item.min() >= 0 and item.max() < self.num_items):
            raise InvalidDealError(f"item out of range [0, {self.num_items})")
        if len(seat) and not (seat.min() >= 0 and seat.max() < self.claimed):
            raise InvalidDealError(f"seat out of range [0, {self.claimed})")
        offset = (self.positions[item] - self.blocks[seat] * self.batch_size) % self.num_items
        result: BoolArray = offset < self.batch_size
        return result


def deal(seed: bytes, num_items: int, redundancy: int, batch_size: int, claimed: int) -> Deal:
    """``deal@1`` for a task of ``num_items`` items, redundancy ``k`` and batch size ``B``,
    whose seats ``0 … claimed-1`` were claimed, from the 32-byte ``seed`` of §1.3.

    The checks are market v2's at task creation (``1 ≤ B ≤ N``, ``B`` divides ``N·k``,
    ``S < 2^24``) so that a node never deals a task the market would have refused.
    """
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise InvalidDealError(f"seed must be 32 bytes, got {seed!r}")
    n = _count(num_items, "num_items", 1, MAX_ITEMS)
    k = _count(redundancy, "redundancy", 1, MAX_REDUNDANCY)
    b = _count(batch_size, "batch_size", 1, n)
    if (n * k) % b:
        raise InvalidDealError(f"batch_size {b} does not divide num_items·redundancy = {n * k}")
    seats = _count(n * k // b, "seats (num_items·redundancy / batch_size)", 1, MAX_SEATS)
    claimed = _count(claimed, "claimed", 0, seats)
    blocks = shuffle(seed, SEATS_DOMAIN, seats)[:claimed]
    return Deal(
        num_items=n,
        redundancy=k,
        batch_size=b,
        order=shuffle(seed, ITEMS_DOMAIN, n),
        blocks=_frozen(blocks.copy()),
    )


SEAL_DELAY = 64
"""Seconds after a task's seat deadline before its seal block (§1.3): five slots on Ethereum,
so no seat claim can land in the block whose randomness deals the seats."""

SEED_SOURCES = ("mixHash", "blockHash")
"""Where a seal's randomness comes from: the block's RANDAO mix, or its hash on a chain
without one (:class:`node.chain.seal.Seal`'s ``source``; a result@4 states it)."""
SEED_DOMAIN = "labelnet/deal@1"
"""The string the seed's preimage starts with (docs/settlement.md §1.3)."""


def deal_seed(chain_id: int, market: str, task_id: int, randomness: bytes) -> bytes:
    """``keccak256(abi.encode("labelnet/deal@1", chainId, market, taskId, R))``: the seed of
    §1.3, from the seal block's randomness ``R`` (its ``mixHash``, or its hash on a dev chain
    without RANDAO). Binding the chain, market and task means two tasks sealed by the same
    block are still dealt independently."""
    if not isinstance(randomness, bytes) or len(randomness) != 32:
        raise InvalidDealError(f"the seal's randomness must be 32 bytes, got {randomness!r}")
    encoded = abi_encode(
        ["string", "uint256", "address", "uint256", "bytes32"],
        [SEED_DOMAIN, chain_id, market, task_id, randomness],
    )
    return keccak(encoded)
