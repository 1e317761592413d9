"""The paged label batch (``labelnet/labels@2``) and gold set (``labelnet/gold@2``).

Each is a root listing page CIDs, cut by the one paging rule (:mod:`node.protocol.paging`);
the one reader of each (:func:`read_batch`, :func:`read_gold`) verifies every page on its
own as it streams them, then the Merkle root the chain holds. Every way a page can be wrong
is refused with an error naming it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_utils.address import to_checksum_address

from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.gold import GoldSet, read_gold
from node.protocol.labels import (
    LABEL_PAGE_SCHEMA,
    LABELS_V1,
    LABELS_V2,
    LabelBatch,
    LabelBatchError,
    read_batch,
)
from node.protocol.manifest import (
    GOLD_V1,
    GOLD_V2,
    ItemSpec,
    Manifest,
    ManifestError,
    build_task_content,
)
from node.protocol.paging import PAGE_BYTES, PAGE_ITEMS, page_bounds
from tests.consensus.helpers import address

TASK = 7
ANNOTATOR = to_checksum_address("0x" + "ab" * 20)
LABELS = 2500


class Store(dict[str, bytes]):
    """A content store in memory: ``put`` as a node's store names content."""

    def put(self, data: bytes) -> str:
        cid = compute_cid(data)
        self[cid] = data
        return cid


def batch(count: int = LABELS, value: JsonValue = "cat") -> LabelBatch:
    return LabelBatch.create(TASK, ANNOTATOR, [(f"item-{n:06d}", value) for n in range(count)])


def published(labels: LabelBatch) -> tuple[Store, dict[str, Any]]:
    store = Store()
    cid = labels.publish(LABELS_V2, store.put)
    return store, json.loads(store[cid])


def read(store: Store, root: dict[str, Any] | bytes, **expected: Any) -> LabelBatch:
    data = root if isinstance(root, bytes) else canonical_json(root)
    arguments: dict[str, Any] = {
        "task_id": TASK,
        "annotator": ANNOTATOR,
        "labels_root": batch().root(),
        "schema": LABELS_V2,
    }
    return read_batch(data, store.__getitem__, **(arguments | expected))


def forged_page(store: Store, root: dict[str, Any], index: int, change: dict[str, Any]) -> None:
    """Replace page ``index`` by one with ``change`` applied, listed by the root."""
    page = json.loads(store[root["label_pages"][index]]) | change
    root["label_pages"][index] = store.put(canonical_json(page))


def test_a_large_batch_is_paged_within_the_caps_and_reads_back() -> None:
    labels = batch()
    store, root = published(labels)
    assert root["schema"] == LABELS_V2 and root["label_count"] == LABELS
    assert (root["task"], root["annotator"]) == (TASK, ANNOTATOR)
    pages = [json.loads(store[cid]) for cid in root["label_pages"]]
    assert [len(page["labels"]) for page in pages] == [PAGE_ITEMS, PAGE_ITEMS, 500]
    assert [page["page"] for page in pages] == [0, 1, 2]
    assert all(page["schema"] == LABEL_PAGE_SCHEMA for page in pages)
    assert read(store, root) == labels
    assert labels.cid(LABELS_V2) == compute_cid(canonical_json(root))


def test_large_values_close_a_page_at_its_byte_cap() -> None:
    value = {"text": "x" * 1000}
    labels = batch(600, value)
    store, root = published(labels)
    sizes = [json.loads(store[cid])["labels"] for cid in root["label_pages"]]
    assert len(sizes) > 1 and sum(map(len, sizes)) == 600
    for entries in sizes:
        assert len(canonical_json(entries)) - 1 <= PAGE_BYTES
    assert read(store, root, labels_root=labels.root()) == labels


def test_page_bounds_give_an_oversized_entry_a_page_of_its_own() -> None:
    entries = ["a", "b" * (PAGE_BYTES + 10), "c"]
    assert list(page_bounds(entries)) == [(0, 1), (1, 2), (2, 3)]


def test_a_tampered_page_is_refused() -> None:
    store, root = published(batch())
    first = root["label_pages"][1]
    store[first] = store[first].replace(b'"cat"', b'"dog"', 1)
    with pytest.raises(LabelBatchError, match="label page 1 is not the content of"):
        read(store, root)


