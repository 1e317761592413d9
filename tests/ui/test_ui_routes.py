"""The page as the node serves it: security headers, assets from the node only, the token
check, and the page's JSON endpoints mapping the use cases' errors to statuses."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from node.db.models import ItemCreate, LabelCreate, ParticipationState
from node.db.repositories import ItemRepository, LabelRepository, ParticipationRepository
from node.ui import STATIC_DIR
from tests.api.conftest import CHAIN, add_task


def join(services: NodeServices, task_id: int) -> None:
    with services.db.write() as session:
        ParticipationRepository(session).record(
            CHAIN,
            task_id,
            ParticipationState.JOINED,
            title="Cats or dogs",
            instructions="# Pick\n[guide](javascript:alert(1))",
            kind="categorical",
            classes=("cat", "dog"),
        )


def test_page_is_served_under_a_self_only_content_security_policy(client: TestClient) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'self';") and "object-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    redirect = client.get("/ui", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/ui/")


def test_every_asset_the_page_loads_comes_from_the_node(client: TestClient) -> None:
    html = client.get("/ui/").text
    assert "<script>" not in html and "style=" not in html  # nothing inline: CSP forbids it
    referenced = set(re.findall(r'(?:src|href)="([^"#]+)"', html))
    modules = {
        f"/ui/assets/{name}"
        for path in STATIC_DIR.glob("*.js")
        for name in re.findall(r'from "\./([a-z-]+\.js)"', path.read_text())
    }
    assert referenced and modules
    for url in referenced | modules:
        assert url.startswith("/ui/assets/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/ui/assets/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/assets/style.css").headers["content-type"].startswith("text/css")
    for path in STATIC_DIR.iterdir():  # no CDN, no remote import anywhere
        text = path.read_text()
        assert not re.search(r"(?:import|src=|href=|url\()\s*[\"']?(?:https?:)?//", text), path


def test_assets_outside_the_static_directory_are_not_served(client: TestClient) -> None:
    for name in ("..%2F__init__.py", "markdown.py", "index.html", "nope.js", "APP.JS"):
        assert client.get(f"/ui/assets/{name}").status_code == 404, name


def test_session_needs_the_api_token(
    client: TestClient, auth: dict[str, str], services: NodeServices
) -> None:
    assert client.get("/api/v1/ui/session").status_code == 401
    wrong = client.get("/api/v1/ui/session", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    session = client.get("/api/v1/ui/session", headers=auth).json()
    assert session == {"account": services.annotator, "role": "annotator", "chain_id": CHAIN}


def test_labeling_endpoints_answer_the_page(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db, 1, items=2)
    add_task(services.db, 2, items=2)
    join(services, 1)
    with services.db.write() as session:
        LabelRepository(session).upsert_batch(
            CHAIN, 1, str(services.annotator), [LabelCreate(item_id="img-0001", value="dog")]
        )
    client.headers.update(auth)  # the page sends its token with every request
    cards = client.get("/api/v1/ui/tasks").json()
    assert [(c["task_id"], c["done"]) for c in cards] == [(1, 1)]
    view = client.get("/api/v1/ui/tasks/1").json()
    assert view["instructions_html"] == "<h1>Pick</h1>\n<p>[guide](javascript:alert(1))</p>"
    assert client.get("/api/v1/ui/tasks/2").status_code == 404  # not joined
    progress = client.get("/api/v1/ui/tasks/1/progress").json()
    assert (progress["done"], progress["total"], progress["complete"]) == (1, 2, False)
    item = client.get("/api/v1/ui/tasks/1/items/img-0001").json()
    assert (item["item"]["item_id"], item["value"]) == ("img-0001", "dog")
    assert client.get("/api/v1/ui/tasks/1/items/img-9999").status_code == 404


def test_report_and_exports_before_the_task_is_final(
    client: TestClient, services: NodeServices
) -> None:
    add_task(services.db, 1, items=2)
    report = client.get("/api/v1/ui/tasks/1/report").json()
    assert (report["status"], report["final"]) == ("open", False)
    assert client.get("/api/v1/ui/tasks/9/report").status_code == 404
    assert client.get("/api/v1/ui/tasks/1/export?format=csv").status_code == 404
    assert client.get("/api/v1/ui/tasks/1/export?format=xml").status_code == 422


def test_item_ids_holding_a_slash_reach_the_item_and_media_routes(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    # Real crowd sets name items like "5:0@35@wsj/23/wsj_2386@wsj@en@on"; the page sends
    # encodeURIComponent(id), and the server decodes %2F before it routes.
    add_task(services.db, 1, items=0)
    item_id = "5:0@35@wsj/23/wsj_2386@wsj@en@on"
    with services.db.write() as session:
        ItemRepository(session).upsert_many(CHAIN, 1, [ItemCreate(item_id=item_id, position=0)])
        LabelRepository(session).upsert_batch(
            CHAIN, 1, str(services.annotator), [LabelCreate(item_id=item_id, value="cat")]
        )
    join(services, 1)
    client.headers.update(auth)
    item = client.get(f"/api/v1/ui/tasks/1/items/{quote(item_id, safe='')}").json()
    assert (item["item"]["item_id"], item["value"]) == (item_id, "cat")
    # The media route takes the same id, not the item route with "/media" appended to it.
    media = client.get(f"/api/v1/ui/tasks/1/items/{quote(item_id, safe='')}/media")
    assert media.status_code == 404
    assert item_id in media.json()["detail"]
