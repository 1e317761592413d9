"""Bad input at the node's label API: each gets one status, one message, and nothing
acknowledged is lost (the labels table is read back after every refusal).

The JSON body limits (too deep, too large) are cases of this catalog too; they are tested
once, in ``tests/api/test_limits.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from node.app.ingest import LabelWriter
from node.app.runtime import NodeServices
from node.db.engine import Database, create_db_engine
from node.db.models import ParticipationState
from node.db.repositories import LabelRepository
from node.db.repositories.participation import ParticipationRepository
from tests.api.conftest import (
    CHAIN,
    add_task,
    annotator,
    auth,
    client,
    record_commit_intent,
    services,
    settings,
)

__all__ = ["annotator", "auth", "client", "services", "settings"]  # fixtures used here

LABELS = "/api/v1/tasks/1/labels"


def stored(services: NodeServices) -> dict[str, object]:
    assert services.annotator is not None
    with services.db.session() as session:
        rows = LabelRepository(session).list_for(CHAIN, 1, services.annotator)
    return {row.item_id: row.value for row in rows}


def joined(
    services: NodeServices, classes: tuple[str, ...] = ("cat", "dog"), kind: str = "categorical"
) -> list[str]:
    """A task this node joined (the loader's participation row names the class set)."""
    items = add_task(services.db)
    with services.db.write() as session:
        ParticipationRepository(session).record(
            CHAIN, 1, ParticipationState.JOINED, kind=kind, classes=classes
        )
    return items


def accepted(client: TestClient, auth: dict[str, str], item: str, value: str) -> None:
    response = client.post(LABELS, json=[{"item": item, "value": value}], headers=auth)
    assert response.status_code == 200, response.text


def test_label_outside_the_class_set_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """422 InvalidLabelError "item 'img-0001': 'horse' is not one of the task's classes"."""
    items = joined(services)
    accepted(client, auth, items[0], "cat")
    batch = [{"item": items[1], "value": "dog"}, {"item": items[1], "value": "horse"}]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidLabelError",
        "detail": "item 'img-0001': 'horse' is not one of the task's classes (cat, dog)",
    }
    assert stored(services) == {items[0]: "cat"}


def test_label_for_an_unknown_item_is_refused_with_the_whole_batch(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """422 LabelRejectedError "task 1 has no such item, or the node does not know the
    task"; no label of the batch is stored."""
    items = joined(services)
    accepted(client, auth, items[0], "cat")
    batch = [{"item": items[1], "value": "dog"}, {"item": "no-such-item", "value": "cat"}]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "LabelRejectedError",
        "detail": "task 1 has no such item, or the node does not know the task",
    }
    assert stored(services) == {items[0]: "cat"}


def test_label_after_commit_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """409 LabelsFrozenError "task 1: this node has committed its labels; they can no
    longer change"; the committed label keeps its value."""
    items = joined(services)
    accepted(client, auth, items[0], "cat")
    record_commit_intent(services)
    response = client.post(LABELS, json=[{"item": items[0], "value": "dog"}], headers=auth)
    assert response.status_code == 409
    assert response.json() == {
        "error": "LabelsFrozenError",
        "detail": "task 1: this node has committed its labels; they can no longer change",
    }
    assert stored(services) == {items[0]: "cat"}


