"""The task documents: manifest, item pages and gold set round-trip, and every rule holds.

Each parser is fed a document that breaks exactly one rule and must say which, as a
:class:`ManifestError` (a ``ValueError``), never another exception.
"""

from __future__ import annotations

import json

import pytest

from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.cid import compute_cid
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.labels import label_leaf
from node.protocol.manifest import (
    MAX_DOCUMENT_BYTES,
    MAX_ID_LENGTH,
    MAX_TEXT,
    PAGE_SIZE,
    ConsensusParams,
    ItemPage,
    ItemSpec,
    Manifest,
    ManifestError,
    build_task_content,
)
from node.protocol.merkle import merkle_root
from node.protocol.rules import DEFAULT_SIGNIFICANCE_Z

ITEMS = [
    ItemSpec("q1", data={"text": "a cat"}),
    ItemSpec("img", content=compute_cid(b"png"), media_type="image/png"),
    ItemSpec("both", data="caption", content=compute_cid(b"jpg"), media_type="image/jpeg"),
]


def manifest_document(**changes: JsonValue) -> dict[str, JsonValue]:
    """A valid manifest document with ``changes`` applied (``None`` deletes a key)."""
    content = build_task_content(ITEMS, title="Cats", instructions="Pick.", classes=("cat", "dog"))
    document: dict[str, JsonValue] = json.loads(content.manifest_bytes)
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return document


def manifest_from(document: JsonValue) -> Manifest:
    return Manifest.from_bytes(canonical_json(document))


# ---------------------------------------------------------------- round trips


def test_build_task_content_pages_items_in_order_and_round_trips() -> None:
    items = [ItemSpec(f"i{n:04d}", data=n) for n in range(PAGE_SIZE + 2)]
    content = build_task_content(
        items,
        title="Numbers",
        instructions="# Count\nthem",
        kind=TaskKind.NUMERIC,
        consensus=ConsensusParams("0.9", "0.5", "0.1"),
        algorithm="median@1",
    )
    assert len(content.pages) == 2
    pages = [ItemPage.from_bytes(page) for page in content.pages]
    assert [item for page in pages for item in page.items] == items
    assert [len(page.items) for page in pages] == [PAGE_SIZE, 2]
    assert content.manifest.pages == tuple(compute_cid(page) for page in content.pages)
    assert content.blobs() == [*content.pages, content.manifest_bytes]

    parsed = Manifest.from_bytes(content.manifest_bytes)
    assert parsed == content.manifest
    assert parsed.to_bytes() == content.manifest_bytes  # canonical: same bytes, same CID
    assert parsed.cid() == content.manifest_cid == compute_cid(content.manifest_bytes)
    assert (parsed.kind, parsed.classes, parsed.num_items) == (TaskKind.NUMERIC, (), 502)
    assert parsed.consensus == ConsensusParams("0.9", "0.5", "0.1")


def test_item_entries_keep_only_what_is_set() -> None:
    page = ItemPage(tuple(ITEMS))
    assert page.document()["items"] == [
        {"id": "q1", "data": {"text": "a cat"}},
        {"id": "img", "content": compute_cid(b"png"), "media_type": "image/png"},
        {
            "id": "both",
            "data": "caption",
            "content": compute_cid(b"jpg"),
            "media_type": "image/jpeg",
        },
    ]
    assert ItemPage.from_bytes(page.to_bytes()) == page


def test_optional_manifest_fields_take_their_defaults() -> None:
    document = manifest_document(instructions=None, consensus=None, algorithm=None)
    parsed = manifest_from(document)
    assert parsed.instructions == ""
    # Manifests from before the evidence and bloc tests name neither: both are off for them.
    assert parsed.consensus == ConsensusParams(significance_z="0", bloc_test="")
    assert parsed.algorithm == Manifest.__dataclass_fields__["algorithm"].default


