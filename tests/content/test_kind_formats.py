"""COCO and Label Studio conversions of the issue #20 kinds: round trips give back the same
canonical labels, and what does not convert to a valid label is refused."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from node.content.kind_formats import (
    LABEL_TAGS,
    KindFormatError,
    from_coco,
    from_labelstudio,
    label_config,
    to_coco,
    to_labelstudio,
)
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind

CLASSES = ("car", "person")
BOXES = [[3, 7, 640, 470, "person"], [10, 20, 33, 41, "car"]]


def test_coco_round_trip() -> None:
    document = to_coco([("img1", BOXES), ("img2", [])], CLASSES, {"img1": (640, 480)})
    assert document["images"] == [  # type: ignore[comparison-overlap]
        {"id": 1, "file_name": "img1", "width": 640, "height": 480},
        {"id": 2, "file_name": "img2"},
    ]
    first = document["annotations"][0]  # type: ignore[index]
    assert first["bbox"] == [3, 7, 637, 463] and first["category_id"] == 2
    back = from_coco(document, CLASSES)
    assert back == {"img1": sorted(BOXES), "img2": []}


def test_coco_with_an_unknown_class_is_refused() -> None:
    document = to_coco([("img1", BOXES)], ("car", "person"))
    with pytest.raises(KindFormatError, match="not a valid boxes label"):
        from_coco(document, ("car",))
    with pytest.raises(KindFormatError, match="not a COCO"):
        from_coco({"images": []}, CLASSES)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (TaskKind.BOXES, sorted(BOXES)),
        (TaskKind.BOXES, [[0, 0, 1, 1, "car"]]),
        (TaskKind.SPANS, [[0, 4, "car"], [2, 9, "person"]]),
        (TaskKind.TEXT, "caf\u00e9 au lait"),
        (TaskKind.PAIRWISE, "A"),
        (TaskKind.PAIRWISE, "B"),
        (TaskKind.PAIRWISE, "tie"),
    ],
)
def test_labelstudio_round_trip(kind: TaskKind, value: JsonValue) -> None:
    results = to_labelstudio(kind, value, size=(641, 479))
    assert all(r["type"] in ("rectanglelabels", "labels", "textarea", "pairwise") for r in results)  # type: ignore[index]
    assert from_labelstudio(kind, results, CLASSES) == value


def test_labelstudio_boxes_are_percentages_of_the_image() -> None:
    [entry] = to_labelstudio(TaskKind.BOXES, [[64, 48, 128, 96, "car"]], size=(640, 480))
    assert entry["value"] == {  # type: ignore[index]
        "x": 10.0,
        "y": 10.0,
        "width": 10.0,
        "height": 10.0,
        "rotation": 0,
        "rectanglelabels": ["car"],
    }
    with pytest.raises(KindFormatError, match="image's size"):
        to_labelstudio(TaskKind.BOXES, [[0, 0, 1, 1, "car"]])


def test_labelstudio_imports_are_checked() -> None:
    overlapping = [
        {"type": "labels", "value": {"start": 0, "end": 5, "labels": ["car"]}},
        {"type": "labels", "value": {"start": 3, "end": 8, "labels": ["car"]}},
    ]
    with pytest.raises(KindFormatError, match="overlap"):
        from_labelstudio(TaskKind.SPANS, overlapping, CLASSES)
    rotated = to_labelstudio(TaskKind.BOXES, [[0, 0, 5, 5, "car"]], size=(10, 10))
    rotated[0]["value"]["rotation"] = 30  # type: ignore[index]
    with pytest.raises(KindFormatError, match="rotated"):
        from_labelstudio(TaskKind.BOXES, rotated, CLASSES)
    both = [
        {"type": "pairwise", "value": {"selected": "left"}},
        {"type": "pairwise", "value": {"selected": "right"}},
    ]
    with pytest.raises(KindFormatError, match="selects"):
        from_labelstudio(TaskKind.PAIRWISE, both)
    assert (
        from_labelstudio(TaskKind.TEXT, [{"type": "textarea", "value": {"text": ["cafe\u0301"]}}])
        == "caf\u00e9"
    )


@pytest.mark.parametrize("kind", list(LABEL_TAGS))
def test_label_configs_name_the_control_the_results_use(kind: TaskKind) -> None:
    root = ElementTree.fromstring(label_config(kind, CLASSES))
    controls = [e for e in root if e.get("name") == "label"]
    assert len(controls) == 1 and controls[0].tag.lower() == LABEL_TAGS[kind]
    if kind in (TaskKind.BOXES, TaskKind.SPANS):
        assert [e.get("value") for e in controls[0]] == list(CLASSES)
