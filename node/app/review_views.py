"""What the review page reads and writes: the reviewed tasks this node knows, one task's
contested items with its votes, a vote, and the progress (votes given of ``|C|``).

Use cases over :class:`~node.app.review.ReviewService` and the vote table
(:mod:`node.db.repositories.review`); no FastAPI. A vote is stored (committed) before the
call returns, so a node killed after answering has it; the reviewer duty reads the votes
with :func:`node.db.repositories.review.votes_for`.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from node.db.models import TaskStatus
from node.db.repositories.review import ReviewIntentRepository, record_vote, votes_for
from node.db.repositories.tasks import TaskRepository
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.protocol.review import ContestedSet
from node.roles.review_service import LIST_READ_SECONDS, ReviewService
from node.ui.markdown import render_markdown

__all__ = [
    "ContestedItemView",
    "InvalidVoteError",
    "NotContestedError",
    "RevealedLabel",
    "ReviewProgress",
    "ReviewTask",
    "ReviewView",
    "Vote",
    "VotesCommittedError",
    "cast_vote",
    "review_progress",
    "review_tasks",
    "review_view",
]

LIST_LIMIT = 500
"""The most open tasks the list looks at (newest first)."""


class InvalidVoteError(LabelnetError, ValueError):
    """A vote that is not one of the task's classes (422)."""


class VotesCommittedError(LabelnetError, FileExistsError):
    """The reviewer duty has recorded its commitment to this node's votes on the task: they
    are fixed (the board holds their hash), so a change could never be revealed (409)."""


class NotContestedError(LabelnetError, LookupError):
    """The item is not in the task's contested set: nobody votes on it (404)."""


class ReviewTask(BaseModel):
    """A reviewed task as the task list shows it."""

    task_id: int
    title: str
    status: TaskStatus
    num_items: int
    classes: list[str]
    reveal_deadline: int
    seconds_to_reveal_deadline: int = Field(description="0 once the contested set exists")
    voted: int = Field(description="contested items this node's account has voted on")


class RevealedLabel(BaseModel):
    """One class annotators gave an item, and who gave it."""

    value: str
    count: int
    annotators: list[str]


class ContestedItemView(BaseModel):
    """One contested item: its content, the revealed labels, the consensus, this node's vote."""

    item_id: str
    data: JsonValue = None
    content_cid: str | None = None
    media_type: str | None = None
    labels: list[RevealedLabel]
    consensus: str
    posterior: str = Field(description="the consensus's posterior, nine decimals")
    vote: str | None = None


class ReviewProgress(BaseModel):
    voted: int
    total: int = Field(description="|C|, the contested items")


class ReviewView(BaseModel):
    """Everything the page needs to review one task."""

    task_id: int
    title: str
    instructions_html: str = Field(description="the manifest's markdown, rendered safely")
    classes: list[str]
    consensus_items: int
    batches_used: int
    batches_dropped: int
    items: list[ContestedItemView]
    progress: ReviewProgress


class Vote(BaseModel):
    """A vote on one contested item: one class of the task."""

    value: str = Field(min_length=1, max_length=256)


def review_tasks(
    service: ReviewService, reviewer: str | None, now: int | None = None
) -> list[ReviewTask]:
    """Open tasks with a review section, newest first (their manifests read once each)."""
    clock = int(time.time() if now is None else now)
    with service.db.session() as session:
        tasks = TaskRepository(session).page(
            service.chain_id, status=TaskStatus.OPEN, limit=LIST_LIMIT
        )
    listed: list[ReviewTask] = []
    for task in reversed(tasks):
        manifest = service.manifest(task, LIST_READ_SECONDS)
        if manifest is None or manifest.review is None:
            continue
        voted = 0
        if reviewer is not None:
            with service.db.session() as session:
                voted = len(votes_for(session, service.chain_id, task.task_id, reviewer))
        listed.append(
            ReviewTask(
                task_id=task.task_id,
                title=manifest.title or f"Task {task.task_id}",
                status=task.status,
                num_items=task.num_items,
                classes=list(manifest.classes),
                reveal_deadline=task.reveal_deadline,
                seconds_to_reveal_deadline=max(0, task.reveal_deadline - clock),
                voted=voted,
            )
        )
    return listed


def _progress(contested: ContestedSet, votes: dict[str, str]) -> ReviewProgress:
    return ReviewProgress(
        voted=sum(1 for item in contested.item_ids if item in votes), total=len(contested.items)
    )


def review_view(service: ReviewService, task_id: int, reviewer: str, now: int) -> ReviewView:
    """The task's contested items with the revealed labels and this node's votes."""
    contested = service.contested(task_id, now)
    with service.db.session() as session:
        votes = votes_for(session, service.chain_id, task_id, reviewer)
    manifest = contested.manifest
    items = [
        ContestedItemView(
            item_id=entry.item.id,
            data=entry.item.data,
            content_cid=entry.item.content,
            media_type=entry.item.media_type,
            labels=[
                RevealedLabel(value=value, count=len(who), annotators=list(who))
                for value, who in sorted(entry.labels.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ],
            consensus=entry.consensus,
            posterior=entry.posterior,
            vote=votes.get(entry.item.id),
        )
        for entry in contested.items
    ]
    return ReviewView(
        task_id=task_id,
        title=manifest.title or f"Task {task_id}",
        instructions_html=render_markdown(manifest.instructions),
        classes=list(manifest.classes),
        consensus_items=contested.consensus_items,
        batches_used=contested.batches_used,
        batches_dropped=contested.batches_dropped,
        items=items,
        progress=_progress(contested, votes),
    )


def cast_vote(
    service: ReviewService, task_id: int, reviewer: str, item_id: str, vote: Vote, now: int
) -> ReviewProgress:
    """Store (or replace) this node's vote on a contested item; the new progress."""
    contested = service.contested(task_id, now)
    if item_id not in contested.item_ids:
        raise NotContestedError(f"item {item_id[:80]!r} is not contested in task {task_id}")
    if vote.value not in contested.manifest.classes:
        raise InvalidVoteError(
            f"{vote.value[:80]!r} is not a class of task {task_id} "
            f"({', '.join(contested.manifest.classes)})"
        )
    with service.db.write() as session:
        # The intent row holds the votes the board has (or will have) the hash of; a vote
        # changed after it would only make the page disagree with what is revealed.
        if ReviewIntentRepository(session).get(service.chain_id, task_id, reviewer) is not None:
            raise VotesCommittedError(
                f"task {task_id}: this node has committed to its votes; they cannot change"
            )
        record_vote(session, service.chain_id, task_id, reviewer, item_id, vote.value)
    with service.db.session() as session:
        votes = votes_for(session, service.chain_id, task_id, reviewer)
    return _progress(contested, votes)


def review_progress(
    service: ReviewService, task_id: int, reviewer: str, now: int
) -> ReviewProgress:
    """How many of the contested items this node's account has voted on."""
    contested = service.contested(task_id, now)
    with service.db.session() as session:
        votes = votes_for(session, service.chain_id, task_id, reviewer)
    return _progress(contested, votes)
