"""Importing a requester's items from the files they already have.

Four sources, one result (:class:`ImportedItems`): the item specs in file order, the media
blobs to store next to them, the known answers (gold) the file carries, and the class names
it names. Every input is untrusted: files are size-capped before they are read, item counts
and id lengths are bounded, and every error says ``file:line`` and what is wrong, because a
requester fixing a 100,000-line file needs the line, not a traceback.

Id rules (the same for JSONL, CSV and Label Studio): an item's id is the value of
``id_field`` when the record has it (numbers become their decimal text); otherwise it is the
record's 1-based line number in the file (JSONL, CSV) or 1-based position in the list (Label
Studio). Ids must be unique within a file, whichever rule produced them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from node.content.labelstudio import (
    TASK_ID,
    LabelConfig,
    LabelStudioError,
    LabelStudioProfile,
    ReadNames,
    TaskAnswers,
    agreed_answer,
    is_min_export,
    min_control,
    parse_label_config,
    profile_of,
    read_json_tasks,
    read_min_records,
)
from node.errors import LabelnetError
from node.protocol.canonical import JsonValue, check_json_depth
from node.protocol.cid import compute_cid
from node.protocol.manifest import MAX_ID_LENGTH, MAX_ITEMS, ItemSpec, ManifestError

ImportFormat = Literal["auto", "jsonl", "csv", "images", "labelstudio"]

MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest JSONL, CSV or Label Studio file read (it is read whole)."""
MAX_MEDIA_BYTES = 64 * 1024 * 1024
"""Largest single image file."""

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


class ItemImportError(LabelnetError, ValueError):
    """An input file that cannot be imported; the message starts with ``file[:line]``."""


@dataclass(frozen=True)
class ImportedItems:
    """Items read from a file, ready for :func:`node.protocol.manifest.build_task_content`."""

    items: tuple[ItemSpec, ...]
    """In manifest order: file order (images: sorted file names)."""
    media: tuple[bytes, ...]
    """Blobs to store (images); the items' ``content`` holds their CIDs."""
    gold: dict[str, JsonValue]
    """Item id -> known answer, from ``gold_field`` or Label Studio annotations."""
    classes: tuple[str, ...]
    """Classes the file names (the Label Studio config's, else its choices in first-seen
    order), else ()."""
    gold_conflicts: tuple[str, ...] = ()
    """Items whose Label Studio annotations disagree: not made gold (see
    :func:`node.content.labelstudio.agreed_answer`)."""
    labelstudio: LabelStudioProfile | None = None
    """The Label Studio names (and config, if given) of a Label Studio import, so that an
    export goes back to the same project."""


@dataclass(frozen=True)
class _Options:
    id_field: str
    text_field: str | None
    gold_field: str | None
    max_items: int


class _Collector:
    """Accumulates items in order, enforcing uniqueness and the item limit."""

    def __init__(self, source: Path, options: _Options) -> None:
        self.source = source
        self.options = options
        self.items: list[ItemSpec] = []
        self.gold: dict[str, JsonValue] = {}
        self.media: list[bytes] = []
        self.classes: list[str] = []
        self.conflicts: list[str] = []
        self.profile: LabelStudioProfile | None = None
        self._ids: set[str] = set()

    def fail(self, where: int | str | None, problem: str) -> ItemImportError:
        location = f"{self.source}" if where is None else f"{self.source}:{where}"
        return ItemImportError(f"{location}: {problem}")

    def add(self, where: int | str, item: ItemSpec, gold: JsonValue = None) -> None:
        if len(self.items) >= self.options.max_items:
            raise self.fail(where, f"more than {self.options.max_items} items")
        if item.id in self._ids:
            raise self.fail(where, f"duplicate item id {item.id!r}")
        self._ids.add(item.id)
        self.items.append(item)
        if gold is not None and gold != "":
            self.gold[item.id] = gold

    def add_class(self, name: str) -> None:
        if name not in self.classes:
            self.classes.append(name)

    def result(self) -> ImportedItems:
        if not self.items:
            raise self.fail(None, "no items found")
        return ImportedItems(
            items=tuple(self.items),
            media=tuple(self.media),
            gold=dict(self.gold),
            classes=tuple(self.classes),
            gold_conflicts=tuple(self.conflicts),
            labelstudio=self.profile,
        )


def _detect(path: Path) -> ImportFormat:
    if path.is_dir():
        return "images"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".json":
        return "labelstudio"
    raise ItemImportError(
        f"{path}: cannot tell the format from the name; pass format= jsonl, csv, images "
        "or labelstudio"
    )


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ItemImportError(f"{path}: file of {size} bytes exceeds the {max_bytes} limit")
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ItemImportError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ItemImportError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _loads(text: str) -> JsonValue:
    """``json.loads`` after refusing deep nesting (see
    :func:`node.protocol.canonical.check_json_depth`: it would crash the process)."""
    check_json_depth(text.encode("utf-8"))
    return json.loads(text)


