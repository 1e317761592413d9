"""Export formats on small hand-built results: columns, multi-label values, media, refusals."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from node.content.cid import compute_cid
from node.content.exports import (
    ExportError,
    MissingDependencyError,
    export_results,
    hf_rows,
    labelstudio_tasks,
)
from node.content.imports import import_items
from node.content.manifest import ItemSpec
from node.roles.requester.results import ResultItem, TaskResults

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 8
PNG_CID = compute_cid(PNG)


def results(*items: ResultItem) -> TaskResults:
    return TaskResults(
        task_id=7,
        result_cid="bafkreiresult",
        kind="categorical",
        classes=("cat", "dog"),
        items=items,
        annotators=(),
        document={},
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
    text, image = labelstudio_tasks(results(TEXT, IMAGE))
    assert text["data"] == {"id": "t1", "text": "meow", "lang": "en"}
    (prediction,) = text["predictions"]
    assert prediction["score"] == 0.95
    assert prediction["result"][0]["value"] == {"choices": ["cat"]}
    assert "annotations" not in text
    assert image["data"] == {"id": "img.png", "image": f"ipfs://{PNG_CID}"}
    assert image["annotations"][0]["ground_truth"] is True
    # Round trip: text items come back as they were, gold from the ground truth.
    path = export_results(results(TEXT, IMAGE), tmp_path / "ls.json", "labelstudio")
    again = import_items(path)
    assert again.items[0] == ItemSpec(id="t1", data={"text": "meow", "lang": "en"})
    assert again.items[1] == ItemSpec(id="img.png", data={"image": f"ipfs://{PNG_CID}"})
    assert again.gold == {"img.png": "dog"}
    assert again.classes == ("cat", "dog")


def test_hf_rows_share_one_schema() -> None:
    rows = hf_rows(results(TEXT, IMAGE, MULTI))
    assert {frozenset(row) for row in rows} == {
        frozenset({"id", "label", "confidence", "confident", "gold", "text", "content", "data"})
    }
    assert rows[0]["confidence"] == 0.95 and rows[0]["text"] == "meow"
    assert rows[1]["data"] is None and rows[1]["content"] == PNG_CID
    assert rows[2]["label"] == '["cat", "dog"]'


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

    path = export_results(results(TEXT, IMAGE, MULTI), tmp_path / "hf", "hf")
    loaded = datasets.load_from_disk(str(path))
    assert loaded.num_rows == 3
    assert loaded["id"] == ["t1", IMAGE.item, MULTI.item]
    assert loaded[0]["label"] == "cat" and loaded[0]["text"] == "meow"
    assert loaded[1]["content"] == PNG_CID
