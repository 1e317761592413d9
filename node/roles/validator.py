"""The validator's duty: check every revealed batch, run the consensus, attest, finalize.

For each open task in its attest window the validator collects the revealed label batches,
drops the ones that break the rules (below), runs the task's consensus
(:func:`node.consensus.task.run_consensus`, dispatched on the manifest's kind; numeric tasks
use :data:`~node.consensus.task_kinds.DEFAULT_TOLERANCE` until manifests carry one),
publishes the result document to its content store — so anyone can fetch it through this
node's gateway — and attests ``(payoutRoot, totalPayout, resultCid)``. Like the annotator,
it writes the intent before sending and the transaction hash after, so a node killed
anywhere resumes from its database:
an intent without a hash is sent (a duplicate is refused by the contract with
``TaskMarketAlreadyAttested``, which counts as done), a recorded hash is looked up.

**The drop rule** (:func:`node.roles.drop_rule.check_batch`) looks only at
content-addressed bytes, so every honest validator drops the same batches: a batch is
dropped whole unless it is a label batch of its reveal's task, annotator and root whose
every label names an item of the manifest with a value the task allows. Fetching is the
one non-deterministic input: a batch nobody serves in time is retried on later ticks, and left
out once the first half of the attest window has passed (with an error in the log), because
attesting late is worse than attesting without it. Each tick gives one task at most
:data:`TASK_FETCH_SECONDS` of reading (batches concurrently), so a slow peer delays neither
the other batches nor the validator's other tasks; blocks read so far stay in the local
store, where a later tick finds them and other validators can fetch them from this node.
Nor does the validator start before its event mirror shows every reveal the chain counts
(and the gold, if revealed): a lagging mirror must not silently shrink the input.

**Nothing to attest.** The contract refuses an all-zero root, and ``run_consensus``
refuses a task without labels. When every batch is dropped, the validator records the task
as *skipped* and does not attest: with no honest attestation the task ends disputed and the
requester is refunded. A result that pays nobody is attested under ``labelnet/result@2``
(new tasks), whose empty payout root is a fixed non-zero root, so the task finalizes, the
requester gets the whole pool back through the contract and the validators their fee; under
``result@1`` (older tasks) its root is all zeros and the validator skips it as before.

Validators are paid in stake: finalize adds the fee (and the slashed stake of wrong
attesters) to the winners' stake in ValidatorStaking, so a validator has nothing to claim.

**Settlement rounds (market v2, docs/settlement.md §2).** After the attest deadline the
validator keeps calling ``finalize`` (a revert that only means "not yet" is quiet). When the
task is still open afterwards, it re-attests its own root in the round the task is in
(:meth:`node.roles.attestation.Attester.follow_rounds`): in round 1 or 2 when a round
opened, and as an appeal when another root is provisional. Once the task is final it
settles its own round-2 vote (``settleVote``), which pays its reward and unfreezes its stake.
"""

from __future__ import annotations

import logging
import time

from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.exceptions import Web3Exception

from node.chain.errors import ChainError
from node.chain.market import TaskState, read_task
from node.chain.tx import TxSender
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.db.engine import Database
from node.db.models import Task, TaskStatus, ValidationIntent
from node.db.repositories.commitments import CommitmentRepository
from node.db.repositories.settlement import AttestationRepository
from node.db.repositories.tasks import TaskRepository
from node.db.repositories.validation import ClaimRepository, ValidationRepository
from node.errors import LabelnetError
from node.faults import crash_point
from node.protocol.canonical import DocumentTooDeepError
from node.protocol.errors import ConsensusError
from node.protocol.manifest import Manifest, ManifestError
from node.protocol.manifest_confidential import ConfidentialParams
from node.protocol.result import EMPTY_ROOT
from node.roles.assignment import Assigner
from node.roles.attestation import Attester
from node.roles.confidential import Keyring, NotAdmittedError
from node.roles.drop_rule import RETRYABLE, check_batch
from node.roles.review_inputs import ReviewPendingError, review_input
from node.roles.rounds import RoundCalls
from node.roles.settlement import load_winning_result
from node.roles.validation import InputCollector
from node.store.base import ContentStore
from node.store.budget import within
from node.store.errors import StoreError
from node.store.sealed import ITEMS, SealedView

__all__ = [
    "FETCH_SHARE",
    "TASK_FETCH_SECONDS",
    "ValidatorConfigError",
    "ValidatorDuty",
    "check_batch",
]

log = logging.getLogger(__name__)

FETCH_SHARE = 2
"""Unfetchable batches are waited for during the first 1/FETCH_SHARE of the attest window."""
TASK_FETCH_SECONDS = 15.0
"""Wall-clock seconds one tick spends reading one task's documents, and each of its batches
(read concurrently), before it moves on to the next task."""


class ValidatorConfigError(LabelnetError, ValueError):
    """A validator duty configured with an option it does not know."""


