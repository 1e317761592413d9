"""``replay:<answers.csv>:<worker>``: answer exactly as one worker of a crowd data set did.

The demo and the benchmarks simulate a crowd with real answers: each simulated annotator
replays one worker of a published data set (``item,worker,label`` rows, the layout of the
sets in ``datasets/``). The task's item ids are the data set's item ids; items the worker
never answered are skipped, as that worker would have.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from node.labelers.base import ItemToLabel, LabelerError, LabelingTask
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind

_COLUMNS = ("item", "worker", "label")


def _value(kind: TaskKind, item: str, text: str) -> JsonValue:
    """A csv cell as a label of ``kind`` (numbers parsed, multilabel sets as JSON lists;
    boxes and spans are JSON, a text or a pairwise choice is the cell itself)."""
    try:
        if kind in (TaskKind.BOXES, TaskKind.SPANS):
            parsed_value: JsonValue = json.loads(text)
            return parsed_value
        if kind is TaskKind.NUMERIC:
            number = float(text)
            return int(number) if number.is_integer() and "." not in text else number
        if kind is TaskKind.MULTILABEL:
            parsed = json.loads(text) if text.startswith("[") else text.split("|")
            return [str(v) for v in parsed] if isinstance(parsed, list) else None
    except ValueError as exc:
        raise LabelerError(f"replay: item {item!r}: cannot read {text!r} as {kind}") from exc
    return text


class ReplayLabeler:
    """The answers of one worker of an ``item,worker,label`` csv, read once at start."""

    def __init__(self, path: Path, worker: str) -> None:
        self.path = Path(path)
        self.worker = worker
        self.answers: dict[str, str] = {}
        try:
            with self.path.open(newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                if reader.fieldnames is None or not set(_COLUMNS) <= set(reader.fieldnames):
                    raise LabelerError(f"replay: {self.path} needs the header item,worker,label")
                for row in reader:
                    if row["worker"] == worker:
                        self.answers[row["item"]] = row["label"]
        except OSError as exc:
            raise LabelerError(f"replay: cannot read {self.path}: {exc}") from exc
        if not self.answers:
            raise LabelerError(f"replay: worker {worker!r} has no answers in {self.path}")

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        answers: list[JsonValue | None] = []
        for item in items:
            text = self.answers.get(item.item_id)
            answers.append(None if text is None else _value(task.kind, item.item_id, text))
        return answers
