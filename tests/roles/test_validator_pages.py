"""The validator duty on paged batches and gold (``labelnet/labels@2``, ``gold@2``).

The schema a task's batches and gold use is the task's rule (its manifest): a batch of the
other schema is dropped by every validator alike, gold of the other schema is ignored, and
a page nobody serves is waited for like a batch nobody serves, never taken as a verdict on
the batch. Same small network as tests/roles/test_validator_duty.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.db.models import ValidationState
from node.protocol.cid import compute_cid
from node.protocol.labels import LABELS_V1, LABELS_V2, LabelBatch
from node.protocol.manifest import GOLD_V1
from node.roles.validation import InputCollector
from node.store.embedded import EmbeddedStore
from tests.conftest import Actors, advance_time
from tests.roles.network import Network, make_network, post_task, reveal_all
from tests.roles.test_validator_duty import LABELS, attest_round, intent, published_result


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


@pytest.mark.parametrize(
    ("task_schema", "published"), [(LABELS_V2, LABELS_V1), (LABELS_V1, LABELS_V2)]
)
def test_a_batch_of_the_other_schema_is_dropped_by_every_validator(
    net: Network, task_schema: str, published: str, caplog: pytest.LogCaptureFixture
) -> None:
    """annotator_c reveals its committed labels (the right root) in the schema the task
    does not use: both validators drop it and publish the same result without it."""
    caplog.set_level(logging.WARNING, logger="node.roles.validator")
    task = post_task(net, labels=task_schema)
    account = net.actors.annotator_c
    batch = LabelBatch.create(task.task_id, account.address, LABELS["annotator_c"].items())
    root = net.store.get(batch.publish(published, net.store.put), max_size=1 << 20)
    reveal_all(net, [task], LABELS, published={"annotator_c": root})
    attest_round(net, ("validator_1", "validator_2"), finalize_early=False)

    rows = [intent(net, role, task.task_id) for role in ("validator_1", "validator_2")]
    assert [(r.state, r.batches_used, r.batches_dropped) for r in rows if r] == [
        (ValidationState.SENT, 2, 1)
    ] * 2
    assert rows[0] and rows[1] and rows[0].result_cid == rows[1].result_cid
    assert f"a {published} batch on a task whose batches are {task_schema}" in caplog.text


def test_a_page_nobody_serves_is_awaited_then_left_out(net: Network) -> None:
    task = post_task(net)
    account = net.actors.annotator_c
    batch = LabelBatch.create(task.task_id, account.address, LABELS["annotator_c"].items())
    written: list[bytes] = []

    def keep(data: bytes) -> str:
        written.append(data)
        return compute_cid(data)

    batch.publish(LABELS_V2, keep)
    # Only the root is stored (the last thing written): its page is nowhere.
    reveal_all(net, [task], LABELS, published={"annotator_c": written[-1]})
    attest_round(net, ("validator_1",))
    assert intent(net, "validator_1", task.task_id) is None  # waiting for the page
    advance_time(net.w3, 3600 - 600)  # less than half the attest window left
    attest_round(net, ("validator_1",))
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.SENT
    assert (row.batches_used, row.batches_dropped) == (2, 0)


def test_paged_gold_is_used_and_gold_of_the_other_schema_ignored(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    """New tasks reveal ``gold@2`` (paged), which changes the result as gold does; the same
    answers revealed as ``gold@1`` on such a task are ignored (the task runs without)."""
    caplog.set_level(logging.WARNING, logger="node.roles.validator")
    paged = post_task(net, gold={"q4": "cat"})
    wrong = replace(post_task(net, gold={"q4": "cat"}), gold_schema=GOLD_V1)
    reveal_all(net, [paged, wrong], LABELS)
    attest_round(net, ("validator_1",))
    values = {}
    for task in (paged, wrong):
        document = published_result(net, "validator_1", task.task_id)
        items = {i["item"]: i["value"] for i in document["items"]}  # type: ignore[attr-defined]
        values[task.task_id] = items["q4"]
    assert values == {paged.task_id: "cat", wrong.task_id: "dog"}
    assert "a labelnet/gold@1 gold set on a task whose gold is labelnet/gold@2" in caplog.text


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({**LABELS["annotator_c"], "q9": "cat"}, "5 labels for a task of 4 items"),
        ({"q1": "c" * 2_200_000, "q2": "d" * 2_200_000}, "the pages exceed 4198400 bytes"),
    ],
)
def test_a_paged_batch_larger_than_its_task_allows_is_dropped_before_it_is_read(
    net: Network, labels: dict[str, str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``labels@2`` batch gets the budget a ``labels@1`` document had: no more labels
    than the task has items, and its pages no more bytes in all than one document's limit
    plus 1 KiB an item; both follow from the content, so every validator drops it alike."""
    caplog.set_level(logging.WARNING, logger="node.roles.validator")
    task = post_task(net)
    account = net.actors.annotator_c
    batch = LabelBatch.create(task.task_id, account.address, labels.items())
    root = net.store.get(batch.publish(LABELS_V2, net.store.put), max_size=1 << 20)
    reveal_all(net, [task], LABELS, published={"annotator_c": root})
    attest_round(net, ("validator_1",))
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and (row.state, row.batches_used, row.batches_dropped) == (
        ValidationState.SENT,
        2,
        1,
    )
    assert reason in caplog.text


def test_the_prefetch_reads_only_the_pages_the_store_does_not_hold(tmp_path: Path) -> None:
    """A tick fetches only what earlier ticks did not: at a million labels, reading back
    the pages already held took the whole read deadline, and the last pages of each batch
    were never fetched (the 1M benchmark waited for them forever)."""
    store = EmbeddedStore(tmp_path / "blocks")
    held = store.put(b'{"held": true}')
    absent = compute_cid(b'{"absent": true}')
    asked: list[str] = []

    def fetch(cid: str) -> bytes:
        asked.append(cid)
        return b""

    InputCollector(store)._prefetch((held, absent, held), fetch)
    assert asked == [absent]
