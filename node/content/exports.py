"""Exporting a task's verified result in the formats requesters load elsewhere.

* ``jsonl`` — one object per item: ``id, label, confidence, confident, gold`` plus the item's
  ``data`` and ``content`` CID when it has them. Lossless.
* ``csv`` — flat columns ``id, label, confidence, confident, gold``, then ``text`` when any
  item has a text field and ``content`` when any item has a media CID. Multi-label values are
  joined with ``|``.
* ``labelstudio`` — a JSON list of Label Studio tasks, each with a top-level ``id`` (the item
  id when every item id is a number, as for tasks imported from Label Studio, else the
  task's position; the converter's JSON_MIN puts it in place of ``data.id``), the item data
  with the item's id as ``data.id``, and as ``annotations`` the consensus (``completed_by``
  :data:`~node.content.labelstudio.CONSENSUS_ANNOTATOR`, ``ground_truth`` on gold items)
  followed by each annotator's revealed label (``completed_by`` their address as ``email``,
  numbered by address order): Label Studio's converter reads annotations only. The
  consensus is also a ``predictions`` entry scored by its confidence. Control and object
  names are the imported project's when the task came from Label Studio
  (:class:`~node.content.labelstudio.LabelStudioProfile`), and its label config is written
  next to the file as ``<name>.label_config.xml``. Importing the file again with
  :func:`node.content.imports.import_items` gives back the same items and gold (a media item
  comes back as data with an ``ipfs://`` image reference).
* ``hf`` — a Hugging Face ``datasets.Dataset`` saved with ``save_to_disk``: ``label`` is a
  ``ClassLabel`` of the task's classes (``Sequence(ClassLabel)`` for multi-label tasks, a
  float for numeric ones), ``annotators`` and ``annotator_labels`` the revealed labels as two
  aligned lists of the same label type, and ``data`` a JSON string, so items with different
  fields share one schema. ``push_to_hub`` takes it as it is.

Confidences stay the result document's exact nine-decimal strings except where a consumer
needs a number (Label Studio's ``score``, the ``hf`` column).

Every format streams: items are written as they are read, so with ``TaskResults.items`` a
re-iterable that reads the result a page at a time (``fetch_results``' items, the
requester's page) a writer holds a page, not the task. Some need a first pass over the items
before they write (which is why ``items`` must not be a one-shot iterator): ``csv``
(:func:`csv_columns`: whether it has a ``text`` or ``content`` column depends on every
item) and ``labelstudio`` (whether *every* item id is a number decides the task ids, and
whether every item is media decides the default label config). ``labelstudio`` writes its
JSON list an element at a time (:func:`json_array_chunks`, the bytes ``json.dumps`` of the
whole list writes) and ``hf`` builds its dataset with ``datasets.Dataset.from_generator``,
which writes Arrow record batches to a temporary cache as rows come. What is still held:
``TaskResults.labels``, every revealed label of the task (read page by page from the paged
batches, but kept by item, since the batches are in id order and the export in manifest
order), which the CLI's and SDK's ``labelstudio`` and ``hf`` exports read to put each
annotator's label beside the consensus; the node's own page exports no revealed labels.
A file export is written beside its target and renamed into place once complete, so a
result page that fails halfway leaves no truncated file.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from node.content.kind_formats import (
    LABEL_TAGS,
    hf_feature,
    hf_value,
    image_size,
    label_config,
    to_labelstudio,
)
from node.content.labelstudio import CONSENSUS_ANNOTATOR, MULTIPLE, SINGLE, LabelStudioProfile
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind

if TYPE_CHECKING:
    from node.roles.requester.results import ResultItem, TaskResults

ExportFormat = Literal["jsonl", "csv", "labelstudio", "hf"]

LABEL_CONFIG_SUFFIX = ".label_config.xml"
KIND_TAGS = {str(kind) for kind in LABEL_TAGS}
"""The kinds of issue #20, whose exports are :mod:`node.content.kind_formats`' forms."""


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


