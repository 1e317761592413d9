"""The lines of a result document (:mod:`node.protocol.result`): an item's, an annotator's
and a seated task's ``assignment`` section, each with its one parser. Split from the
document's module so that each stays readable; :mod:`node.protocol.result` re-exports the
entry types."""

from __future__ import annotations

from dataclasses import dataclass

from node.protocol.canonical import JsonValue
from node.protocol.deal import SEED_SOURCES
from node.protocol.errors import ResultDocumentError
from node.protocol.result_pages import RESULT_V4_SCHEMAS


@dataclass(frozen=True, slots=True)  # one per item: slots keep a large result's parse small
class ResultItemEntry:
    """One item's line of a result document.

    ``confidence`` is the posterior of the consensus (categorical, multi-label); numeric
    tasks state ``agreement`` (the matching share of the answers) instead.
    """

    item: str
    value: JsonValue
    confident: bool
    gold: bool
    confidence: str | None = None
    agreement: str | None = None
    labels: int | None = None
    """A seated task's ``result@4``: the dealt labels the item got (fewer than the
    redundancy on a short item)."""


@dataclass(frozen=True, slots=True)
class ResultAnnotatorEntry:
    """One annotator's line of a result document. ``agreement``, ``confusion`` and
    ``skill`` are categorical figures; ``evidence`` and ``bloc`` appear only when the task's
    rule runs the evidence and bloc tests. A categorical ``result@4`` (or ``@5``) states
    the confusion as ``confusion_cells``, ``(consensus class, answered class, count)`` for
    each filled cell in ascending order, where the older schemas state dense ``confusion``
    rows; :meth:`confusion_rows` reads either."""

    account: str
    labels: int
    accepted: int
    accuracy: str
    payout: int
    eligible: bool = True
    agreement: str | None = None
    confusion: tuple[tuple[int, ...], ...] | None = None
    skill: str | None = None
    evidence: str | None = None
    bloc: bool | None = None
    confusion_cells: tuple[tuple[int, int, int], ...] | None = None
    seat: int | None = None
    """A seated task's ``result@4``: the seat the annotator claimed."""

    def confusion_rows(self, n_classes: int) -> list[list[int]] | None:
        """The classes x classes table of counts (rows: consensus class), from either form;
        None for an entry without a confusion (not categorical)."""
        if self.confusion is not None:
            return [list(row) for row in self.confusion]
        if self.confusion_cells is None:
            return None
        rows = [[0] * n_classes for _ in range(n_classes)]
        for true, given, count in self.confusion_cells:
            rows[true][given] = count
        return rows


@dataclass(frozen=True)
class ResultAssignment:
    """A seated task's ``assignment`` section (``result@4``): its deal and pay rules, where
    the deal's seed came from (``mixHash`` or ``blockHash``) and in which block, its seats,
    and how many of its items got fewer than ``redundancy`` labels."""

    deal: str
    reward_rule: str
    seed_source: str
    seal_block: int
    items: int
    redundancy: int
    batch_size: int
    seats: int
    claimed: int
    short_items: int


