"""The label upsert: one row per (task, item, annotator), batches in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from node.db import Database
from node.db.models import ItemCreate, Label, LabelCreate, LabelPublic
from node.db.repositories import ItemRepository, LabelRejectedError, LabelRepository
from tests.db.conftest import CHAIN, make_task

ALICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
BOB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
ITEMS = 1_200


@pytest.fixture
def task_db(db: Database) -> Database:
    with db.write() as session:
        session.add(make_task(1, num_items=ITEMS))
    with db.write() as session:
        items = [ItemCreate(item_id=f"img-{n:05d}", position=n) for n in range(ITEMS)]
        assert ItemRepository(session).upsert_many(CHAIN, 1, items) == ITEMS
    return db


def submit(db: Database, annotator: str, labels: list[LabelCreate]) -> int:
    with db.write() as session:
        return LabelRepository(session).upsert_batch(CHAIN, 1, annotator, labels)


def stored(db: Database, annotator: str) -> dict[str, object]:
    with db.session() as session:
        return {
            lb.item_id: lb.value for lb in LabelRepository(session).list_for(CHAIN, 1, annotator)
        }


def test_upsert_inserts_then_replaces_keeping_created_at(task_db: Database) -> None:
    assert submit(task_db, ALICE, [LabelCreate(item_id="img-00000", value="cat")]) == 1
    with task_db.session() as session:
        first = LabelRepository(session).get(CHAIN, 1, ALICE, "img-00000")
    assert first is not None and first.value == "cat"
    assert first.created_at.tzinfo is dt.UTC

    submit(task_db, ALICE, [LabelCreate(item_id="img-00000", value={"class": "dog", "p": 0.9})])
    with task_db.session() as session:
        second = LabelRepository(session).get(CHAIN, 1, ALICE, "img-00000")
        total = session.exec(select(func.count()).select_from(Label)).one()
    assert second is not None
    assert second.value == {"class": "dog", "p": 0.9}
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert total == 1
    public = LabelPublic.model_validate(second)
    assert public.model_dump()["value"] == {"class": "dog", "p": 0.9}


def test_labels_are_unique_per_annotator_not_shared(task_db: Database) -> None:
    submit(task_db, ALICE, [LabelCreate(item_id="img-00001", value="cat")])
    submit(task_db, BOB, [LabelCreate(item_id="img-00001", value="dog")])
    assert stored(task_db, ALICE) == {"img-00001": "cat"}
    assert stored(task_db, BOB) == {"img-00001": "dog"}


def test_a_later_label_for_the_same_item_in_one_batch_wins(task_db: Database) -> None:
    batch = [
        LabelCreate(item_id="img-00002", value="cat"),
        LabelCreate(item_id="img-00003", value="cat"),
        LabelCreate(item_id="img-00002", value="bird"),
    ]
    assert submit(task_db, ALICE, batch) == 2
    assert stored(task_db, ALICE) == {"img-00002": "bird", "img-00003": "cat"}


def test_unknown_item_rejects_the_whole_batch(task_db: Database) -> None:
    batch = [LabelCreate(item_id="img-00004", value="cat"), LabelCreate(item_id="nope", value=1)]
    with pytest.raises(LabelRejectedError):
        submit(task_db, ALICE, batch)
    assert stored(task_db, ALICE) == {}
    with pytest.raises(LabelRejectedError), task_db.write() as session:
        LabelRepository(session).upsert_batch(CHAIN, 99, ALICE, batch[:1])


@pytest.fixture
def statements(task_db: Database) -> Iterator[list[tuple[str, bool]]]:
    """(SQL, executemany) of every statement, plus "COMMIT" markers."""
    seen: list[tuple[str, bool]] = []

    def on_execute(
        conn: object, cursor: object, sql: str, params: object, ctx: object, many: bool
    ) -> None:
        seen.append((sql.split()[0].upper(), many))

    def on_commit(conn: object) -> None:
        seen.append(("COMMIT", False))

    event.listen(task_db.engine, "before_cursor_execute", on_execute)
    event.listen(task_db.engine, "commit", on_commit)
    yield seen
    event.remove(task_db.engine, "before_cursor_execute", on_execute)
    event.remove(task_db.engine, "commit", on_commit)


def test_thousand_label_batch_is_one_executemany_in_one_transaction(
    task_db: Database, statements: list[tuple[str, bool]]
) -> None:
    first = [LabelCreate(item_id=f"img-{n:05d}", value={"class": n % 7}) for n in range(1_000)]
    assert submit(task_db, ALICE, first) == 1_000
    inserts = [s for s in statements if s[0] == "INSERT"]
    assert inserts == [("INSERT", True)]  # one statement, executemany over the batch
    assert [s[0] for s in statements].count("COMMIT") == 1

    # Half of the next batch overlaps: 500 updates and 500 inserts, still one transaction.
    statements.clear()
    second = [LabelCreate(item_id=f"img-{n:05d}", value={"class": "x"}) for n in range(500, 1_200)]
    submit(task_db, ALICE, second[:1_000])
    assert [s[0] for s in statements].count("COMMIT") == 1
    labels = stored(task_db, ALICE)
    assert len(labels) == 1_200
    assert labels["img-00499"] == {"class": 499 % 7}
    assert labels["img-00500"] == {"class": "x"}
    assert labels["img-01199"] == {"class": "x"}


def test_progress_and_next_items_in_manifest_order(task_db: Database) -> None:
    submit(task_db, ALICE, [LabelCreate(item_id=f"img-{n:05d}", value=1) for n in (0, 1, 3)])
    with task_db.session() as session:
        repo = LabelRepository(session)
        assert repo.count_for(CHAIN, 1, ALICE) == 3
        assert repo.count_for(CHAIN, 1, BOB) == 0
        nxt = repo.unlabelled_items(CHAIN, 1, ALICE, limit=3)
        assert [i.item_id for i in nxt] == ["img-00002", "img-00004", "img-00005"]
        assert [i.item_id for i in repo.unlabelled_items(CHAIN, 1, BOB, limit=2)] == [
            "img-00000",
            "img-00001",
        ]


def test_storing_items_again_is_idempotent(task_db: Database) -> None:
    with task_db.write() as session:
        again = [ItemCreate(item_id="img-00000", position=0, content_cid="bafkreiimage")]
        ItemRepository(session).upsert_many(CHAIN, 1, again)
    with task_db.session() as session:
        items = ItemRepository(session)
        assert items.count(CHAIN, 1) == ITEMS
        item = items.get(CHAIN, 1, "img-00000")
        assert item is not None and item.content_cid == "bafkreiimage"
        page = items.page(CHAIN, 1, after_position=9, limit=2)
        assert [(i.item_id, i.position) for i in page] == [("img-00010", 10), ("img-00011", 11)]