def result_row(item: ResultItem) -> dict[str, JsonValue]:
    """An item's lossless row (what ``jsonl`` writes)."""
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
    return row


def jsonl_lines(items: Iterable[ResultItem]) -> Iterator[str]:
    """The ``jsonl`` export a line at a time, each written as its item is read."""
    for item in items:
        yield json.dumps(result_row(item), ensure_ascii=False) + "\n"


def hf_row(
    item: ResultItem, labels: Mapping[str, Mapping[str, JsonValue]], kind: str = "categorical"
) -> dict[str, JsonValue]:
    """An item's row with the one fixed schema of :func:`hf_features` (``labels``: the
    result's revealed labels, :attr:`TaskResults.labels`; ``kind``: the result's)."""
    given = labels.get(item.item, {})
    annotators = sorted(given)
    return {
        "id": item.item,
        "label": _hf_value(kind, item.value),
        "confidence": None if item.confidence is None else float(item.confidence),
        "confident": item.confident,
        "gold": item.gold,
        "annotators": list(annotators),
        "annotator_labels": [_hf_value(kind, given[a]) for a in annotators],
        "text": _text(item),
        "content": item.content_cid,
        "data": None if item.data is None else json.dumps(item.data, sort_keys=True),
    }


def hf_rows(results: TaskResults) -> list[dict[str, JsonValue]]:
    """Every item's :func:`hf_row`, held (a look at the rows; the export streams them)."""
    return [hf_row(item, results.labels, results.kind) for item in results.items]


def hf_features(results: TaskResults, datasets: Any) -> Any:
    """The ``datasets.Features`` of :func:`hf_row`, the label typed by the task's kind."""
    if results.kind in KIND_TAGS:
        label = hf_feature(TaskKind(results.kind), results.classes, datasets)
    elif results.kind == "numeric":
        label = datasets.Value("float64")
    elif results.kind == "multilabel":
        label = datasets.Sequence(datasets.ClassLabel(names=list(results.classes)))
    else:
        label = datasets.ClassLabel(names=list(results.classes))
    string = datasets.Value("string")
    return datasets.Features(
        {
            "id": string,
            "label": label,
            "confidence": datasets.Value("float64"),
            "confident": datasets.Value("bool"),
            "gold": datasets.Value("bool"),
            "annotators": datasets.Sequence(string),
            "annotator_labels": datasets.Sequence(label),
            "text": string,
            "content": string,
            "data": string,
        }
    )


def _choices_result(value: JsonValue, profile: LabelStudioProfile, to_name: str) -> list[JsonValue]:
    choices = value if isinstance(value, list) else [value]
    return [
        {
            "from_name": profile.from_name,
            "to_name": to_name,
            "type": "choices",
            "value": {"choices": [str(c) for c in choices]},
        }
    ]


def _hf_value(kind: str, value: JsonValue) -> JsonValue:
    return hf_value(TaskKind(kind), value) if kind in KIND_TAGS else value


def _result(
    kind: str, value: JsonValue, names: LabelStudioProfile, item: ResultItem
) -> list[JsonValue]:
    """One label's Label Studio result entries: choices, or the kind's own entries
    (:func:`node.content.kind_formats.to_labelstudio`; boxes need the item's image size)."""
    if kind not in KIND_TAGS:
        return _choices_result(value, names, names.to_name)
    size = image_size(item.data) if kind == "boxes" else None
    return to_labelstudio(
        TaskKind(kind), value, from_name=names.from_name, to_name=names.to_name, size=size
    )


def default_profile(results: TaskResults, *, image: bool) -> LabelStudioProfile:
    """The names of a task that did not come from Label Studio: ``label`` choices on a
    ``text`` or ``image`` object; a boxes, spans, text or pairwise task's names are those of
    :func:`node.content.kind_formats.label_config`."""
    if results.kind in KIND_TAGS:
        to_name = "left,right" if results.kind == "pairwise" else "item"
        data_key = "image" if results.kind == "boxes" else "text"
        return LabelStudioProfile(to_name=to_name, data_key=data_key)
    name = "image" if image else "text"
    choice = MULTIPLE if results.kind == "multilabel" else SINGLE
    return LabelStudioProfile(to_name=name, data_key=name, choice=choice)


