"""Bindings of ``TaskKeys``: the on-chain record of confidential tasks' key documents.

A confidential task's requester publishes the CID of each ``sealed-keys@1`` document that
wraps the task key (docs/confidential.md §4); the contract accepts it from the task's
requester only, so a reader takes the CIDs from its ``KeysPublished`` events and never
looks at a key document anyone else stored.
"""

from __future__ import annotations

from web3.contract import Contract

from node.chain.tx import TxSender


def publish_keys(sender: TxSender, task_keys: Contract, task_id: int, keys_cid: str) -> None:
    """Record ``keys_cid`` as a key document of ``task_id`` (the sender must be its
    requester, or the call reverts with ``TaskKeysNotRequester``)."""
    sender.transact(task_keys.functions.publishKeys(task_id, keys_cid))


def published_keys(task_keys: Contract, task_id: int, from_block: int = 0) -> list[str]:
    """The CIDs of ``task_id``'s key documents, in the order they were published."""
    events = task_keys.events.KeysPublished().get_logs(
        from_block=from_block, argument_filters={"taskId": task_id}
    )
    ordered = sorted(events, key=lambda event: int(event["args"]["index"]))
    return [str(event["args"]["keysCid"]) for event in ordered]