def _item_id(value: JsonValue, fallback: int, what: str) -> str:
    if value is None:
        return str(fallback)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{what} must be a string or an integer, got {value!r}")
    text = str(value)
    if not 1 <= len(text) <= MAX_ID_LENGTH:
        raise ValueError(f"{what} must be 1..{MAX_ID_LENGTH} characters long")
    return text


def _record(
    collector: _Collector,
    where: int | str,
    record: dict[str, JsonValue],
    position: int,
    gold: JsonValue = None,
) -> None:
    """Apply the shared id/data/gold rules to one JSONL, CSV or Label Studio record
    (``gold`` is the answer a Label Studio annotation gave, used without a gold_field)."""
    options = collector.options
    try:
        item_id = _item_id(record.get(options.id_field), position, f"{options.id_field!r}")
        if options.text_field is not None:
            if options.text_field not in record:
                raise ValueError(f"missing text field {options.text_field!r}")
            data: JsonValue = {"text": record[options.text_field]}
        else:
            dropped = {options.id_field, options.gold_field}
            data = {k: v for k, v in record.items() if k not in dropped}
            if not data:
                raise ValueError("the record has no data besides its id and gold")
        if options.gold_field is not None and options.gold_field in record:
            gold = record[options.gold_field]
        collector.add(where, ItemSpec(id=item_id, data=data), gold)
    except ItemImportError:
        raise
    except ValueError as exc:  # ManifestError included: a bad id or data for ItemSpec
        raise collector.fail(where, str(exc)) from exc


