"""Exporting a task's verified result in the formats requesters load elsewhere.

* ``jsonl`` — one object per item: ``id, label, confidence, confident, gold`` plus the item's
  ``data`` and ``content`` CID when it has them. Lossless.
* ``csv`` — flat columns ``id, label, confidence, confident, gold``, then ``text`` when any
  item has a text field and ``content`` when any item has a media CID. Multi-label values are
  joined with ``|``.
* ``labelstudio`` — a JSON list of Label Studio tasks: the item data, its id as ``data.id``,
  the consensus as a ``predictions`` choices result scored by its confidence, and gold items'
  answers as ground-truth ``annotations``. Importing it again with
  :func:`node.content.imports.import_items` gives back the same items and gold (a media item
  comes back as data with an ``ipfs://`` image reference).
* ``hf`` — a Hugging Face ``datasets.Dataset`` saved with ``save_to_disk`` (``data`` as a JSON
  string, so items with different fields share one schema).

Confidences stay the result document's exact nine-decimal strings except where a consumer
needs a number (Label Studio's ``score``, the ``hf`` column).
"""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from node.content.canonical import JsonValue
from node.errors import LabelnetError

if TYPE_CHECKING:
    from node.roles.requester.results import ResultItem, TaskResults

ExportFormat = Literal["jsonl", "csv", "labelstudio", "hf"]

LS_FROM_NAME = "label"
"""The ``from_name`` of the exported choices (name the Choices tag so in the LS config)."""


class ExportError(LabelnetError, ValueError):
    """An export that cannot be written (unknown format, unusable path)."""


class MissingDependencyError(LabelnetError, ImportError):
    """An optional package the export needs is not installed."""


def _text(item: ResultItem) -> str | None:
    data = item.data
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return str(data["text"])
    return data if isinstance(data, str) else None


def _flat(value: JsonValue) -> str:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)


def result_rows(results: TaskResults) -> list[dict[str, JsonValue]]:
    """One lossless row per item, in result order (what ``jsonl`` writes)."""
    rows: list[dict[str, JsonValue]] = []
    for item in results.items:
        row: dict[str, JsonValue] = {
            "id": item.item,
            "label": item.value,
            "confidence": item.confidence,
            "confident": item.confident,
            "gold": item.gold,
        }
        if item.data is not None:
            row["data"] = item.data
        if item.content_cid is not None:
            row["content"] = item.content_cid
        rows.append(row)
    return rows


def hf_rows(results: TaskResults) -> list[dict[str, JsonValue]]:
    """Rows with one fixed schema, as ``datasets.Dataset.from_list`` needs."""
    return [
        {
            "id": item.item,
            "label": item.value if isinstance(item.value, str) else json.dumps(item.value),
            "confidence": float(item.confidence),
            "confident": item.confident,
            "gold": item.gold,
            "text": _text(item),
            "content": item.content_cid,
            "data": None if item.data is None else json.dumps(item.data, sort_keys=True),
        }
        for item in results.items
    ]


def labelstudio_tasks(results: TaskResults) -> list[dict[str, JsonValue]]:
    """Label Studio tasks carrying the consensus as predictions (see the module notes)."""
    tasks: list[dict[str, JsonValue]] = []
    for item in results.items:
        data: dict[str, JsonValue] = {"id": item.item}
        if isinstance(item.data, dict):
            data.update({k: v for k, v in item.data.items() if k != "id"})
        elif item.data is not None:
            data["text"] = item.data
        if item.content_cid is not None:
            data["image"] = f"ipfs://{item.content_cid}"
        choices = item.value if isinstance(item.value, list) else [item.value]
        result = [
            {
                "from_name": LS_FROM_NAME,
                "to_name": "image" if item.content_cid is not None else "text",
                "type": "choices",
                "value": {"choices": [str(c) for c in choices]},
            }
        ]
        task: dict[str, JsonValue] = {
            "data": data,
            "predictions": [
                {
                    "model_version": f"labelnet-task-{results.task_id}",
                    "score": float(item.confidence),
                    "result": result,
                }
            ],
        }
        if item.gold:
            task["annotations"] = [{"ground_truth": True, "result": result}]
        tasks.append(task)
    return tasks


def _write_csv(results: TaskResults, path: Path) -> None:
    with_text = any(_text(item) is not None for item in results.items)
    with_content = any(item.content_cid is not None for item in results.items)
    columns = ["id", "label", "confidence", "confident", "gold"]
    columns += ["text"] * with_text + ["content"] * with_content
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for item in results.items:
            row = [
                item.item,
                _flat(item.value),
                item.confidence,
                str(item.confident).lower(),
                str(item.gold).lower(),
            ]
            row += [_text(item) or ""] * with_text + [item.content_cid or ""] * with_content
            writer.writerow(row)


def _write_hf(results: TaskResults, path: Path) -> None:
    try:
        datasets = importlib.import_module("datasets")  # optional, untyped: loaded on use
    except ImportError as exc:
        raise MissingDependencyError(
            "the 'hf' export needs the datasets package: pip install 'labelnet[hf]'"
        ) from exc
    datasets.Dataset.from_list(hf_rows(results)).save_to_disk(str(path))


def export_results(results: TaskResults, path: Path, format: ExportFormat) -> Path:
    """Write ``results`` to ``path`` in ``format`` (``hf``: a directory); returns ``path``."""
    if format not in ("jsonl", "csv", "labelstudio", "hf"):
        raise ExportError(f"unknown export format {format!r}: jsonl, csv, labelstudio or hf")
    if format != "hf" and path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "jsonl":
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in result_rows(results))
        path.write_text("".join(lines), encoding="utf-8")
    elif format == "csv":
        _write_csv(results, path)
    elif format == "labelstudio":
        text = json.dumps(labelstudio_tasks(results), ensure_ascii=False, indent=1)
        path.write_text(text, encoding="utf-8")
    else:
        _write_hf(results, path)
    return path
