"""Importing items from JSONL, CSV, image folders and Label Studio files, and every refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from node.content.imports import ItemImportError, import_items
from node.protocol.cid import compute_cid
from node.protocol.manifest import MAX_ID_LENGTH, ItemSpec, build_task_content

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_keeps_file_order_and_splits_id_data_and_gold(tmp_path: Path) -> None:
    source = write(
        tmp_path / "items.jsonl",
        '{"id": "b", "text": "good film", "answer": "pos"}\n'
        "\n"
        '{"id": 7, "text": "dull"}\n'
        '{"id": "a", "text": "fine", "lang": "en"}\n',
    )
    imported = import_items(source, gold_field="answer")
    assert imported.items == (
        ItemSpec(id="b", data={"text": "good film"}),
        ItemSpec(id="7", data={"text": "dull"}),
        ItemSpec(id="a", data={"text": "fine", "lang": "en"}),
    )
    assert imported.gold == {"b": "pos"}
    assert imported.media == () and imported.classes == ()


def test_jsonl_without_id_uses_line_numbers_and_text_field(tmp_path: Path) -> None:
    source = write(tmp_path / "x.jsonl", '{"body": "one", "n": 1}\n\n{"body": "two"}\n')
    imported = import_items(source, text_field="body")
    assert imported.items == (
        ItemSpec(id="1", data={"text": "one"}),
        ItemSpec(id="3", data={"text": "two"}),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "a", "t": 1}\n{"id": "b", "t": \n', "x.jsonl:2: invalid JSON"),
        ('{"id": "a", "t": 1}\n["not", "an", "object"]\n', "x.jsonl:2: each line must be"),
        ('{"id": "a", "t": 1}\n{"id": "a", "t": 2}\n', "x.jsonl:2: duplicate item id 'a'"),
        ('{"id": "a"}\n', "x.jsonl:1: the record has no data"),
        ('{"id": true, "t": 1}\n', "x.jsonl:1: 'id' must be a string or an integer"),
        (json.dumps({"id": "x" * (MAX_ID_LENGTH + 1), "t": 1}), "x.jsonl:1: 'id' must be 1.."),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ItemImportError, match=re.escape(message)):
        import_items(write(tmp_path / "x.jsonl", text))


def test_missing_text_field_is_reported_with_its_line(tmp_path: Path) -> None:
    source = write(tmp_path / "x.jsonl", '{"id": "a", "body": "ok"}\n{"id": "b"}\n')
    with pytest.raises(ItemImportError, match=r"x.jsonl:2: missing text field 'body'"):
        import_items(source, text_field="body")


def test_limits_on_items_and_file_size(tmp_path: Path) -> None:
    source = write(tmp_path / "x.jsonl", "".join(f'{{"t": {i}}}\n' for i in range(3)))
    assert len(import_items(source, max_items=3).items) == 3
    with pytest.raises(ItemImportError, match=r"x\.jsonl:3: more than 2 items"):
        import_items(source, max_items=2)
    with pytest.raises(ItemImportError, match="exceeds the 10 limit"):
        import_items(source, max_bytes=10)


def test_csv_values_are_strings_and_ids_come_from_the_column(tmp_path: Path) -> None:
    source = write(tmp_path / "x.csv", 'id,text,gold\nq1,"hello, world",spam\nq2,bye,\n')
    imported = import_items(source, gold_field="gold")
    assert imported.items == (
        ItemSpec(id="q1", data={"text": "hello, world"}),
        ItemSpec(id="q2", data={"text": "bye"}),
    )
    assert imported.gold == {"q1": "spam"}  # an empty cell is no gold


def test_csv_without_id_column_numbers_rows_by_line(tmp_path: Path) -> None:
    imported = import_items(write(tmp_path / "x.csv", "text\nfirst\nsecond\n"))
    assert [item.id for item in imported.items] == ["2", "3"]


def test_csv_row_with_wrong_column_count_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "x.csv", "id,text\na,one\nb,two,extra\n")
    with pytest.raises(ItemImportError, match=r"x.csv:3: expected 2 columns"):
        import_items(source)


def test_images_sorted_by_name_with_cids_and_media_types(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "b.jpg").write_bytes(JPEG)
    (folder / "a.png").write_bytes(PNG)
    (folder / "notes.txt").write_text("ignored")
    imported = import_items(folder)
    assert imported.items == (
        ItemSpec(id="a.png", content=compute_cid(PNG), media_type="image/png"),
        ItemSpec(id="b.jpg", content=compute_cid(JPEG), media_type="image/jpeg"),
    )
    assert imported.media == (PNG, JPEG)


def test_image_whose_bytes_do_not_match_its_extension_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "fake.png").write_bytes(b"<html>not an image</html>")
    with pytest.raises(ItemImportError, match=r"fake.png: not an image, but the name says"):
        import_items(folder, format="images")
    (folder / "fake.png").write_bytes(JPEG)
    with pytest.raises(ItemImportError, match=r"content is image/jpeg"):
        import_items(folder, format="images")


def test_empty_image_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ItemImportError, match="no items found"):
        import_items(tmp_path, format="images")


def test_labelstudio_tasks_give_data_gold_and_classes(tmp_path: Path) -> None:
    tasks = [
        {
            "id": 11,
            "data": {"text": "spam offer"},
            "annotations": [{"result": [{"value": {"choices": ["spam"]}}]}],
        },
        {"id": 12, "data": {"text": "hi mum"}, "predictions": [{"result": []}]},
        {
            "data": {"id": "x", "text": "lunch?"},
            "annotations": [{"result": [{"value": {"choices": ["ham"]}}]}],
        },
    ]
    source = write(tmp_path / "ls.json", json.dumps(tasks))
    imported = import_items(source)
    assert imported.items == (
        ItemSpec(id="11", data={"text": "spam offer"}),
        ItemSpec(id="12", data={"text": "hi mum"}),
        ItemSpec(id="x", data={"text": "lunch?"}),
    )
    assert imported.gold == {"11": "spam", "x": "ham"}
    assert imported.classes == ("spam", "ham")


def test_labelstudio_task_without_data_is_refused_by_position(tmp_path: Path) -> None:
    source = write(tmp_path / "ls.json", json.dumps([{"data": {"t": 1}}, {"text": "no data"}]))
    with pytest.raises(ItemImportError, match=r"ls.json:task 2: a task is an object"):
        import_items(source)


def test_unknown_extension_needs_an_explicit_format(tmp_path: Path) -> None:
    source = write(tmp_path / "items.txt", '{"t": 1}\n')
    with pytest.raises(ItemImportError, match="cannot tell the format"):
        import_items(source)
    assert len(import_items(source, format="jsonl").items) == 1


def test_imported_items_build_a_task(tmp_path: Path) -> None:
    imported = import_items(
        write(tmp_path / "x.jsonl", '{"id": "a", "t": 1}\n{"id": "b", "t": 2}\n')
    )
    content = build_task_content(imported.items, title="t", classes=("x", "y"))
    assert content.manifest.num_items == 2


def test_jsonl_line_separator_inside_a_string_is_not_a_new_line(tmp_path: Path) -> None:
    source = tmp_path / "x.jsonl"
    source.write_bytes('{"id": "a", "t": "one\u2028two"}\r\n{"id": "b", "t": "3"}\r\n'.encode())
    imported = import_items(source)
    assert imported.items == (
        ItemSpec(id="a", data={"t": "one\u2028two"}),
        ItemSpec(id="b", data={"t": "3"}),
    )


def test_deeply_nested_json_is_refused_not_parsed(tmp_path: Path) -> None:
    # web3 is imported in this process: parsing this would overflow the C stack (SIGSEGV).
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ItemImportError, match=r"x\.jsonl:2: invalid JSON: JSON nested 100001 deep"):
        import_items(write(tmp_path / "x.jsonl", '{"t": 1}\n{"t": ' + deep + "}\n"))
    with pytest.raises(ItemImportError, match="nested 100000 deep"):
        import_items(write(tmp_path / "ls.json", deep))
    brackets = '{"id": "a", "t": "[[[[{{{{"}\n'
    assert import_items(write(tmp_path / "ok.jsonl", brackets)).items[0].data == {"t": "[[[[{{{{"}