def test_new_manifests_state_the_evidence_test() -> None:
    assert ConsensusParams().document()["significance_z"] == DEFAULT_SIGNIFICANCE_Z
    parsed = ConsensusParams.from_document(ConsensusParams().document())
    assert parsed == ConsensusParams()
    assert parsed.reward_params(1, 1).significance_z_ppb == 2_576_000_000
    with pytest.raises(ManifestError, match="significance_z"):
        ConsensusParams.from_document({"significance_z": "11"})


def test_new_manifests_state_the_bloc_test() -> None:
    assert ConsensusParams().document()["bloc_test"] == "bloc@1"
    categorical = build_task_content(ITEMS, title="t", classes=("cat", "dog"))
    numeric = build_task_content(ITEMS, title="t", kind=TaskKind.NUMERIC)
    assert categorical.manifest.consensus.bloc_test == "bloc@1"
    assert numeric.manifest.consensus.bloc_test == ""  # the test is for categorical answers
    assert ConsensusParams.from_document({"bloc_test": "bloc@1"}).bloc_test == "bloc@1"
    assert ConsensusParams.from_document({}).bloc_test == ""
    for bad in ("bloc@2", 1, None):
        with pytest.raises(ManifestError, match="bloc_test"):
            ConsensusParams.from_document({"bloc_test": bad})


def test_gold_set_sorts_round_trips_and_roots_like_a_label_batch() -> None:
    gold = GoldSet.create({"q2": "dog", "q1": "cat"})
    assert gold.labels == (("q1", "cat"), ("q2", "dog"))
    assert GoldSet.from_bytes(gold.to_bytes()) == gold
    assert gold.cid() == compute_cid(gold.to_bytes())
    assert gold.as_dict() == {"q1": "cat", "q2": "dog"}
    assert gold.root() == merkle_root([label_leaf("q1", "cat"), label_leaf("q2", "dog")])
    assert GoldSet.create([("q2", "dog"), ("q1", "cat")]) == gold


def test_consensus_params_feed_the_reward_parameters() -> None:
    params = ConsensusParams("0.75", "0.5", "0.25").reward_params(10, 1_000)
    assert (params.reward_per_label, params.reward_pool) == (10, 1_000)
    assert params.confidence_threshold_ppb == 750_000_000


# ---------------------------------------------------------------- manifest errors


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (manifest_document(schema="labelnet/items@1"), "not a labelnet/manifest@1"),
        (manifest_document(schema=None), "not a labelnet/manifest@1"),
        (["a", "list"], "is a JSON object"),
        (manifest_document(kind="bbox"), "unknown task kind 'bbox'"),
        (manifest_document(kind=None), "unknown task kind None"),
        (manifest_document(classes="cat,dog"), "classes and pages must be lists"),
        (manifest_document(pages={"0": "x"}), "classes and pages must be lists"),
        (manifest_document(num_items="3"), "num_items must be an integer"),
        (manifest_document(num_items=3.0), "num_items must be an integer"),
        (manifest_document(num_items=True), "num_items must be an integer"),
        (manifest_document(num_items=0), "1..1000000 items, not 0"),
        (manifest_document(num_items=PAGE_SIZE + 1), "need 2 pages of 500, the manifest lists 1"),
        (manifest_document(title=7), "title must be a string"),
        (manifest_document(title="x" * (MAX_TEXT + 1)), "title must be a string of at most"),
        (manifest_document(instructions=["md"]), "instructions must be a string"),
        (manifest_document(classes=["cat"]), "needs 2..256 classes"),
        (manifest_document(classes=["cat", "cat"]), "duplicate class names"),
        (manifest_document(classes=["cat", ""]), "a class name must be a string of 1..256"),
        (manifest_document(classes=["cat", 2]), "a class name must be"),
        (manifest_document(kind="numeric"), "a numeric task has no classes"),
        (manifest_document(pages=[""]), "a page CID must be"),
        (manifest_document(algorithm=""), "algorithm must be"),
        (manifest_document(consensus="0.8"), "consensus must be an object"),
        (manifest_document(consensus={"confidence_threshold": 0.8}), "decimal string"),
        (manifest_document(consensus={"quorum": "0.5"}), "unknown consensus keys: \\['quorum'\\]"),
    ],
)
def test_manifest_errors_say_what_is_wrong(document: JsonValue, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        manifest_from(document)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not a JSON document"),
        (b'{"schema": ', "not a JSON document"),
        (b" " * (MAX_DOCUMENT_BYTES + 1), "exceeds"),
    ],
)
def test_bytes_that_are_no_document_are_refused(data: bytes, message: str) -> None:
    for parse in (Manifest.from_bytes, ItemPage.from_bytes, GoldSet.from_bytes):
        with pytest.raises(ManifestError, match=message):
            parse(data)


