"""Label Studio both ways, checked with Label Studio's own converter (label-studio-sdk).

Exports must keep every consensus and annotator label through the converter, under the
names of the project a task was imported from; imports read Label Studio's JSON, JSON_MIN
and CSV exports, and an item whose annotators disagree never becomes (list-valued) gold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.content.exports import export_results, label_config_path
from node.content.imports import ImportedItems, ItemImportError, import_items
from node.content.labelstudio import LabelStudioProfile, parse_label_config
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, build_task_content
from node.protocol.values import valid_value
from node.roles.requester.posting import TaskRequest, TaskRequestError, validate_request
from node.roles.requester.results import ResultItem, TaskResults
from tests.support.labelstudio import converted_rows

ANN_A = "0x00000000000000000000000000000000000000A1"
ANN_B = "0x00000000000000000000000000000000000000b2"
CONFIG = """<View>
  <Header value="How does the review feel?"/>
  <Text name="review" value="$review_text"/>
  <Choices name="sentiment" toName="review" choice="single" showInline="true">
    <Choice value="positive"/><Choice value="negative"/><Choice value="neutral"/>
  </Choices>
</View>"""


def annotation(choice: str | list[str], user: int, **extra: object) -> dict[str, object]:
    choices = choice if isinstance(choice, list) else [choice]
    result = {
        "from_name": "sentiment",
        "to_name": "review",
        "type": "choices",
        "value": {"choices": choices},
    }
    return {"id": 100 + user, "completed_by": user, "result": [result], **extra}


# A Label Studio JSON export: task 11 agreed, 12 disagreed, 13 one annotation (one skipped).
LS_EXPORT = [
    {
        "id": 11,
        "data": {"review_text": "loved it"},
        "annotations": [annotation("positive", 1), annotation("positive", 2)],
    },
    {
        "id": 12,
        "data": {"review_text": "fine, I guess"},
        "annotations": [annotation("neutral", 1), annotation("negative", 2)],
        "predictions": [{"result": annotation("neutral", 9)["result"]}],
    },
    {
        "id": 13,
        "data": {"review_text": "broke in a day"},
        "annotations": [
            annotation("negative", 1),
            annotation("positive", 2, was_cancelled=True),
        ],
    },
]


def write_export(tmp_path: Path) -> Path:
    path = tmp_path / "project.json"
    path.write_text(json.dumps(LS_EXPORT), encoding="utf-8")
    return path


def results_for(imported: ImportedItems) -> TaskResults:
    """A finished task over ``imported``'s items: consensus, confidences, two annotators."""
    consensus = {"11": "positive", "12": "neutral", "13": "negative"}
    return TaskResults(
        task_id=5,
        result_cid="bafkreiresult",
        kind="categorical",
        classes=imported.classes,
        items=tuple(
            ResultItem(i.id, consensus[i.id], "0.900000000", True, i.id in imported.gold, i.data)
            for i in imported.items
        ),
        annotators=(),
        document={},
        labels={
            "11": {ANN_A: "positive", ANN_B: "positive"},
            "12": {ANN_A: "neutral", ANN_B: "negative"},
            "13": {ANN_A: "negative"},
        },
    )


def test_disagreeing_annotators_leave_the_item_out_of_gold(tmp_path: Path) -> None:
    imported = import_items(write_export(tmp_path))
    assert [item.id for item in imported.items] == ["11", "12", "13"]
    assert imported.gold == {"11": "positive", "13": "negative"}  # the cancelled one skipped
    assert imported.gold_conflicts == ("12",)
    assert imported.classes == ("positive", "neutral", "negative")
    assert all(
        valid_value(TaskKind.CATEGORICAL, imported.classes, v) for v in imported.gold.values()
    )


def test_ground_truth_marks_decide_which_annotations_are_gold(tmp_path: Path) -> None:
    tasks = json.loads(json.dumps(LS_EXPORT))
    tasks[1]["annotations"][1]["ground_truth"] = True  # the reviewer settled task 12
    path = tmp_path / "reviewed.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    imported = import_items(path)
    assert imported.gold == {"12": "negative"}  # marked files: only the marked answers
    assert imported.gold_conflicts == ()


def test_gold_the_validators_would_refuse_is_refused_at_posting(tmp_path: Path) -> None:
    content = build_task_content(
        [ItemSpec("a", data="x"), ItemSpec("b", data="y")], title="t", classes=("p", "n")
    )

    def request(gold: dict[str, object]) -> TaskRequest:
        return TaskRequest(content, 1, 3, 0, 10, 20, 30, gold=GoldSet.create(gold))

    validate_request(request({"a": "p"}), now=0, max_attest_window=100)
    with pytest.raises(TaskRequestError, match="validators would ignore the whole gold set"):
        validate_request(request({"a": "p", "b": ["n", "p"]}), now=0, max_attest_window=100)
    with pytest.raises(TaskRequestError, match="not valid categorical labels"):
        validate_request(request({"a": "maybe"}), now=0, max_attest_window=100)