def _import_jsonl(path: Path, collector: _Collector, max_bytes: int) -> None:
    # Split on "\n" only: str.splitlines() also splits at U+2028, which JSON strings may hold.
    for number, line in enumerate(_read_text(path, max_bytes).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = _loads(line)
        except json.JSONDecodeError as exc:
            raise collector.fail(number, f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
        except ValueError as exc:
            raise collector.fail(number, f"invalid JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise collector.fail(number, "each line must be a JSON object")
        _record(collector, number, record, number)


def _import_csv(
    path: Path, collector: _Collector, max_bytes: int, config: LabelConfig | None
) -> None:
    """A CSV file; one with Label Studio's ``annotator`` and ``annotation_id`` columns is
    its CSV export (one row per annotation) and is read as such."""
    text = _read_text(path, max_bytes)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        if not reader.fieldnames:
            raise collector.fail(1, "no header row")
        if len(set(reader.fieldnames)) != len(reader.fieldnames):
            raise collector.fail(1, "duplicate column names in the header")
        from_labelstudio = {"annotator", "annotation_id"} <= set(reader.fieldnames)
        rows: list[tuple[str, dict[str, JsonValue]]] = []
        for row in reader:
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                raise collector.fail(line, f"expected {len(reader.fieldnames)} columns")
            record: dict[str, JsonValue] = {k: v for k, v in row.items() if k is not None}
            if from_labelstudio:
                rows.append((str(line), record))
                continue
            if record.get(collector.options.id_field) == "":
                raise collector.fail(line, f"empty {collector.options.id_field!r}")
            _record(collector, line, record, line)
    except csv.Error as exc:
        raise collector.fail(reader.line_num, f"malformed CSV: {exc}") from exc
    if from_labelstudio:
        try:
            control = min_control(config, collector.options.gold_field)
        except LabelStudioError as exc:
            raise collector.fail(exc.where, exc.problem) from exc
        tasks = read_min_records(rows, control)
        collector.profile = profile_of(ReadNames(control), tasks, config)
        _add_labelstudio(collector, tasks, config)


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _import_images(path: Path, collector: _Collector) -> None:
    if not path.is_dir():
        raise collector.fail(None, "format 'images' needs a directory")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_TYPES)
    for file in files:
        size = file.stat().st_size
        if size > MAX_MEDIA_BYTES:
            raise collector.fail(file.name, f"image of {size} bytes exceeds {MAX_MEDIA_BYTES}")
        data = file.read_bytes()
        expected = IMAGE_TYPES[file.suffix.lower()]
        found = _image_type(data)
        if found != expected:
            problem = "not an image" if found is None else f"content is {found}"
            raise collector.fail(file.name, f"{problem}, but the name says {expected}")
        try:
            item = ItemSpec(id=file.name, content=compute_cid(data), media_type=expected)
        except ManifestError as exc:
            raise collector.fail(file.name, str(exc)) from exc
        collector.add(file.name, item)
        collector.media.append(data)


def _add_labelstudio(
    collector: _Collector, tasks: list[TaskAnswers], config: LabelConfig | None
) -> None:
    """Add Label Studio tasks with the gold their annotations agree on (see
    :mod:`node.content.labelstudio` for the rule), listing the items they disagree on."""
    marks_truth = any(task.truth for task in tasks)
    for name in config.classes if config is not None else ():
        collector.add_class(name)
    for position, task in enumerate(tasks, start=1):
        if config is None:
            for name in task.seen:
                collector.add_class(name)
        answers = task.truth if marks_truth else task.answers
        gold = agreed_answer(answers)
        own_id = task.data.pop(TASK_ID, None)
        if collector.options.id_field not in task.data and own_id is not None:
            task.data[collector.options.id_field] = own_id
        count = len(collector.items)
        _record(collector, task.where, task.data, position, gold)
        if answers and gold is None and len(collector.items) > count:
            collector.conflicts.append(collector.items[-1].id)


def _import_labelstudio(
    path: Path, collector: _Collector, max_bytes: int, config: LabelConfig | None
) -> None:
    """A JSON or JSON_MIN export (told apart by their records' shape)."""
    try:
        document = _loads(_read_text(path, max_bytes))
    except json.JSONDecodeError as exc:
        raise collector.fail(exc.lineno, f"invalid JSON: {exc.msg}") from exc
    except ItemImportError:
        raise
    except ValueError as exc:
        raise collector.fail(None, f"invalid JSON: {exc}") from exc
    try:
        if is_min_export(document):
            assert isinstance(document, list)
            column = min_control(config, collector.options.gold_field)
            records = [
                (f"record {n}", record)
                for n, record in enumerate(document, start=1)
                if isinstance(record, dict)
            ]
            tasks = read_min_records(records, column)
            names = ReadNames(column)
        else:
            control = config.profile.from_name if config else None
            tasks, names = read_json_tasks(document, control)
    except LabelStudioError as exc:
        raise collector.fail(exc.where, exc.problem) from exc
    collector.profile = profile_of(names, tasks, config)
    _add_labelstudio(collector, tasks, config)


def import_items(
    path: Path,
    *,
    format: ImportFormat = "auto",
    id_field: str = "id",
    text_field: str | None = None,
    gold_field: str | None = None,
    max_items: int = MAX_ITEMS,
    max_bytes: int = MAX_FILE_BYTES,
    label_config: str | None = None,
) -> ImportedItems:
    """Read items (and any gold and classes) from ``path``.

    * ``jsonl``: one JSON object per line (blank lines skipped); the item's data is the
      object without ``id_field`` and ``gold_field``, or ``{"text": obj[text_field]}``.
    * ``csv``: a header row, then one item per row, same rules; values stay strings.
    * ``images``: a directory; every ``*.png/*.jpg/*.jpeg/*.gif/*.webp`` sorted by name,
      id = file name, content = the CID of its bytes, whose magic bytes must match the
      extension.
    * ``labelstudio``: a Label Studio JSON or JSON_MIN export (a ``.csv`` file: its CSV
      export); ``data`` (JSON_MIN/CSV: the columns besides the answers and Label Studio's
      own) becomes the item data, and the answer every counted annotation agrees on becomes
      gold (a single choice as a string, several as a sorted list; the rule is in
      :mod:`node.content.labelstudio`). ``label_config`` is the project's label config
      (XML): its control names the answer column and its choices are the classes; JSON_MIN
      and CSV exports need it, or the control's name as ``gold_field``.
    """
    if max_items < 1:
        raise ItemImportError(f"max_items must be positive, got {max_items}")
    chosen = _detect(path) if format == "auto" else format
    options = _Options(id_field, text_field, gold_field, min(max_items, MAX_ITEMS))
    collector = _Collector(path, options)
    try:
        config = None if label_config is None else parse_label_config(label_config)
    except LabelStudioError as exc:
        raise collector.fail(exc.where, exc.problem) from exc
    if chosen == "labelstudio" and path.suffix.lower() in (".csv", ".tsv"):
        chosen = "csv"
    if chosen == "jsonl":
        _import_jsonl(path, collector, max_bytes)
    elif chosen == "csv":
        _import_csv(path, collector, max_bytes, config)
    elif chosen == "images":
        _import_images(path, collector)
    elif chosen == "labelstudio":
        _import_labelstudio(path, collector, max_bytes, config)
    else:
        raise ItemImportError(f"unknown import format {chosen!r}")
    return collector.result()
