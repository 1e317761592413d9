"""What the node tells about tasks: details, next items, progress, earnings and results.

Read-only use cases over the repositories, returning the database's ``*Public`` models (or
small models built from them) so the API serialises exactly what is documented. Each runs
in one short read session: on SQLite a long-open reader would hold back WAL checkpoints.
"""

from __future__ import annotations

import time

from eth_utils.address import to_checksum_address
from pydantic import BaseModel, Field
from sqlmodel import Session

from node.app.errors import ResultNotKnownError
from node.db.engine import Database
from node.db.models import (
    AttestationPublic,
    CommitState,
    ItemPublic,
    PayoutPublic,
    Task,
    TaskPublic,
    TaskStatus,
)
from node.db.repositories import (
    AttestationRepository,
    CommitmentRepository,
    ItemRepository,
    LabelRepository,
    PayoutRepository,
    TaskRepository,
)
from node.db.repositories.tasks import TaskNotFoundError
from node.db.types import DecimalStr
from node.roles.assignment import Assigner, NoSeatError, NotDealtYetError


class TaskDetail(TaskPublic):
    """A task with how far the network and this node have got with it."""

    items_stored: int = Field(description="items of the manifest this node has loaded")
    labelled: int | None = Field(description="items this node's account has labelled")
    commits: int = Field(description="annotators whose commitment is on chain")
    reveals: int = Field(description="annotators who revealed their batch")
    own_commit_state: CommitState | None = Field(
        description="this node's commit-reveal state on the task, if it committed"
    )


class Progress(BaseModel):
    """This node's labelling progress on one task."""

    task_id: int
    annotator: str
    done: int = Field(description="items labelled")
    total: int = Field(description="items of the task (stored, else as announced)")
    complete: bool
    commit_deadline: int = Field(description="unix time the commit window closes")
    seconds_to_commit_deadline: int = Field(description="0 once the window has closed")
    commit_state: CommitState | None = Field(
        description="null until the node commits; then pending, committed, revealed"
    )


class Earnings(BaseModel):
    """Token amounts (decimal strings, in the token's smallest unit) owed to an account."""

    account: str
    claimed: DecimalStr = Field(description="already paid out")
    claimable: DecimalStr = Field(description="unclaimed, with a Merkle proof: claim now")
    pending: DecimalStr = Field(description="unclaimed, proof not known to this node yet")
    tasks: int = Field(description="tasks with a payout for the account")
    payouts: list[PayoutPublic]


class TaskOutcome(BaseModel):
    """A task's attested outcome: the payout root, the result document and who is paid."""

    task_id: int
    status: TaskStatus
    payout_root: str | None = Field(description="the finalized root (null until finalized)")
    result_cid: str | None = Field(description="result document of the finalized root")
    total_payout: DecimalStr | None = None
    attestations: list[AttestationPublic]
    payouts: list[PayoutPublic]


def _task(session: Session, chain_id: int, task_id: int) -> Task:
    task = TaskRepository(session).get(chain_id, task_id)
    if task is None:
        raise TaskNotFoundError(f"task {task_id} is not known to this node (yet)")
    return task


