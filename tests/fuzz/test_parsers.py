"""Every parser of outside input, against arbitrary bytes and JSON.

Each parser reads what another party wrote (a requester's manifest, an annotator's batch, a
validator's result, a user's import file, a labeling program's output). Two properties each:
(a) anything at all either parses or raises that module's LabelnetError subclass, never a
KeyError, TypeError, AttributeError, OverflowError or RecursionError; (b) a valid document
round-trips byte for byte (document -> bytes -> parse -> the same bytes).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.content.imports import ItemImportError, import_items
from node.labelers.base import ItemToLabel, LabelerError
from node.labelers.command import CommandLabeler
from node.protocol.canonical import JsonValue, canonical_json
from node.protocol.gold import GoldSet
from node.protocol.labels import SCHEMA as LABELS_SCHEMA
from node.protocol.labels import LabelBatch, LabelBatchError
from node.protocol.manifest import ItemPage, ItemSpec, Manifest, ManifestError, build_task_content
from node.protocol.result import ResultDocumentError, parse_result, parse_result_document

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**255, max_value=2**300)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "0x", "labelnet/manifest@1", "bafkrei", "1e999", "-1", "item"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=16,
)
identifiers = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20
)
addresses = st.integers(min_value=1, max_value=2**160 - 1).map(
    lambda n: Account.from_key(n.to_bytes(32, "big")).address
)


def shaped(schema: str, keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A document of ``schema`` whose known fields hold anything: what a hostile peer sends."""
    return st.fixed_dictionaries(
        {"schema": st.just(schema)},
        optional={key: json_values for key in keys},
    )


def as_bytes(document: Any) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


def bytes_of(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=64) | documents.map(as_bytes) | json_values.map(as_bytes)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- manifests, item pages, gold sets -------------------------------------------------------

MANIFEST_KEYS = ["kind", "classes", "pages", "num_items", "title", "instructions", "consensus"]


@FUZZ
@given(data=bytes_of(shaped("labelnet/manifest@1", [*MANIFEST_KEYS, "algorithm"])))
def test_manifest_parser_raises_only_manifest_errors(data: bytes) -> None:
    with contextlib.suppress(ManifestError):
        Manifest.from_bytes(data)


@FUZZ
@given(
    data=bytes_of(shaped("labelnet/items@1", ["items"]))
    | st.lists(
        st.fixed_dictionaries({}, optional={k: json_values for k in ("id", "data", "content")}),
        min_size=1,
        max_size=3,
    ).map(lambda items: as_bytes({"schema": "labelnet/items@1", "items": items}))
)
def test_item_page_parser_raises_only_manifest_errors(data: bytes) -> None:
    with contextlib.suppress(ManifestError):
        ItemPage.from_bytes(data)


@FUZZ
@given(
    data=bytes_of(shaped("labelnet/gold@1", ["labels"]))
    | st.lists(st.fixed_dictionaries({"item": json_values, "value": json_values}), max_size=3).map(
        lambda labels: as_bytes({"schema": "labelnet/gold@1", "labels": labels})
    )
)
def test_gold_parser_raises_only_manifest_errors(data: bytes) -> None:
    with contextlib.suppress(ManifestError):
        GoldSet.from_bytes(data)


@pytest.mark.parametrize("parse", [Manifest.from_bytes, ItemPage.from_bytes, GoldSet.from_bytes])
def test_content_parsers_refuse_deep_nesting_as_their_error(parse: Any) -> None:
    with pytest.raises(ManifestError):
        parse(deep(100_000))


item_data = st.dictionaries(st.sampled_from(["text", "n", "tags"]), json_values, min_size=1).map(
    lambda d: json.loads(canonical_json_or_text(d))
)


def canonical_json_or_text(value: Any) -> bytes:
    """``value`` as canonical JSON if it has one (no NaN), else a text stand-in."""
    try:
        return canonical_json(value)
    except ValueError:
        return b'{"text":"x"}'


@FUZZ
@given(
    ids=st.lists(identifiers, min_size=1, max_size=5, unique=True),
    data=st.data(),
    title=st.text(max_size=20),
    classes=st.lists(identifiers, min_size=2, max_size=4, unique=True),
)
def test_task_content_round_trips_byte_for_byte(
    ids: list[str], data: st.DataObject, title: str, classes: list[str]
) -> None:
    items = [ItemSpec(id=item, data=data.draw(item_data)) for item in ids]
    content = build_task_content(items, title=title, classes=classes)
    manifest = Manifest.from_bytes(content.manifest_bytes)
    assert manifest.to_bytes() == content.manifest_bytes
    for page in content.pages:
        assert ItemPage.from_bytes(page).to_bytes() == page
    gold = GoldSet.create([(item, data.draw(st.sampled_from(["a", "b"]))) for item in ids])
    assert GoldSet.from_bytes(gold.to_bytes()).to_bytes() == gold.to_bytes()


# --- label batches --------------------------------------------------------------------------


@FUZZ
@given(
    document=shaped(LABELS_SCHEMA, ["task", "annotator", "labels"])
    | st.fixed_dictionaries(
        {
            "schema": st.just(LABELS_SCHEMA),
            "task": json_values,
            "annotator": addresses | json_values,
            "labels": st.lists(
                st.fixed_dictionaries({"item": json_values, "value": json_values}), max_size=3
            ),
        }
    )
)
def test_label_batch_parser_raises_only_label_batch_errors(document: dict[str, Any]) -> None:
    with contextlib.suppress(LabelBatchError):
        LabelBatch.from_document(document)