def test_a_consensus_ratio_out_of_range_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match=r"consensus: .*within \[0, 1\]"):
        manifest_from(manifest_document(consensus={"accuracy_floor": "-0.5"}))


def test_json_nested_too_deep_is_refused_before_parsing() -> None:
    # Parsed, this would overflow the C stack under web3's recursion limit (a segfault).
    for parse in (Manifest.from_bytes, ItemPage.from_bytes, GoldSet.from_bytes):
        with pytest.raises(ManifestError, match="JSON nested 100000 deep"):
            parse(b"[" * 100_000 + b"]" * 100_000)


def test_a_manifest_built_directly_is_checked_too() -> None:
    with pytest.raises(ManifestError, match="need 1 pages of 500, the manifest lists 0"):
        Manifest("t", "", TaskKind.CATEGORICAL, ("a", "b"), 3, ())
    with pytest.raises(ManifestError, match="a task needs at least one item"):
        build_task_content([], title="empty")
    with pytest.raises(ManifestError, match="duplicate item ids"):
        build_task_content([ItemSpec("a", data=1), ItemSpec("a", data=2)], title="t")


# ---------------------------------------------------------------- page errors


def page_from(entries: JsonValue) -> ItemPage:
    return ItemPage.from_bytes(canonical_json({"schema": "labelnet/items@1", "items": entries}))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "1..500 items"),
        ([{"id": f"i{n}", "data": n} for n in range(PAGE_SIZE + 1)], "1..500 items"),
        ("q1", "1..500 items"),
        ([{"id": "q1", "data": 1}, {"id": "q1", "data": 2}], "duplicate item ids in a page"),
        ([{"id": "q1"}], "has neither data nor content"),
        ([{"id": "q1", "data": None}], "has neither data nor content"),
        ([{"id": "", "data": 1}], "an item id must be"),
        ([{"id": "x" * (MAX_ID_LENGTH + 1), "data": 1}], "an item id must be"),
        ([{"id": 5, "data": 1}], "an item id must be"),
        ([{"id": "q1", "data": 1, "label": "cat"}], "malformed item entry"),
        (["q1"], "malformed item entry"),
        ([{"id": "q1", "content": 42}], "content CID must be"),
        ([{"id": "q1", "content": "bafk", "media_type": ""}], "a media type must be"),
    ],
)
def test_item_page_errors_say_what_is_wrong(entries: JsonValue, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        page_from(entries)


def test_an_item_page_with_another_schema_is_refused() -> None:
    manifest_bytes = canonical_json(manifest_document())
    with pytest.raises(ManifestError, match="not a labelnet/items@1"):
        ItemPage.from_bytes(manifest_bytes)


# ---------------------------------------------------------------- gold errors


def gold_from(labels: JsonValue) -> GoldSet:
    return GoldSet.from_bytes(canonical_json({"schema": "labelnet/gold@1", "labels": labels}))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"q1": "cat"}, "gold labels must be a list"),
        ([], "needs at least one answer"),
        ([{"item": "q1"}], "malformed gold entry"),
        ([{"item": "q1", "value": "cat", "extra": 1}], "malformed gold entry"),
        ([{"item": "q1", "value": None}], "has no value"),
        ([{"item": "", "value": "cat"}], "a gold item id must be"),
        (
            [{"item": "q1", "value": "cat"}, {"item": "q1", "value": "dog"}],
            "duplicate gold items",
        ),
    ],
)
def test_gold_errors_say_what_is_wrong(labels: JsonValue, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        gold_from(labels)
