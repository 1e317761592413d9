"""The paged result document (``labelnet/result@2``): built deterministically from the
``result@1`` shape, each page verified on its own against the CID its root lists, tampering
rejected, and ``result@1`` documents still read."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
from eth_utils.crypto import keccak as eth_keccak

from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.errors import ResultDocumentError
from node.protocol.keccak import keccak256
from node.protocol.labels import LabelBatch
from node.protocol.manifest import ItemSpec, Manifest, build_task_content
from node.protocol.result import parse_result
from node.protocol.result_pages import (
    PAGE_BYTES,
    PAGE_ITEMS,
    RESULT_V1,
    RESULT_V2,
    RESULT_V4,
    ResultPageError,
    iter_result_items,
    page_document,
    parse_result_page,
)
from node.protocol.rules import RewardParams
from tests.consensus.helpers import address

TASK = 7
ITEMS = 2 * PAGE_ITEMS + 345


def parse_result_document_of(data: bytes, task_id: int) -> dict[str, JsonValue]:
    """The decoded document, through the one parser of result documents."""
    return parse_result(data, task_id).document


def _batches(items: int = ITEMS) -> list[LabelBatch]:
    rng = random.Random(5)
    truth = {f"item-{i:05d}": rng.choice("abc") for i in range(items)}
    batches = []
    for a, accuracy in enumerate((0.95, 0.9, 0.8)):
        labels = [
            (item, value if rng.random() < accuracy else rng.choice("abc"))
            for item, value in truth.items()
        ]
        batches.append(LabelBatch.create(TASK, address(a), labels))
    return batches


def _outcome(schema: str) -> ConsensusOutcome:
    params = RewardParams.create(reward_per_label=10**15, reward_pool=10**22)
    spec = TaskSpec(TASK, params, classes=("a", "b", "c"), result_schema=schema)
    return run_consensus(spec, _batches())


@pytest.fixture(scope="module")
def outcomes() -> tuple[ConsensusOutcome, ConsensusOutcome]:
    return _outcome(RESULT_V1), _outcome(RESULT_V2)


def _store(outcome: ConsensusOutcome) -> dict[str, bytes]:
    return {compute_cid(page): page for page in outcome.pages}


def test_paged_result_holds_the_same_items_and_payouts(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    v1, v2 = outcomes
    assert v1.document["schema"] == RESULT_V1 and not v1.pages
    root = parse_result_document_of(v2.document_bytes, TASK)
    assert root["schema"] == RESULT_V2 and "items" not in root
    assert len(v2.pages) == len(root["item_pages"]) == 3
    assert root["item_count"] == ITEMS
    assert v2.cid == compute_cid(v2.document_bytes) != v1.cid
    # Same payouts, same root: only where the items live differs.
    assert v2.payout_root == v1.payout_root
    assert parse_result(v2.document_bytes, TASK).payouts.root == v1.payout_root
    assert {k: v for k, v in root.items() if k not in {"schema", "item_count", "item_pages"}} == {
        k: v for k, v in v1.document.items() if k not in {"schema", "items"}
    }
    pages = _store(v2)
    assert list(iter_result_items(root, TASK, pages.__getitem__)) == v1.document["items"]
    # The parsed document streams the same entries as result@1's inline ones.
    paged = parse_result(v2.document_bytes, TASK)
    assert paged.items == () and paged.item_count == ITEMS
    inline = parse_result(v1.document_bytes, TASK)
    assert list(paged.iter_items(pages.__getitem__)) == list(inline.items)


def test_v1_documents_are_still_read(outcomes: tuple[ConsensusOutcome, ConsensusOutcome]) -> None:
    v1, _ = outcomes
    root = parse_result_document_of(v1.document_bytes, TASK)

    def no_fetch(cid: str) -> bytes:
        raise AssertionError(f"result@1 has no pages, yet {cid} was fetched")

    assert list(iter_result_items(root, TASK, no_fetch)) == v1.document["items"]


def test_paging_is_deterministic_and_leaves_the_input_alone(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    v1, v2 = outcomes
    before = canonical_json(v1.document)
    again = page_document(v1.document)
    assert canonical_json(v1.document) == before
    assert again.root_bytes == v2.document_bytes and again.pages == v2.pages


def test_pages_stop_at_the_byte_limit() -> None:
    big = "x" * 1000
    items = [{"item": f"i{n:04d}", "value": big} for n in range(600)]
    document = {"schema": RESULT_V1, "task": 1, "kind": "categorical", "items": items}
    paged = page_document({**document, "annotators": [], "payouts": []})
    assert all(len(page) <= PAGE_BYTES + 200 for page in paged.pages)
    assert len(paged.pages) == 3  # 600 items of ~1 KB: 256 KiB holds 250 of them
    fetched = {compute_cid(p): p for p in paged.pages}
    root = parse_result_document_of(paged.root_bytes, 1)
    assert list(iter_result_items(root, 1, fetched.__getitem__)) == items


def _forge(
    v2: ConsensusOutcome, index: int, change: dict[str, Any]
) -> tuple[Any, dict[str, bytes]]:
    """A root whose page ``index`` is replaced by a re-encoded page with ``change`` applied
    (its CID updated in the root, as a lying validator would)."""
    pages = list(v2.pages)
    page = json.loads(pages[index]) | change
    pages[index] = canonical_json(page)
    root = dict(v2.document)
    root["item_pages"] = [compute_cid(p) for p in pages]
    return root, {compute_cid(p): p for p in pages}


def _read(root: Any, pages: dict[str, bytes]) -> list[Any]:
    return list(iter_result_items(root, TASK, pages.__getitem__))


def test_a_page_that_is_not_its_cid_is_rejected(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    _, v2 = outcomes
    pages = _store(v2)
    first = v2.document["item_pages"][1]
    pages[first] = pages[first].replace(b'"confident":true', b'"confident":false', 1)
    with pytest.raises(ResultPageError, match="not the content of"):
        _read(v2.document, pages)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"page": 0}, "says it is page 0"),
        ({"task": TASK + 1}, "of task"),
        ({"schema": "labelnet/items@1"}, "is not a"),
        ({"items": []}, "must list"),
    ],
)
def test_a_forged_page_is_rejected(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome], change: dict[str, Any], message: str
) -> None:
    _, v2 = outcomes
    root, pages = _forge(v2, 1, change)
    with pytest.raises(ResultPageError, match=message):
        _read(root, pages)


def test_pages_out_of_order_or_short_are_rejected(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    _, v2 = outcomes
    pages = _store(v2)
    swapped = dict(v2.document)
    listed = list(v2.document["item_pages"])
    # Each page re-labelled with the other's index keeps its items: order breaks.
    first, second = (json.loads(pages[c]) for c in listed[:2])
    first["page"], second["page"] = 1, 0
    forged = [canonical_json(second), canonical_json(first), pages[listed[2]]]
    swapped["item_pages"] = [compute_cid(p) for p in forged]
    with pytest.raises(ResultPageError, match="out of order"):
        _read(swapped, {compute_cid(p): p for p in forged})
    short = dict(v2.document)
    short["item_pages"] = listed[:2]
    with pytest.raises(ResultPageError, match="hold 2000 items"):
        _read(short, pages)
    padded = dict(v2.document) | {"item_count": ITEMS - 1}
    with pytest.raises(ResultPageError, match="more than"):
        _read(padded, pages)


def test_a_non_canonical_page_is_rejected(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome],
) -> None:
    _, v2 = outcomes
    data = v2.pages[0] + b" "
    with pytest.raises(ResultPageError, match="canonical"):
        parse_result_page(data, compute_cid(data), task_id=TASK, index=0, after=None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": TASK + 1}, "not 7"),
        ({"schema": "labelnet/result@9"}, "not a result document"),
        ({"item_count": 0}, "positive"),
        ({"item_count": 10 * PAGE_ITEMS}, "cannot hold"),
        ({"item_pages": [1, 2, 3]}, "list of CIDs"),
        ({"items": []}, "not inline"),
    ],
)
def test_a_malformed_root_is_rejected(
    outcomes: tuple[ConsensusOutcome, ConsensusOutcome], change: dict[str, Any], message: str
) -> None:
    _, v2 = outcomes
    with pytest.raises(ResultDocumentError, match=message):
        parse_result_document_of(canonical_json(dict(v2.document) | change), TASK)


def test_new_manifests_choose_result_v4_and_old_ones_keep_theirs() -> None:
    content = build_task_content(
        [ItemSpec(id="a", data="x"), ItemSpec(id="b", data="y")], title="t", classes=("p", "q")
    )
    assert content.manifest.result == RESULT_V4
    assert Manifest.from_bytes(content.manifest_bytes) == content.manifest
    v2 = replace(content.manifest, result=RESULT_V2)
    assert Manifest.from_bytes(v2.to_bytes()).result == RESULT_V2
    old = replace(content.manifest, result=RESULT_V1)
    assert b'"result"' not in old.to_bytes()  # an old manifest's bytes, as they were
    assert Manifest.from_bytes(old.to_bytes()).result == RESULT_V1


def test_the_fast_keccak_is_ethereums() -> None:
    rng = random.Random(3)
    for size in (0, 1, 31, 32, 64, 135, 136, 137, 1000):
        data = rng.randbytes(size)
        assert keccak256(data) == eth_keccak(data)
