"""The label kinds of issue #20 in other tools' formats, both ways: COCO for boxes, and Label
Studio's ``RectangleLabels`` (boxes), ``Labels`` (spans), ``TextArea`` (text) and
``Pairwise`` (pairwise) result entries.

Pure conversions of one value at a time (JSONL needs none: a result's values are JSON
already, :func:`node.content.exports.jsonl_lines`). Every import returns the value in its
canonical form (:func:`node.protocol.annotation.canonical_value`), checked against the
task's classes and parameters, so what comes in is what a validator would count.

Label Studio states boxes in percent of the image; converting needs the image's size in
pixels, and a round trip gives back the same integers (the error of the two float
operations is far below half a pixel). Label Studio's ``Pairwise`` has no tie: a tie is
exported as no result entry, and an import without a selection is a tie.
:func:`label_config` writes a project config that shows each kind with these entries.

:func:`node.content.exports.labelstudio_tasks` and the ``hf`` export dispatch here on the
result's kind (:func:`to_labelstudio`, :func:`hf_feature`, :func:`hf_value`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from node.errors import LabelnetError
from node.protocol.annotation import AnnotationParams, canonical_value, check_value
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError
from node.protocol.kinds import TaskKind

LABEL_TAGS = {
    TaskKind.BOXES: "rectanglelabels",
    TaskKind.SPANS: "labels",
    TaskKind.TEXT: "textarea",
    TaskKind.PAIRWISE: "pairwise",
}
"""The Label Studio result ``type`` of each kind."""


def label_config(kind: TaskKind, classes: Sequence[str] = ()) -> str:
    """A Label Studio label config for a task of ``kind`` whose results
    :func:`to_labelstudio` writes with its default names (``label`` on ``item``; a pairwise
    task shows its item data's ``a`` and ``b`` as ``left`` and ``right``)."""
    labels = "".join(f"<Label value={quoteattr(c)}/>" for c in classes)
    if kind is TaskKind.BOXES:
        body = '<Image name="item" value="$image"/>'
        body += f'<RectangleLabels name="label" toName="item">{labels}</RectangleLabels>'
    elif kind is TaskKind.SPANS:
        body = (
            f'<Text name="item" value="$text"/><Labels name="label" toName="item">{labels}</Labels>'
        )
    elif kind is TaskKind.TEXT:
        body = '<Text name="item" value="$text"/><TextArea name="label" toName="item"/>'
    else:
        body = (
            '<Text name="left" value="$a"/><Text name="right" value="$b"/>'
            '<Pairwise name="label" toName="left,right"/>'
        )
    return f"<View>{body}</View>"


class KindFormatError(LabelnetError, ValueError):
    """A COCO document or Label Studio result that does not convert to a valid label."""


def _checked(
    kind: TaskKind, value: JsonValue, classes: Sequence[str], params: AnnotationParams | None
) -> JsonValue:
    canonical = canonical_value(kind, value)
    try:
        check_value(kind, tuple(classes), canonical, params or AnnotationParams(kind))
    except InvalidAnswersError as exc:
        raise KindFormatError(f"not a valid {kind} label: {exc}") from exc
    return canonical


def to_coco(
    items: Iterable[tuple[str, JsonValue]],
    classes: Sequence[str],
    sizes: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, JsonValue]:
    """A COCO detection document of ``(item id, boxes value)`` pairs: one image per item
    (``file_name`` the item id; ``width``/``height`` from ``sizes`` when known), one
    annotation per box with ``bbox = [x, y, width, height]``, categories numbered from 1 in
    the task's class order."""
    category = {name: i + 1 for i, name in enumerate(classes)}
    images: list[JsonValue] = []
    annotations: list[JsonValue] = []
    for image_id, (item, value) in enumerate(items, 1):
        image: dict[str, JsonValue] = {"id": image_id, "file_name": item}
        if sizes and item in sizes:
            image["width"], image["height"] = sizes[item]
        images.append(image)
        for x0, y0, x1, y1, name in value if isinstance(value, list) else []:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category[name],
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    categories: list[JsonValue] = [{"id": i, "name": n} for n, i in category.items()]
    return {"images": images, "annotations": annotations, "categories": categories}


def from_coco(
    document: JsonValue, classes: Sequence[str], params: AnnotationParams | None = None
) -> dict[str, JsonValue]:
    """The canonical boxes value of every image of a COCO document, by ``file_name``
    (coordinates rounded to whole pixels; categories matched to classes by name)."""
    try:
        names = {c["id"]: c["name"] for c in document["categories"]}
        files = {i["id"]: i["file_name"] for i in document["images"]}
        boxes: dict[str, list[JsonValue]] = {name: [] for name in files.values()}
        for entry in document["annotations"]:
            x, y, w, h = (round(float(v)) for v in entry["bbox"])
            name = names[entry["category_id"]]
            boxes[files[entry["image_id"]]].append([x, y, x + w, y + h, name])
    except (KeyError, TypeError, ValueError) as exc:
        raise KindFormatError(f"not a COCO detection document: {exc!r}") from exc
    return {item: _checked(TaskKind.BOXES, v, classes, params) for item, v in boxes.items()}


def to_labelstudio(
    kind: TaskKind,
    value: JsonValue,
    *,
    from_name: str = "label",
    to_name: str = "item",
    size: tuple[int, int] | None = None,
) -> list[JsonValue]:
    """The Label Studio result entries of one label (``size``: the image's pixels, boxes)."""
    base: dict[str, JsonValue] = {"from_name": from_name, "to_name": to_name}
    tag = LABEL_TAGS[kind]
    if kind is TaskKind.BOXES:
        if size is None:
            raise KindFormatError("boxes convert to Label Studio with the image's size")
        width, height = size
        return [
            {
                **base,
                "type": tag,
                "original_width": width,
                "original_height": height,
                "value": {
                    "x": x0 * 100 / width,
                    "y": y0 * 100 / height,
                    "width": (x1 - x0) * 100 / width,
                    "height": (y1 - y0) * 100 / height,
                    "rotation": 0,
                    tag: [name],
                },
            }
            for x0, y0, x1, y1, name in _entries(value)
        ]
    if kind is TaskKind.SPANS:
        return [
            {**base, "type": tag, "value": {"start": start, "end": end, tag: [name]}}
            for start, end, name in _entries(value)
        ]
    if kind is TaskKind.TEXT:
        return [{**base, "type": tag, "value": {"text": [value]}}]
    if value == "tie":
        return []
    side = {"A": "left", "B": "right"}[str(value)]
    return [{**base, "type": tag, "value": {"selected": side}}]


def _entries(value: JsonValue) -> list[list[JsonValue]]:
    if not isinstance(value, list):
        raise KindFormatError(f"not a list of objects: {value!r}")
    return value


def from_labelstudio(
    kind: TaskKind,
    results: Sequence[JsonValue],
    classes: Sequence[str] = (),
    params: AnnotationParams | None = None,
) -> JsonValue:
    """One canonical label from an annotation's Label Studio result entries (entries of
    other types, e.g. another control's, are ignored)."""
    tag = LABEL_TAGS[kind]
    try:
        mine = [r["value"] for r in results if isinstance(r, dict) and r.get("type") == tag]
        if kind is TaskKind.BOXES:
            sizes = [
                (r["original_width"], r["original_height"])
                for r in results
                if isinstance(r, dict) and r.get("type") == tag
            ]
            value: JsonValue = [_box(v, w, h) for v, (w, h) in zip(mine, sizes, strict=True)]
        elif kind is TaskKind.SPANS:
            value = [[int(v["start"]), int(v["end"]), v[tag][0]] for v in mine]
        elif kind is TaskKind.TEXT:
            value = "\n".join(str(t) for v in mine for t in v["text"])
        else:
            selected = {v.get("selected") for v in mine}
            if len(selected) > 1:
                raise KindFormatError(f"a pairwise annotation selects {sorted(selected)}")
            value = {"left": "A", "right": "B", None: "tie"}[next(iter(selected), None)]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise KindFormatError(f"not a Label Studio {tag} result: {exc!r}") from exc
    return _checked(kind, value, classes, params)


def _box(value: Mapping[str, JsonValue], width: int, height: int) -> list[JsonValue]:
    if value.get("rotation", 0):
        raise KindFormatError("a rotated rectangle is not an axis-aligned box")
    x0 = round(float(value["x"]) * width / 100)
    y0 = round(float(value["y"]) * height / 100)
    x1 = round((float(value["x"]) + float(value["width"])) * width / 100)
    y1 = round((float(value["y"]) + float(value["height"])) * height / 100)
    return [x0, y0, x1, y1, value["rectanglelabels"][0]]


def image_size(data: JsonValue) -> tuple[int, int] | None:
    """An item's image size in pixels from its data's ``width`` and ``height``, if stated."""
    if not isinstance(data, dict):
        return None
    width, height = data.get("width"), data.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    return None


def hf_feature(kind: TaskKind, classes: Sequence[str], datasets: Any) -> Any:
    """The Hugging Face ``datasets`` feature of one label of ``kind``: a sequence of boxes
    (``bbox`` as ``[x0, y0, x1, y1]`` pixels, ``category``) or spans (``start``, ``end``,
    ``category``), a string, or the ``A``/``B``/``tie`` class label."""
    if kind in (TaskKind.BOXES, TaskKind.SPANS):
        category = datasets.ClassLabel(names=list(classes))
        integer = datasets.Value("int64")
        if kind is TaskKind.BOXES:
            entry = {"bbox": datasets.Sequence(integer, length=4), "category": category}
        else:
            entry = {"start": integer, "end": integer, "category": category}
        return [
            entry
        ]  # a list of records in every datasets release (a Sequence of a dict is columnar)
    if kind is TaskKind.TEXT:
        return datasets.Value("string")
    return datasets.ClassLabel(names=["A", "B", "tie"])


def hf_value(kind: TaskKind, value: JsonValue) -> JsonValue:
    """One label in the shape of :func:`hf_feature` (boxes and spans as records)."""
    if kind is TaskKind.BOXES:
        return [{"bbox": list(entry[:4]), "category": entry[4]} for entry in _entries(value)]
    if kind is TaskKind.SPANS:
        return [
            {"start": entry[0], "end": entry[1], "category": entry[2]} for entry in _entries(value)
        ]
    return value
