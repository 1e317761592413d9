"""Loading the winning result of a finalized task, verified against the chain.

``finalize`` records only the winning payout root and total on chain; the leaves an account
needs to claim live in the result documents validators published. Any attestation of the
winning root names a result CID, but the CID is just a string the attester chose: a
validator could attest the right root with a CID that does not resolve, or resolves to
something else. So nothing is trusted here: the document is fetched (and verified against
its CID by the store), parsed, and its payout tree rebuilt; only a tree whose root *and*
total equal the chain's are recorded. The next attester's CID is tried when one fails.

A CID that fails is remembered (:class:`~node.db.models.ResultFetch`), because the claim
and validator duties ask again on every tick until the leaves are recorded: one attester's
junk CID used to be fetched and warned about every second, for ever. A CID that is not one,
or whose content is not the winning result, is recorded as unusable and never tried again
(content under a CID cannot change), with one warning. A fetch that failed for a reason
time may cure (nobody serves it yet, a peer misbehaved, a deadline) is retried after an
exponential back-off, with a warning only the first time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node.consensus.merkle import MerkleTreeError, PayoutTree
from node.consensus.result import MAX_RESULT_BYTES
from node.content.canonical import check_json_depth
from node.db.engine import Database
from node.db.models import ResultFetch, ResultFetchState, TaskStatus
from node.db.repositories.settlement import (
    AttestationRepository,
    PayoutLeaf,
    PayoutRepository,
    ResultFetchRepository,
)
from node.db.repositories.tasks import TaskRepository
from node.db.types import utcnow
from node.errors import LabelnetError
from node.protocol.result_pages import RESULT_SCHEMAS
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import FileTooLargeError, InvalidCidError, InvalidContentError, StoreError

log = logging.getLogger(__name__)

RETRY_FIRST = dt.timedelta(seconds=30)
"""Wait before fetching a result CID again after its first retryable failure."""
RETRY_MAX = dt.timedelta(hours=1)
"""Longest wait between two fetches of one result CID (the back-off doubles up to it)."""


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
    """The payout tree a result document of ``task_id`` lists: ``labelnet/result@1``, or the
    root of a paged ``labelnet/result@2`` (whose payouts are in the root: no page is read)."""
    if document.get("schema") not in RESULT_SCHEMAS:
        raise ResultDocumentError(f"not a result document: schema={document.get('schema')!r}")
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


def result_bytes(store: ContentStore, cid: str) -> bytes:
    """The bytes of the result document ``cid``, read as every reader of results reads them:
    in the canonical layout, within :data:`MAX_RESULT_BYTES` and a deadline, and refused if
    nested deep enough to crash ``json`` (raises :class:`StoreError` or
    :class:`~node.content.canonical.DocumentTooDeepError`)."""
    data = store.get(
        cid, max_size=MAX_RESULT_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )
    check_json_depth(data)
    return data


def _verified(
    store: ContentStore, cid: str, task_id: int, root: str, total: int | None
) -> tuple[dict[str, Any], PayoutTree]:
    try:
        document = json.loads(result_bytes(store, cid))
    except StoreError:
        raise  # the store's verdict (several are ValueErrors): not a JSON problem
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


def _due(known: ResultFetch | None, now: dt.datetime) -> bool:
    """Whether a CID with this record is to be fetched now."""
    if known is None:
        return True
    if known.state is ResultFetchState.UNUSABLE:
        return False
    return known.next_attempt_at is None or known.next_attempt_at <= now


def _record_failure(
    db: Database,
    chain_id: int,
    task_id: int,
    root: str,
    cid: str,
    exc: LabelnetError,
    now: dt.datetime,
) -> None:
    """Record why ``cid`` failed, and log it: once for good, or at each back-off step.

    Permanent: the string is no CID, or the content it names (verified against it) is too
    large, not a file, or not the winning result. Anything else is retried: nobody serving
    the CID yet, a backend down, a deadline, and a peer serving other bytes (that peer's
    fault, not the CID's: another may serve the right ones).
    """
    permanent = isinstance(
        exc, ResultDocumentError | InvalidCidError | InvalidContentError | FileTooLargeError
    )
    shown = cid[:100]
    with db.write() as session:
        repository = ResultFetchRepository(session)
        if permanent:
            repository.record(
                chain_id, task_id, root, cid, state=ResultFetchState.UNUSABLE, reason=str(exc)
            )
            log.warning(
                "task %s: result %r is not usable, not trying it again: %s", task_id, shown, exc
            )
            return
        previous = repository.for_root(chain_id, task_id, root).get(cid)
        failures = 0 if previous is None else previous.attempts
        wait = min(RETRY_FIRST * 2**failures, RETRY_MAX)
        row = repository.record(
            chain_id,
            task_id,
            root,
            cid,
            state=ResultFetchState.RETRYING,
            reason=str(exc),
            next_attempt_at=now + wait,
        )
    level = logging.WARNING if row.attempts == 1 else logging.INFO
    log.log(
        level,
        "task %s: result %r cannot be fetched now (attempt %d, next in %ds): %s",
        task_id,
        shown,
        row.attempts,
        wait.total_seconds(),
        exc,
    )


def load_winning_result(
    db: Database,
    store: ContentStore,
    chain_id: int,
    task_id: int,
    *,
    now: dt.datetime | None = None,
) -> WinningResult | None:
    """Fetch, verify and record the winning result of a finalized task.

    Returns None while the task is not finalized (as mirrored) or no attester of the winning
    root has published a document that verifies yet; call again later: CIDs that failed are
    skipped (for good, or until their back-off is over; see the module docstring). Recording
    the leaves is idempotent and keeps claimed flags. ``now`` is for tests.
    """
    clock = utcnow() if now is None else now
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
        failed = ResultFetchRepository(session).for_root(chain_id, task_id, root)
    for cid in cids:
        if not _due(failed.get(cid), clock):
            continue
        try:
            document, tree = _verified(store, cid, task_id, root, total)
        except (StoreError, ResultDocumentError) as exc:
            _record_failure(db, chain_id, task_id, root, cid, exc, clock)
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
