"""The labeling programs behind ``load_labeler``, each on a hand-checkable example."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from node.labelers import (
    CommandLabeler,
    ItemToLabel,
    LabelerError,
    LabelingTask,
    check_answers,
    load_labeler,
)
from node.protocol.kinds import TaskKind
from node.protocol.values import valid_value

TASK = LabelingTask(
    chain_id=31337,
    task_id=7,
    kind=TaskKind.CATEGORICAL,
    classes=("cat", "dog"),
    title="Cats or dogs",
    instructions="",
)
ITEMS = [
    ItemToLabel("q1", 0, {"text": "a cat"}, None, None),
    ItemToLabel("q2", 1, {"text": "a dog"}, None, None),
    ItemToLabel("img", 2, None, b"\x89PNG", "image/png"),
]


def item(item_id: str, position: int) -> ItemToLabel:
    return ItemToLabel(item_id, position, None, None, None)


# ---------------------------------------------------------------- replay


def test_replay_answers_as_the_worker_did_and_skips_the_rest(tmp_path: Path) -> None:
    csv = tmp_path / "answers.csv"
    csv.write_text("item,worker,label\nq1,w1,dog\nq1,w2,cat\nimg,w1,cat\nq9,w1,dog\n")
    labeler = load_labeler(f"replay:{csv}:w1")
    assert labeler.label(TASK, ITEMS) == ["dog", None, "cat"]
    assert load_labeler(f"replay:{csv}:w2").label(TASK, ITEMS) == ["cat", None, None]


def test_replay_reads_numbers_for_numeric_tasks(tmp_path: Path) -> None:
    csv = tmp_path / "answers.csv"
    csv.write_text("item,worker,label\nq1,w1,3\nq2,w1,2.5\n")
    numeric = LabelingTask(31337, 7, TaskKind.NUMERIC, (), "", "")
    assert load_labeler(f"replay:{csv}:w1").label(numeric, ITEMS) == [3, 2.5, None]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,annotator,label\nq1,w1,cat\n", "header item,worker,label"),
        ("item,worker,label\nq1,w2,cat\n", "no answers"),
    ],
)
def test_replay_refuses_a_csv_it_cannot_use(tmp_path: Path, text: str, message: str) -> None:
    csv = tmp_path / "answers.csv"
    csv.write_text(text)
    with pytest.raises(LabelerError, match=message):
        load_labeler(f"replay:{csv}:w1")


def test_replay_of_a_missing_file_is_a_labeler_error(tmp_path: Path) -> None:
    with pytest.raises(LabelerError, match="cannot read"):
        load_labeler(f"replay:{tmp_path / 'none.csv'}:w1")


# ---------------------------------------------------------------- random


def test_random_is_reproducible_within_the_classes_and_independent_of_batching() -> None:
    items = [item(f"i{n}", n) for n in range(200)]
    answers = load_labeler("random:5").label(TASK, items)
    assert answers == load_labeler("random:5").label(TASK, items)
    assert answers[:50] + answers[50:] == (
        load_labeler("random:5").label(TASK, items[:50])
        + load_labeler("random:5").label(TASK, items[50:])
    )
    assert set(answers) == {"cat", "dog"}  # both classes, nothing else, in 200 draws
    assert 60 < answers.count("cat") < 140
    assert answers != load_labeler("random:6").label(TASK, items)
    other_task = LabelingTask(31337, 8, TaskKind.CATEGORICAL, ("cat", "dog"), "", "")
    assert answers != load_labeler("random:5").label(other_task, items)
    assert load_labeler("random").label(TASK, items) == load_labeler("random:0").label(TASK, items)


def test_random_answers_pass_the_checks_for_every_kind() -> None:
    items = [item(f"i{n}", n) for n in range(20)]
    for kind, classes in (
        (TaskKind.CATEGORICAL, ("a", "b", "c")),
        (TaskKind.MULTILABEL, ("a", "b", "c")),
        (TaskKind.NUMERIC, ()),
    ):
        task = LabelingTask(1, 1, kind, classes, "", "")
        answers = load_labeler("random:1").label(task, items)
        assert check_answers(task, items, answers) == answers


# ---------------------------------------------------------------- py


def test_py_calls_the_named_function() -> None:
    labeler = load_labeler("py:tests.labelers.programs:first_class")
    assert labeler.label(TASK, ITEMS) == ["cat", "cat", None]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("py:tests.labelers.no_such_module:f", "cannot import"),
        ("py:tests.labelers.programs:missing", "no callable 'missing'"),
        ("py:tests.labelers.programs:NOT_CALLABLE", "no callable"),
    ],
)
def test_py_refuses_what_it_cannot_call(spec: str, message: str) -> None:
    with pytest.raises(LabelerError, match=message):
        load_labeler(spec)


def test_py_failure_is_a_labeler_error() -> None:
    labeler = load_labeler("py:tests.labelers.programs:broken")
    with pytest.raises(LabelerError, match="model weights not found"):
        labeler.label(TASK, ITEMS)


# ---------------------------------------------------------------- cmd


def program(tmp_path: Path, body: str) -> str:
    """A ``cmd:`` spec running ``body`` as a Python script with this interpreter."""
    script = tmp_path / "program.py"
    script.write_text("import base64, json, sys\n" + body)
    return f"cmd:{sys.executable} {script}"


ECHO_CLASS = """
for line in sys.stdin:
    request = json.loads(line)
    content = request["content_b64"]
    value = request["classes"][1] if content else request["classes"][0]
    print(json.dumps({"item": request["item"], "value": value}))
