"""Loading the winning result of a finalized task, verified against the chain.

``finalize`` records only the winning payout root and total on chain; the leaves an account
needs to claim live in the result documents validators published. Any attestation of the
winning root names a result CID, but the CID is just a string the attester chose: a
validator could attest the right root with a CID that does not resolve, or resolves to
something else. So nothing is trusted here: the document is fetched (and verified against
its CID by the store), parsed, and its payout tree rebuilt; only a tree whose root *and*
total equal the chain's are recorded. The next attester's CID is tried when one fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node.consensus.merkle import MerkleTreeError, PayoutTree
from node.consensus.result import SCHEMA as RESULT_SCHEMA
from node.content.canonical import check_json_depth
from node.content.manifest import MAX_DOCUMENT_BYTES
from node.db.engine import Database
from node.db.models import TaskStatus
from node.db.repositories.settlement import AttestationRepository, PayoutLeaf, PayoutRepository
from node.db.repositories.tasks import TaskRepository
from node.errors import LabelnetError
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import StoreError

log = logging.getLogger(__name__)


class ResultDocumentError(LabelnetError, ValueError):
    """A result document that is not the winning result of the task it claims to be for."""


@dataclass(frozen=True)
class WinningResult:
    """The verified result of a finalized task and its payout leaves with proofs."""

    task_id: int
    result_cid: str
    document: dict[str, Any] = field(repr=False)
    leaves: tuple[PayoutLeaf, ...]


def _same_hash(a: str, b: str) -> bool:
    return a.lower().removeprefix("0x") == b.lower().removeprefix("0x")


def payout_tree_of(document: Mapping[str, Any], task_id: int) -> PayoutTree:
    """The payout tree a ``labelnet/result@1`` document of ``task_id`` lists."""
    if document.get("schema") != RESULT_SCHEMA:
        raise ResultDocumentError(f"not a {RESULT_SCHEMA} document")
    if document.get("task") != task_id:
        raise ResultDocumentError(f"a result of task {document.get('task')!r}, not {task_id}")
    entries = document.get("payouts")
    if not isinstance(entries, list) or not entries:
        raise ResultDocumentError("a winning result lists at least one payout")
    try:
        payouts = [(str(entry["account"]), int(str(entry["amount"]))) for entry in entries]
        return PayoutTree.build(payouts)
    except (KeyError, TypeError, ValueError, MerkleTreeError) as exc:
        raise ResultDocumentError(f"malformed payouts: {exc}") from exc


def _verified(
    store: ContentStore, cid: str, task_id: int, root: str, total: int | None
) -> tuple[dict[str, Any], PayoutTree]:
    data = store.get(
        cid, max_size=MAX_DOCUMENT_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )
    try:
        check_json_depth(data)
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # also too deeply nested to parse
        raise ResultDocumentError(f"not JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(document, dict):
        raise ResultDocumentError("a result document is a JSON object")
    tree = payout_tree_of(document, task_id)
    if not _same_hash("0x" + tree.root.hex(), root):
        raise ResultDocumentError(f"its payout root 0x{tree.root.hex()} is not the task's {root}")
    if total is not None and tree.total != total:
        raise ResultDocumentError(f"its total {tree.total} is not the task's {total}")
    return document, tree


def load_winning_result(
    db: Database, store: ContentStore, chain_id: int, task_id: int
) -> WinningResult | None:
    """Fetch, verify and record the winning result of a finalized task.

    Returns None while the task is not finalized (as mirrored) or no attester of the winning
    root has published a document that verifies yet; call again later. Recording the leaves
    is idempotent and keeps claimed flags.
    """
    with db.session() as session:
        task = TaskRepository(session).get(chain_id, task_id)
        if task is None or task.status is not TaskStatus.FINALIZED or task.payout_root is None:
            return None
        root, total = task.payout_root, task.total_payout
        cids = list(
            dict.fromkeys(
                a.result_cid
                for a in AttestationRepository(session).for_task(chain_id, task_id)
                if _same_hash(a.payout_root, root)
            )
        )
    for cid in cids:
        try:
            document, tree = _verified(store, cid, task_id, root, total)
        except (StoreError, ResultDocumentError) as exc:
            log.warning("task %s: result %s is not usable: %s", task_id, cid, exc)
            continue
        leaves = tuple(
            PayoutLeaf(account, amount, ["0x" + p.hex() for p in tree.proof(account)])
            for account, amount in tree.payouts
        )
        with db.write() as session:
            PayoutRepository(session).record_leaves(chain_id, task_id, leaves)
        log.info("task %s: recorded %d payout leaves from %s", task_id, len(leaves), cid)
        return WinningResult(task_id=task_id, result_cid=cid, document=document, leaves=leaves)
    return None
