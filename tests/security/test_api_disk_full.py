"""Issue #13, finding 4: a full disk gave 500s while ``/readyz`` said the node was ready.

Without filling the machine's disk: readiness is tested with a reserve larger than the free
space, the 503 with SQLite's own "database or disk is full" (a page limit on the node's real
database, so SQLite itself refuses to grow) and with ``ENOSPC`` from a file write: the
store's block file, when an export caches a result document fetched from a peer (the
page's exports stream to the response and write no file of their own).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.config import load_settings
from node.db.repositories import LabelRepository
from node.store import embedded
from node.store.embedded import EmbeddedStore
from tests.api.conftest import CHAIN, add_task
from tests.store.servers import gateway_app
from tests.store.servers import serve as serve_http
from tests.ui.test_ui_views import settle, text_task

LABELS = "/api/v1/tasks/1/labels"


def serve(tmp_path: Path, annotator: LocalAccount, **settings: Any) -> NodeServices:
    node = NodeServices.open(load_settings(data_dir=tmp_path / "node", chain_id=CHAIN, **settings))
    node.account = annotator
    return node


@pytest.fixture
def low_disk(tmp_path: Path, annotator: LocalAccount) -> Iterator[TestClient]:
    free = shutil.disk_usage(tmp_path).free
    services = serve(tmp_path, annotator, disk_reserve_bytes=free + 2**40)
    with TestClient(create_app(services=services)) as http:
        yield http
    services.close()


def test_readyz_is_not_ready_below_the_disk_reserve(low_disk: TestClient) -> None:
    assert low_disk.get("/healthz").status_code == 200  # alive, but
    response = low_disk.get("/readyz")
    assert response.status_code == 503
    disk = response.json()["checks"]["disk"]
    assert disk["ok"] is False
    assert disk["detail"].startswith("low: ") and "MiB free in" in disk["detail"]


def test_readyz_is_ready_above_the_reserve(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["disk"]["ok"] is True


def _cap_database_growth(services: NodeServices) -> None:
    """Let SQLite allocate no page beyond those the database has now: any growth fails
    with SQLITE_FULL, exactly as on a full disk."""
    with services.db.session() as session:
        pages = session.execute(text("PRAGMA page_count")).scalar_one()

    @event.listens_for(services.db.engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={int(pages)}")

    services.db.engine.dispose()  # every new connection gets the cap


def test_a_label_batch_on_a_full_database_is_a_503_and_nothing_is_stored(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db, 1, items=500)
    _cap_database_growth(services)
    batch = [{"item": item, "value": "x" * 200} for item in items]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "DiskFullError"
    assert "disk is full" in response.json()["detail"]
    with services.db.session() as session:
        assert LabelRepository(session).list_for(CHAIN, 1, str(services.annotator)) == []
    assert client.get("/healthz").status_code == 200  # the node lives on


@pytest.fixture
def result_on_a_peer(
    tmp_path: Path, annotator: LocalAccount
) -> Iterator[tuple[NodeServices, EmbeddedStore, str]]:
    """A node with a finalized task whose result document only a peer holds: exporting it
    fetches the document and caches its blocks in the node's store, the one disk write left
    on the export's path (every format streams its file to the response, writing none)."""
    peer = EmbeddedStore.in_data_dir(tmp_path / "peer")
    with serve_http(gateway_app(peer)) as url:
        node = serve(tmp_path, annotator, peers=(url,))
        try:
            text_task(node.db, 1)
            outcome = settle(node, 1, publish=False)
            peer.put(outcome.document_bytes)
            yield node, peer, outcome.cid
        finally:
            node.close()


def _fail_block_writes(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """Block files fail as on a full (or failing) disk: the temporary file is created, and
    writing into it raises ``OSError(code)``."""

    def failing(fd: int, *_args: object, **_kwargs: object) -> IO[bytes]:
        os.close(fd)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(embedded.os, "fdopen", failing)


def _block_files(store: EmbeddedStore) -> list[Path]:
    return [path for path in store.root.rglob("*") if path.is_file()]


def test_a_file_write_without_space_is_a_503_and_leaves_no_partial_file(
    result_on_a_peer: tuple[NodeServices, EmbeddedStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, _peer, cid = result_on_a_peer
    local = EmbeddedStore.in_data_dir(node.settings.data_dir)
    before = _block_files(local)
    _fail_block_writes(monkeypatch, errno.ENOSPC)
    with TestClient(create_app(services=node)) as http:
        response = http.get("/api/v1/ui/tasks/1/export?format=labelstudio")
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "DiskFullError"
        assert _block_files(local) == before  # neither the block nor its temporary file
        assert not local.has(cid)
        monkeypatch.undo()  # space freed: the same request now succeeds and caches the result
        response = http.get("/api/v1/ui/tasks/1/export?format=labelstudio")
        assert response.status_code == 200, response.text
        assert len(response.json()) == 4
        assert local.has(cid)


def test_other_machine_errors_stay_500s(
    result_on_a_peer: tuple[NodeServices, EmbeddedStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node, _peer, _cid = result_on_a_peer
    _fail_block_writes(monkeypatch, errno.EIO)
    with TestClient(create_app(services=node), raise_server_exceptions=False) as http:
        assert http.get("/api/v1/ui/tasks/1/export?format=labelstudio").status_code == 500
