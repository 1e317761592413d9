"""Issue #13: a task whose content is served slowly delays only its own join.

The loader reads each task's manifest, pages and media under one deadline
(:data:`node.roles.loader.LOAD_SECONDS`); a task that runs out of it is recorded as failed
and retried later, with the blocks read so far kept, and the tick moves on to the next task.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts
from node.db.models import ParticipationState
from node.protocol.manifest import ItemSpec, build_task_content
from node.roles import loader as loader_module
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore
from tests.conftest import Actors
from tests.roles.test_loader import Annotator, post_task, publish, task_content
from tests.roles.test_loader import annotator as annotator  # the fixture
from tests.security.attacker import SlowGateway
from tests.store.servers import gateway_app, serve


@pytest.fixture
def tarpit() -> Iterator[tuple[SlowGateway, str]]:
    gateway = SlowGateway({}, delay=30.0)
    with serve(gateway.app) as url:
        try:
            yield gateway, url
        finally:
            gateway.close()


def test_a_slow_task_does_not_hold_up_the_next(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    tarpit: tuple[SlowGateway, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loader_module, "LOAD_SECONDS", 1.0)
    slow_store, fast_store = EmbeddedStore(tmp_path / "slow"), EmbeddedStore(tmp_path / "fast")
    slow = task_content()
    fast = build_task_content(
        [ItemSpec("q1", data={"text": "a cat"})], title="another task", classes=("cat", "dog")
    )
    publish(slow_store, slow)
    for blob in fast.blobs():
        fast_store.put(blob)
    gateway, tarpit_url = tarpit
    gateway.blocks = {cid: slow_store.get_block(cid) for cid in [slow.manifest_cid]}
    slow_id = post_task(w3, contracts, actors, slow.manifest_cid, 4)
    fast_id = post_task(w3, contracts, actors, fast.manifest_cid, 1)
    annotator.sync.sync_once()
    with ExitStack() as stack:
        fast_url = stack.enter_context(serve(gateway_app(fast_store)))
        store = stack.enter_context(GatewayStore(annotator.local, [tarpit_url, fast_url]))
        started = time.monotonic()
        annotator.loader(store=store).tick()
        elapsed = time.monotonic() - started
    slow_row, fast_row = annotator.participation(slow_id), annotator.participation(fast_id)
    assert slow_row is not None and slow_row.state is ParticipationState.FAILED
    assert "ran out of time" in slow_row.reason
    assert fast_row is not None and fast_row.state is ParticipationState.JOINED
    assert elapsed < 1.0 + 1.0 + 3.0  # the slow task's second, one block's grace, the rest
