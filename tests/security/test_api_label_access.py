"""Issue #13, finding 1: an annotator's labels were readable by anyone before the commit.

Read routes needed no token and the ``Host`` header was not checked, so a local process, or
a web page that rebinds its own name to 127.0.0.1, could copy the node's uncommitted labels
before the deadline. Now every route showing this node's labels or uncommitted work needs
the API token, and the API and page answer only to the node's own names.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.config import load_settings
from node.db.models import LabelCreate, ParticipationState
from node.db.repositories import LabelRepository, ParticipationRepository
from tests.api.conftest import CHAIN, add_task

SECRET = "a-label-nobody-may-copy"
EVIL = {"Host": "evil.example:7420"}

LABEL_ROUTES = [
    "/api/v1/ui/tasks/1/items/img-0001",
    "/api/v1/ui/tasks/1/progress",
    "/api/v1/ui/tasks/1",
    "/api/v1/ui/tasks",
    "/api/v1/tasks/1/items/next",
    "/api/v1/tasks/1/progress",
]
"""Every route that shows this node's labels, or which items it labelled and how many."""


@pytest.fixture
def labelled(services: NodeServices) -> NodeServices:
    """Task 1 joined, item img-0001 labelled with SECRET and not committed."""
    add_task(services.db, 1, items=3)
    with services.db.write() as session:
        ParticipationRepository(session).record(
            CHAIN, 1, ParticipationState.JOINED, title="t", kind="categorical", classes=("x",)
        )
        LabelRepository(session).upsert_batch(
            CHAIN, 1, str(services.annotator), [LabelCreate(item_id="img-0001", value=SECRET)]
        )
    return services


@pytest.mark.parametrize("path", LABEL_ROUTES)
def test_routes_showing_uncommitted_work_need_the_token(
    client: TestClient, labelled: NodeServices, auth: dict[str, str], path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = client.get(path, headers=headers)
        assert refused.status_code == 401, refused.text
        assert SECRET not in refused.text
    assert client.get(path, headers=auth).status_code == 200


def test_the_label_itself_is_served_to_the_token_holder(
    client: TestClient, labelled: NodeServices, auth: dict[str, str]
) -> None:
    item = client.get(LABEL_ROUTES[0], headers=auth).json()
    assert item["value"] == SECRET


def test_task_detail_hides_this_nodes_count_without_the_token(
    client: TestClient, labelled: NodeServices, auth: dict[str, str]
) -> None:
    assert client.get("/api/v1/tasks/1").json()["labelled"] is None
    assert client.get("/api/v1/tasks/1", headers=auth).json()["labelled"] == 1
    assert client.get("/api/v1/tasks/1", headers={"Authorization": "Bearer x"}).status_code == 401


@pytest.mark.parametrize("path", [*LABEL_ROUTES, "/api/v1/tasks", "/ui/", "/docs"])
def test_a_foreign_host_is_misdirected_even_with_the_token(
    client: TestClient, labelled: NodeServices, auth: dict[str, str], path: str
) -> None:
    response = client.get(path, headers={**auth, **EVIL})
    assert response.status_code == 421, response.text
    assert response.json()["error"] == "MisdirectedRequest"
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:7420", "localhost:7420", "LOCALHOST", "[::1]:7420", "localhost.", "testserver"],
)
def test_the_nodes_own_names_are_served(
    client: TestClient, labelled: NodeServices, auth: dict[str, str], host: str
) -> None:
    response = client.get(LABEL_ROUTES[0], headers={**auth, "Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["", "a b", "evil.example@127.0.0.1", "127.0.0.1:7420/x", "[::1"])
def test_a_malformed_host_is_a_bad_request(
    client: TestClient, labelled: NodeServices, auth: dict[str, str], host: str
) -> None:
    response = client.get(LABEL_ROUTES[0], headers={**auth, "Host": host})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"


def test_gateway_and_probes_answer_any_host(client: TestClient, labelled: NodeServices) -> None:
    # Peers reach the gateway by whatever name they found the node under; orchestrators
    # probe by pod IP. None of these routes shows a label.
    cid = labelled.store.put(b"public content")
    assert client.get(f"/ipfs/{cid}", headers=EVIL).content == b"public content"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, headers=EVIL).status_code == 200, path


def test_public_url_and_allowed_hosts_are_served(
    labelled: NodeServices, auth: dict[str, str]
) -> None:
    settings = load_settings(
        data_dir=labelled.settings.data_dir,
        chain_id=CHAIN,
        host="0.0.0.0",
        public_url="https://node7.example.org:8443/",
        allowed_hosts=("proxy.internal",),
    )
    labelled.settings = settings
    app = create_app(services=labelled)
    with TestClient(app, base_url="http://10.1.2.3:7420") as http:
        for host in ("node7.example.org", "proxy.internal:80", "127.0.0.1:7420", "10.1.2.3:7420"):
            assert http.get(LABEL_ROUTES[0], headers={**auth, "Host": host}).status_code == 200
        assert http.get(LABEL_ROUTES[0], headers={**auth, **EVIL}).status_code == 421


@pytest.mark.parametrize(
    "token", ["Bearer é".encode("latin-1"), b"Bearer \xff\xfe", b"bearer \x80"]
)
def test_a_token_with_non_ascii_bytes_is_a_wrong_token(
    client: TestClient, labelled: NodeServices, token: bytes
) -> None:
    # Was a 500: the constant-time comparison raised TypeError on non-ASCII text.
    for path in (LABEL_ROUTES[0], "/api/v1/tasks/1"):
        response = client.get(path, headers={b"Authorization": token})
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "Unauthorized"
        assert SECRET not in response.text