def test_swapped_pages_are_refused() -> None:
    store, root = published(batch())
    root["label_pages"][0], root["label_pages"][1] = root["label_pages"][1], root["label_pages"][0]
    with pytest.raises(LabelBatchError, match="label page 0 says it is page 1"):
        read(store, root)
    store, root = published(batch())
    # Re-labelled with each other's index, each page keeps its items: their order breaks.
    forged_page(store, root, 0, {"page": 1})
    forged_page(store, root, 1, {"page": 0})
    root["label_pages"][0], root["label_pages"][1] = root["label_pages"][1], root["label_pages"][0]
    with pytest.raises(LabelBatchError, match="items out of order"):
        read(store, root)


def test_a_missing_page_is_the_fetchers_error_not_a_verdict() -> None:
    """A page nobody serves is not content: the reader lets ``fetch``'s error through, so a
    validator waits for it instead of dropping the batch."""
    store, root = published(batch())
    del store[root["label_pages"][2]]
    with pytest.raises(KeyError):
        read(store, root)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label_count": LABELS + 1}, f"the pages hold {LABELS} items, the root says"),
        ({"label_count": LABELS - 1}, "the pages hold more than"),
        ({"label_count": 0}, "label_count must be a positive integer"),
        ({"label_count": 10 * LABELS}, "pages cannot hold"),
        ({"label_pages": [1, 2, 3]}, "label_pages must be a list of CIDs"),
        ({"extra": 1}, "exactly its five keys"),
        ({"annotator": ANNOTATOR.lower()}, "checksummed"),
    ],
)
def test_a_root_that_does_not_add_up_is_refused(change: dict[str, Any], message: str) -> None:
    store, root = published(batch())
    with pytest.raises(LabelBatchError, match=message):
        read(store, root | change)


def test_dropping_a_page_is_a_count_mismatch() -> None:
    """A root listing fewer pages than its count needs is refused on its own; one that
    could hold its count (pages cut by bytes) is refused once the pages are counted."""
    store, root = published(batch())
    with pytest.raises(LabelBatchError, match=f"2 pages cannot hold {LABELS} items"):
        read(store, root | {"label_pages": root["label_pages"][:2]})
    labels = batch(600, {"text": "x" * 1000})
    store, root = published(labels)
    kept = root["label_pages"][:-1]
    held = sum(len(json.loads(store[cid])["labels"]) for cid in kept)
    with pytest.raises(LabelBatchError, match=f"hold {held} items, the root says 600"):
        read(store, root | {"label_pages": kept}, labels_root=labels.root())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": TASK + 1}, "says it is page 1 of task 8"),
        ({"annotator": address(2)}, "annotator"),
        ({"schema": "labelnet/result-items@1"}, "is not a labelnet/label-items@1 document"),
        ({"labels": []}, "must list 1..1000 labels"),
        ({"labels": [{"item": "zzz", "value": "cat", "extra": 1}]}, "a label is"),
    ],
)
def test_a_forged_page_is_refused(change: dict[str, Any], message: str) -> None:
    store, root = published(batch())
    forged_page(store, root, 1, change)
    with pytest.raises(LabelBatchError, match=message):
        read(store, root)


def test_the_labels_root_must_be_the_revealed_one() -> None:
    store, root = published(batch())
    other = batch(LABELS, "dog").root()
    with pytest.raises(LabelBatchError, match=f"is not the revealed 0x{other.hex()}"):
        read(store, root, labels_root=other)
    with pytest.raises(LabelBatchError, match="is not the revealed none"):
        read(store, root, labels_root=None)


def test_a_batch_of_another_task_or_annotator_is_refused() -> None:
    store, root = published(batch())
    with pytest.raises(LabelBatchError, match=f"batch of task {TASK} by {ANNOTATOR}"):
        read(store, root, task_id=TASK + 1)
    with pytest.raises(LabelBatchError, match=f"batch of task {TASK} by {ANNOTATOR}"):
        read(store, root, annotator=address(2))


def test_each_schema_is_refused_on_a_task_of_the_other() -> None:
    labels = batch(10)
    store = Store()
    v1, v2 = (labels.publish(schema, store.put) for schema in (LABELS_V1, LABELS_V2))
    root = labels.root()
    with pytest.raises(LabelBatchError, match=f"a {LABELS_V1} batch on a task whose batches"):
        read(store, store[v1], labels_root=root, schema=LABELS_V2)
    with pytest.raises(LabelBatchError, match=f"a {LABELS_V2} batch on a task whose batches"):
        read(store, store[v2], labels_root=root, schema=LABELS_V1)
    for cid, schema in ((v1, LABELS_V1), (v2, LABELS_V2)):
        assert read(store, store[cid], labels_root=root, schema=schema) == labels
        assert read(store, store[cid], labels_root=root, schema=None) == labels


