"""Plain repository classes over a :class:`sqlmodel.Session` (no web framework here).

Each method runs inside the caller's transaction, so a role can combine several of them
(and the event sync its handler and cursor) into one atomic unit of work.
"""

from node.db.repositories.commitments import CommitmentRepository, CommitmentStateError
from node.db.repositories.labels import LabelRejectedError, LabelRepository
from node.db.repositories.participation import (
    ParticipationNotFoundError,
    ParticipationRepository,
)
from node.db.repositories.settlement import (
    AttestationRepository,
    Earnings,
    PayoutLeaf,
    PayoutRepository,
    ResultFetchRepository,
)
from node.db.repositories.sync import SyncCursorRepository
from node.db.repositories.tasks import ItemRepository, TaskRepository
from node.db.repositories.validation import ClaimRepository, ValidationRepository

__all__ = [
    "AttestationRepository",
    "ClaimRepository",
    "CommitmentRepository",
    "CommitmentStateError",
    "Earnings",
    "ItemRepository",
    "LabelRejectedError",
    "LabelRepository",
    "ParticipationNotFoundError",
    "ParticipationRepository",
    "PayoutLeaf",
    "PayoutRepository",
    "ResultFetchRepository",
    "SyncCursorRepository",
    "TaskRepository",
    "ValidationRepository",
]
