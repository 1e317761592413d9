"""The annotator's liveness duty: settle the tasks it revealed in when nobody else does.

Once a batch is revealed a task can only end ``Finalized``, and there is no refund while it
waits (docs/settlement.md §2.5). If no validator attests, rounds 0 and 1 end empty and
round 2 opens; from then on ``finalize`` makes the heaviest root final once it has led for
a challenge period. The annotators are the ones owed, so an annotator node does for its
own tasks (open tasks it revealed a batch in) what a validator does for every task, with
the validator's code (:class:`~node.roles.validator.ValidatorDuty`, of which this duty is
a narrower kind):

- **It moves the rounds on.** Past a task's attest deadline it sends ``finalize``
  whenever a dry run says it would succeed: that opens round 1, then round 2, after empty
  rounds, ends a challenge nobody appealed, and ends round 2. This needs no stake.
- **It votes in round 2.** For each such task in round 2 where its account has not voted,
  it computes the result exactly as a validator does (fetch, drop rule, deal, consensus,
  publish the result document, which its gateway then serves) and attests it. It votes
  whether or not others have voted in round 2: alone, its vote is what ends the task; beside
  an honest root it adds weight; against another root it contests it (the bytes are
  deterministic, so honest nodes attest the same root). A batch nobody serves is waited
  for through the first half of round 2's window, as a validator waits through the first
  half of the attest window (round 2's window is ``2·appealWindow``, §2.2).
- **It settles.** Once the task is final it settles its round-2 vote (``settleVote``,
  which pays its share of the fee and unfreezes its stake) and records the winning result.

A round-2 vote weighs the account's active stake in ``ValidatorStaking`` and locks
``4·slashBps`` of it, lost if its root is not the final one. **The node never stakes by
itself:** staking puts the operator's tokens at risk, so it is the operator's decision
(``labelnet stake``). Without ``minStake`` staked the duty logs once why it cannot vote,
and still moves the rounds on (anyone with stake can then end the task).

Restarts are the validator's: the result is recorded as an intent before the attest is sent
and its hash after; an intent without a hash is sent again, and a vote that reached the
chain before a crash is refused on resend with ``TaskMarketAlreadyVoted``, which counts as
sent. So a node killed at any point neither loses its vote nor sends a second one.
"""

from __future__ import annotations

import logging

from node.chain.market import TaskState, read_task
from node.chain.market import TaskStatus as ChainTaskStatus
from node.db.models import Task, TaskStatus, ValidationIntent, ValidationState
from node.db.repositories.settlement import AttestationRepository
from node.db.repositories.tasks import TaskRepository
from node.db.repositories.validation import ClaimRepository, ValidationRepository
from node.protocol.manifest_confidential import ConfidentialParams
from node.roles.rounds import FINAL_ROUND
from node.roles.validator import FETCH_SHARE, ValidatorDuty

__all__ = ["LivenessDuty"]

log = logging.getLogger(__name__)


class LivenessDuty(ValidatorDuty):
    """Finalize, vote in round 2 and settle the open tasks this annotator revealed in."""

    name = "liveness"

    _unstaked_said = False
    """Whether the node said it cannot vote for lack of stake (said once, until staked)."""
    _final_window: int | None = None
    """Round 2's timed window in seconds (``2·APPEAL_WINDOW``), read once."""
    _settled: frozenset[int] = frozenset()
    """Finalized tasks whose round-2 vote this duty has seen settled (since it started)."""

    # ---------------------------------------------------------------- which tasks

    def _settling(self, now: int) -> list[Task]:
        """Open tasks this account revealed a batch in whose attest deadline has passed."""
        with self.db.session() as session:
            ids = ClaimRepository(session).revealed_by(
                self.chain_id, self.validator, TaskStatus.OPEN
            )
            tasks = TaskRepository(session)
            rows = [tasks.get(self.chain_id, task_id) for task_id in ids]
        return [task for task in rows if task is not None and task.attest_deadline < now]

    # ---------------------------------------------------------------- vote in round 2

    def _attest_due(self, now: int) -> None:
        work: list[tuple[Task, ValidationIntent | None]] = []
        for task in self._settling(now):
            with self.db.session() as session:
                if AttestationRepository(session).get(self.chain_id, task.task_id, self.validator):
                    continue  # its vote is mirrored: nothing left to send
                intent = ValidationRepository(session).get(
                    self.chain_id, task.task_id, self.validator
                )
            if intent is not None:
                if intent.state is not ValidationState.SKIPPED:
                    work.append((task, intent))  # sent, or to send again (``Attester.needs_send``)
            elif self._in_final_round(task.task_id):
                work.append((task, None))
        if not work or not self._may_vote():
            return
        for task, intent in work:
            self._attest_one(task, intent, now)

    def _in_final_round(self, task_id: int) -> bool:
        """Whether the task is open in round 2 and this account has no vote there yet."""
        state = read_task(self.market, task_id)
        if state.status is not ChainTaskStatus.OPEN or state.round != FINAL_ROUND:
            return False
        return not self.rounds.voted(task_id, FINAL_ROUND)

    def _may_vote(self) -> bool:
        """Whether the account's active stake reaches ``minStake``; says once why not."""
        stake = int(self.staking.functions.stakeOf(self.validator).call())
        minimum = int(self.staking.functions.minStake().call())
        if stake >= minimum:
            self._unstaked_said = False
            return True
        if not self._unstaked_said:
            self._unstaked_said = True
            log.warning(
                "liveness: %s stakes %d in ValidatorStaking, below the minimum %d: it cannot "
                "vote in round 2 of the tasks it revealed in (the node never stakes by itself: "
                "`labelnet stake`; LABELNET_LIVENESS=false turns the duty off)",
                self.validator,
                stake,
                minimum,
            )
        return False

    def _waits_for_missing(self, task: Task, chain: TaskState, now: int, start: int) -> bool:
        """Through the first 1/:data:`FETCH_SHARE` of round 2's window (its round deadline
        is the window's end), whenever the task's reveals or review ended (``start``)."""
        if self._final_window is None:
            self._final_window = 2 * int(self.market.functions.APPEAL_WINDOW().call())
        opened = chain.round_deadline - self._final_window
        return now < opened + self._final_window // FETCH_SHARE

    def _may_read(self, params: ConfidentialParams) -> bool:
        """A confidential task's key is wrapped to its seated annotators too: the keyring
        finds out (a node not admitted waits, as for a key not wrapped yet)."""
        return True

    # ---------------------------------------------------------------- finalize

    def _finalize_due(self, now: int) -> None:
        for task in self._settling(now):
            if self.rounds.finalizable(task.task_id) and self.rounds.send_finalize(task.task_id):
                state = read_task(self.market, task.task_id)
                log.info(
                    "task %s: now %s in round %d",
                    task.task_id,
                    state.status.name.lower(),
                    state.round,
                )

    # ---------------------------------------------------------------- settle

    def _record_results(self) -> None:
        """The validator's, and the vote of every finalized task it voted in settled: the
        validator settles its vote only while the task's payout leaves are missing, and on
        an annotator node the claimer may have recorded them first."""
        super()._record_results()
        with self.db.session() as session:
            voted = [
                task.task_id
                for task in ValidationRepository(session).attested_tasks(
                    self.chain_id, self.validator, TaskStatus.FINALIZED
                )
                if task.task_id not in self._settled
            ]
        for task_id in voted:
            self.rounds.settle_final_vote(task_id)
            self._settled = self._settled | {task_id}
