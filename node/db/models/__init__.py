"""The node's tables. Importing this package registers every table on ``SQLModel.metadata``."""

from node.db.models.chain import (
    ChainEventRecord,
    SchemaVersion,
    SyncCheckpoint,
    SyncCursor,
    SyncCursorPublic,
)
from node.db.models.commitments import Commitment, CommitmentPublic, CommitState
from node.db.models.labels import Label, LabelCreate, LabelPublic
from node.db.models.participation import (
    ParticipationState,
    TaskParticipation,
    TaskParticipationPublic,
)
from node.db.models.relay import RelayedSeat, RelayState
from node.db.models.review import ReviewIntent, ReviewState, ReviewVote
from node.db.models.settlement import (
    Attestation,
    AttestationOutcome,
    AttestationPublic,
    Payout,
    PayoutPublic,
    ResultFetch,
    ResultFetchState,
)
from node.db.models.tasks import Item, ItemCreate, ItemPublic, Task, TaskPublic, TaskStatus
from node.db.models.validation import ValidationIntent, ValidationState

__all__ = [
    "Attestation",
    "AttestationOutcome",
    "AttestationPublic",
    "ChainEventRecord",
    "CommitState",
    "Commitment",
    "CommitmentPublic",
    "Item",
    "ItemCreate",
    "ItemPublic",
    "Label",
    "LabelCreate",
    "LabelPublic",
    "ParticipationState",
    "Payout",
    "PayoutPublic",
    "RelayState",
    "RelayedSeat",
    "ResultFetch",
    "ResultFetchState",
    "ReviewIntent",
    "ReviewState",
    "ReviewVote",
    "SchemaVersion",
    "SyncCheckpoint",
    "SyncCursor",
    "SyncCursorPublic",
    "Task",
    "TaskParticipation",
    "TaskParticipationPublic",
    "TaskPublic",
    "TaskStatus",
    "ValidationIntent",
    "ValidationState",
]
