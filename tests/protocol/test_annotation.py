"""The label kinds of issue #20 in the protocol: canonical values, their checks, the
manifest's annotation parameters, and that older manifests keep their bytes."""

from __future__ import annotations

import pytest

from node.protocol.annotation import (
    MAX_COORDINATE,
    AnnotationParams,
    canonical_value,
    check_value,
    match_text,
    pair_sides,
)
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, Manifest, ManifestError, build_task_content
from node.protocol.values import valid_value

CLASSES = ("car", "person")
CID_A = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CID_B = "bafkreic3qplsre4di755cgphprnekuribyrvuww2mcba64po3jbiqcy3iy"


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (TaskKind.BOXES, [[0, 0, 10, 10, "car"], [5, 5, 9, 9, "person"]], None),
        (TaskKind.BOXES, [], None),
        (TaskKind.BOXES, [[5, 5, 9, 9, "person"], [0, 0, 10, 10, "car"]], "sorted"),
        (TaskKind.BOXES, [[0, 0, 10, 10, "car"], [0, 0, 10, 10, "car"]], "distinct"),
        (TaskKind.BOXES, [[10, 0, 10, 10, "car"]], "x0 must be < x1"),
        (TaskKind.BOXES, [[0, 0, MAX_COORDINATE + 1, 10, "car"]], "x1 must be an integer"),
        (TaskKind.BOXES, [[0, 0, 1.5, 10, "car"]], "x1 must be an integer"),
        (TaskKind.BOXES, [[0, 0, 1, 1, "bus"]], "not one of the task's classes"),
        (TaskKind.BOXES, [[0, 0, 1, 1]], "5 fields"),
        (TaskKind.SPANS, [[0, 3, "car"], [2, 5, "person"], [3, 5, "car"]], None),
        (TaskKind.SPANS, [[0, 3, "car"], [2, 5, "car"]], "overlap"),
        (TaskKind.SPANS, [[3, 3, "car"]], "start must be < end"),
        (TaskKind.SPANS, [[0, 5000, "car"]], "end must be an integer"),
        (TaskKind.TEXT, "caf\u00e9", None),
        (TaskKind.TEXT, "cafe\u0301", "NFC"),
        (TaskKind.TEXT, "x" * 4097, "at most 4096"),
        (TaskKind.TEXT, 3, "a text label is a string"),
        (TaskKind.PAIRWISE, "tie", None),
        (TaskKind.PAIRWISE, "a", "one of"),
    ],
)
def test_value_checks_say_why(kind: TaskKind, value: JsonValue, reason: str | None) -> None:
    params = AnnotationParams(kind)
    if reason is None:
        check_value(kind, CLASSES, value, params)
        assert valid_value(kind, CLASSES, value, params)
        return
    with pytest.raises(InvalidAnswersError, match=reason):
        check_value(kind, CLASSES, value, params)
    assert not valid_value(kind, CLASSES, value, params)


def test_old_kinds_keep_their_value_rules() -> None:
    assert not valid_value(TaskKind.BOXES, CLASSES, 3.0)
    assert valid_value(TaskKind.NUMERIC, (), 3.0)
    assert not valid_value(TaskKind.CATEGORICAL, CLASSES, 3.0)


def test_canonical_value_sorts_and_normalizes() -> None:
    loose = [[5, 5, 9, 9, "person"], [0, 0, 10, 10, "car"]]
    value = canonical_value(TaskKind.BOXES, loose)
    assert value == [[0, 0, 10, 10, "car"], [5, 5, 9, 9, "person"]]
    assert loose[0][-1] == "person"  # the caller's list is not reordered
    check_value(TaskKind.BOXES, CLASSES, value, AnnotationParams(TaskKind.BOXES))
    assert canonical_value(TaskKind.TEXT, "cafe\u0301") == "caf\u00e9"


