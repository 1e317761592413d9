"""Label Studio interop: its label config, its three export shapes, and the tasks labelnet
exports for it.

Label Studio keeps the question (a ``<Choices name=... toName=...>`` control reading an
object tag such as ``<Text name="text" value="$text"/>``) in the project's label config, not
in its exports; an annotation's results name the control (``from_name``) and the object
(``to_name``). To go back to the project it came from, a labelnet export must use the same
names, so an import records them (:class:`LabelStudioProfile`) and an export reuses them.

The shapes read here, each one record per *annotation* except JSON:

* JSON — a list of tasks, ``{"id", "data", "annotations": [{"result": [...]}]}``;
* JSON_MIN — a list of flat records, the task data plus one column per control (a single
  choice as a string, several as ``{"choices": [...]}``) and ``annotator``/``annotation_id``;
* CSV — the JSON_MIN columns in a CSV file, non-string values JSON-encoded.

Which annotations become gold (:func:`agreed_answer`): when the file marks ground truth
(any annotation with ``"ground_truth": true``, as labelnet's own export does) only those
count; otherwise every annotation that was not skipped. An item is gold only when every
counted annotation gives the same answer: one that its annotators disagree on is listed as
a conflict and left out, because a guessed gold answer would cost honest annotators pay.
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from node.errors import LabelnetError
from node.protocol.canonical import JsonValue, check_json_depth

SINGLE, MULTIPLE = "single", "multiple"

MIN_META = frozenset(
    {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement"}
    | {"history"}
)
"""JSON_MIN and CSV columns Label Studio adds that are neither task data nor answers."""

TASK_ID = "\0id"
"""Where a reader puts a task's own top-level ``id`` in its data: the import uses it as the
item id when the data has no id field, and never keeps it in the item's data."""

CONSENSUS_ANNOTATOR: dict[str, JsonValue] = {"id": 0, "email": "labelnet-consensus"}
"""``completed_by`` of the consensus annotation in exports (an annotator's is their address)."""


class LabelStudioError(LabelnetError, ValueError):
    """A Label Studio config or export that cannot be read; ``where`` is the task or record
    at fault, for the importer's ``file:where`` messages."""

    def __init__(self, problem: str, where: str | None = None) -> None:
        super().__init__(problem if where is None else f"{where}: {problem}")
        self.problem = problem
        self.where = where


@dataclass(frozen=True)
class LabelStudioProfile:
    """The names a Label Studio project uses for the task's question."""

    from_name: str = "label"
    """The ``<Choices>`` control's name."""
    to_name: str = "text"
    """The object tag the control labels."""
    data_key: str = "text"
    """The task data field that object tag shows (``value="$data_key"``)."""
    choice: str = SINGLE
    """``single`` or ``multiple`` (the control's ``choice`` attribute)."""
    config: str | None = None
    """The project's own label config, kept verbatim when the import was given one."""

    def document(self) -> dict[str, JsonValue]:
        return {
            "from_name": self.from_name,
            "to_name": self.to_name,
            "data_key": self.data_key,
            "choice": self.choice,
            "config": self.config,
        }

    @classmethod
    def from_document(cls, document: JsonValue) -> LabelStudioProfile:
        if not isinstance(document, dict):
            raise LabelStudioError("a Label Studio profile is a JSON object")
        names = ("from_name", "to_name", "data_key", "choice")
        if not all(isinstance(document.get(name), str) for name in names):
            raise LabelStudioError(f"a Label Studio profile needs string {', '.join(names)}")
        config = document.get("config")
        return cls(
            from_name=str(document["from_name"]),
            to_name=str(document["to_name"]),
            data_key=str(document["data_key"]),
            choice=MULTIPLE if document["choice"] == MULTIPLE else SINGLE,
            config=config if isinstance(config, str) else None,
        )

    def label_config(self, classes: Sequence[str]) -> str:
        """The project's config if known, else one with these names and ``classes``."""
        if self.config is not None:
            return self.config
        tag = "Image" if self.to_name == "image" else "Text"
        choices = "".join(f"<Choice value={quoteattr(c)}/>" for c in classes)
        return (
            f"<View><{tag} name={quoteattr(self.to_name)} value={quoteattr('$' + self.data_key)}/>"
            f"<Choices name={quoteattr(self.from_name)} toName={quoteattr(self.to_name)} "
            f"choice={quoteattr(self.choice)}>{choices}</Choices></View>"
        )


