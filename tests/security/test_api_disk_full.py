"""Issue #13, finding 4: a full disk gave 500s while ``/readyz`` said the node was ready.

Without filling the machine's disk: readiness is tested with a reserve larger than the free
space, the 503 with SQLite's own "database or disk is full" (a page limit on the node's real
database, so SQLite itself refuses to grow) and with ``ENOSPC`` from a file write.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.config import load_settings
from node.db.repositories import LabelRepository
from tests.api.conftest import CHAIN, add_task
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


def test_a_file_write_without_space_is_a_503(
    client: TestClient, services: NodeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_task(services.db, 1)
    settle(services, 1)
    assert client.get("/api/v1/ui/tasks/1/export?format=jsonl").status_code == 200

    def no_space(*_args: object, **_kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    # The Label Studio export goes through a temporary file (jsonl and csv stream instead):
    # the file-write boundary fails as on a full disk (the one fake here; the database case
    # above is SQLite's own error).
    monkeypatch.setattr(Path, "write_text", no_space)
    response = client.get("/api/v1/ui/tasks/1/export?format=labelstudio")
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "DiskFullError"


def test_other_machine_errors_stay_500s(
    services: NodeServices, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text_task(services.db, 1)
    settle(services, 1)

    def denied(*_args: object, **_kwargs: object) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "write_text", denied)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as http:
        assert http.get("/api/v1/ui/tasks/1/export?format=labelstudio").status_code == 500