"""


def test_cmd_speaks_json_lines_one_answer_per_item(tmp_path: Path) -> None:
    labeler = load_labeler(program(tmp_path, ECHO_CLASS))
    assert labeler.label(TASK, ITEMS) == ["cat", "cat", "dog"]


def test_cmd_sends_the_task_and_item_as_documented(tmp_path: Path) -> None:
    dump = tmp_path / "requests.jsonl"
    body = f"""
lines = sys.stdin.read().splitlines()
open({str(dump)!r}, "w").write("\\n".join(lines))
for line in lines:
    print(json.dumps({{"item": json.loads(line)["item"], "value": None}}))
"""
    assert load_labeler(program(tmp_path, body)).label(TASK, ITEMS) == [None, None, None]
    requests = [json.loads(line) for line in dump.read_text().splitlines()]
    assert requests[0] == {
        "task": 7,
        "kind": "categorical",
        "classes": ["cat", "dog"],
        "item": "q1",
        "data": {"text": "a cat"},
        "content_b64": None,
    }
    assert base64.b64decode(requests[2]["content_b64"]) == b"\x89PNG"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sys.stderr.write('out of memory\\n'); sys.exit(3)", "exited with 3: out of memory"),
        ("print('not json'); print('{}'); print('{}')", "invalid JSON"),
        ("print(json.dumps({'item': 'q1', 'value': 'cat'}))", "1 lines for 3 items"),
        (
            "sys.stderr.write('shuffled'); "
            "[print(json.dumps({'item': i, 'value': None})) for i in ('q2', 'q1', 'img')]",
            "item 'q2' where 'q1' was expected.*shuffled",
        ),
        ("[print(json.dumps({'item': 'q1'})) for _ in range(3)]", "expected"),
    ],
    ids=["exit-status", "invalid-json", "missing-items", "out-of-order", "no-value"],
)
def test_cmd_failures_are_labeler_errors_with_the_stderr_tail(
    tmp_path: Path, body: str, message: str
) -> None:
    labeler = load_labeler(program(tmp_path, "sys.stdin.read()\n" + body))
    with pytest.raises(LabelerError, match=message):
        labeler.label(TASK, ITEMS)


def test_cmd_that_hangs_times_out(tmp_path: Path) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(30)\n")
    labeler = CommandLabeler(f"{sys.executable} {script}", timeout=0.5)
    with pytest.raises(LabelerError, match=r"did not answer within 0\.5 s"):
        labeler.label(TASK, ITEMS)


def test_cmd_that_does_not_exist_is_a_labeler_error(tmp_path: Path) -> None:
    with pytest.raises(LabelerError, match="cannot run"):
        load_labeler(f"cmd:{tmp_path / 'no-such-program'}").label(TASK, ITEMS)


# ---------------------------------------------------------------- specs and checks


@pytest.mark.parametrize(
    "spec", ["", "human", "replay:answers.csv", "random:abc", "py:module", "cmd:", "cmd:  "]
)
def test_unknown_or_incomplete_specs_name_the_accepted_forms(spec: str) -> None:
    with pytest.raises(LabelerError, match=r"replay:<answers\.csv>|integer seed"):
        load_labeler(spec)


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (TaskKind.CATEGORICAL, "dog", True),
        (TaskKind.CATEGORICAL, "horse", False),
        (TaskKind.CATEGORICAL, ["dog"], False),
        (TaskKind.CATEGORICAL, 3, False),
        (TaskKind.CATEGORICAL, True, False),
        (TaskKind.MULTILABEL, ["dog", "cat"], True),
        (TaskKind.MULTILABEL, [], True),
        (TaskKind.MULTILABEL, ["dog", "dog"], False),
        (TaskKind.MULTILABEL, "dog", False),
        (TaskKind.NUMERIC, 2.5, True),
        (TaskKind.NUMERIC, -3, True),
        (TaskKind.NUMERIC, float("nan"), False),
        (TaskKind.NUMERIC, float("inf"), False),
        (TaskKind.NUMERIC, True, False),
        (TaskKind.NUMERIC, "2.5", False),
    ],
)
def test_values_are_checked_against_the_task(kind: TaskKind, value: object, ok: bool) -> None:
    task = LabelingTask(1, 1, kind, () if kind is TaskKind.NUMERIC else ("cat", "dog"), "", "")
    items = [item("q1", 0)]
    if ok:
        assert check_answers(task, items, [value]) == [value]
    else:
        with pytest.raises(LabelerError, match="q1"):
            check_answers(task, items, [value])


def test_an_integer_label_of_a_numbered_class_is_accepted_as_validators_count_it() -> None:
    """The case where the labeler's check and the validators' rule used to disagree: an
    integer whose decimal text is a class id. Validators count it (as the class ``"3"``),
    so a labeling program may answer it; before, the program's answer was refused."""
    task = LabelingTask(1, 1, TaskKind.CATEGORICAL, ("1", "2", "3"), "", "")
    assert valid_value(task.kind, task.classes, 3)
    assert check_answers(task, [item("q1", 0)], [3]) == [3]
    assert not valid_value(task.kind, task.classes, 4)
    with pytest.raises(LabelerError, match="q1"):
        check_answers(task, [item("q1", 0)], [4])


def test_a_wrong_number_of_answers_is_refused() -> None:
    with pytest.raises(LabelerError, match="2 values for 3 items"):
        check_answers(TASK, ITEMS, ["cat", "dog"])