def list_tasks(
    db: Database,
    chain_id: int,
    *,
    status: TaskStatus | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[TaskPublic]:
    """Tasks by id, one page at a time (pass the last id seen as ``after``)."""
    with db.session() as session:
        tasks = TaskRepository(session).page(
            chain_id, status=status, after_task_id=after, limit=limit
        )
        return [TaskPublic.model_validate(task) for task in tasks]


def task_detail(db: Database, chain_id: int, task_id: int, annotator: str | None) -> TaskDetail:
    with db.session() as session:
        task = _task(session, chain_id, task_id)
        commitments = CommitmentRepository(session).for_task(chain_id, task_id)
        own = next((c for c in commitments if c.annotator == annotator), None)
        labelled = (
            None
            if annotator is None
            else LabelRepository(session).count_for(chain_id, task_id, annotator)
        )
        extra = {
            "items_stored": ItemRepository(session).count(chain_id, task_id),
            "labelled": labelled,
            "commits": sum(1 for c in commitments if c.commitment is not None),
            "reveals": sum(1 for c in commitments if c.state is CommitState.REVEALED),
            "own_commit_state": None if own is None else own.state,
        }
        return TaskDetail.model_validate(task, update=extra)


def next_items(
    db: Database,
    chain_id: int,
    task_id: int,
    annotator: str,
    limit: int,
    assigner: Assigner | None = None,
) -> list[ItemPublic]:
    """The next ``limit`` items, in manifest order, that ``annotator`` has not labelled.

    On a seated task (market v2) only the items dealt to the annotator's seat, and the
    ``assigner``'s refusals otherwise: :class:`~node.roles.assignment.NoSeatError` (403)
    without a seat, :class:`~node.roles.assignment.NotDealtYetError` (409) before the seal.
    """
    with db.session() as session:
        task = _task(session, chain_id, task_id)
    positions = None if assigner is None else assigner.dealt_positions(task, annotator)
    with db.session() as session:
        items = LabelRepository(session).unlabelled_items(
            chain_id, task_id, annotator, limit, positions=positions
        )
        return [ItemPublic.model_validate(item) for item in items]


def progress(
    db: Database,
    chain_id: int,
    task_id: int,
    annotator: str,
    now: float | None = None,
    assigner: Assigner | None = None,
) -> Progress:
    """Done/total and the time left to commit (wall clock against the chain's deadline).

    On a seated task whose items are dealt, of the seat's batch; before the deal, or
    without a seat, of every stored item (the page says why there is nothing to label)."""
    with db.session() as session:
        task = _task(session, chain_id, task_id)
    positions = None
    if assigner is not None:
        try:
            positions = assigner.dealt_positions(task, annotator)
        except (NoSeatError, NotDealtYetError):
            positions = None
    with db.session() as session:
        labels = LabelRepository(session)
        if positions is None:
            done = labels.count_for(chain_id, task_id, annotator)
            stored = ItemRepository(session).count(chain_id, task_id)
        else:
            done = labels.count_at(chain_id, task_id, annotator, positions)
            stored = len(positions)
        own = CommitmentRepository(session).get(chain_id, task_id, annotator)
    total = stored or task.num_items
    clock = int(time.time() if now is None else now)
    return Progress(
        task_id=task_id,
        annotator=annotator,
        done=done,
        total=total,
        complete=total > 0 and done >= total,
        commit_deadline=task.commit_deadline,
        seconds_to_commit_deadline=max(0, task.commit_deadline - clock),
        commit_state=None if own is None else own.state,
    )


def earnings(db: Database, chain_id: int, account: str) -> Earnings:
    """Claimed, claimable and pending payouts of ``account`` over every task."""
    account = to_checksum_address(account)  # the tables hold checksummed addresses
    with db.session() as session:
        payouts = PayoutRepository(session)
        rows = payouts.for_account(chain_id, account)
        totals = payouts.earnings(chain_id, account)
        claimable = sum(p.amount for p in payouts.claimable(chain_id, account))
    return Earnings(
        account=account,
        claimed=str(totals.claimed),
        claimable=str(claimable),
        pending=str(totals.unclaimed - claimable),
        tasks=totals.tasks,
        payouts=[PayoutPublic.model_validate(p) for p in rows],
    )


def results(db: Database, chain_id: int, task_id: int) -> TaskOutcome:
    """The task's attestations and payouts; :class:`ResultNotKnownError` before any."""
    with db.session() as session:
        task = _task(session, chain_id, task_id)
        attestations = AttestationRepository(session).for_task(chain_id, task_id)
        payouts = PayoutRepository(session).for_task(chain_id, task_id)
    if not attestations and task.payout_root is None:
        raise ResultNotKnownError(f"task {task_id} has no attested result yet")
    winning = next((a for a in attestations if a.payout_root == task.payout_root), None)
    return TaskOutcome(
        task_id=task_id,
        status=task.status,
        payout_root=task.payout_root,
        result_cid=None if winning is None else winning.result_cid,
        total_payout=None if task.total_payout is None else str(task.total_payout),
        attestations=[AttestationPublic.model_validate(a) for a in attestations],
        payouts=[PayoutPublic.model_validate(p) for p in payouts],
    )