@FUZZ
@given(
    task=st.integers(min_value=0, max_value=2**63 - 1),
    annotator=addresses,
    labels=st.dictionaries(
        identifiers,
        st.sampled_from(["cat", "dog"]) | st.integers() | st.lists(st.text()),
        min_size=1,
    ),
)
def test_label_batch_round_trips_byte_for_byte(
    task: int, annotator: str, labels: dict[str, JsonValue]
) -> None:
    batch = LabelBatch.create(task, annotator, labels.items())
    data = batch.to_bytes()
    again = LabelBatch.from_document(json.loads(data))
    assert again.to_bytes() == data
    assert again.root() == batch.root()


# --- result documents -----------------------------------------------------------------------

RESULT_KEYS = ["task", "kind", "classes", "payouts", "items", "annotators"]
payout_entries = st.lists(
    st.fixed_dictionaries({}, optional={"account": addresses | json_values, "amount": json_values}),
    max_size=3,
)
results = shaped("labelnet/result@1", RESULT_KEYS) | st.fixed_dictionaries(
    {"schema": st.just("labelnet/result@1"), "task": st.just(1), "payouts": payout_entries}
)


@FUZZ
@given(document=results | json_values, entry=json_values)
def test_the_result_parser_raises_only_its_error(document: Any, entry: Any) -> None:
    with contextlib.suppress(ResultDocumentError):
        parse_result_document(document, 1)
    lines = {"schema": "labelnet/result@1", "task": 1, "kind": "categorical", "payouts": []}
    with contextlib.suppress(ResultDocumentError):
        parse_result_document({**lines, "items": [entry], "annotators": []}, 1)
    with contextlib.suppress(ResultDocumentError):
        parse_result_document({**lines, "items": [], "annotators": [entry]}, 1)
    with contextlib.suppress(ResultDocumentError):
        parse_result(json.dumps(document).encode(), 1)


@FUZZ
@given(amounts=st.lists(st.integers(min_value=1, max_value=2**128), min_size=1, max_size=4))
def test_a_result_document_round_trips_to_the_same_payout_tree(amounts: list[int]) -> None:
    accounts = [Account.from_key((n + 1).to_bytes(32, "big")).address for n in range(len(amounts))]
    payouts = [{"account": a, "amount": str(v)} for a, v in zip(accounts, amounts, strict=True)]
    document = {
        "schema": "labelnet/result@1",
        "task": 1,
        "kind": "categorical",
        "items": [],
        "annotators": [],
        "payouts": payouts,
    }
    data = canonical_json(document)
    assert canonical_json(json.loads(data)) == data
    parsed = parse_result(data, 1).payouts
    assert parsed.total == sum(amounts)
    assert parsed.root == parse_result_document(document, 1).payouts.root


# --- item imports ---------------------------------------------------------------------------


@FUZZ
@given(
    raw=st.binary(max_size=200)
    | st.lists(json_values.map(lambda v: json.dumps(v)), max_size=4).map(
        lambda lines: "\n".join(lines).encode()
    )
    | st.text(max_size=200).map(str.encode),
    fmt=st.sampled_from(["jsonl", "csv", "labelstudio"]),
)
def test_imports_raise_only_import_errors(tmp_path: Path, raw: bytes, fmt: Any) -> None:
    path = tmp_path / f"items.{fmt}"
    path.write_bytes(raw)
    with contextlib.suppress(ItemImportError):
        import_items(path, format=fmt)


def test_a_deeply_nested_import_is_an_import_error(tmp_path: Path) -> None:
    for name in ("items.jsonl", "items.json"):
        path = tmp_path / name
        path.write_bytes(deep(100_000))
        with pytest.raises(ItemImportError):
            import_items(path, format="jsonl" if name.endswith("l") else "labelstudio")


# --- the labeling program's output ----------------------------------------------------------

ITEMS = [ItemToLabel("a", 0, {"text": "x"}, None, None), ItemToLabel("b", 1, None, None, None)]


@FUZZ
@given(
    stdout=st.binary(max_size=100)
    | st.lists(json_values.map(json.dumps), min_size=2, max_size=2).map(
        lambda lines: "\n".join(lines).encode()
    )
    | st.lists(
        st.fixed_dictionaries({"item": st.sampled_from(["a", "b"]), "value": json_values}),
        min_size=2,
        max_size=2,
    ).map(lambda lines: "\n".join(json.dumps(line) for line in lines).encode())
)
def test_labeling_program_output_raises_only_labeler_errors(stdout: bytes) -> None:
    with contextlib.suppress(LabelerError):
        CommandLabeler._parse("prog", ITEMS, stdout, b"")


def test_labeling_program_output_that_is_too_deep_is_a_labeler_error() -> None:
    line = json.dumps({"item": "a", "value": 0}).encode()
    with pytest.raises(LabelerError):
        CommandLabeler._parse("prog", ITEMS, line + b"\n" + deep(100_000), b"")


@pytest.mark.parametrize(
    ("task", "annotator"),
    [("", "0x" + "11" * 20), (float("inf"), "0x" + "11" * 20), (1, "not an address")],
)
def test_a_label_batch_with_a_bad_task_or_annotator_is_a_label_batch_error(
    task: Any, annotator: str
) -> None:
    # Were a bare ValueError / OverflowError, which callers catching LabelBatchError missed.
    document = {
        "schema": LABELS_SCHEMA,
        "task": task,
        "annotator": annotator,
        "labels": [{"item": "a", "value": "cat"}],
    }
    with pytest.raises(LabelBatchError, match="malformed label batch"):
        LabelBatch.from_document(document)
