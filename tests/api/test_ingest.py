"""The label writer's group commit: batches share a transaction, a bad one fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from node.app.errors import NodeStoppingError
from node.app.ingest import LabelWriter
from node.app.runtime import NodeServices
from node.db.repositories import LabelRejectedError, LabelRepository
from node.db.repositories.tasks import TaskNotFoundError
from tests.api.conftest import CHAIN, add_task


@pytest.fixture
def writer(services: NodeServices) -> Iterator[LabelWriter]:
    label_writer = LabelWriter(services.db, CHAIN)
    label_writer.start()
    try:
        yield label_writer
    finally:
        label_writer.stop()


def test_queued_batches_commit_together_and_a_bad_one_fails_alone(
    services: NodeServices, writer: LabelWriter
) -> None:
    items = add_task(services.db, items=10)
    me = services.require_annotator()
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with services.db.write() as session:
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the writer must wait
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert locked.wait(10)

    async def scenario() -> list[int | BaseException]:
        first = asyncio.ensure_future(writer.submit(1, me, [{"item": items[0], "value": "a"}]))
        await asyncio.sleep(0.1)  # the writer took it and waits for the lock
        queued = [
            writer.submit(1, me, [{"item": items[1], "value": "b"}]),
            writer.submit(1, me, [{"item": "no-such-item", "value": "c"}]),
            writer.submit(2, me, [{"item": items[3], "value": "d"}]),  # unknown task
            writer.submit(
                1, me, [{"item": items[4], "value": "e"}, {"item": items[5], "value": 1}]
            ),
        ]
        pending = [asyncio.ensure_future(job) for job in queued]
        await asyncio.sleep(0.1)
        release.set()
        return await asyncio.gather(first, *pending, return_exceptions=True)

    results = asyncio.run(scenario())
    holder.join()
    assert results[0] == 1 and results[1] == 1 and results[4] == 2
    assert isinstance(results[2], LabelRejectedError)
    assert isinstance(results[3], TaskNotFoundError)
    with services.db.session() as session:
        stored = {r.item_id: r.value for r in LabelRepository(session).list_for(CHAIN, 1, me)}
    assert stored == {items[0]: "a", items[1]: "b", items[4]: "e", items[5]: 1}
    assert writer.batches == 3  # the failed group was redone batch by batch


def test_busy_writer_groups_batches_into_fewer_transactions(
    services: NodeServices, writer: LabelWriter
) -> None:
    items = add_task(services.db, items=200)
    me = services.require_annotator()

    async def flood() -> list[int]:
        jobs = [writer.submit(1, me, [{"item": item, "value": "x"}]) for item in items]
        return await asyncio.gather(*jobs)

    assert asyncio.run(flood()) == [1] * 200
    assert writer.batches == 200
    assert writer.transactions < 200


def test_a_stopped_writer_refuses_batches(services: NodeServices) -> None:
    add_task(services.db)
    writer = LabelWriter(services.db, CHAIN)
    with pytest.raises(NodeStoppingError):
        asyncio.run(writer.submit(1, services.require_annotator(), []))