def test_converter_keeps_every_consensus_and_annotator_label(tmp_path: Path) -> None:
    imported = import_items(write_export(tmp_path))
    results = results_for(imported)  # exported under labelnet's own names: label on text
    export = export_results(results, tmp_path / "out" / "ls.json", "labelstudio")
    config = label_config_path(export)
    for shape in ("CSV", "JSON_MIN"):
        rows = converted_rows(config, export, tmp_path / shape, shape)
        by_annotator = {(str(r["id"]), r["annotator"]): r["label"] for r in rows}
        for item in results.items:
            assert by_annotator[(item.item, "labelnet-consensus")] == item.value, shape
            for account, value in results.labels[item.item].items():
                assert by_annotator[(item.item, account)] == value, shape
        assert len(rows) == 3 + 5  # one consensus and one row per revealed label


def test_imported_names_and_config_round_trip(tmp_path: Path) -> None:
    imported = import_items(write_export(tmp_path))
    assert imported.labelstudio == LabelStudioProfile("sentiment", "review", "review_text")
    with_config = import_items(write_export(tmp_path), label_config=CONFIG)
    assert with_config.labelstudio == parse_label_config(CONFIG).profile
    assert with_config.classes == ("positive", "negative", "neutral")  # the config's order
    stored = LabelStudioProfile.from_document(
        json.loads(json.dumps(with_config.labelstudio.document()))
    )
    export = export_results(
        results_for(with_config), tmp_path / "ls.json", "labelstudio", labelstudio=stored
    )
    tasks = json.loads(export.read_text())
    assert [task["id"] for task in tasks] == [11, 12, 13]  # Label Studio's own task ids
    for task in tasks:
        for entry in (*task["annotations"], *task["predictions"]):
            (result,) = entry["result"]
            assert (result["from_name"], result["to_name"]) == ("sentiment", "review")
    assert label_config_path(export).read_text() == CONFIG  # the project's, verbatim
    # The original project's config still reads the export: every label is kept.
    original = tmp_path / "original.xml"
    original.write_text(CONFIG)
    rows = converted_rows(original, export, tmp_path / "csv", "CSV")
    assert len([r for r in rows if r["sentiment"]]) == 3 + 5
    again = import_items(export, label_config=CONFIG)
    assert again.items == with_config.items and again.gold == with_config.gold


def test_json_min_and_csv_exports_import(tmp_path: Path) -> None:
    config = tmp_path / "config.xml"
    config.write_text(CONFIG)
    for shape in ("JSON_MIN", "CSV"):
        result = tmp_path / shape / ("result.csv" if shape == "CSV" else "result.json")
        converted_rows(config, write_export(tmp_path), tmp_path / shape, shape)
        imported = import_items(result, format="labelstudio", label_config=CONFIG)
        assert [item.id for item in imported.items] == ["11", "12", "13"], shape
        assert imported.items[0].data == {"review_text": "loved it"}, shape
        assert imported.gold == {"11": "positive", "13": "negative"}, shape
        assert imported.gold_conflicts == ("12",), shape
        by_column = import_items(result, gold_field="sentiment")  # no config: name the column
        assert by_column.gold == imported.gold and by_column.items == imported.items, shape
        assert by_column.labelstudio is not None
        assert by_column.labelstudio.from_name == "sentiment"
        with pytest.raises(ItemImportError, match="which column holds the answers"):
            import_items(result, format="labelstudio")


def test_multiple_choices_agree_as_a_sorted_list(tmp_path: Path) -> None:
    tasks = [
        {
            "id": 1,
            "data": {"text": "a"},
            "annotations": [annotation(["y", "x"], 1), annotation(["x", "y"], 2)],
        },
        {"id": 2, "data": {"text": "b"}, "annotations": [annotation(["x"], 1)]},
    ]
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(tasks))
    imported = import_items(path)
    assert imported.gold == {"1": ["x", "y"], "2": "x"}
    assert imported.labelstudio is not None and imported.labelstudio.choice == "multiple"


def test_a_config_without_choices_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ItemImportError, match="no <Choices"):
        import_items(write_export(tmp_path), label_config="<View><Text name='t'/></View>")
    with pytest.raises(ItemImportError, match="not XML"):
        import_items(write_export(tmp_path), label_config="<View>")
