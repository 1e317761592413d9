"""The seal of a seated task: the block whose randomness seeds the deal (docs/settlement.md §1.3).

Every node that needs a seated task's deal (the annotator node serving its seat's items, the
validators dropping labels on undealt items) reads the seed here, and nowhere else:

- the seal block ``X`` is the first block whose timestamp is greater than
  ``seatDeadline + SEAL_DELAY``; no seat claim can land in it or after it;
- ``R`` is ``X.mixHash`` (the RANDAO mix since the merge), or ``X.hash`` where the mix is
  zero (dev chains without RANDAO); which one is recorded as the seed's ``source``;
- ``X`` is used only once it is final: ``finality_depth`` blocks under the head. That depth
  is a node setting (64 by default, small on dev chains where nobody reorganises).

No transaction computes the seed, so assignment costs no gas beyond the seat itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception
from web3.types import BlockIdentifier

from node.chain.errors import ChainError
from node.protocol.deal import SEAL_DELAY, deal_seed

SeedSource = Literal["mixHash", "blockHash"]

DEFAULT_FINALITY_DEPTH = 64
"""Blocks under the head before a seal block is trusted, on a chain without finality."""

_ZERO32 = b"\0" * 32


@dataclass(frozen=True)
class Seal:
    """A task's seal block and the seed of its deal."""

    block_number: int
    block_hash: str
    source: SeedSource
    seed: bytes


def _block(w3: Web3, number: BlockIdentifier) -> Any:
    try:
        return w3.eth.get_block(number)
    except BlockNotFound:
        return None
    except (Web3Exception, OSError, ValueError) as exc:
        raise ChainError(f"eth_getBlockByNumber({number!r}) failed: {exc}") from exc


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def seal_time(seat_deadline: int) -> int:
    """The seal block is the first whose timestamp is greater than this."""
    return seat_deadline + SEAL_DELAY


def read_seal(
    w3: Web3,
    *,
    chain_id: int,
    market: str,
    task_id: int,
    seat_deadline: int,
    first_block: int = 0,
    finality_depth: int = DEFAULT_FINALITY_DEPTH,
) -> Seal | None:
    """The task's seal and seed, or None while the seal block does not exist or is not yet
    ``finality_depth`` blocks deep. ``first_block`` (the task's creation block) bounds the
    search from below: the seal comes after it. A binary search over block timestamps,
    which never decrease: about ``log2(head - first_block)`` block reads."""
    if finality_depth < 0:
        raise ValueError(f"finality_depth must be at least 0, not {finality_depth}")
    head = _block(w3, "latest")
    if head is None:
        raise ChainError("the chain has no latest block")
    after = seal_time(seat_deadline)
    if int(head["timestamp"]) <= after:
        return None
    low, high = max(0, first_block), int(head["number"])  # high is past the seal time
    while low < high:
        middle = (low + high) // 2
        block = _block(w3, middle)
        if block is None:
            raise ChainError(f"block {middle} is missing under the head {head['number']}")
        if int(block["timestamp"]) > after:
            high = middle
        else:
            low = middle + 1
    if int(head["number"]) - low < finality_depth:
        return None
    sealed = _block(w3, low)
    if sealed is None:
        raise ChainError(f"block {low} is missing under the head {head['number']}")
    mix = _bytes(sealed.get("mixHash") or _ZERO32)
    source: SeedSource = "mixHash" if mix != _ZERO32 else "blockHash"
    randomness = mix if source == "mixHash" else _bytes(sealed["hash"])
    return Seal(
        block_number=low,
        block_hash="0x" + _bytes(sealed["hash"]).hex(),
        source=source,
        seed=deal_seed(chain_id, Web3.to_checksum_address(market), task_id, randomness),
    )