def test_label_for_a_task_that_does_not_exist_is_404(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """404 TaskNotFoundError "task 99 is not known to this node (yet)"."""
    items = joined(services)
    response = client.post(
        "/api/v1/tasks/99/labels", json=[{"item": items[0], "value": "cat"}], headers=auth
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "TaskNotFoundError",
        "detail": "task 99 is not known to this node (yet)",
    }
    assert client.get("/api/v1/tasks/99").status_code == 404
    assert stored(services) == {}


def test_label_without_the_api_token_is_401(client: TestClient, services: NodeServices) -> None:
    """401 with ``WWW-Authenticate: Bearer``; nothing is stored."""
    items = joined(services)
    response = client.post(LABELS, json=[{"item": items[0], "value": "cat"}])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert stored(services) == {}


def test_label_with_a_wrong_api_token_is_401(client: TestClient, services: NodeServices) -> None:
    """401 for a token that is not the node's (also one differing in its last character)."""
    items = joined(services)
    almost = services.api_token[:-1] + ("A" if services.api_token[-1] != "A" else "B")
    for token in ("not-the-token", almost):
        response = client.post(
            LABELS,
            json=[{"item": items[0], "value": "cat"}],
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401
    assert stored(services) == {}


def test_label_with_no_value_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """422 InvalidLabelError "item 'img-0000': a label needs a value (got null)"."""
    items = joined(services)
    response = client.post(LABELS, json=[{"item": items[0], "value": None}], headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidLabelError",
        "detail": "item 'img-0000': a label needs a value (got null)",
    }
    assert stored(services) == {}


def test_numeric_label_past_any_float_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    """422 InvalidLabelError for an integer of 401 digits on a numeric task (was a 500: the
    value check raised OverflowError; now the 64-bit rule below refuses it first, and the
    value check says no, as validators do); the batch's other label is not stored either."""
    items = joined(services, classes=(), kind="numeric")
    batch = [{"item": items[0], "value": 2.5}, {"item": items[1], "value": 10**400}]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidLabelError",
        "detail": f"item 'img-0001': the integer {str(10**400)[:80]} does not fit in 64 bits; "
        "send a class id as a string, a number as a float",
    }
    assert stored(services) == {}


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 12345678901234567890])
def test_label_integer_past_64_bits_is_refused(
    client: TestClient, services: NodeServices, auth: dict[str, str], value: int
) -> None:
    """422 InvalidLabelError "item 'img-0000': the integer 12345678901234567890 does not fit
    in 64 bits; ...". Was a 200 that stored the float 1.2345678901234567e+19 (SQLite keeps a
    bare number in 64 bits or a float): a value the task does not allow, so validators
    would have dropped the whole committed batch."""
    items = joined(services, classes=(str(value), "7"))
    response = client.post(LABELS, json=[{"item": items[0], "value": value}], headers=auth)
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidLabelError",
        "detail": f"item 'img-0000': the integer {value} does not fit in 64 bits; send a "
        "class id as a string, a number as a float",
    }
    assert stored(services) == {}
    # The same class as its string, and the largest 64-bit integers, are stored exactly.
    accepted(client, auth, items[0], str(value))
    assert stored(services) == {items[0]: str(value)}


def test_label_integers_at_the_64_bit_bounds_are_stored_exactly(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    items = add_task(services.db)  # not joined: any value is stored
    batch = [{"item": items[0], "value": 2**63 - 1}, {"item": items[1], "value": -(2**63)}]
    response = client.post(LABELS, json=batch, headers=auth)
    assert response.status_code == 200, response.text
    assert stored(services) == {items[0]: 2**63 - 1, items[1]: -(2**63)}


@pytest.fixture
def short_busy_timeout(services: NodeServices) -> Iterator[Database]:
    """The node's label writer on an engine that waits 0.3 s (not 10 s) for a lock."""
    assert services.ingest is not None
    services.ingest.stop()
    db = Database(create_db_engine(services.settings.database, busy_timeout_ms=300))
    services.ingest = LabelWriter(db, CHAIN)
    services.ingest.start()
    try:
        yield db
    finally:
        db.dispose()


def test_database_locked_by_another_process_answers_503(
    client: TestClient,
    services: NodeServices,
    auth: dict[str, str],
    short_busy_timeout: Database,
) -> None:
    """503 DatabaseBusyError "the database is locked by another writer: the batch was not
    stored; retry"; the batch is all or nothing, and stored once the lock is released."""
    items = joined(services)
    accepted(client, auth, items[0], "cat")
    path = services.db.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    batch = [{"item": items[1], "value": "dog"}, {"item": items[2], "value": "cat"}]
    try:
        response = client.post(LABELS, json=batch, headers=auth)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.json() == {
        "error": "DatabaseBusyError",
        "detail": "the database is locked by another writer: the batch was not stored; retry",
    }
    assert stored(services) == {items[0]: "cat"}
    retried = client.post(LABELS, json=batch, headers=auth)
    assert retried.status_code == 200
    assert stored(services) == {items[0]: "cat", items[1]: "dog", items[2]: "cat"}
