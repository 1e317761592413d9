"""What a node holds on disk, read after (or while) it runs.

The fault and attack campaigns judge a node by its own database and block store, not by
what the orchestrator believes it sent: the labels it acknowledged (rows in its database),
the batch it committed to (its own CID and root, recorded before the commit), and the batch
it revealed (the mirrored chain columns, and the bytes in its store).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from node.db.engine import open_database
from node.db.models import ValidationState
from node.db.repositories import CommitmentRepository, LabelRepository
from node.db.repositories.validation import ValidationRepository
from node.protocol.canonical import JsonValue
from node.protocol.labels import LabelBatchError, read_batch
from node.protocol.paging import MAX_PAGE_BYTES
from node.store.embedded import EmbeddedStore
from node.store.errors import StoreError

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class NodeLabels:
    """One annotator's labels of one task, as its node stored, committed and revealed them."""

    stored: dict[str, JsonValue]
    """item -> value: every label the node acknowledged (its database rows)."""
    committed_cid: str | None
    committed_root: str | None
    revealed_root: str | None
    """The root the chain shows revealed (mirrored into the node's database), if any."""
    batch: dict[str, JsonValue] | None
    """item -> value of the committed batch, read back from the node's own store (either
    schema, each page verified) and checked against the committed root."""


def _hex(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    text = value.hex() if isinstance(value, bytes) else value
    return text.lower().removeprefix("0x")


def node_database_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / 'node.db'}"


def read_node_labels(data_dir: Path, chain_id: int, task_id: int, annotator: str) -> NodeLabels:
    """The labels, commitment and batch of ``annotator`` in the node at ``data_dir``."""
    db = open_database(url=node_database_url(data_dir))
    try:
        with db.session() as session:
            rows = LabelRepository(session).list_for(chain_id, task_id, annotator)
            stored = {row.item_id: row.value for row in rows}
            commitment = CommitmentRepository(session).get(chain_id, task_id, annotator)
    finally:
        db.dispose()
    cid = commitment.own_labels_cid if commitment else None
    batch = None
    if cid is not None and commitment is not None and commitment.own_labels_root is not None:
        store = EmbeddedStore.in_data_dir(data_dir)
        if store.has(cid):
            try:
                read = read_batch(
                    store.get(cid, max_size=MAX_BATCH_BYTES),
                    lambda page: store.get(page, max_size=MAX_PAGE_BYTES),
                    task_id=task_id,
                    annotator=annotator,
                    labels_root=bytes.fromhex(commitment.own_labels_root.removeprefix("0x")),
                )
                batch = dict(read.labels)
            except (LabelBatchError, StoreError) as exc:  # what the campaign reports
                log.warning("%s: the committed batch %s is unreadable: %s", data_dir, cid, exc)
    return NodeLabels(
        stored=stored,
        committed_cid=cid,
        committed_root=_hex(commitment.own_labels_root) if commitment else None,
        revealed_root=_hex(commitment.labels_root) if commitment else None,
        batch=batch,
    )


def read_skip_reason(data_dir: Path, chain_id: int, task_id: int, validator: str) -> str | None:
    """Why the validator node at ``data_dir`` decided not to attest ``task_id``, if it did."""
    db = open_database(url=node_database_url(data_dir))
    try:
        with db.session() as session:
            row = ValidationRepository(session).get(chain_id, task_id, validator)
    finally:
        db.dispose()
    if row is None or row.state is not ValidationState.SKIPPED:
        return None
    return row.reason or "no reason recorded"
