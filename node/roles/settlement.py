"""Loading the winning result of a finalized task, verified against the chain.

``finalize`` records only the winning payout root and total on chain; the leaves an account
needs to claim live in the result documents validators published. Any attestation of the
winning root names a result CID, but the CID is just a string the attester chose: a
validator could attest the right root with a CID that does not resolve, or resolves to
something else. So nothing is trusted here: the document is fetched (and verified against
its CID by the store), parsed, and its payout tree rebuilt; only a tree whose root *and*
total equal the chain's are recorded. The next attester's CID is tried when one fails.
That choice is :func:`verified_result`, the one rule every reader of a finalized result
uses (this settlement, :func:`node.roles.winning.winning_result` from chain events alone,
and the requester's page, :mod:`node.app.ui_report`).

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
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from node.db.engine import Database
from node.db.models import Attestation, ResultFetch, ResultFetchState, TaskStatus
from node.db.repositories.settlement import (
    AttestationRepository,
    PayoutLeaf,
    PayoutRepository,
    ResultFetchRepository,
)
from node.db.repositories.tasks import TaskRepository
from node.db.types import utcnow
from node.errors import LabelnetError
from node.protocol.result import (
    MAX_RESULT_BYTES,
    ResultDocument,
    ResultDocumentError,
    parse_result,
)
from node.protocol.result_pages import MAX_PAGE_BYTES
from node.store.base import ContentStore
from node.store.budget import RESULT_SECONDS, FetchBudget
from node.store.errors import FileTooLargeError, InvalidCidError, InvalidContentError, StoreError

log = logging.getLogger(__name__)

RETRY_FIRST = dt.timedelta(seconds=30)
"""Wait before fetching a result CID again after its first retryable failure."""
RETRY_MAX = dt.timedelta(hours=1)
"""Longest wait between two fetches of one result CID (the back-off doubles up to it)."""


@dataclass(frozen=True)
class WinningResult:
    """The verified result of a finalized task and its payout leaves with proofs."""

    task_id: int
    result_cid: str
    document: dict[str, Any] = field(repr=False)
    leaves: tuple[PayoutLeaf, ...]


def _same_hash(a: str, b: str) -> bool:
    return a.lower().removeprefix("0x") == b.lower().removeprefix("0x")


def _hash_bytes(value: str) -> bytes:
    """The bytes of a hash stored as hex, with or without ``0x``."""
    return bytes.fromhex(value.lower().removeprefix("0x"))


def result_bytes(store: ContentStore, cid: str) -> bytes:
    """The bytes of the result document ``cid``, read as every reader of results reads them:
    in the canonical layout, within :data:`MAX_RESULT_BYTES` and a deadline (raises
    :class:`StoreError`). :func:`~node.protocol.result.parse_result` parses them, depth
    check first."""
    return store.get(
        cid, max_size=MAX_RESULT_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )


def result_page_bytes(store: ContentStore, cid: str) -> bytes:
    """The bytes of one page of a paged result document (``labelnet/result@2``), read like
    :func:`result_bytes` but within a page's limit; ``ResultDocument.iter_items`` verifies
    them against the CID its root lists."""
    return store.get(
        cid, max_size=MAX_PAGE_BYTES, budget=FetchBudget(RESULT_SECONDS), canonical=True
    )


class ResultUnavailableError(LabelnetError, LookupError):
    """No result document with the winning payout root could be fetched and verified.

    ``failures`` says why each candidate failed, in the order they were tried."""

    def __init__(self, message: str, failures: tuple[tuple[str, LabelnetError], ...] = ()):
        super().__init__(message)
        self.failures = failures


def winning_cids(attestations: Iterable[Attestation], root: str) -> list[str]:
    """The result CIDs attested with the winning ``root`` (hex), each once, in attest
    order: the candidates of :func:`verified_result` for readers of the node's database."""
    return list(
        dict.fromkeys(a.result_cid for a in attestations if _same_hash(a.payout_root, root))
    )


def verified_result(
    cids: Iterable[str],
    task_id: int,
    root: bytes,
    total: int | None,
    read: Callable[[str], bytes],
    *,
    on_failure: Callable[[str, LabelnetError], None] | None = None,
) -> tuple[str, ResultDocument]:
    """The CID and parsed root of the first of ``cids`` (candidates in attest order) whose
    bytes, read with ``read``, parse as ``task_id``'s result and rebuild the finalized
    payout ``root`` and ``total``: the one rule for choosing the winning result document,
    shared by the settlement, :func:`node.roles.winning.winning_result` and the
    requester's page (a CID is just a string an attester chose, so the next one is tried
    when one fails).

    ``on_failure(cid, error)`` is told of each failure as it happens (the settlement
    records it before the next CID is tried). Raises :class:`ResultUnavailableError`
    listing why each candidate failed (``none attested`` when there were none); errors
    other than the store's and the parser's propagate as they are.
    """
    failures: list[tuple[str, LabelnetError]] = []
    for cid in dict.fromkeys(cids):
        try:
            result = parse_result(read(cid), task_id)
            result.verify(root, total)
        except (StoreError, ResultDocumentError) as exc:
            failures.append((cid, exc))
            if on_failure is not None:
                on_failure(cid, exc)
            continue
        return cid, result
    problems = "; ".join(f"{cid}: {_first_line(exc)}" for cid, exc in failures)
    raise ResultUnavailableError(
        f"task {task_id}: no verifiable result document ({problems or 'none attested'})",
        tuple(failures),
    )


def _first_line(exc: BaseException) -> str:
    """An error's first line: a store's error can list every peer it asked, one a line."""
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


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
        cids = winning_cids(AttestationRepository(session).for_task(chain_id, task_id), root)
        failed = ResultFetchRepository(session).for_root(chain_id, task_id, root)

    def record(cid: str, exc: LabelnetError) -> None:
        _record_failure(db, chain_id, task_id, root, cid, exc, clock)

    try:
        cid, result = verified_result(
            (cid for cid in cids if _due(failed.get(cid), clock)),
            task_id,
            _hash_bytes(root),
            total,
            lambda cid: result_bytes(store, cid),
            on_failure=record,
        )
    except ResultUnavailableError:
        return None  # each failure is recorded (and logged) by ``record``
    leaves = tuple(
        PayoutLeaf(account, amount, ["0x" + p.hex() for p in result.payouts.proof(account)])
        for account, amount in result.payouts.leaves
    )
    with db.write() as session:
        PayoutRepository(session).record_leaves(chain_id, task_id, leaves)
    log.info("task %s: recorded %d payout leaves from %s", task_id, len(leaves), cid)
    return WinningResult(task_id=task_id, result_cid=cid, document=result.document, leaves=leaves)
