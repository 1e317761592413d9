"""Labeling programs: what an annotator node hands items to when no person labels them.

:func:`load_labeler` turns the ``labeler`` setting into a :class:`Labeler`:

* ``replay:<answers.csv>:<worker>`` — one worker of a crowd data set (:mod:`.replay`);
* ``random`` / ``random:<seed>`` — uniformly random answers (:mod:`.random`);
* ``constant`` / ``constant:<class>`` — the same answer for every item (:mod:`.constant`);
* ``py:<module>:<function>`` — a Python callable (:mod:`.python`);
* ``cmd:<command line>`` — a subprocess speaking JSON Lines (:mod:`.command`);
* ``noisy:<truth.jsonl>:<skill>:<seed>`` — a noisy oracle for boxes, spans, text and
  pairwise tasks (:mod:`.noisy`, with the generators of :mod:`.synthetic`).
"""

from __future__ import annotations

from node.labelers.base import (
    ACCEPTED_FORMS,
    ItemToLabel,
    Labeler,
    LabelerError,
    LabelingTask,
    check_answers,
    check_value,
    load_labeler,
)
from node.labelers.command import CommandLabeler
from node.labelers.constant import ConstantLabeler
from node.labelers.noisy import NoisyLabeler
from node.labelers.python import PythonLabeler
from node.labelers.random import RandomLabeler
from node.labelers.replay import ReplayLabeler

__all__ = [
    "ACCEPTED_FORMS",
    "CommandLabeler",
    "ConstantLabeler",
    "ItemToLabel",
    "Labeler",
    "LabelerError",
    "LabelingTask",
    "NoisyLabeler",
    "PythonLabeler",
    "RandomLabeler",
    "ReplayLabeler",
    "check_answers",
    "check_value",
    "load_labeler",
]
