"""Where a reviewer node's votes come from: the :class:`~node.roles.reviewer.VoteSource` the
node builds for its :class:`~node.roles.reviewer.ReviewerDuty` (docs/review.md §1 step 2).

The votes are over the contested set *as this node's validators compute it*
(:class:`~node.roles.review_service.ReviewService`, which refuses a partial set: §11), and
come either from the review page's table (``review_votes``, read by ``votes_for``) or from a
review program (:mod:`node.labelers.review`) when the node is configured with one. Either way a
task's votes are offered only when there is one per contested item, since ``valid_votes``
refuses anything else and an invalid reveal is slashed like silence.

Only reviewed tasks are named (:func:`node.chain.review.is_reviewed`: a manifest section and
matching terms on the board), so the duty never stakes a bond on a task whose validators will
ignore the review.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from web3.contract import Contract

from node.chain.review import is_reviewed
from node.db.models import Task, TaskStatus
from node.db.repositories.review import votes_for
from node.db.repositories.tasks import TaskRepository
from node.labelers.review import ReviewProgram
from node.roles.review_service import (
    NotReviewedError,
    ReviewIncompleteError,
    ReviewNotOpenError,
    ReviewService,
)

log = logging.getLogger(__name__)

PAGE = 500
"""Open tasks read from the database at a time."""


class ContestedVoteSource:
    """Votes over the contested set: the page's, or a review program's."""

    def __init__(
        self,
        *,
        service: ReviewService,
        board: Contract | None,
        reviewer: str,
        clock: Callable[[], int],
        program: ReviewProgram | None = None,
    ) -> None:
        self.service, self.board, self.reviewer = service, board, reviewer
        self.clock, self.program = clock, program
        self._reviewed: dict[int, bool] = {}

    def tasks(self) -> list[int]:
        """Open tasks past their reveal deadline that are reviewed (by the one rule)."""
        now = self.clock()
        tasks: list[Task] = []
        with self.service.db.session() as session:
            after = 0
            while page := TaskRepository(session).page(
                self.service.chain_id, status=TaskStatus.OPEN, after_task_id=after, limit=PAGE
            ):
                tasks += [task for task in page if now > task.reveal_deadline]
                after = page[-1].task_id
        named: list[int] = []
        for task in tasks:
            # Cached: openReview is refused after the reveal deadline, so the answer is final.
            if task.task_id not in self._reviewed:
                manifest = self.service.manifest(task)
                if manifest is None:
                    continue  # not read yet: asked again next tick
                params = manifest.review
                self._reviewed[task.task_id] = is_reviewed(
                    self.board, task.task_id, params, task.num_items
                )
            if self._reviewed[task.task_id]:
                named.append(task.task_id)
        return named

    def votes(self, task_id: int) -> Mapping[str, str] | None:
        """One class per contested item, or None while the set or the votes are incomplete."""
        try:
            contested = self.service.contested(task_id, self.clock())
        except (ReviewIncompleteError, ReviewNotOpenError, NotReviewedError) as exc:
            log.info("task %s: no review votes yet: %s", task_id, exc)
            return None
        if self.program is not None:
            return self.program.votes(self.service.chain_id, contested)
        with self.service.db.session() as session:
            stored = votes_for(session, self.service.chain_id, task_id, self.reviewer)
        wanted = contested.item_ids
        if any(item not in stored for item in wanted):
            return None
        return {item: stored[item] for item in wanted}