class ValidatorDuty:
    """Attest, finalize and record the results of every task this validator can check."""

    name = "validator"

    def __init__(
        self,
        *,
        db: Database,
        store: ContentStore,
        market: Contract,
        staking: Contract,
        sender: TxSender,
        chain_id: int,
        finalize_early: bool = True,
        adversary: str = "none",
        assigner: Assigner | None = None,
        keyring: Keyring | None = None,
        board: Contract | None = None,
        events_from_block: int = 0,
    ) -> None:
        if adversary not in ("none", "wrong-root"):
            raise ValidatorConfigError(f"unknown adversary mode {adversary!r}")
        self.db = db
        self.store = store
        self.market = market
        self.staking = staking
        self.sender = sender
        self.chain_id = chain_id
        self.validator = sender.address
        self.finalize_early = finalize_early
        self.adversary = adversary
        self.assigner = assigner
        self.keyring = keyring
        self.board = board
        """The ReviewBoard (None: a deployment without one, where no task is reviewed)."""
        self.events_from_block = events_from_block
        self._inputs = InputCollector(store, keyring)
        self.rounds = RoundCalls(market, sender)
        self.attester = Attester(
            db=db, market=market, sender=sender, chain_id=chain_id, rounds=self.rounds
        )
        self._stake_checked = False

    def tick(self) -> None:
        now = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        self._attest_due(now)
        self._finalize_due(now)
        self._record_results()

    # ---------------------------------------------------------------- attest

    def _attest_due(self, now: int) -> None:
        work: list[tuple[Task, ValidationIntent | None]] = []
        with self.db.session() as session:
            attestations = AttestationRepository(session)
            intents = ValidationRepository(session)
            for task in TaskRepository(session).open_before(self.chain_id, now, deadline="attest"):
                if task.reveal_deadline >= now:
                    continue
                if attestations.get(self.chain_id, task.task_id, self.validator) is not None:
                    continue
                work.append((task, intents.get(self.chain_id, task.task_id, self.validator)))
        if work:
            self._check_stake()
        for task, intent in work:
            self._attest_one(task, intent, now)

    def _attest_one(self, task: Task, intent: ValidationIntent | None, now: int) -> None:
        """Compute and attest ``task``'s result, or resend the intent recorded for it.

        One task's unexpected failure (a bug met by its data) is logged with its traceback
        and the tick goes on to the other tasks, to finalizing and to recording results:
        tasks are taken in the same order every tick, so letting it end the tick would
        starve every task after it for as long as the bug lasts. A chain that does not
        answer still ends the tick, as it would fail every task the same way."""
        try:
            if intent is None:
                self._validate(task, now)
            elif self.attester.needs_send(intent):
                self.attester.send(intent)
        except LabelnetError as exc:
            log.warning("task %s: cannot attest now: %s", task.task_id, exc)
        except (Web3Exception, OSError):
            raise
        except Exception:  # an isolation boundary per task: see the docstring
            log.exception("task %s: unexpected failure; the other tasks go on", task.task_id)

    def _validate(self, task: Task, now: int) -> None:
        with within(TASK_FETCH_SECONDS):
            self._validate_within(task, now)

    def _validate_within(self, task: Task, now: int) -> None:
        started = time.monotonic()
        try:
            manifest = Manifest.from_bytes(self._inputs.document(task.manifest_cid))
            view = self._task_view(task, manifest)
            if isinstance(view, str):
                return
            item_ids = self._inputs.item_ids(manifest, view)
            pairs = self._inputs.pairs(manifest, view)
        except RETRYABLE as exc:
            log.info("task %s: manifest not available yet: %s", task.task_id, exc)
            return
        except (ManifestError, StoreError, DocumentTooDeepError, RecursionError) as exc:
            self.attester.skip(task.task_id, f"invalid manifest: {type(exc).__name__}: {exc}")
            return
        with self.db.session() as session:
            reveals = CommitmentRepository(session).revealed(self.chain_id, task.task_id)
        chain = read_task(self.market, task.task_id)
        if chain.reveal_count != len(reveals) or chain.gold_revealed != (task.gold_cid is not None):
            log.info("task %s: waiting for the event mirror to catch up", task.task_id)
            return
        try:
            review = review_input(
                self.board,
                self.store,
                task,
                manifest,
                now,
                fetch_share=FETCH_SHARE,
                from_block=self.events_from_block,
            )
        except ReviewPendingError as exc:
            log.info("task %s: not attesting yet: %s", task.task_id, exc)
            return
        # A reviewed task's batches are first read after its review round, so the time
        # given to fetch them starts there.
        start = task.reveal_deadline if review is None else review.round_end
        waiting = self._waits_for_missing(task, chain, now, start)
        inputs = self._inputs.collect(
            task, reveals, manifest, item_ids, seconds=TASK_FETCH_SECONDS, wait_for_all=waiting
        )
        if inputs.missing:
            if waiting:
                log.info("task %s: waiting for %s", task.task_id, ", ".join(inputs.missing))
                return
            log.error(
                "task %s: ATTESTING WITHOUT %s: no peer served them within the attest window",
                task.task_id,
                ", ".join(inputs.missing),
            )
        used, dropped = len(inputs.batches), inputs.dropped
        if not inputs.batches:
            self.attester.skip(task.task_id, "no valid batch", used, dropped)
            return
        assignment = None
        if self.assigner is not None and self.assigner.seating(task.task_id) is not None:
            dealt = self.assigner.task_deal(task)
            if dealt is None:
                log.info("task %s: waiting for its seal block and seats", task.task_id)
                return
            assignment = self._inputs.assignment(manifest, dealt)
        spec = TaskSpec(
            task.task_id,
            manifest.consensus.reward_params(task.reward_per_label, task.reward_pool),
            classes=manifest.classes,
            algorithm=task.algorithm,
            kind=manifest.kind,
            tolerance=manifest.consensus.tolerance,
            bloc_test=manifest.consensus.bloc_test,
            result_schema=manifest.result,
            annotation=manifest.annotation,
            pairs=pairs,
            assignment=assignment,
            review=review,
        )
        try:
            outcome = run_consensus(spec, inputs.batches, inputs.gold)
        except (ConsensusError, LabelnetError) as exc:
            self.attester.skip(task.task_id, f"consensus failed: {exc}", used, dropped)
            return
        if outcome.payout_root == EMPTY_ROOT:
            self.attester.skip(task.task_id, "nobody earns anything (empty root)", used, dropped)
            return
        self._publish(outcome)
        root = (
            keccak(outcome.payout_root) if self.adversary == "wrong-root" else outcome.payout_root
        )
        intent = self.attester.record(task.task_id, root, outcome, used, dropped)
        log.info(
            "task %s: result %s, %d batches used, %d dropped, %d unfetched, %.2fs",
            task.task_id,
            outcome.cid,
            used,
            dropped,
            len(inputs.missing),
            time.monotonic() - started,
        )
        crash_point("after-attest-intent")
        self.attester.send(intent)

    def _waits_for_missing(self, task: Task, chain: TaskState, now: int, start: int) -> bool:
        """Whether a batch nobody serves yet is still waited for: through the first
        1/:data:`FETCH_SHARE` of the time from ``start`` (the reveal deadline, or a reviewed
        task's round end, when its batches are first read) to the attest deadline."""
        return now < start + (task.attest_deadline - start) // FETCH_SHARE

    def _task_view(self, task: Task, manifest: Manifest) -> SealedView | str | None:
        """None for a public task; a confidential task's item pages through its task key;
        or why this validator does not go on now: not named (skipped, said once: it cannot
        read what it would attest), or named and the key not wrapped to it yet (retried)."""
        params = manifest.confidential
        if params is None:
            return None
        if self.keyring is None or not self._may_read(params):
            why = "a confidential task that does not name this validator: it cannot read it"
            self.attester.skip(task.task_id, why)
            return why
        try:
            key = self.keyring.task_key(task.task_id, params)
        except NotAdmittedError as exc:
            log.info("task %s: waiting for the task key: %s", task.task_id, exc)
            return str(exc)
        return SealedView(self.store, key, ITEMS)

    def _may_read(self, params: ConfidentialParams) -> bool:
        """Whether a confidential task's key is meant for this account: its manifest names
        the validators it is wrapped to."""
        return params.names(self.validator)

    def _publish(self, outcome: ConsensusOutcome) -> None:
        for page in outcome.pages:  # before the root that names them
            self.store.put(page)
        cid = self.store.put(outcome.document_bytes)
        if cid != outcome.cid:
            raise ChainError(f"the store named the result {cid}, not {outcome.cid}")

    def _check_stake(self) -> None:
        if self._stake_checked:
            return
        self._stake_checked = True
        stake = int(self.staking.functions.stakeOf(self.validator).call())
        minimum = int(self.staking.functions.minStake().call())
        if stake < minimum:
            log.warning(
                "validator %s stakes %d, below the minimum %d: its attestations will be refused",
                self.validator,
                stake,
                minimum,
            )

    # ---------------------------------------------------------------- finalize, results

    def _finalize_due(self, now: int) -> None:
        with self.db.session() as session:
            tasks = ValidationRepository(session).attested_tasks(
                self.chain_id, self.validator, TaskStatus.OPEN
            )
        for task in tasks:
            if now <= task.attest_deadline and not (
                self.finalize_early and self.rounds.finalizable(task.task_id)
            ):
                continue
            self.rounds.send_finalize(task.task_id)
            if now > task.attest_deadline:
                self.attester.follow_rounds(task.task_id)

    def _record_results(self) -> None:
        with self.db.session() as session:
            done = ClaimRepository(session)
            pending = [
                task.task_id
                for task in ValidationRepository(session).attested_tasks(
                    self.chain_id, self.validator, TaskStatus.FINALIZED
                )
                if not done.has_leaves(self.chain_id, task.task_id)
            ]
        for task_id in pending:
            self.rounds.settle_final_vote(task_id)
            load_winning_result(self.db, self.store, self.chain_id, task_id)