def test_labels_v1_bytes_are_unchanged() -> None:
    """The one-document form is what ``labels@1`` tasks keep: same bytes, same CID."""
    labels = LabelBatch.create(TASK, ANNOTATOR, [("b", "dog"), ("a", "cat")])
    expected = (
        b'{"annotator":"' + ANNOTATOR.encode() + b'","labels":[{"item":"a","value":"cat"},'
        b'{"item":"b","value":"dog"}],"schema":"labelnet/labels@1","task":7}'
    )
    assert labels.to_bytes() == expected
    assert labels.cid() == labels.cid(LABELS_V1) == compute_cid(expected)


# ---------------------------------------------------------------- gold


def gold(count: int = LABELS) -> GoldSet:
    return GoldSet.create([(f"item-{n:06d}", "cat" if n % 3 else "dog") for n in range(count)])


def test_a_large_gold_set_is_paged_and_reads_back() -> None:
    answers = gold()
    store = Store()
    cid = answers.publish(GOLD_V2, store.put)
    root = json.loads(store[cid])
    assert set(root) == {"schema", "label_count", "label_pages"}
    assert (root["schema"], root["label_count"], len(root["label_pages"])) == (GOLD_V2, LABELS, 3)
    assert read_gold(store[cid], store.__getitem__, gold_root=answers.root(), schema=GOLD_V2) == (
        answers
    )
    assert answers.cid(GOLD_V2) == cid


def test_gold_pages_are_verified_and_the_root_checked() -> None:
    answers = gold()
    store = Store()
    root = json.loads(store[answers.publish(GOLD_V2, store.put)])
    tampered = dict(store)
    page = root["label_pages"][1]
    tampered[page] = tampered[page].replace(b'"cat"', b'"dog"', 1)
    data = canonical_json(root)
    with pytest.raises(ManifestError, match="gold page 1 is not the content of"):
        read_gold(data, tampered.__getitem__, gold_root=answers.root(), schema=GOLD_V2)
    with pytest.raises(ManifestError, match="the pages hold more than"):
        read_gold(
            canonical_json(root | {"label_count": LABELS - 1}),
            store.__getitem__,
            gold_root=answers.root(),
        )
    with pytest.raises(ManifestError, match="is not the revealed"):
        read_gold(data, store.__getitem__, gold_root=gold(10).root(), schema=GOLD_V2)
    with pytest.raises(ManifestError, match=f"a {GOLD_V2} gold set on a task whose gold is"):
        read_gold(data, store.__getitem__, gold_root=answers.root(), schema=GOLD_V1)
    v1 = answers.to_bytes()
    with pytest.raises(ManifestError, match=f"a {GOLD_V1} gold set on a task whose gold is"):
        read_gold(v1, store.__getitem__, gold_root=answers.root(), schema=GOLD_V2)
    assert read_gold(v1, store.__getitem__, gold_root=answers.root(), schema=GOLD_V1) == answers


# ---------------------------------------------------------------- the task's rule


def test_new_manifests_name_the_paged_schemas_and_old_ones_keep_theirs() -> None:
    items = [ItemSpec(id="a", data="x"), ItemSpec(id="b", data="y")]
    new = build_task_content(items, title="t", classes=("p", "q"))
    assert (new.manifest.labels, new.manifest.gold) == (LABELS_V2, GOLD_V2)
    document = json.loads(new.manifest_bytes)
    assert (document["labels"], document["gold"]) == (LABELS_V2, GOLD_V2)
    assert Manifest.from_bytes(new.manifest_bytes) == new.manifest
    old = build_task_content(items, title="t", classes=("p", "q"), labels=LABELS_V1, gold=GOLD_V1)
    assert "labels" not in json.loads(old.manifest_bytes)
    assert "gold" not in json.loads(old.manifest_bytes)
    parsed = Manifest.from_bytes(old.manifest_bytes)
    assert (parsed.labels, parsed.gold) == (LABELS_V1, GOLD_V1)
    with pytest.raises(ManifestError, match="unknown label batch schema"):
        Manifest.from_bytes(new.manifest_bytes.replace(b"labels@2", b"labels@9"))
    with pytest.raises(ManifestError, match="unknown gold schema"):
        Manifest.from_bytes(new.manifest_bytes.replace(b"gold@2", b"gold@9"))
