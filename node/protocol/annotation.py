"""The label kinds of issue #20 (``boxes``, ``spans``, ``text``, ``pairwise``): their rule
ids, the task parameters a manifest states for them, and each label value's canonical form
and validity check.

Why canonical forms are strict: a label's bytes go into the batch's Merkle root and every
validator must read the same value from them, so a value has one valid spelling, and a
value in any other spelling is invalid (the batch carrying it is dropped like any other
invalid label). :func:`canonical_value` turns a loose value (unsorted, un-normalized) into
that spelling for the page and labeling programs.

Canonical forms:

* ``boxes``: a list of ``[x0, y0, x1, y1, class]``, integer pixels with
  ``0 <= x0 < x1 <= MAX_COORDINATE`` (same for y), sorted (by the coordinates, then the
  class, code points), no entry repeated, at most ``max_objects`` entries. ``[]`` is "no
  object in this image".
* ``spans``: a list of ``[start, end, class]``, character (code point) offsets ``[start,
  end)`` into the item's text, ``0 <= start < end <= max_text_length``, sorted, and spans of
  one class never overlap (two touching spans ``[0,3)`` ``[3,5)`` are two spans).
* ``text``: a string already in Unicode NFC of at most ``max_text_length`` code points.
  Matching uses the task's ``normalization``: ``nfc`` (the text as it is) or ``loose``
  (NFKC, case-folded, runs of white space collapsed to one space, trimmed).
* ``pairwise``: ``"A"``, ``"B"`` or ``"tie"`` for an item whose data names the two sides,
  ``{"a": CID, "b": CID}``, two different content ids (:func:`pair_sides`).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from multiformats import CID

from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind
from node.protocol.rules import PPB

BOXES_RULE = "boxes@1"
SPANS_RULE = "spans@1"
TEXT_RULE = "text@1"
PAIRWISE_RULE = "pairwise@1"
RULES = {
    TaskKind.BOXES: BOXES_RULE,
    TaskKind.SPANS: SPANS_RULE,
    TaskKind.TEXT: TEXT_RULE,
    TaskKind.PAIRWISE: PAIRWISE_RULE,
}
"""The rule id of each new kind: its value form, consensus and reward rule together (one
id, as the manifest's ``algorithm`` and its ``annotation.rule``); a change to any of them
is a new id."""

MAX_COORDINATE = 1 << 20
"""Largest pixel coordinate: a million pixels a side, far above any real image, and small
enough that an area (< 2^40) times :data:`~node.protocol.rules.PPB` stays exact in int64."""
MAX_OBJECTS = 1000
"""Most boxes or spans one label may hold (the bound a task's ``max_objects`` may take)."""
MAX_TEXT_LENGTH = 65_536
"""Longest text answer and largest span offset a task may allow (code points)."""
SPAN_MATCHES = ("exact", "overlap")
NORMALIZATIONS = ("nfc", "loose")
PAIR_CHOICES = ("A", "B", "tie")

_WHITESPACE = re.compile(r"\s+")


def _ppb(value: str, name: str, low: Fraction, high: Fraction) -> int:
    """A decimal string within ``[low, high]`` in parts per billion (exact, never a float)."""
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name} must be a decimal string, got {value!r}")
    try:
        exact = Fraction(Decimal(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidParameterError(f"{name}: not a number: {value!r}") from exc
    if not low <= exact <= high or exact * PPB != int(exact * PPB):
        raise InvalidParameterError(f"{name} must be in [{low}, {high}] with <= 9 decimals")
    return int(exact * PPB)


def _bounded(value: object, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidParameterError(f"{name} must be an integer in [1, {high}], got {value!r}")
    return value


@dataclass(frozen=True)
class AnnotationParams:
    """The parameters a task of a new kind states in its manifest (``annotation``).

    ``iou``: boxes, and spans under the ``overlap`` rule: the least intersection over union
    at which two objects are the same object (in (0, 1]). ``span_match``: ``exact`` (same
    offsets) or ``overlap`` (IoU of the character ranges). ``normalization``: how texts are
    compared. ``max_objects``/``max_text_length``: the size limits of one label.
    """

    kind: TaskKind
    iou: str = "0.5"
    span_match: str = "overlap"
    normalization: str = "loose"
    max_objects: int = 100
    max_text_length: int = 4096

    def __post_init__(self) -> None:
        if self.kind not in RULES:
            raise InvalidParameterError(f"a {self.kind} task has no annotation parameters")
        _ppb(self.iou, "annotation.iou", Fraction(1, PPB), Fraction(1))
        if self.span_match not in SPAN_MATCHES:
            raise InvalidParameterError(f"annotation.span_match must be one of {SPAN_MATCHES}")
        if self.normalization not in NORMALIZATIONS:
            raise InvalidParameterError(f"annotation.normalization must be one of {NORMALIZATIONS}")
        _bounded(self.max_objects, "annotation.max_objects", MAX_OBJECTS)
        _bounded(self.max_text_length, "annotation.max_text_length", MAX_TEXT_LENGTH)

    @property
    def rule(self) -> str:
        return RULES[self.kind]

    @property
    def iou_ppb(self) -> int:
        """The matching IoU in parts per billion; ``exact`` spans match at IoU 1 only."""
        if self.kind is TaskKind.SPANS and self.span_match == "exact":
            return PPB
        return _ppb(self.iou, "annotation.iou", Fraction(1, PPB), Fraction(1))

    def document(self) -> dict[str, JsonValue]:
        """Only the keys the kind uses, so a document says nothing that does not apply."""
        out: dict[str, JsonValue] = {"rule": self.rule}
        if self.kind is TaskKind.BOXES:
            out |= {"iou": self.iou, "max_objects": self.max_objects}
        elif self.kind is TaskKind.SPANS:
            out |= {"span_match": self.span_match, "max_objects": self.max_objects}
            out |= {"max_text_length": self.max_text_length}
            if self.span_match == "overlap":
                out["iou"] = self.iou
        elif self.kind is TaskKind.TEXT:
            out |= {"normalization": self.normalization, "max_text_length": self.max_text_length}
        return out

    @classmethod
    def from_document(cls, kind: TaskKind, entry: JsonValue) -> AnnotationParams:
        if not isinstance(entry, dict):
            raise InvalidParameterError("annotation must be an object")
        if kind not in RULES or entry.get("rule") != RULES[kind]:
            raise InvalidParameterError(
                f"annotation.rule {entry.get('rule')!r} is not the rule of a {kind} task"
            )
        allowed = set(cls(kind).document())
        if kind is TaskKind.SPANS:
            allowed.add("iou")
        if set(entry) - allowed:
            raise InvalidParameterError(f"unknown annotation keys {sorted(set(entry) - allowed)}")
        fields = {k: v for k, v in entry.items() if k != "rule"}
        params = cls(kind, **fields)
        if params.document() != entry:
            raise InvalidParameterError("annotation: iou is stated only with span_match overlap")
        return params


def default_annotation(kind: TaskKind) -> AnnotationParams | None:
    """The parameters a task of ``kind`` gets unless its requester gives them."""
    return AnnotationParams(kind) if kind in RULES else None


def _integer(value: JsonValue, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidAnswersError(f"{what} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _objects(value: JsonValue, width: int, params: AnnotationParams) -> list[list[JsonValue]]:
    if not isinstance(value, list) or len(value) > params.max_objects:
        raise InvalidAnswersError(
            f"a {params.kind} label is a list of at most {params.max_objects} entries"
        )
    for entry in value:
        if not isinstance(entry, list) or len(entry) != width:
            raise InvalidAnswersError(f"a {params.kind} entry has {width} fields, got {entry!r}")
    return value


def _class(name: JsonValue, classes: tuple[str, ...]) -> str:
    if not isinstance(name, str) or name not in classes:
        raise InvalidAnswersError(f"{name!r} is not one of the task's classes")
    return name


def _sort_key(entry: list[JsonValue]) -> tuple[tuple[int, ...], str]:
    return tuple(int(v) for v in entry[:-1]), str(entry[-1])


def check_boxes(value: JsonValue, classes: tuple[str, ...], params: AnnotationParams) -> None:
    """Raise :class:`InvalidAnswersError` unless ``value`` is a canonical boxes label."""
    entries = _objects(value, 5, params)
    for x0, y0, x1, y1, name in entries:
        for low, high, axis in ((x0, x1, "x"), (y0, y1, "y")):
            lo = _integer(low, f"{axis}0", 0, MAX_COORDINATE - 1)
            if _integer(high, f"{axis}1", 1, MAX_COORDINATE) <= lo:
                raise InvalidAnswersError(f"box {[x0, y0, x1, y1]}: {axis}0 must be < {axis}1")
        _class(name, classes)
    _check_sorted(entries)


def check_spans(value: JsonValue, classes: tuple[str, ...], params: AnnotationParams) -> None:
    """Raise :class:`InvalidAnswersError` unless ``value`` is a canonical spans label."""
    entries = _objects(value, 3, params)
    last_end: dict[str, int] = {}
    for start, end, name in entries:
        lo = _integer(start, "start", 0, params.max_text_length - 1)
        if _integer(end, "end", 1, params.max_text_length) <= lo:
            raise InvalidAnswersError(f"span [{start}, {end}): start must be < end")
        label = _class(name, classes)
        if lo < last_end.get(label, 0):  # sorted by start, so one look back suffices
            raise InvalidAnswersError(f"spans of class {label!r} overlap at [{start}, {end})")
        last_end[label] = int(end)  # checked by _integer
    _check_sorted(entries)


def _check_sorted(entries: list[list[JsonValue]]) -> None:
    keys = [_sort_key(e) for e in entries]
    if any(a >= b for a, b in itertools.pairwise(keys)):
        raise InvalidAnswersError("entries must be sorted and distinct (canonical form)")


def check_text(value: JsonValue, params: AnnotationParams) -> None:
    """Raise :class:`InvalidAnswersError` unless ``value`` is a canonical text label."""
    if not isinstance(value, str) or len(value) > params.max_text_length:
        raise InvalidAnswersError(
            f"a text label is a string of at most {params.max_text_length} characters"
        )
    if unicodedata.normalize("NFC", value) != value:
        raise InvalidAnswersError("a text label must be in Unicode NFC")


def match_text(value: str, normalization: str) -> str:
    """The form in which texts are compared under the task's ``normalization``."""
    if normalization == "nfc":
        return value
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def check_choice(value: JsonValue) -> None:
    """Raise :class:`InvalidAnswersError` unless ``value`` is ``"A"``, ``"B"`` or ``"tie"``."""
    if not isinstance(value, str) or value not in PAIR_CHOICES:
        raise InvalidAnswersError(f"a pairwise label is one of {PAIR_CHOICES}, got {value!r}")


def pair_sides(data: JsonValue) -> tuple[str, str]:
    """The two sides ``(a, b)`` a pairwise item compares: its data's ``a`` and ``b``, two
    different CIDs (other keys, such as a prompt, are the requester's)."""
    if not isinstance(data, dict):
        raise InvalidParameterError("a pairwise item's data is an object with 'a' and 'b'")
    sides = []
    for key in ("a", "b"):
        side = data.get(key)
        if not isinstance(side, str):
            raise InvalidParameterError(f"pairwise item side {key!r} is not a CID")
        try:
            CID.decode(side)
        except (ValueError, KeyError) as exc:
            raise InvalidParameterError(f"pairwise item side {key!r} is not a CID") from exc
        sides.append(side)
    if sides[0] == sides[1]:
        raise InvalidParameterError("a pairwise item compares two different responses")
    return sides[0], sides[1]


def check_value(
    kind: TaskKind, classes: tuple[str, ...], value: JsonValue, params: AnnotationParams
) -> None:
    """The validity check of a new kind's label value, with the reason when it fails."""
    if params.kind is not kind:
        raise InvalidParameterError(f"annotation parameters of {params.kind} for a {kind} task")
    if kind is TaskKind.BOXES:
        check_boxes(value, classes, params)
    elif kind is TaskKind.SPANS:
        check_spans(value, classes, params)
    elif kind is TaskKind.TEXT:
        check_text(value, params)
    else:
        check_choice(value)


def canonical_value(kind: TaskKind, value: JsonValue) -> JsonValue:
    """``value`` in its kind's canonical spelling (sorted, NFC), not checked: the page and
    labeling programs call this, then :func:`check_value`."""
    loose = isinstance(value, list) and all(isinstance(e, list) and e for e in value)
    if kind in (TaskKind.BOXES, TaskKind.SPANS) and loose:
        try:
            return sorted(value, key=_sort_key)
        except (TypeError, ValueError):
            return value
    if kind is TaskKind.TEXT and isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value