@dataclass(frozen=True)
class LabelConfig:
    """What labelnet needs from a project's label config."""

    profile: LabelStudioProfile
    classes: tuple[str, ...]


def parse_label_config(text: str) -> LabelConfig:
    """The first ``<Choices>`` control of a Label Studio label config, and its object tag."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise LabelStudioError(f"the label config is not XML: {exc}") from exc
    control = next(root.iter("Choices"), None)
    if control is None or not control.get("name") or not control.get("toName"):
        raise LabelStudioError("the label config has no <Choices name=... toName=...> control")
    to_name = str(control.get("toName")).split(",")[0]
    target = next((e for e in root.iter() if e.get("name") == to_name and e is not control), None)
    value = (target.get("value") or "") if target is not None else ""
    data_key = value[1:] if value.startswith("$") else to_name
    classes = tuple(str(c.get("value")) for c in control.iter("Choice") if c.get("value"))
    choice = MULTIPLE if control.get("choice") == MULTIPLE else SINGLE
    profile = LabelStudioProfile(str(control.get("name")), to_name, data_key, choice, text)
    return LabelConfig(profile, classes)


Answer = tuple[str, ...]
"""One annotation's choices, sorted (a single choice is a 1-tuple)."""


def agreed_answer(answers: Sequence[Answer]) -> JsonValue:
    """The gold value when every answer is the same (a single choice as a string, several
    as a sorted list), else ``None``: an item its annotators disagree on is not gold."""
    distinct = set(answers)
    if len(distinct) != 1:
        return None
    (answer,) = distinct
    if not answer:
        return None
    return answer[0] if len(answer) == 1 else list(answer)


def min_answer(value: JsonValue) -> Answer | None:
    """A JSON_MIN/CSV control cell as an answer: ``"a"``, ``{"choices": [...]}`` or its
    JSON text (CSV); ``None`` when the cell is empty or holds no choices."""
    if isinstance(value, str) and value.startswith("{"):
        with contextlib.suppress(ValueError):  # not JSON: a class name that starts with "{"
            check_json_depth(value.encode("utf-8"))  # before json.loads, which could crash
            value = json.loads(value)
    if isinstance(value, dict):
        value = value.get("choices")
    if isinstance(value, str):
        return (value,) if value else None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(sorted({str(v) for v in value}))
    return None


@dataclass(frozen=True)
class ChoicesResult:
    """The choices results of one annotation, with the names they were given under."""

    answer: Answer
    from_name: str | None
    to_name: str | None


def annotation_choices(entry: JsonValue, control: str | None) -> ChoicesResult | None:
    """The choices one JSON annotation gives (``control``: only that control's), or None
    for none; raises :class:`LabelStudioError` for a malformed annotation."""
    results = entry.get("result", []) if isinstance(entry, dict) else None
    if not isinstance(results, list):
        raise LabelStudioError("an annotation's result must be a list")
    found: list[str] = []
    names: tuple[str | None, str | None] = (None, None)
    for result in results:
        if not isinstance(result, dict):
            continue
        value = result.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        from_name = result.get("from_name")
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            continue
        if control is not None and from_name is not None and from_name != control:
            continue
        if names == (None, None):
            to_name = result.get("to_name")
            names = (
                from_name if isinstance(from_name, str) else None,
                to_name if isinstance(to_name, str) else None,
            )
            control = names[0]
        found.extend(str(c) for c in choices)
    if not found:
        return None
    return ChoicesResult(tuple(sorted(set(found))), *names)


def skipped(entry: JsonValue) -> bool:
    """Whether Label Studio marks the annotation as skipped or cancelled."""
    return isinstance(entry, dict) and bool(entry.get("was_cancelled") or entry.get("skipped"))


@dataclass
class TaskAnswers:
    """One Label Studio task as read from an export: its data and the answers given."""

    where: str
    """``task N`` (JSON) or the first line/record it was read from, for error messages."""
    data: dict[str, JsonValue]
    answers: list[Answer]
    """Answers of the annotations that were not skipped."""
    truth: list[Answer]
    """Answers of the annotations marked ``ground_truth``."""
    seen: list[str]
    """Every class named, predictions included (for a file whose config is not given)."""