def parse_assignment(section: JsonValue, schema: str) -> ResultAssignment | None:
    """The ``assignment`` section of a ``schema`` root, if it has one (only a seated task's
    ``result@4`` or ``@5`` may)."""
    if section is None:
        return None
    if schema not in RESULT_V4_SCHEMAS:
        raise ResultDocumentError(f"a {schema} result has no assignment section")
    try:
        if not isinstance(section, dict):
            raise TypeError("the assignment section is an object")
        texts = {key: _text(section, key) for key in ("deal", "reward_rule", "seed_source")}
        for key, text in texts.items():
            if text is None:
                raise KeyError(key)
        if texts["seed_source"] not in SEED_SOURCES:
            raise ValueError(f"seed_source {texts['seed_source']!r}")
        return ResultAssignment(
            deal=str(texts["deal"]),
            reward_rule=str(texts["reward_rule"]),
            seed_source=str(texts["seed_source"]),
            seal_block=_count(section, "seal_block"),
            items=_count(section, "items"),
            redundancy=_count(section, "redundancy"),
            batch_size=_count(section, "batch_size"),
            seats=_count(section, "seats"),
            claimed=_count(section, "claimed"),
            short_items=_count(section, "short_items"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultDocumentError(f"malformed assignment section: {exc}") from exc


def token_amount(value: JsonValue) -> int:
    """A token amount: a decimal string (as written) or a JSON integer, never a bool."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"an amount is a decimal string, not {value!r}")
    return int(value)


def _text(entry: dict[str, JsonValue], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is a string, not {value!r}")
    return value


def _flag(entry: dict[str, JsonValue], key: str, default: bool | None) -> bool | None:
    value = entry.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{key} is a boolean, not {value!r}")
    return value


def _count(entry: dict[str, JsonValue], key: str) -> int:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} is an integer, not {value!r}")
    return value


def _optional_count(entry: dict[str, JsonValue], key: str) -> int | None:
    return _count(entry, key) if key in entry else None


def parse_item(entry: JsonValue) -> ResultItemEntry:
    try:
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise TypeError("an item entry is an object with an item id")
        return ResultItemEntry(
            item=entry["item"],
            value=entry.get("value"),
            confident=bool(_flag(entry, "confident", False)),
            gold=bool(_flag(entry, "gold", False)),
            confidence=_text(entry, "confidence"),
            agreement=_text(entry, "agreement"),
            labels=_optional_count(entry, "labels"),
        )
    except (KeyError, TypeError) as exc:
        raise ResultDocumentError(f"malformed item entry: {exc}") from exc


def parse_annotator(entry: JsonValue, *, cells: bool, n_classes: int) -> ResultAnnotatorEntry:
    try:
        if not isinstance(entry, dict):
            raise TypeError("an annotator entry is an object")
        confusion = entry.get("confusion")
        if confusion is not None and not isinstance(confusion, list):
            raise TypeError("confusion is a list of rows")
        accuracy = _text(entry, "accuracy")
        if accuracy is None:
            raise KeyError("accuracy")
        labels = _count(entry, "labels")
        confusion_cells = None
        if cells and confusion is not None:
            confusion_cells, confusion = _cells(confusion, n_classes, labels), None
        return ResultAnnotatorEntry(
            account=str(entry["account"]),
            labels=labels,
            accepted=_count(entry, "accepted"),
            accuracy=accuracy,
            payout=token_amount(entry["payout"]),
            eligible=bool(_flag(entry, "eligible", True)),
            agreement=_text(entry, "agreement"),
            confusion=None if confusion is None else tuple(_row(row) for row in confusion),
            skill=_text(entry, "skill"),
            evidence=_text(entry, "evidence"),
            bloc=_flag(entry, "bloc", None),
            confusion_cells=confusion_cells,
            seat=_optional_count(entry, "seat"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultDocumentError(f"malformed annotator entry: {exc}") from exc


def _row(row: JsonValue) -> tuple[int, ...]:
    if not isinstance(row, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in row
    ):
        raise TypeError("a confusion row is a list of integers")
    return tuple(row)


def _cells(cells: list[JsonValue], n_classes: int, labels: int) -> tuple[tuple[int, int, int], ...]:
    """``result@4`` confusion cells: ``[consensus class, answered class, count]`` with both
    classes in range, a positive count, in strictly ascending order, one per answer at most
    (their counts add up to the annotator's labels)."""
    parsed: list[tuple[int, int, int]] = []
    for cell in cells:
        values = _row(cell)
        if len(values) != 3:
            raise ValueError(f"a confusion cell is [consensus, answered, count], not {cell!r}")
        true, given, count = values
        if not (0 <= true < n_classes and 0 <= given < n_classes and count > 0):
            raise ValueError(f"confusion cell {cell!r} is out of range")
        if parsed and parsed[-1][:2] >= (true, given):
            raise ValueError("confusion cells are in strictly ascending order")
        parsed.append((true, given, count))
    if sum(count for _, _, count in parsed) != labels:
        raise ValueError(f"confusion cells count other than the annotator's {labels} labels")
    return tuple(parsed)
