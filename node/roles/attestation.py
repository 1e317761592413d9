"""A validator's attest transactions and the intents recorded around them, for one market.

The validator's duty (:class:`~node.roles.validator.ValidatorDuty`, and the annotator's
:class:`~node.roles.liveness.LivenessDuty`, a narrower kind of it) decides which tasks to
attest and computes their results; :class:`Attester` owns what is recorded and sent for
them: the intent written before an attest is sent and the transaction hash after, so a node
killed anywhere resumes from its database (an intent without a hash is sent again, a
recorded hash is looked up), which reverts of an attest mean "sent already" or "not any
more", a task recorded as skipped and why, and the recorded root attested again in the
settlement round a task is in (docs/settlement.md §2.3). It is a module of its own so that
every write of a validator's ``validation_intents`` row and every attest it sends have one
owner, apart from the duties' scheduling and the consensus they run.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.chain.errors import ContractRevertError
from node.chain.market import TaskStatus as ChainTaskStatus
from node.chain.market import read_task
from node.chain.tx import TxSender
from node.consensus.task import ConsensusOutcome
from node.db.engine import Database
from node.db.models import ValidationIntent, ValidationState
from node.db.repositories.validation import ValidationRepository
from node.faults import crash_point
from node.roles.rounds import RoundCalls

__all__ = ["Attester"]

# The duty's logger, not this module's: what is attested or skipped belongs to the
# validator's log, under the name operators already filter on.
log = logging.getLogger("node.roles.validator")

_DONE_REVERTS = frozenset(
    {"TaskMarketCommitteeFull", "TaskMarketNoReveals", "TaskMarketDeadlinePassed"}
)
_SENT_REVERTS = frozenset({"TaskMarketAlreadyAttested", "TaskMarketAlreadyVoted"})
"""Reverts of an attest that mean this account's vote is on chain already (sent before a
restart): round 0's, and round 1's or 2's."""


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Attester:
    """Record, send and resend this account's attestations; see the module docstring."""

    def __init__(
        self,
        *,
        db: Database,
        market: Contract,
        sender: TxSender,
        chain_id: int,
        rounds: RoundCalls,
    ) -> None:
        self.db = db
        self.market = market
        self.sender = sender
        self.chain_id = chain_id
        self.validator = sender.address
        self.rounds = rounds

    def record(
        self, task_id: int, root: bytes, outcome: ConsensusOutcome, used: int, dropped: int
    ) -> ValidationIntent:
        """Record the intent to attest ``root`` with ``outcome``'s total and CID, before the
        transaction exists."""
        with self.db.write() as session:
            return ValidationRepository(session).record_intent(
                self.chain_id,
                task_id,
                self.validator,
                payout_root=_hex(root),
                total_payout=outcome.total_payout,
                result_cid=outcome.cid,
                batches_used=used,
                batches_dropped=dropped,
            )

    def skip(self, task_id: int, reason: str, used: int = 0, dropped: int = 0) -> None:
        log.warning("task %s: not attesting: %s", task_id, reason)
        with self.db.write() as session:
            ValidationRepository(session).record_skipped(
                self.chain_id,
                task_id,
                self.validator,
                reason,
                batches_used=used,
                batches_dropped=dropped,
            )

    def send(self, intent: ValidationIntent) -> None:
        assert intent.payout_root and intent.result_cid and intent.total_payout is not None
        call = self.market.functions.attest(
            intent.task_id,
            bytes.fromhex(intent.payout_root.removeprefix("0x")),
            intent.total_payout,
            intent.result_cid,
        )
        tx_hash: str | None = None
        try:
            tx_hash = _hex(self.sender.submit(call))
        except ContractRevertError as exc:
            if exc.name in _SENT_REVERTS:
                log.info("task %s: already attested (sent before a restart)", intent.task_id)
            elif exc.name in _DONE_REVERTS:
                self.skip(intent.task_id, f"attest refused: {exc}")
                return
            else:
                raise
        crash_point("after-attest-submit")
        with self.db.write() as session:
            ValidationRepository(session).mark_sent(
                self.chain_id, intent.task_id, self.validator, tx_hash
            )
        log.info("task %s: attested %s (%s)", intent.task_id, intent.payout_root, intent.result_cid)

    def needs_send(self, intent: ValidationIntent) -> bool:
        """True for an intent never sent, or whose transaction failed or was forgotten."""
        if intent.state is ValidationState.INTENT:
            return True
        if intent.state is ValidationState.SKIPPED or intent.attest_tx_hash is None:
            return False
        return self.sender.needs_resend(intent.attest_tx_hash)

    def follow_rounds(self, task_id: int) -> None:
        """Re-attest this validator's root in the round an open task is in, if it has not yet.

        Honest validators vote in every round a task reaches (§2.3): a round opened because
        round 0 had no winner, or an appeal against a provisional root that is not ours.
        """
        state = read_task(self.market, task_id)
        if state.status is not ChainTaskStatus.OPEN or state.reveal_count == 0:
            return
        with self.db.session() as session:
            intent = ValidationRepository(session).get(self.chain_id, task_id, self.validator)
        if intent is None or intent.payout_root is None or intent.state is ValidationState.SKIPPED:
            return
        ours = bytes.fromhex(intent.payout_root.removeprefix("0x"))
        if (
            state.provisional
            and state.payout_root == ours
            and state.total_payout == intent.total_payout
        ):
            return
        round_ = state.round + 1 if state.provisional else state.round
        if self.rounds.voted(task_id, round_):
            return
        try:
            self.sender.transact(
                self.market.functions.attest(
                    task_id, ours, intent.total_payout, intent.result_cid or ""
                )
            )
        except ContractRevertError as exc:
            log.warning("task %s: cannot attest in round %d: %s", task_id, round_, exc)
            return
        log.info("task %s: attested %s again in round %d", task_id, intent.payout_root, round_)
