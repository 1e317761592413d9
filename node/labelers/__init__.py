"""Labeling programs: what an annotator node hands items to when no person labels them.

:func:`load_labeler` turns the ``labeler`` setting into a :class:`Labeler`:

* ``replay:<answers.csv>:<worker>`` — one worker of a crowd data set (:mod:`.replay`);
* ``random`` / ``random:<seed>`` — uniformly random answers (:mod:`.random`);
* ``py:<module>:<function>`` — a Python callable (:mod:`.python`);
* ``cmd:<command line>`` — a subprocess speaking JSON Lines (:mod:`.command`).
"""

from __future__ import annotations

from pathlib import Path

from node.labelers.base import (
    ItemToLabel,
    Labeler,
    LabelerError,
    LabelingTask,
    check_answers,
    check_value,
)
from node.labelers.command import CommandLabeler
from node.labelers.python import PythonLabeler
from node.labelers.random import RandomLabeler
from node.labelers.replay import ReplayLabeler

ACCEPTED_FORMS = (
    "replay:<answers.csv>:<worker id>",
    "random",
    "random:<seed>",
    "py:<module>:<function>",
    "cmd:<command line>",
)


def load_labeler(spec: str) -> Labeler:
    """The labeler a spec names; :class:`LabelerError` for a spec of no accepted form."""
    scheme, _, rest = spec.partition(":")
    if scheme == "replay":
        # The worker id is after the last colon, so a path may contain colons.
        path, sep, worker = rest.rpartition(":")
        if sep and path and worker:
            return ReplayLabeler(Path(path), worker)
    elif scheme == "random":
        if not rest:
            return RandomLabeler()
        try:
            return RandomLabeler(int(rest))
        except ValueError as exc:
            raise LabelerError(f"random:<seed> needs an integer seed, not {rest!r}") from exc
    elif scheme == "py":
        module, sep, function = rest.rpartition(":")
        if sep and module and function:
            return PythonLabeler(module, function)
    elif scheme == "cmd" and rest.strip():
        return CommandLabeler(rest)
    raise LabelerError(f"unknown labeler {spec!r}; accepted forms: {', '.join(ACCEPTED_FORMS)}")


__all__ = [
    "ACCEPTED_FORMS",
    "CommandLabeler",
    "ItemToLabel",
    "Labeler",
    "LabelerError",
    "LabelingTask",
    "PythonLabeler",
    "RandomLabeler",
    "ReplayLabeler",
    "check_answers",
    "check_value",
    "load_labeler",
]
