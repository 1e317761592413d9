"""A reviewer node's duty run once in its own process, for the kill -9 tests.

``python -m tests.roles.reviewer_child CONFIG_JSON`` builds the reviewer duty from the JSON
(RPC URL, key, addresses, database and store paths, task id, votes) and ticks it once. With
``LABELNET_CRASH_AT`` set, :func:`node.faults.crash_point` kills this process with SIGKILL
at that point, as a power cut would.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from node.chain.artifacts import load_artifact
from node.chain.tx import TxSender
from node.db.engine import open_database
from node.roles.reviewer import ReviewerDuty
from node.store.embedded import EmbeddedStore


class FixedVotes:
    """A vote source with one task's complete votes."""

    def __init__(self, task_id: int, votes: Mapping[str, str]) -> None:
        self.task_id = task_id
        self._votes = dict(votes)

    def tasks(self) -> Iterable[int]:
        return [self.task_id]

    def votes(self, task_id: int) -> Mapping[str, str] | None:
        return self._votes if task_id == self.task_id else None


def build_duty(config: Mapping[str, object]) -> ReviewerDuty:
    """The duty a reviewer node runs, from the test's configuration."""
    w3 = Web3(Web3.HTTPProvider(str(config["rpc"]), request_kwargs={"timeout": 30}))

    def at(name: str, key: str) -> Contract:
        address = Web3.to_checksum_address(str(config[key]))
        return w3.eth.contract(address=address, abi=load_artifact(name).abi)

    votes = config["votes"]
    assert isinstance(votes, dict)
    return ReviewerDuty(
        db=open_database(url=str(config["db"])),
        store=EmbeddedStore(Path(str(config["store"]))),
        market=at("TaskMarket", "market"),
        board=at("ReviewBoard", "board"),
        token=at("LabelToken", "token"),
        sender=TxSender(w3, Account.from_key(str(config["key"]))),
        chain_id=int(str(config["chain_id"])),
        source=FixedVotes(int(str(config["task_id"])), votes),
    )


if __name__ == "__main__":
    build_duty(json.loads(sys.argv[1])).tick()
