"""Exports of boxes, spans, text and pairwise results (issue #20): Label Studio tasks carry
each kind's own result entries (and import back to the same value), the Hugging Face rows
have the kind's features (a sequence of boxes or spans, a string, A/B/tie)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from node.content.exports import export_results, hf_features, hf_rows, labelstudio_tasks
from node.content.kind_formats import from_labelstudio
from node.protocol.annotation import AnnotationParams
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind
from node.roles.requester.results import ResultItem, TaskResults

ANN = "0x00000000000000000000000000000000000000A1"
BOXES = [[10, 20, 110, 220, "car"], [300, 40, 380, 90, "person"]]
CASES: dict[str, tuple[JsonValue, JsonValue, tuple[str, ...]]] = {
    "boxes": (BOXES, {"width": 640, "height": 480}, ("car", "person")),
    "spans": ([[0, 3, "per"], [8, 11, "per"]], {"text": "Ada met Bob"}, ("per", "org")),
    "text": ("a red car", {"prompt": "say it"}, ()),
    "pairwise": ("B", {"a": "bafkreia", "b": "bafkreib"}, ()),
}


def results(kind: str) -> TaskResults:
    value, data, classes = CASES[kind]
    item = ResultItem("i1", value, "0.900000000", True, False, data)
    return TaskResults(
        task_id=7,
        result_cid="bafkreiresult",
        kind=kind,
        classes=classes,
        items=(item,),
        annotators=(),
        document={},
        labels={"i1": {ANN: value}},
    )


@pytest.mark.parametrize("kind", list(CASES))
def test_labelstudio_tasks_carry_the_kinds_entries_and_import_back(kind: str) -> None:
    value, _, classes = CASES[kind]
    (task,) = labelstudio_tasks(results(kind))
    consensus, annotator = task["annotations"]  # type: ignore[misc]
    entries = consensus["result"]  # type: ignore[index]
    assert entries == annotator["result"]  # type: ignore[index]
    assert all(e["type"] != "choices" for e in entries)  # type: ignore[union-attr]
    params = AnnotationParams(TaskKind(kind))
    back = from_labelstudio(TaskKind(kind), entries, classes=classes, params=params)
    assert back == value


def test_a_labelstudio_export_writes_the_kinds_label_config(tmp_path: Path) -> None:
    path = export_results(results("boxes"), tmp_path / "r.json", "labelstudio")
    config = (tmp_path / "r.label_config.xml").read_text()
    assert "<RectangleLabels" in config and 'value="person"' in config
    assert json.loads(path.read_text())[0]["data"]["width"] == 640


@pytest.mark.parametrize("kind", list(CASES))
def test_hf_rows_have_the_kinds_features(kind: str) -> None:
    held = results(kind)
    dataset = datasets.Dataset.from_list(hf_rows(held), features=hf_features(held, datasets))
    label = dataset[0]["label"]
    if kind == "boxes":
        assert label == [
            {"bbox": [10, 20, 110, 220], "category": 0},
            {"bbox": [300, 40, 380, 90], "category": 1},
        ]
    elif kind == "spans":
        assert label == [
            {"start": 0, "end": 3, "category": 0},
            {"start": 8, "end": 11, "category": 0},
        ]
    elif kind == "text":
        assert label == "a red car"
    else:
        assert dataset.features["label"].int2str(label) == "B"
    assert dataset[0]["annotator_labels"] == [label]
