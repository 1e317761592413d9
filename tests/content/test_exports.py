"""Export formats on small hand-built results: columns, multi-label values, media, refusals."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from node.content.exports import (
    ExportError,
    MissingDependencyError,
    export_results,
    hf_rows,
    json_array_chunks,
    labelstudio_tasks,
)
from node.content.imports import import_items
from node.protocol.canonical import JsonValue
from node.protocol.cid import compute_cid
from node.protocol.manifest import ItemSpec
from node.roles.requester.results import ResultItem, TaskResults

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 8
PNG_CID = compute_cid(PNG)


ANN_A = "0x00000000000000000000000000000000000000A1"
ANN_B = "0x00000000000000000000000000000000000000b2"


def results(
    *items: ResultItem,
    kind: str = "categorical",
    labels: dict[str, dict[str, JsonValue]] | None = None,
) -> TaskResults:
    return TaskResults(
        task_id=7,
        result_cid="bafkreiresult",
        kind=kind,
        classes=("cat", "dog"),
        items=items,
        annotators=(),
        document={},
        labels=labels or {},
    )


TEXT = ResultItem("t1", "cat", "0.950000000", True, False, {"text": "meow", "lang": "en"})
IMAGE = ResultItem("img.png", "dog", "0.500000000", False, True, None, PNG_CID)
MULTI = ResultItem("m1", ["cat", "dog"], "0.810000000", True, False, {"text": "both"})


def test_csv_has_text_and_content_columns_only_when_items_have_them(tmp_path: Path) -> None:
    path = export_results(results(TEXT, IMAGE, MULTI), tmp_path / "r.csv", "csv")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "label", "confidence", "confident", "gold", "text", "content"]
    assert rows[1] == ["t1", "cat", "0.950000000", "true", "false", "meow", ""]
    assert rows[2] == ["img.png", "dog", "0.500000000", "false", "true", "", PNG_CID]
    assert rows[3][1] == "cat|dog"
    plain = export_results(results(IMAGE), tmp_path / "p.csv", "csv").read_text()
    assert plain.splitlines()[0] == "id,label,confidence,confident,gold,content"


def test_jsonl_is_lossless(tmp_path: Path) -> None:
    path = export_results(results(TEXT, IMAGE), tmp_path / "r.jsonl", "jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == [
        {
            "id": "t1",
            "label": "cat",
            "confidence": "0.950000000",
            "confident": True,
            "gold": False,
            "data": {"text": "meow", "lang": "en"},
        },
        {
            "id": "img.png",
            "label": "dog",
            "confidence": "0.500000000",
            "confident": False,
            "gold": True,
            "content": PNG_CID,
        },
    ]


def test_labelstudio_predictions_score_and_ground_truth(tmp_path: Path) -> None:
    text, image = labelstudio_tasks(results(TEXT, IMAGE, labels={"t1": {ANN_B: "dog"}}))
    assert (text["id"], image["id"]) == (1, 2)  # positions: the item ids are not numbers
    assert text["data"] == {"id": "t1", "text": "meow", "lang": "en"}
    (prediction,) = text["predictions"]
    assert prediction["score"] == 0.95
    assert prediction["result"][0]["value"] == {"choices": ["cat"]}
    consensus, annotator = text["annotations"]
    assert consensus["ground_truth"] is False and consensus["result"] == prediction["result"]
    assert consensus["completed_by"] == {"id": 0, "email": "labelnet-consensus"}
    assert annotator["completed_by"] == {"id": 1, "email": ANN_B}
    assert annotator["result"][0]["value"] == {"choices": ["dog"]}
    assert image["data"] == {"id": "img.png", "image": f"ipfs://{PNG_CID}"}
    assert image["annotations"][0]["ground_truth"] is True
    assert image["annotations"][0]["result"][0]["to_name"] == "image"
    # Round trip: text items come back as they were, gold from the ground truth.
    path = export_results(results(TEXT, IMAGE), tmp_path / "ls.json", "labelstudio")
    again = import_items(path)
    assert again.items[0] == ItemSpec(id="t1", data={"text": "meow", "lang": "en"})
    assert again.items[1] == ItemSpec(id="img.png", data={"image": f"ipfs://{PNG_CID}"})
    assert again.gold == {"img.png": "dog"}
    assert again.classes == ("cat", "dog")


def test_hf_rows_share_one_schema() -> None:
    rows = hf_rows(results(TEXT, IMAGE, labels={"t1": {ANN_B: "dog", ANN_A: "cat"}}))
    columns = {"id", "label", "confidence", "confident", "gold", "text", "content", "data"}
    assert {frozenset(row) for row in rows} == {
        frozenset(columns | {"annotators", "annotator_labels"})
    }
    assert rows[0]["confidence"] == 0.95 and rows[0]["text"] == "meow"
    assert rows[0]["annotators"] == [ANN_A, ANN_B] and rows[0]["annotator_labels"] == ["cat", "dog"]
    assert rows[1]["data"] is None and rows[1]["content"] == PNG_CID
    assert rows[1]["annotators"] == [] and rows[1]["annotator_labels"] == []


def test_hf_without_datasets_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes the import fail, installed or not
    with pytest.raises(MissingDependencyError, match=r"pip install 'labelnet\[hf\]'"):
        export_results(results(TEXT), tmp_path / "hf", "hf")


def test_unknown_format_and_directory_target_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'xml'"):
        export_results(results(TEXT), tmp_path / "r.xml", "xml")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="is a directory"):
        export_results(results(TEXT), tmp_path, "jsonl")


def test_hf_export_loads_back_with_datasets(tmp_path: Path) -> None:
    import datasets  # the hf extra: scripts/setup.sh installs it with the dev tools

    labels: dict[str, dict[str, JsonValue]] = {"t1": {ANN_A: "cat", ANN_B: "dog"}}
    path = export_results(results(TEXT, IMAGE, labels=labels), tmp_path / "hf", "hf")
    loaded = datasets.load_from_disk(str(path))
    assert loaded.num_rows == 2
    assert loaded["id"] == ["t1", IMAGE.item]
    label = loaded.features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == ["cat", "dog"]
    assert [label.int2str(v) for v in loaded["label"]] == ["cat", "dog"]
    assert loaded[0]["text"] == "meow" and loaded[0]["confidence"] == 0.95
    assert loaded[0]["annotators"] == [ANN_A, ANN_B]
    assert [label.int2str(v) for v in loaded[0]["annotator_labels"]] == ["cat", "dog"]
    assert loaded[1]["content"] == PNG_CID and loaded[1]["annotator_labels"] == []


def test_hf_multilabel_and_numeric_label_types(tmp_path: Path) -> None:
    import datasets

    labels: dict[str, dict[str, JsonValue]] = {"m1": {ANN_A: ["dog"]}}
    path = export_results(
        results(MULTI, kind="multilabel", labels=labels), tmp_path / "multi", "hf"
    )
    loaded = datasets.load_from_disk(str(path))
    # Sequence(ClassLabel): datasets 4+ spells it List(ClassLabel) when read back.
    assert loaded.features["label"] == datasets.Sequence(datasets.ClassLabel(names=["cat", "dog"]))
    assert loaded[0]["label"] == [0, 1] and loaded[0]["annotator_labels"] == [[1]]
    number = ResultItem("n1", 2.5, "0.700000000", True, False, {"text": "how many"})
    path = export_results(results(number, kind="numeric"), tmp_path / "numeric", "hf")
    loaded = datasets.load_from_disk(str(path))
    assert loaded.features["label"] == datasets.Value("float64") and loaded[0]["label"] == 2.5


SHAPES: list[list[JsonValue]] = [
    [],
    [1],
    [{"b": [1, {"c": "x\ny"}], "a": {}}, [], "ü", None, 2.5, True],
    [[[]], {"k": [{"l": []}]}],
]


@pytest.mark.parametrize("values", SHAPES)
@pytest.mark.parametrize("indent", [1, 2, 4])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_json_array_chunks_join_to_what_json_dumps_writes(
    values: list[JsonValue], indent: int, ensure_ascii: bool
) -> None:
    whole = json.dumps(values, indent=indent, ensure_ascii=ensure_ascii)
    chunks = list(json_array_chunks(iter(values), indent=indent, ensure_ascii=ensure_ascii))
    assert "".join(chunks) == whole and len(chunks) == len(values) + 1
    # nested a level deep, as the CLI writes a result's items inside its document
    document = {"a": 1, "items": values, "z": [0]}
    nested = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii)
    head, tail = json.dumps({**document, "items": "@"}, indent=indent).split('"@"')
    nested_chunks = json_array_chunks(values, indent=indent, level=1, ensure_ascii=ensure_ascii)
    assert head + "".join(nested_chunks) + tail == nested