def labelstudio_tasks(
    results: TaskResults, profile: LabelStudioProfile | None = None
) -> Iterator[dict[str, JsonValue]]:
    """Label Studio tasks with the consensus and each annotator's label (see the module
    notes), one per item as it is read, after a first pass over the items (whether every
    id is a number); ``profile``: the names of the project the task was imported from."""
    numbers = {
        account: n
        for n, account in enumerate(
            sorted({a for given in results.labels.values() for a in given}, key=str.lower),
            start=1,
        )
    }
    annotation_ids = iter(range(1, 1 << 62))
    numeric = all(item.item.isdecimal() and item.item.isascii() for item in results.items)
    for position, item in enumerate(results.items, start=1):
        names = profile or default_profile(results, image=item.content_cid is not None)
        data: dict[str, JsonValue] = {"id": item.item}
        if isinstance(item.data, dict):
            data.update({k: v for k, v in item.data.items() if k != "id"})
        elif item.data is not None:
            data[names.data_key] = item.data
        if item.content_cid is not None:
            data[names.data_key] = f"ipfs://{item.content_cid}"
        result = _result(results.kind, item.value, names, item)
        annotations: list[JsonValue] = [
            {
                "id": next(annotation_ids),
                "completed_by": dict(CONSENSUS_ANNOTATOR),
                "ground_truth": item.gold,
                "result": result,
            }
        ]
        given = results.labels.get(item.item, {})
        for account in sorted(given, key=str.lower):
            annotations.append(
                {
                    "id": next(annotation_ids),
                    "completed_by": {"id": numbers[account], "email": account},
                    "ground_truth": False,
                    "result": _result(results.kind, given[account], names, item),
                }
            )
        prediction: dict[str, JsonValue] = {
            "model_version": f"labelnet-task-{results.task_id}",
            "score": None if item.confidence is None else float(item.confidence),
            "result": result,
        }
        task_id = int(item.item) if numeric else position
        yield {"id": task_id, "data": data, "annotations": annotations, "predictions": [prediction]}


CSV_COLUMNS = ("id", "label", "confidence", "confident", "gold")


def csv_columns(items: Iterable[ResultItem]) -> tuple[str, ...]:
    """The ``csv`` header: one pass over ``items`` (``text`` and ``content`` are there when
    any item has one), holding nothing."""
    with_text = with_content = False
    for item in items:
        with_text = with_text or _text(item) is not None
        with_content = with_content or item.content_cid is not None
    return CSV_COLUMNS + ("text",) * with_text + ("content",) * with_content


def csv_lines(items: Iterable[ResultItem], columns: tuple[str, ...]) -> Iterator[str]:
    """The ``csv`` export (header first, ``\\r\\n`` line ends) a row at a time, each written
    as its item is read; ``columns`` from :func:`csv_columns` over the same items."""
    with_text, with_content = "text" in columns, "content" in columns
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for item in items:
        row = [
            item.item,
            _flat(item.value),
            item.confidence,
            str(item.confident).lower(),
            str(item.gold).lower(),
        ]
        row += [_text(item) or ""] * with_text + [item.content_cid or ""] * with_content
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no items: the header alone
        yield buffer.getvalue()


def _reiterable(items: Iterable[ResultItem], format: str) -> Iterable[ResultItem]:
    """``items``, refused if a one-shot iterator: a second pass over it would see nothing
    and write a wrong file without a word."""
    if iter(items) is items:
        raise ExportError(f"a {format} export reads the items more than once: not an iterator")
    return items


def _all_media(items: Iterable[ResultItem]) -> bool:
    """Whether there are items and every one is a media CID (one pass, holding nothing)."""
    seen = False
    for item in items:
        if item.content_cid is None:
            return False
        seen = True
    return seen


