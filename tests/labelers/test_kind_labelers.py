"""Labeling programs on boxes, spans, text and pairwise tasks: canonical spelling, the
manifest's limits, the noisy oracle and the random spammer (issue #20)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from node.labelers import LabelerError, LabelingTask, check_answers, check_value, load_labeler
from node.labelers.base import ItemToLabel, annotation_of
from node.labelers.synthetic import box_truth, span_truth, text_truth
from node.protocol.annotation import AnnotationParams
from node.protocol.kinds import TaskKind
from node.protocol.values import valid_value

CLASSES = ("car", "person")
NEW_KINDS = (TaskKind.BOXES, TaskKind.SPANS, TaskKind.TEXT, TaskKind.PAIRWISE)


def task(kind: TaskKind, annotation: AnnotationParams | None = None) -> LabelingTask:
    return LabelingTask(1, 9, kind, CLASSES, "", "", annotation=annotation)


def items(n: int) -> list[ItemToLabel]:
    return [ItemToLabel(f"i{p}", p, None, None, None) for p in range(n)]


def test_boxes_are_sorted_into_their_canonical_spelling() -> None:
    loose = [[50, 5, 60, 9, "person"], [1, 2, 30, 40, "car"]]
    assert check_value(task(TaskKind.BOXES), "x", loose) == [
        [1, 2, 30, 40, "car"],
        [50, 5, 60, 9, "person"],
    ]


def test_a_text_is_stored_in_nfc() -> None:
    assert check_value(task(TaskKind.TEXT), "x", "cafe\u0301") == "caf\u00e9"


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (TaskKind.BOXES, [[5, 5, 5, 9, "car"]], "x0 must be < x1"),
        (TaskKind.BOXES, [[0, 0, 9, 9, "dog"]], "not one of the task's classes"),
        (TaskKind.SPANS, [[0, 5, "car"], [3, 7, "car"]], "overlap"),
        (TaskKind.TEXT, 7, "a text label is a string"),
        (TaskKind.PAIRWISE, "C", "a pairwise label is one of"),
    ],
)
def test_an_invalid_value_says_why(kind: TaskKind, value: object, reason: str) -> None:
    with pytest.raises(LabelerError, match=reason):
        check_value(task(kind), "x", value)  # type: ignore[arg-type]


def test_the_manifests_limits_apply() -> None:
    three = [[i, 0, i + 1, 1, "car"] for i in range(3)]
    assert check_value(task(TaskKind.BOXES), "x", three) == three  # default: 100 objects
    tight = AnnotationParams(TaskKind.BOXES, max_objects=2)
    with pytest.raises(LabelerError, match="at most 2 entries"):
        check_value(task(TaskKind.BOXES, tight), "x", three)


def test_the_stored_annotation_section_parses_back() -> None:
    params = AnnotationParams(TaskKind.SPANS, span_match="exact", max_objects=7)
    assert annotation_of(TaskKind.SPANS, params.document()) == params
    assert annotation_of(TaskKind.CATEGORICAL, None) is None
    with pytest.raises(LabelerError, match="do not parse"):
        annotation_of(TaskKind.SPANS, {"rule": "boxes@1"})


def truth_file(tmp_path: Path, kind: TaskKind, n: int) -> Path:
    rng = np.random.default_rng(5)
    make = {
        TaskKind.BOXES: lambda: box_truth(rng, CLASSES),
        TaskKind.SPANS: lambda: span_truth(rng, CLASSES),
        TaskKind.TEXT: lambda: text_truth(rng),
        TaskKind.PAIRWISE: lambda: "A" if rng.random() < 0.5 else "B",
    }[kind]
    path = tmp_path / "truth.jsonl"
    path.write_text(
        "".join(json.dumps({"item": f"i{p}", "value": make()}) + "\n" for p in range(n))
    )
    return path


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_a_perfect_oracle_answers_the_truth_and_a_noisy_one_valid_labels(
    tmp_path: Path, kind: TaskKind
) -> None:
    path = truth_file(tmp_path, kind, 40)
    truth = [json.loads(line)["value"] for line in path.read_text().splitlines()]
    perfect = load_labeler(f"noisy:{path}:1:3").label(task(kind), items(40))
    if kind is TaskKind.PAIRWISE:  # skill 1 still ties 5% of the time
        assert sum(a == t for a, t in zip(perfect, truth, strict=True)) >= 34
    elif kind is TaskKind.TEXT:  # 5% mistyped; case and spacing change, the loose form not
        loose = [" ".join(str(a).lower().split()) for a in perfect]
        assert sum(a == t for a, t in zip(loose, truth, strict=True)) >= 34
    else:  # every true object kept at skill 1 with probability 0.95, corners within ~1 px
        found = [
            any(
                g[-1] == t[-1] and max(abs(x - y) for x, y in zip(g[:-1], t[:-1], strict=True)) <= 4
                for g in a
            )
            for a, real in zip(perfect, truth, strict=True)
            for t in real
        ]
        assert sum(found) >= 0.85 * len(found) > 0
    for spec in (f"noisy:{path}:0.4:3", f"noisy:{path}:spam:3", "random:3"):
        answers = check_answers(
            task(kind), items(40), load_labeler(spec).label(task(kind), items(40))
        )
        assert all(valid_value(kind, CLASSES, a) for a in answers)


def test_the_oracle_is_seeded_per_item(tmp_path: Path) -> None:
    path = truth_file(tmp_path, TaskKind.BOXES, 10)
    whole = load_labeler(f"noisy:{path}:0.5:1").label(task(TaskKind.BOXES), items(10))
    halves = [
        *load_labeler(f"noisy:{path}:0.5:1").label(task(TaskKind.BOXES), items(10)[:5]),
        *load_labeler(f"noisy:{path}:0.5:1").label(task(TaskKind.BOXES), items(10)[5:]),
    ]
    other = load_labeler(f"noisy:{path}:0.5:2").label(task(TaskKind.BOXES), items(10))
    assert whole == halves
    assert whole != other


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("noisy:0.5:1", "all three parts"),
        ("noisy:{path}:high:1", "bad skill"),
        ("noisy:{path}:1.5:1", r"skill must be in \[0, 1\]"),
        ("noisy:/nonexistent/t.jsonl:0.5:1", "cannot read"),
    ],
)
def test_bad_noisy_specs(tmp_path: Path, spec: str, reason: str) -> None:
    path = truth_file(tmp_path, TaskKind.TEXT, 2)
    with pytest.raises(LabelerError, match=reason):
        load_labeler(spec.format(path=path))


def test_the_oracle_answers_no_categorical_task(tmp_path: Path) -> None:
    path = truth_file(tmp_path, TaskKind.TEXT, 2)
    with pytest.raises(LabelerError, match="no answers for categorical"):
        load_labeler(f"noisy:{path}:0.5:1").label(task(TaskKind.CATEGORICAL), items(2))