def test_text_normalizations() -> None:
    assert match_text("  Hello\u3000 WORLD ", "loose") == "hello world"
    assert match_text("\ufb01ne", "loose") == "fine"  # NFKC: the ligature is two letters
    assert match_text(" Hello ", "nfc") == " Hello "


def test_pair_sides_are_two_different_cids() -> None:
    assert pair_sides({"a": CID_A, "b": CID_B, "prompt": "?"}) == (CID_A, CID_B)
    for data in ({"a": CID_A, "b": CID_A}, {"a": CID_A}, {"a": CID_A, "b": "nope"}, "x"):
        with pytest.raises(InvalidParameterError):
            pair_sides(data)


def test_params_check_their_ranges() -> None:
    for bad in (
        {"iou": "0"},
        {"iou": "1.5"},
        {"iou": 0.5},
        {"span_match": "fuzzy"},
        {"normalization": "ascii"},
        {"max_objects": 0},
        {"max_text_length": True},
    ):
        with pytest.raises(InvalidParameterError):
            AnnotationParams(TaskKind.SPANS, **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        AnnotationParams(TaskKind.NUMERIC)
    assert AnnotationParams(TaskKind.SPANS, span_match="exact").iou_ppb == 10**9
    assert AnnotationParams(TaskKind.BOXES, iou="0.75").iou_ppb == 750_000_000


def _content(kind: TaskKind, **options: object) -> Manifest:
    classes = () if kind in (TaskKind.TEXT, TaskKind.PAIRWISE, TaskKind.NUMERIC) else CLASSES
    item = ItemSpec("i1", data={"a": CID_A, "b": CID_B})
    return build_task_content([item], title="t", kind=kind, classes=classes, **options).manifest  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [TaskKind.BOXES, TaskKind.SPANS, TaskKind.TEXT, TaskKind.PAIRWISE])
def test_manifest_states_and_parses_the_annotation(kind: TaskKind) -> None:
    manifest = _content(kind)
    assert manifest.annotation == AnnotationParams(kind)
    assert manifest.algorithm == f"{kind}@1"
    document = manifest.document()
    assert document["annotation"]["rule"] == f"{kind}@1"  # type: ignore[index]
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest


def test_manifest_annotation_documents_only_what_applies() -> None:
    assert _content(TaskKind.TEXT).document()["annotation"] == {
        "rule": "text@1",
        "normalization": "loose",
        "max_text_length": 4096,
    }
    spans = AnnotationParams(TaskKind.SPANS, span_match="exact")
    assert "iou" not in spans.document()
    assert _content(TaskKind.SPANS, annotation=spans).annotation == spans


def test_manifest_refuses_inconsistent_annotations() -> None:
    good = _content(TaskKind.BOXES)
    with pytest.raises(ManifestError, match="needs its annotation"):
        Manifest(**{**good.__dict__, "annotation": None})
    with pytest.raises(ManifestError, match="algorithm is its rule"):
        Manifest(**{**good.__dict__, "algorithm": "hds@2"})
    categorical = _content(TaskKind.CATEGORICAL)
    with pytest.raises(ManifestError, match="has no annotation"):
        Manifest(**{**categorical.__dict__, "annotation": AnnotationParams(TaskKind.BOXES)})
    for mangled in (
        good.to_bytes().replace(b'"iou":"0.5"', b'"iou":"0.5","extra":1'),
        good.to_bytes().replace(b'"rule":"boxes@1"', b'"rule":"boxes@2"'),
    ):
        with pytest.raises(ManifestError, match="annotation"):
            Manifest.from_bytes(mangled)
    with pytest.raises(ManifestError, match="has no classes"):
        build_task_content([ItemSpec("i", data="x")], title="t", kind=TaskKind.TEXT, classes=["a"])


def test_older_kinds_manifests_do_not_name_an_annotation() -> None:
    for kind in (TaskKind.CATEGORICAL, TaskKind.MULTILABEL, TaskKind.NUMERIC):
        manifest = _content(kind)
        assert manifest.annotation is None and "annotation" not in manifest.document()