def _write_hf(results: TaskResults, path: Path) -> None:
    """Save the ``hf`` dataset at ``path``, its rows streamed: ``from_generator`` writes
    them to Arrow files in a temporary cache a batch at a time, and ``save_to_disk`` copies
    those (memory-mapped) into place."""
    try:
        datasets = importlib.import_module("datasets")  # optional, untyped: loaded on use
    except ImportError as exc:
        raise MissingDependencyError(
            "the 'hf' export needs the datasets package: pip install 'labelnet[hf]'"
        ) from exc
    features = hf_features(results, datasets)

    def rows() -> Iterator[dict[str, JsonValue]]:
        for item in results.items:
            yield hf_row(item, results.labels)

    with tempfile.TemporaryDirectory(prefix="labelnet-hf-") as cache:
        dataset = datasets.Dataset.from_generator(
            rows,
            features=features,
            cache_dir=cache,
            # a fingerprint of our own: the default hashes the generator's closure (a store)
            fingerprint=f"labelnet-task-{results.task_id}-{results.result_cid}",
        )
        dataset.save_to_disk(str(path))


def json_array_chunks(
    values: Iterable[JsonValue], *, indent: int, level: int = 0, ensure_ascii: bool = True
) -> Iterator[str]:
    """A JSON list written an element at a time: the chunks join to what
    ``json.dumps(list(values), indent=indent, ensure_ascii=ensure_ascii)`` writes for a list
    nested ``level`` deep (0: the whole document), so a large list is never held."""
    inner = "\n" + " " * (indent * (level + 1))
    opened = False
    for value in values:
        # a line break in json.dumps' output is always its own (strings escape theirs)
        text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii).replace("\n", inner)
        yield ("," if opened else "[") + inner + text
        opened = True
    yield "\n" + " " * (indent * level) + "]" if opened else "[]"


@contextmanager
def _replacing(path: Path) -> Iterator[io.TextIOWrapper]:
    """A text file that becomes ``path`` once written whole: written beside it and renamed
    into place, removed if the writing fails (a streamed export can fail halfway, when a
    result page cannot be read)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            yield handle
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def label_config_path(export: Path) -> Path:
    """Where a ``labelstudio`` export's label config is written."""
    return export.with_name(export.stem + LABEL_CONFIG_SUFFIX)


def export_results(
    results: TaskResults,
    path: Path,
    format: ExportFormat,
    *,
    labelstudio: LabelStudioProfile | None = None,
) -> Path:
    """Write ``results`` to ``path`` in ``format`` (``hf``: a directory); returns ``path``.
    Every format is written as the items are read (see the module notes): ``csv`` and
    ``labelstudio`` read ``results.items`` more than once, so it must not be an iterator.

    ``labelstudio``: the Label Studio names (and config) to export under, as recorded by
    the import the task was created from."""
    if format not in ("jsonl", "csv", "labelstudio", "hf"):
        raise ExportError(f"unknown export format {format!r}: jsonl, csv, labelstudio or hf")
    if format != "hf" and path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "jsonl":
        with _replacing(path) as handle:
            handle.writelines(jsonl_lines(results.items))
    elif format == "csv":
        items = _reiterable(results.items, format)
        columns = csv_columns(items)
        with _replacing(path) as handle:
            handle.writelines(csv_lines(items, columns))
    elif format == "labelstudio":
        items = _reiterable(results.items, format)
        tasks = labelstudio_tasks(results, labelstudio)
        with _replacing(path) as handle:
            handle.writelines(json_array_chunks(tasks, indent=1, ensure_ascii=False))
        # the default names depend on whether every item is media: one more pass, if needed
        if results.kind in KIND_TAGS and labelstudio is None:
            config = label_config(TaskKind(results.kind), results.classes)
        else:
            profile = labelstudio or default_profile(results, image=_all_media(items))
            config = profile.label_config(results.classes)
        label_config_path(path).write_text(config, encoding="utf-8")
    else:
        _write_hf(results, path)
    return path
