"""Labeling programs the ``py:`` and ``cmd:`` tests load by name."""

from __future__ import annotations

from collections.abc import Sequence

from node.labelers import ItemToLabel, LabelingTask
from node.protocol.canonical import JsonValue


def first_class(task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
    """The task's first class for items with data, nothing for media items."""
    return [task.classes[0] if item.content is None else None for item in items]


def broken(task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
    raise RuntimeError("model weights not found")


NOT_CALLABLE = 42
