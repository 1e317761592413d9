"""Issue #13, medium finding: media amplification, then a lost reveal.

Before: annotator nodes joined any task and fetched all its media with no budget: a task
escrowing 8 wei with 8 x 30 MiB images added 242 MB to each annotator, and on a small disk
the node then could not record the reveal of a task it had already committed to. Now a
node stores at most ``max_task_media_bytes`` of one task's media and at most one MiB per
``min_reward_per_mib`` of its reward pool, judged on each file's declared size before its
leaves are read, and fetches no media while the disk holds less than its reserve.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

from web3 import Web3

from node.chain.contracts import Contracts
from node.db.models import ParticipationState
from node.protocol.cid import compute_cid
from node.protocol.manifest import ItemSpec, build_task_content
from node.store.embedded import EmbeddedStore
from node.store.errors import BlockNotFoundError
from node.store.gateway import GatewayStore
from tests.chain.test_lifecycle import TOKEN
from tests.conftest import Actors
from tests.roles.test_loader import Annotator, post_task
from tests.roles.test_loader import annotator as annotator  # the fixture
from tests.roles.test_loader import servers as servers  # the fixture
from tests.store.servers import gateway_app, serve

MIB = 1024 * 1024
IMAGES = [bytes([n]) * (3 * MIB) for n in range(4)]
"""Four distinct 3 MiB files: 12 MiB of media for a task of four items."""


def _publish(store: EmbeddedStore) -> tuple[str, int]:
    for image in IMAGES:
        store.put(image)
    items = [
        ItemSpec(f"img-{n}", content=compute_cid(image), media_type="image/png")
        for n, image in enumerate(IMAGES)
    ]
    content = build_task_content(items, title="pictures", classes=("a", "b"))
    for blob in content.blobs():
        store.put(blob)
    return content.manifest_cid, len(items)


def _media_held(annotator: Annotator) -> int:
    """How many images the node stored whole (a refused one leaves at most its root)."""
    held = 0
    for image in IMAGES:
        try:
            annotator.local.get(compute_cid(image), max_size=len(image))
        except BlockNotFoundError:
            continue
        held += 1
    return held


def _join(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
    **options: object,
) -> tuple[int, str]:
    requester = EmbeddedStore(tmp_path / "requester")
    manifest_cid, count = _publish(requester)
    task_id = post_task(w3, contracts, actors, manifest_cid, count)  # pool: 12 tokens
    annotator.sync.sync_once()
    peer = servers.enter_context(serve(gateway_app(requester)))
    with GatewayStore(annotator.local, [peer]) as store:
        annotator.loader(store=store, **options).tick()
    row = annotator.participation(task_id)
    assert row is not None
    return row.state, row.reason  # type: ignore[return-value]


def test_media_beyond_what_the_reward_pays_for_are_declined(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    # 12 tokens of pool at 2 tokens per MiB pay for 6 MiB: two of the four images.
    state, reason = _join(
        w3, contracts, actors, annotator, servers, tmp_path, min_reward_per_mib=2 * TOKEN
    )
    assert state is ParticipationState.DECLINED
    assert "media over this node's budget" in reason
    assert _media_held(annotator) == 2


def test_media_beyond_the_nodes_cap_are_declined(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    state, reason = _join(
        w3, contracts, actors, annotator, servers, tmp_path, max_task_media_bytes=4 * MIB
    )
    assert state is ParticipationState.DECLINED and "media over" in reason
    assert _media_held(annotator) == 1


def test_no_media_are_fetched_into_the_disk_reserve(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    free = shutil.disk_usage(tmp_path).free
    state, reason = _join(
        w3,
        contracts,
        actors,
        annotator,
        servers,
        tmp_path,
        data_dir=tmp_path,
        disk_reserve=free,
    )
    assert state is ParticipationState.DECLINED and "kept for the reveals" in reason
    assert _media_held(annotator) == 0


def test_a_task_that_pays_for_its_media_is_joined(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    annotator: Annotator,
    servers: ExitStack,
    tmp_path: Path,
) -> None:
    state, reason = _join(w3, contracts, actors, annotator, servers, tmp_path, data_dir=tmp_path)
    assert state is ParticipationState.JOINED, reason
    assert _media_held(annotator) == len(IMAGES)
