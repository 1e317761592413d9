"""What the labeling page shows that the REST API does not already: the tasks this node
joined with their progress, one task's labeling view (instructions rendered safely) and an
item with this node's current label (undo).

Read-only use cases, like :mod:`node.app.views`: one short read session each, no FastAPI.
The requester's report of a final task and its exports are in :mod:`node.app.ui_report`
(re-exported here for the page's routes).
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field
from web3.exceptions import Web3Exception

from node.app.chain import ChainConnection
from node.app.ui_report import known_task
from node.app.views import Progress, progress
from node.db.engine import Database
from node.db.models import CommitState, ItemPublic, ParticipationState, TaskStatus
from node.db.repositories import (
    CommitmentRepository,
    ItemRepository,
    LabelRepository,
    TaskRepository,
)
from node.db.repositories.participation import ParticipationRepository
from node.db.repositories.tasks import TaskNotFoundError
from node.db.types import DecimalStr
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.roles.assignment import Assigner
from node.ui.markdown import render_markdown

__all__ = [
    "ItemLabel",
    "LabelingView",
    "NotJoinedError",
    "TaskCard",
    "chain_time",
    "item_label",
    "labeling_view",
    "task_cards",
]


class NotJoinedError(LabelnetError, LookupError):
    """This node has not joined the task (never loaded it, or declined it)."""


class TaskCard(BaseModel):
    """A task the node has looked at, as the task list shows it."""

    task_id: int
    title: str
    kind: str | None
    participation: ParticipationState
    reason: str = Field(description="why the node declined or failed to load the task")
    status: TaskStatus
    num_items: int
    done: int = Field(description="items this node's account has labelled")
    reward_per_label: DecimalStr
    commit_deadline: int
    seconds_to_commit_deadline: int
    commit_state: CommitState | None


class LabelingView(BaseModel):
    """Everything the page needs to label one task."""

    task_id: int
    title: str
    instructions_html: str = Field(description="the manifest's markdown, rendered safely")
    kind: str
    classes: list[str]
    status: TaskStatus
    reward_per_label: DecimalStr
    progress: Progress
    sealed: bool = Field(
        default=False,
        description="a confidential task: its media are read opened from the media route,"
        " not from /ipfs/ (which serves their ciphertext)",
    )


class ItemLabel(BaseModel):
    """An item and this node's current label for it (null if unlabelled)."""

    item: ItemPublic
    value: JsonValue = None


def chain_time(chain: ChainConnection | None) -> int | None:
    """The latest block's timestamp, the clock the contract judges deadlines by.

    A devnet's clock can run far ahead of the wall clock, so countdowns use this. None
    without a chain, or when the RPC does not answer in the probe's short timeout: callers
    then count against the wall clock, an approximate countdown being better than none.
    """
    if chain is None:
        return None
    try:
        return int(chain.probe.eth.get_block("latest")["timestamp"])
    except (OSError, ValueError, Web3Exception):  # requests' errors are OSErrors
        return None


def task_cards(
    db: Database, chain_id: int, annotator: str | None, now: float | None = None
) -> list[TaskCard]:
    """Every task the node joined, is loading or declined, newest first."""
    clock = int(time.time() if now is None else now)
    cards: list[TaskCard] = []
    with db.session() as session:
        rows = ParticipationRepository(session)
        tasks, labels = TaskRepository(session), LabelRepository(session)
        commitments = CommitmentRepository(session)
        for state in ParticipationState:
            for row in rows.in_state(chain_id, state):
                task = tasks.get(chain_id, row.task_id)
                if task is None:
                    continue
                own = (
                    None
                    if annotator is None
                    else commitments.get(chain_id, task.task_id, annotator)
                )
                cards.append(
                    TaskCard(
                        task_id=task.task_id,
                        title=row.title or f"Task {task.task_id}",
                        kind=row.kind,
                        participation=row.state,
                        reason=row.reason,
                        status=task.status,
                        num_items=task.num_items,
                        done=0
                        if annotator is None
                        else labels.count_for(chain_id, task.task_id, annotator),
                        reward_per_label=str(task.reward_per_label),
                        commit_deadline=task.commit_deadline,
                        seconds_to_commit_deadline=max(0, task.commit_deadline - clock),
                        commit_state=None if own is None else own.state,
                    )
                )
    return sorted(cards, key=lambda card: card.task_id, reverse=True)


def labeling_view(
    db: Database,
    chain_id: int,
    task_id: int,
    annotator: str,
    now: float | None = None,
    assigner: Assigner | None = None,
) -> LabelingView:
    """The joined task's instructions, classes and this node's progress on it."""
    task = known_task(db, chain_id, task_id)
    with db.session() as session:
        row = ParticipationRepository(session).get(chain_id, task_id)
    if row is None or row.state is not ParticipationState.JOINED or row.kind is None:
        raise NotJoinedError(f"this node has not joined task {task_id}")
    return LabelingView(
        task_id=task_id,
        title=row.title or f"Task {task_id}",
        instructions_html=render_markdown(row.instructions),
        kind=row.kind,
        classes=list(row.classes),
        status=task.status,
        reward_per_label=str(task.reward_per_label),
        progress=progress(db, chain_id, task_id, annotator, now, assigner),
    )


def item_label(
    db: Database, chain_id: int, task_id: int, item_id: str, annotator: str
) -> ItemLabel:
    """One item with this node's label for it: the page goes back to it on undo."""
    with db.session() as session:
        item = ItemRepository(session).get(chain_id, task_id, item_id)
        if item is None:
            raise TaskNotFoundError(f"task {task_id} has no item {item_id!r} on this node")
        label = LabelRepository(session).get(chain_id, task_id, annotator, item_id)
        return ItemLabel(
            item=ItemPublic.model_validate(item), value=None if label is None else label.value
        )
