"""``constant[:<class>]``: the colluding (or lazy) annotator of the adversary campaigns."""

from __future__ import annotations

import pytest

from node.labelers import ItemToLabel, LabelerError, LabelingTask, check_answers, load_labeler
from node.protocol.kinds import TaskKind


def task(kind: TaskKind, classes: tuple[str, ...] = ("cat", "dog")) -> LabelingTask:
    return LabelingTask(31337, 7, kind, classes, "", "")


ITEMS = [ItemToLabel(f"i{n}", n, None, None, None) for n in range(3)]


def test_constant_gives_the_named_class_for_every_item() -> None:
    answers = load_labeler("constant:dog").label(task(TaskKind.CATEGORICAL), ITEMS)
    assert answers == ["dog", "dog", "dog"]


def test_constant_without_a_class_gives_the_first_class() -> None:
    assert load_labeler("constant").label(task(TaskKind.CATEGORICAL), ITEMS[:1]) == ["cat"]


def test_constant_answers_pass_the_checks_for_every_kind() -> None:
    for kind, classes in (
        (TaskKind.CATEGORICAL, ("a", "b")),
        (TaskKind.MULTILABEL, ("a", "b")),
        (TaskKind.NUMERIC, ()),
    ):
        t = task(kind, classes)
        spec = "constant" if kind is TaskKind.NUMERIC else "constant:b"
        answers = load_labeler(spec).label(t, ITEMS)
        assert check_answers(t, ITEMS, answers) == answers
        assert len(set(map(repr, answers))) == 1


def test_constant_of_a_class_the_task_lacks_is_a_labeler_error() -> None:
    with pytest.raises(LabelerError, match="bird"):
        load_labeler("constant:bird").label(task(TaskKind.CATEGORICAL), ITEMS)
