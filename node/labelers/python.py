"""``py:<module>:<function>``: a Python callable with the :meth:`Labeler.label` signature.

For labeling programs written against the SDK (a model, a heuristic) that should run in
the node's process without a subprocess per batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from node.labelers.base import ItemToLabel, LabelerError, LabelingTask
from node.protocol.canonical import JsonValue

LabelFunction = Callable[[LabelingTask, Sequence[ItemToLabel]], list[JsonValue | None]]


class PythonLabeler:
    """Calls ``module:function``; what it raises becomes a :class:`LabelerError`."""

    def __init__(self, module: str, function: str) -> None:
        try:
            loaded = importlib.import_module(module)
        except ImportError as exc:
            raise LabelerError(f"py: cannot import {module!r}: {exc}") from exc
        target = getattr(loaded, function, None)
        if not callable(target):
            raise LabelerError(f"py: {module!r} has no callable {function!r}")
        self.name = f"{module}:{function}"
        self.function: LabelFunction = target

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        try:
            values = self.function(task, items)
        except LabelerError:
            raise
        except Exception as exc:  # a plug-in's failure of any kind is reported, not fatal
            raise LabelerError(f"py: {self.name} failed: {exc!r}") from exc
        if not isinstance(values, list):
            raise LabelerError(f"py: {self.name} returned {type(values).__name__}, not a list")
        return values
