"""The winning result document of a finalized task, found from the chain and content alone.

No node database: the chain says which payout root won, the ``ResultAttested`` events say
where validators published result documents, and the winning one is chosen by the one rule
every reader of results shares (:func:`node.roles.settlement.verified_result`: accepted only
if the payout tree rebuilt from its own payouts has the winning root and total; the next
attester's CID is tried when one fails).

Two readers need it without a node: the requester's
:func:`~node.roles.requester.results.fetch_results`, which joins it with the task's items,
and a claim without a node (:func:`client.sdk.annotator.claim_from_results`), which needs
only its payout tree and so reads the root document alone, never an item or result page.
The node's own duties read the same documents through their database
(:mod:`node.roles.settlement`).
"""

from __future__ import annotations

from web3.contract import Contract

from node.chain.market import TaskStatus, read_task
from node.errors import LabelnetError
from node.protocol.result import ResultDocument
from node.roles.settlement import ResultUnavailableError as ResultUnavailableError
from node.roles.settlement import result_bytes, verified_result
from node.store.base import ContentStore


class ResultNotFinalError(LabelnetError, LookupError):
    """The task has no final result (still open, disputed or cancelled)."""


def winning_result(
    market: Contract, store: ContentStore, task_id: int, from_block: int = 0
) -> tuple[str, ResultDocument]:
    """The CID and parsed root of the result document that won ``task_id`` (a FINALIZED
    task), verified against the finalized payout root and total.

    ``from_block`` bounds the event scan (the deployment's start block is a good value).
    Raises :class:`ResultNotFinalError` for a task that is not finalized and
    :class:`ResultUnavailableError` when no attested document can be fetched and verified.
    """
    state = read_task(market, task_id)
    if state.status is not TaskStatus.FINALIZED:
        raise ResultNotFinalError(f"task {task_id} is {state.status.name.lower()}, not finalized")
    attested = market.events.ResultAttested().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    cids = (
        str(log["args"]["resultCid"])
        for log in attested
        if bytes(log["args"]["payoutRoot"]) == state.payout_root
    )
    return verified_result(
        cids,
        task_id,
        state.payout_root,
        state.total_payout,
        lambda cid: result_bytes(store, cid),
    )