@dataclass
class ReadNames:
    """The names the file's own results use (JSON only: the other shapes drop them)."""

    from_name: str | None = None
    to_name: str | None = None


def read_json_tasks(
    document: JsonValue, control: str | None
) -> tuple[list[TaskAnswers], ReadNames]:
    """The tasks of a JSON export (``control``: the config's control, else the first seen)."""
    tasks = [document] if isinstance(document, dict) else document
    if not isinstance(tasks, list):
        raise LabelStudioError("a Label Studio file is a JSON list of tasks")
    names = ReadNames()
    read: list[TaskAnswers] = []
    for position, task in enumerate(tasks, start=1):
        where = f"task {position}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise LabelStudioError("a task is an object with a 'data' object", where)
        entry = TaskAnswers(where, dict(task["data"]), [], [], [])
        if task.get("id") is not None:
            entry.data.setdefault(TASK_ID, task["id"])
        for key in ("annotations", "predictions"):
            annotations = task.get(key) or []
            if not isinstance(annotations, list):
                raise LabelStudioError(f"{key} must be a list", where)
            for annotation in annotations:
                try:
                    found = annotation_choices(annotation, control)
                except LabelStudioError as exc:
                    raise LabelStudioError(exc.problem, where) from exc
                if found is None:
                    continue
                entry.seen.extend(found.answer)
                if key == "predictions" or skipped(annotation):
                    continue
                if names.from_name is None:
                    names = ReadNames(found.from_name, found.to_name)
                    control = control or found.from_name
                entry.answers.append(found.answer)
                if isinstance(annotation, dict) and annotation.get("ground_truth") is True:
                    entry.truth.append(found.answer)
        read.append(entry)
    return read, names


def read_min_records(
    records: Sequence[tuple[str, dict[str, JsonValue]]], control: str
) -> list[TaskAnswers]:
    """Tasks from JSON_MIN or CSV records (``(where, record)``, one per annotation),
    grouped by their ``id`` in first-seen order; ``control`` is the answer column."""
    tasks: dict[str, TaskAnswers] = {}
    for where, record in records:
        key = json.dumps(record.get("id"))
        if key not in tasks or record.get("id") is None:
            data = {
                k.removeprefix("_data_") if k.removeprefix("_data_") == control else k: v
                for k, v in record.items()
                if k not in MIN_META and k != control
            }
            if record.get("id") is not None:
                data.setdefault(TASK_ID, record["id"])
            key = key if record.get("id") is not None else f"\0{where}"
            tasks[key] = TaskAnswers(where, data, [], [], [])
        answer = min_answer(record.get(control))
        if answer is not None:
            tasks[key].answers.append(answer)
            tasks[key].seen.extend(answer)
    return list(tasks.values())


def is_min_export(document: JsonValue) -> bool:
    """A JSON_MIN export: a list of flat records carrying ``annotation_id`` (JSON tasks have
    ``data`` objects instead)."""
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(r, dict) and "data" not in r and "annotation_id" in r for r in document)
    )


def min_control(config: LabelConfig | None, hint: str | None) -> str:
    """The answer column of a JSON_MIN/CSV export: the config's control, else ``hint``
    (the import's gold field); these exports do not name it themselves."""
    if config is not None:
        return config.profile.from_name
    if hint is not None:
        return hint
    raise LabelStudioError(
        "a JSON_MIN or CSV export does not say which column holds the answers: give the "
        "project's label config, or name the column as the gold field"
    )


def profile_of(
    names: ReadNames, tasks: list[TaskAnswers], config: LabelConfig | None
) -> LabelStudioProfile:
    """The config's names, else those the export's results use (JSON_MIN and CSV keep only
    the control's): the object reads the data field named like it (Label Studio's templates
    name them alike), else the data's only field, else ``text``."""
    if config is not None:
        return config.profile
    keys = {key for task in tasks for key in task.data}
    to_name = names.to_name or ("text" if "text" in keys or "image" not in keys else "image")
    keys.discard(TASK_ID)
    data_key = to_name if to_name in keys else next(iter(keys)) if len(keys) == 1 else "text"
    several = any(len(answer) > 1 for task in tasks for answer in task.answers)
    return LabelStudioProfile(
        names.from_name or "label", to_name, data_key, MULTIPLE if several else SINGLE
    )
