"""A voter's calls on market v2's settlement rounds (docs/settlement.md §2), for any duty.

``finalize`` is what moves a task from round to round and ends it, so every duty that
settles tasks (the validator's, the annotator's liveness duty) calls it the same way: a dry
run first where sending would be wasted, and reverts that only mean "not yet" kept quiet.
The rest is what a voter asks about its own votes: whether it holds one in a round, and
settling its round-2 vote once the task is final.
"""

from __future__ import annotations

import logging

from web3.contract import Contract
from web3.exceptions import ContractLogicError

from node.chain.errors import ContractRevertError, revert_from
from node.chain.tx import TxSender

__all__ = ["FINAL_ROUND", "QUIET_FINALIZE_REVERTS", "RoundCalls"]

log = logging.getLogger(__name__)

FINAL_ROUND = 2
"""Market v2's last settlement round: an aggregate tally, one vote per validator."""

QUIET_FINALIZE_REVERTS = frozenset(
    {
        "TaskMarketWrongStatus",
        "TaskMarketNoEarlyQuorum",
        # Market v2: a round still open, or a provisional result still under challenge.
        "TaskMarketNotFinal",
        "TaskMarketChallengeOpen",
    }
)
"""Reverts of a finalize that only mean "not yet" (or "already done")."""


class RoundCalls:
    """``finalize``, and this account's votes, on one market."""

    def __init__(self, market: Contract, sender: TxSender) -> None:
        self.market = market
        self.sender = sender
        self.account = sender.address

    def finalizable(self, task_id: int) -> bool:
        """Dry-run ``finalize``: True when it would succeed now."""
        try:
            self.market.functions.finalize(task_id).call({"from": self.account})
        except ContractLogicError as exc:
            revert = revert_from(exc)
            if revert.data and revert.name not in QUIET_FINALIZE_REVERTS:
                log.warning("task %s: finalize would revert: %s", task_id, revert.name)
            return False
        return True

    def send_finalize(self, task_id: int) -> bool:
        """Send ``finalize``; False when the contract refused it (quietly if "not yet")."""
        try:
            self.sender.transact(self.market.functions.finalize(task_id))
        except ContractRevertError as exc:
            if exc.name not in QUIET_FINALIZE_REVERTS:
                log.warning("task %s: finalize refused: %s", task_id, exc)
            return False
        log.info("task %s: finalize sent", task_id)
        return True

    def voted(self, task_id: int, round_: int) -> bool:
        """Whether this account holds a vote in ``round_`` (0 and 1: a seat; 2: a vote)."""
        if round_ >= FINAL_ROUND:
            key, _weight, _settled = self.market.functions.finalVoteOf(task_id, self.account).call()
            return bool(int.from_bytes(key, "big"))
        votes = self.market.functions.roundAttestations(task_id, round_).call()
        return any(vote[0].lower() == self.account.lower() for vote in votes)

    def settle_final_vote(self, task_id: int) -> None:
        """Settle this account's round-2 vote of a finalized task, if it has one unsettled."""
        key, _weight, settled = self.market.functions.finalVoteOf(task_id, self.account).call()
        if settled or not int.from_bytes(key, "big"):
            return
        try:
            self.sender.transact(self.market.functions.settleVote(task_id, self.account))
        except ContractRevertError as exc:
            log.warning("task %s: settleVote refused: %s", task_id, exc)
