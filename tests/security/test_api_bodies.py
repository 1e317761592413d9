"""Issue #13, finding 3: a body the node cannot decode or render must get a 4xx, never a 500.

A lone UTF-16 surrogate (JSON ``"\\ud800"``) is valid JSON text but no Unicode string: the
node answered 500 when it had to echo one back in a 422, and *stored* one given as a label
value, which then broke every read of that label (500) and the commit of the whole batch
(no UTF-8 encoding exists). Each body below is sent as a label batch; each must be refused
with a 4xx in the API's JSON error shape, and nothing of it stored.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Body, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from node.api.errors import install_error_handlers
from node.app.runtime import NodeServices
from node.db.repositories import LabelRepository
from node.roles.labels import InvalidLabelError, submit_labels
from tests.api.conftest import CHAIN, add_task

LABELS = "/api/v1/tasks/1/labels"
ITEM = "img-0000"

NASTY = {
    "lone-high-surrogate-value": b'[{"item":"img-0000","value":"\\ud800"}]',
    "lone-low-surrogate-value": b'[{"item":"img-0000","value":"ok \\udfff"}]',
    "reversed-pair-value": b'[{"item":"img-0000","value":"\\udc00\\ud800"}]',
    "surrogate-in-nested-value": b'[{"item":"img-0000","value":{"a":["\\uD8FF"]}}]',
    "pair-whose-first-half-is-text": b'[{"item":"img-0000","value":"\\\\ud800\\udc00"}]',
    "surrogate-item": b'[{"item":"\\ud800","value":"cat"}]',
    "surrogate-key": b'[{"\\ud800":1,"item":"img-0000","value":"cat"}]',
    "surrogate-top-level": b'"\\ud800"',
    "surrogate-as-raw-bytes": b'[{"item":"img-0000","value":"\xed\xa0\x80"}]',
    "invalid-utf8": b'[{"item":"img-0000","value":"\xff"}]',
    "overlong-utf8": b'[{"item":"img-0000","value":"\xc0\xaf"}]',
    "truncated-utf8": b'[{"item":"img-0000","value":"\xe2\x82"}]',
    "utf16-with-bom": "[]".encode("utf-16"),
    "not-json": b";'\xff",
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "deep-value": b'[{"item":"img-0000","value":' + b"[" * 5_000 + b"]" * 5_000 + b"}]",
    "huge-integer": b'[{"item":"img-0000","value":' + b"9" * 50_000 + b"}]",
    "huge-exponent": b'[{"item":"img-0000","value":1e999999}]',
    "negative-huge-exponent": b'[{"item":"img-0000","value":-1e400}]',
    "nan-literal": b'[{"item":"img-0000","value":NaN}]',
    "empty": b"",
    "null": b"null",
    "object-not-list": b'{"item":"img-0000","value":"cat"}',
}


@pytest.mark.parametrize("body", NASTY.values(), ids=NASTY.keys())
def test_a_nasty_body_is_refused_with_a_4xx_in_the_error_shape(
    client: TestClient, services: NodeServices, auth: dict[str, str], body: bytes
) -> None:
    add_task(services.db, 1, items=2)
    headers = {**auth, "Content-Type": "application/json"}
    response = client.post(LABELS, content=body, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "detail" in response.json()  # a JSON body the client can read
    with services.db.session() as session:
        stored = LabelRepository(session).list_for(CHAIN, 1, str(services.annotator))
    assert stored == []
    # The node still reads and writes this task normally afterwards.
    item = client.get(f"/api/v1/ui/tasks/1/items/{ITEM}", headers=auth)
    assert item.status_code == 200 and item.json()["value"] is None
    good = client.post(LABELS, json=[{"item": ITEM, "value": "cat \U0001f408"}], headers=auth)
    assert good.status_code == 200, good.text


def test_a_valid_surrogate_pair_is_a_character_and_accepted(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    add_task(services.db, 1, items=1)
    body = b'[{"item":"img-0000","value":"\\ud83d\\ude00 \\\\ud800 is text"}]'
    headers = {**auth, "Content-Type": "application/json"}
    assert client.post(LABELS, content=body, headers=headers).status_code == 200
    item = client.get(f"/api/v1/ui/tasks/1/items/{ITEM}", headers=auth).json()
    assert item["value"] == "\U0001f600 \\ud800 is text"


def test_error_bodies_render_whatever_the_client_sent() -> None:
    # Defence in depth behind the body guard: the handlers themselves must render an echo
    # of undecodable input (here on an app without the guard) as a 4xx, not fail into a 500.
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/numbers")
    async def numbers(values: Annotated[list[int], Body()]) -> int:
        return sum(values)

    @app.post("/upload")
    async def upload() -> None:
        # What a form or file body refused by validation carries: raw bytes, maybe not UTF-8.
        raise RequestValidationError([{"loc": ("body",), "msg": "bad", "input": b"\xff\xfe"}])

    with TestClient(app, raise_server_exceptions=False) as http:
        for body in (b'["\\ud800"]', b'{"\\udfff": 1}', b'"\\ud800"'):
            response = http.post("/numbers", content=body)
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"][0] == "body"
        response = http.post("/upload")
        assert response.status_code == 422, response.text
        assert response.json() == {"detail": [{"loc": ["body"], "msg": "bad"}]}


def test_a_labeling_program_cannot_store_a_value_without_utf8(services: NodeServices) -> None:
    add_task(services.db, 1, items=1)
    with pytest.raises(InvalidLabelError, match="surrogate"):
        submit_labels(
            services.db, CHAIN, 1, str(services.annotator), [{"item": ITEM, "value": "\ud800"}]
        )
