"""The long-format answer table every estimator consumes: one row per (item, annotator, value).

Canonical form (why: every validator must feed the estimators the same arrays in the same
order, whatever order the label batches arrived in or how they were split):

* item, annotator and class ids are strings, each list sorted by Python's string order
  (code points) and deduplicated; rows refer to them by integer code;
* rows are sorted by (item, annotator);
* duplicates: rows repeating the same (item, annotator, value) collapse into one; an
  (item, annotator) pair given two or more *different* values is dropped entirely, because
  an annotator who answered both ways has answered neither (and must not be paid for
  whichever happens to match);
* ids and classes no row uses any more are removed, unless the class list was given
  explicitly (a task's declared classes stay even if nobody chose some of them).

The arrays are read-only copies: callers' arrays are never kept or mutated.
"""

from __future__ import annotations

import itertools
import operator
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from node.protocol.errors import InvalidAnswersError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

ROW_CHUNK = 1 << 16
"""Rows per chunk in the estimators' passes over the answers: small enough that the
temporaries stay in cache, large enough that the Python loop costs nothing."""


_BYTE_CODES = 256
"""Distinct ids up to which :func:`_encode_strings` passes the codes through ``bytes``."""


def _frozen_int(array: npt.ArrayLike) -> IntArray:
    out = np.array(array, dtype=np.int64, copy=True)
    out.flags.writeable = False
    return out


def _frozen_float(array: npt.ArrayLike) -> FloatArray:
    out = np.array(array, dtype=np.float64, copy=True)
    out.flags.writeable = False
    return out


def _sorted_ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values}))


def _encode(values: npt.ArrayLike, name: str) -> tuple[tuple[str, ...], IntArray]:
    """Sorted unique string ids and each row's code into them."""
    fast = _encode_strings(values)
    if fast is not None:
        ids, codes = fast
        if ids and not ids[0]:  # sorted: the empty id, if any, comes first
            raise InvalidAnswersError(f"empty {name} id")
        return ids, codes
    strings = np.asarray(values, dtype=np.str_)
    if strings.ndim != 1:
        raise InvalidAnswersError(f"{name} must be one-dimensional")
    uniques, codes = np.unique(strings, return_inverse=True)
    ids = tuple(str(u) for u in uniques)
    if any(not i for i in ids):
        raise InvalidAnswersError(f"empty {name} id")
    return ids, codes.astype(np.int64).reshape(-1)


def _encode_strings(values: npt.ArrayLike) -> tuple[tuple[str, ...], IntArray] | None:
    """:func:`_encode` for a list or tuple of Python strings, without numpy strings.

    Why: a numpy string array is fixed-width UCS-4 (four bytes a character times the
    longest id, per row), and ``np.unique`` sorts every row of it; a set of the distinct ids,
    sorted, and one dictionary look-up per row cost a fraction of that on real tasks, where
    ids repeat. Python and numpy order strings alike (by code point), so the ids and codes
    are the same. Returns ``None`` (the numpy path) for anything else, and for ids holding
    a NUL character, which numpy strips from the end of a string and Python does not.
    """
    if not isinstance(values, list | tuple):
        return None
    rows: Sequence[str] = values
    try:
        distinct = set(rows)
    except TypeError:  # unhashable rows (nested lists): numpy's checks report them
        return None
    # Types checked on the distinct values only: a row equal to a str is that str. Both
    # checks are C loops (a generator over the ids costs as much as the look-ups below).
    if set(map(type, distinct)) != {str} or "\x00" in "".join(distinct):
        return None
    ids = tuple(sorted(distinct))
    index = dict(zip(ids, range(len(ids)), strict=True))
    # One C call looks every row up (itemgetter of one key returns it bare, not in a tuple).
    looked_up: tuple[int, ...] = (
        operator.itemgetter(*rows)(index) if len(rows) > 1 else (index[rows[0]],)
    )
    if len(ids) <= _BYTE_CODES:
        # Codes that fit a byte: ``bytes`` reads the tuple in a tight C loop, a third of
        # ``np.fromiter``'s time per row; the widening copy is exact.
        return ids, np.frombuffer(bytes(looked_up), dtype=np.uint8).astype(np.int64)
    codes = np.fromiter(looked_up, dtype=np.int64, count=len(rows))
    return ids, codes


def canonical_rows(
    item: IntArray, annotator: IntArray, value_key: IntArray, n_annotators: int
) -> tuple[IntArray, int]:
    """Row order and deduplication shared by every answer table.

    ``value_key`` is a non-negative integer per row, equal exactly when the values are
    equal. Returns the indices of the rows to keep, in canonical (item, annotator) order,
    and the number of conflicting (item, annotator) pairs that were dropped.
    """
    pair = item * np.int64(n_annotators) + annotator
    n_values = int(value_key.max()) + 1 if len(value_key) else 1
    top = int(pair.max()) if len(pair) else -1
    if len(pair) and top < np.iinfo(np.int64).max // n_values:
        # Not a stable sort, and no need: rows with equal keys are equal rows (same item,
        # annotator and value), so whichever of them comes first, the kept rows are the
        # same. numpy's default sort is five times faster on an unsorted task, and on keys
        # that fit 32 bits (exact narrowing, the same order) a third faster again.
        key = pair * n_values + value_key
        order = np.argsort(key.astype(np.uint32) if (top + 1) * n_values <= 1 << 32 else key)
    else:
        order = np.lexsort((value_key, pair))
    pair_sorted = pair[order]
    value_sorted = value_key[order]
    n = len(order)
    same_as_previous = np.zeros(n, dtype=bool)
    if n > 1:
        same_as_previous[1:] = (pair_sorted[1:] == pair_sorted[:-1]) & (
            value_sorted[1:] == value_sorted[:-1]
        )
    order = order[~same_as_previous]
    pair_sorted = pair_sorted[~same_as_previous]
    repeated = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        clash = pair_sorted[1:] == pair_sorted[:-1]
        repeated[1:] |= clash
        repeated[:-1] |= clash
    if not repeated.any():  # the usual case
        return order, 0
    # The repeated pairs are sorted, so the distinct ones are the first and each change:
    # np.unique's count without its sort (about 15 of np.unique's 20 microseconds on
    # zencrowd_us's 116 conflicts).
    clashing = pair_sorted[repeated]
    conflicts = 1 + int(np.count_nonzero(clashing[1:] != clashing[:-1]))
    return order[~repeated], conflicts


def _compact(ids: tuple[str, ...], codes: IntArray) -> tuple[tuple[str, ...], IntArray]:
    """Drop ids no row uses; codes keep their relative (sorted) order."""
    used = np.bincount(codes, minlength=len(ids)) > 0
    if bool(np.all(used)):
        return ids, codes
    remap = np.cumsum(used) - 1
    kept = tuple(ids[int(u)] for u in np.flatnonzero(used))
    return kept, remap[codes].astype(np.int64)


def _check_range(name: str, codes: IntArray, bound: int) -> None:
    if codes.min() < 0 or codes.max() >= bound:
        raise InvalidAnswersError(f"{name} code out of range")


def _strictly_sorted(ids: tuple[str, ...]) -> bool:
    try:
        return all(map(operator.lt, ids[:-1], ids[1:]))  # C-level loop: no generator per pair
    except TypeError:  # ids that do not compare (a number beside a string) are no sorted ids
        return False


def _columns(rows: Iterable[Sequence[str | float]]) -> list[tuple[str | float, ...]]:
    """The item, annotator and value columns of ``(item, annotator, value)`` rows; a row
    that is no triple (a pair, a number) is :class:`InvalidAnswersError`, not the
    ``IndexError`` or ``TypeError`` of unpacking it."""
    triples = list(rows)
    try:
        malformed = any(len(row) != 3 for row in triples)
    except TypeError:  # a row with no length
        malformed = True
    if malformed:
        raise InvalidAnswersError("every row must be (item, annotator, value)")
    return list(zip(*triples, strict=True)) if triples else [(), (), ()]


def _codes(arrays: Iterable[npt.ArrayLike]) -> list[IntArray]:
    """Each array-like as a flat ``int64`` array; codes that are not integers (text, NaN,
    past 64 bits) are :class:`InvalidAnswersError`, not numpy's ``ValueError``,
    ``TypeError`` or ``OverflowError``."""
    try:
        return [np.asarray(array, dtype=np.int64).reshape(-1) for array in arrays]
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidAnswersError(f"codes must be integers: {exc}") from exc


class _LongFormat:
    """What every long-format answer table offers: its sizes, from its id tuples and rows."""

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    item: IntArray

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)

    def __len__(self) -> int:
        return len(self.item)


@dataclass(frozen=True, eq=False)
class Answers(_LongFormat):
    """Categorical answers in canonical form (see the module docstring)."""

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    classes: tuple[str, ...]
    item: IntArray
    annotator: IntArray
    label: IntArray
    dropped_conflicts: int = 0

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def key(self) -> IntArray:
        """Per row, ``annotator * n_classes + label``: the row's cell in a confusion table.
        Computed on each use, not kept (:attr:`item_label`): a fit takes it once for its EM
        (:func:`node.consensus.base.confusion_posteriors`' ``key``), where keeping it would
        hold 8 bytes an answer through the polish and the bloc test."""
        return self.key_of(0, len(self.item))

    def key_of(self, start: int, stop: int) -> IntArray:
        """:attr:`key` of rows ``start`` to ``stop``."""
        return self.annotator[start:stop] * np.int64(self.n_classes) + self.label[start:stop]

    @property
    def item_label(self) -> IntArray:
        """Per row, ``item * n_classes + label``: the row's cell in an items x classes
        table. Computed on each use, not kept: a few uses a fit, each one pass, where
        keeping it would hold 8 bytes an answer for the rest of the consensus."""
        return self.item * np.int64(self.n_classes) + self.label

    @property
    def votes(self) -> IntArray:
        """Answers per item and class (``n_items x n_classes``): for the vote EM starts
        from and for the uninformative-annotator tests, which weigh each annotator against
        the crowd's answers. Counted on each use, not kept (:attr:`item_label`): at 3.3M
        items of five classes the table is 133 MB, which the bloc test's peak would carry."""
        flat = np.bincount(self.item_label, minlength=self.n_items * self.n_classes)
        out: IntArray = flat.astype(np.int64, copy=False).reshape(self.n_items, self.n_classes)
        return out

    @cached_property
    def item_class_cells(self) -> IntArray:
        """Per row and class, ``item * n_classes + class``, flattened row by row: the bin of
        each entry of a row-wise gather of K-wide rows in an items x classes table. One
        ``np.bincount`` over it sums every class at once (the E-step on small tables). K
        integers a row, so the E-step asks for it only on small tables."""
        k = self.n_classes
        base = self.item * np.int64(k)
        table = np.empty((len(base), k), dtype=np.int64)
        for c in range(k):  # a column at a time: broadcasting over rows of K is slow
            np.add(base, np.int64(c), out=table[:, c])
        out = table.reshape(-1)
        out.flags.writeable = False
        return out

    @cached_property
    def item_chunks(self) -> tuple[tuple[int, int, int, int], ...]:
        """``(row_start, row_stop, item_start, item_stop)`` pieces of about
        :data:`ROW_CHUNK` rows that never split one item's answers, so a per-item sum
        taken chunk by chunk is the very same sequence of additions as one taken whole."""
        n = len(self.item)
        cuts = np.searchsorted(self.item, self.item[np.arange(0, n, ROW_CHUNK)], side="left")
        bounds = [int(c) for c in np.unique(cuts)] + [n]
        chunks = []
        for start, stop in itertools.pairwise(bounds):
            chunks.append((start, stop, int(self.item[start]), int(self.item[stop - 1]) + 1))
        return tuple(chunks)

    @cached_property
    def item_starts(self) -> IntArray:
        """Row where each item's answers begin (rows are sorted by item), one per item that
        has answers: the segments of a per-item ``np.add.reduceat``."""
        item = self.item
        changes = np.flatnonzero(item[1:] != item[:-1]) + 1
        out = np.concatenate((np.zeros(1, dtype=np.int64), changes.astype(np.int64)))
        out.flags.writeable = False
        return out

    @cached_property
    def max_item_answers(self) -> int:
        """The most answers any one item has (0 for an empty table)."""
        if len(self.item) == 0:
            return 0
        bounds = np.append(self.item_starts, np.int64(len(self.item)))
        return int(np.max(np.diff(bounds)))

    @cached_property
    def key_cells(self) -> tuple[IntArray, IntArray]:
        """``(starts, keys)``: the answered :attr:`key` cells in increasing order, and where
        each one's run would begin if the rows were sorted by key (:attr:`key_runs`). From
        the count of each key where the cells are no more than the rows (one ``bincount``:
        a thirtieth of the sort's time at 10M answers), from ``np.unique`` otherwise; the
        same arrays either way, and no sort of the rows."""
        cells = self.n_annotators * self.n_classes
        key = self.key
        if cells <= len(key):
            counts = np.bincount(key, minlength=cells)
            keys = np.flatnonzero(counts).astype(np.int64)
            lengths = counts[keys].astype(np.int64)
        else:
            keys, lengths = np.unique(key, return_counts=True)
            keys, lengths = keys.astype(np.int64), lengths.astype(np.int64)
        starts = np.zeros(len(keys), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        for array in (starts, keys):
            array.flags.writeable = False
        return starts, keys

    @cached_property
    def key_runs(self) -> tuple[IntArray, IntArray, IntArray]:
        """The rows grouped by :attr:`key` (a stable sort): ``(item, starts, keys)`` = each
        row's item in that order, and :attr:`key_cells`. A per-cell sum over the answers is
        then one gather and one ``np.add.reduceat`` (the numpy route; the native one walks
        the rows as they lie, by :attr:`cell_of_answer`, and needs no sort)."""
        keys = self.key
        cells = self.n_annotators * self.n_classes
        if cells <= 1 << 16:
            # numpy sorts 8- and 16-bit integers stably by radix, one pass a byte: a fifth of
            # the time of the int64 merge sort on a small task (8 bits halve it again), and
            # a stable order is one order, so the same runs.
            narrow = np.uint8 if cells <= 1 << 8 else np.uint16
            order = np.argsort(keys.astype(narrow), kind="stable")
        else:
            order = np.argsort(keys, kind="stable")
        item = self.item[order]
        item.flags.writeable = False
        return (item, *self.key_cells)

    @cached_property
    def cell_of_answer(self) -> IntArray:
        """Per row, the position of its :attr:`key` among :attr:`key_cells`' keys (its run):
        by a table indexed by key where that table is no larger than the rows (a gather, 20
        times less time than ``np.searchsorted`` at 10M answers), by the binary search
        otherwise; the same positions either way."""
        keys = self.key_cells[1]
        cells = self.n_annotators * self.n_classes
        key = self.key
        if cells > len(key):
            out: IntArray = np.searchsorted(keys, key)
        else:
            position = np.zeros(cells, dtype=np.int64)
            position[keys] = np.arange(len(keys), dtype=np.int64)
            out = position[key]
        out.flags.writeable = False
        return out

    @cached_property
    def key_counts(self) -> IntArray:
        """Answers per :attr:`key` cell (``n_annotators * n_classes``), from the run lengths
        of :attr:`key_cells`."""
        starts, keys = self.key_cells
        out = np.zeros(self.n_annotators * self.n_classes, dtype=np.int64)
        out[keys] = np.diff(starts, append=np.int64(len(self.item)))
        out.flags.writeable = False
        return out

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, str]], classes: Sequence[str] | None = None
    ) -> Answers:
        """Build from ``(item, annotator, value)`` string triples."""
        columns = _columns(rows)
        return cls.from_arrays(columns[0], columns[1], columns[2], classes=classes)

    @classmethod
    def from_arrays(
        cls,
        items: npt.ArrayLike,
        annotators: npt.ArrayLike,
        values: npt.ArrayLike,
        classes: Sequence[str] | None = None,
    ) -> Answers:
        """Build from three equally long array-likes of string ids."""
        annotator_ids, annotator = _encode(annotators, "annotator")
        return cls.from_annotator_codes(
            items, annotator, values, annotators=annotator_ids, classes=classes
        )

    @classmethod
    def from_annotator_codes(
        cls,
        items: npt.ArrayLike,
        annotator: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        annotators: Sequence[str],
        classes: Sequence[str] | None = None,
    ) -> Answers:
        """:meth:`from_arrays` with the annotator column already coded into ``annotators``
        (sorted, unique). A validator's answers come one batch per annotator, so it need not
        build a string array of 42-character addresses, 168 bytes a row in numpy (half a
        gigabyte for three million answers, twice over while sorting)."""
        annotator_ids = tuple(annotators)
        if not _strictly_sorted(annotator_ids):
            raise InvalidAnswersError("annotator ids must be sorted and unique")
        (annotator,) = _codes([annotator])
        item_ids, item = _encode(items, "item")
        value_ids, value = _encode(values, "value")
        if not (len(item) == len(annotator) == len(value)):
            raise InvalidAnswersError("items, annotators and values differ in length")
        if len(item) == 0:
            raise InvalidAnswersError("no answers")
        _check_range("annotator", annotator, len(annotator_ids))
        if classes is None:
            class_ids = value_ids
            label = value
        else:
            class_ids = _sorted_ids(classes)
            unknown = sorted(set(value_ids) - set(class_ids))
            if unknown:
                raise InvalidAnswersError(f"values outside the declared classes: {unknown[:5]}")
            label = np.searchsorted(np.asarray(class_ids, dtype=np.str_), value_ids)[value]
        # Item and class ids are sorted and unique, and their codes in range, by
        # construction: only the caller's annotator ids and codes needed checking.
        codes = (item, annotator, np.asarray(label, dtype=np.int64))
        return cls._canonical(
            codes, item_ids, annotator_ids, class_ids, keep_classes=classes is not None
        )

    @classmethod
    def from_codes(
        cls,
        item: npt.ArrayLike,
        annotator: npt.ArrayLike,
        label: npt.ArrayLike,
        *,
        items: Sequence[str],
        annotators: Sequence[str],
        classes: Sequence[str],
        keep_classes: bool = True,
    ) -> Answers:
        """Build from integer codes into already sorted, unique id lists (the fast path)."""
        item_ids, annotator_ids, class_ids = tuple(items), tuple(annotators), tuple(classes)
        for name, ids in (("item", item_ids), ("annotator", annotator_ids)):
            if not _strictly_sorted(ids):
                raise InvalidAnswersError(f"{name} ids must be sorted and unique")
        if not _strictly_sorted(class_ids) or not class_ids:
            raise InvalidAnswersError("classes must be a non-empty sorted unique list")
        codes = _codes((item, annotator, label))
        if not (len(codes[0]) == len(codes[1]) == len(codes[2])):
            raise InvalidAnswersError("item, annotator and label codes differ in length")
        if len(codes[0]) == 0:
            raise InvalidAnswersError("no answers")
        for name, arr, bound in zip(
            ("item", "annotator", "label"),
            codes,
            (len(item_ids), len(annotator_ids), len(class_ids)),
            strict=True,
        ):
            _check_range(name, arr, bound)
        return cls._canonical(
            (codes[0], codes[1], codes[2]), item_ids, annotator_ids, class_ids, keep_classes
        )

    @classmethod
    def _canonical(
        cls,
        codes: tuple[IntArray, IntArray, IntArray],
        item_ids: tuple[str, ...],
        annotator_ids: tuple[str, ...],
        class_ids: tuple[str, ...],
        keep_classes: bool,
    ) -> Answers:
        """The table from checked codes (non-empty, equally long, in range of sorted unique
        ids): rows in canonical order, conflicts dropped, unused ids removed."""
        keep, conflicts = canonical_rows(codes[0], codes[1], codes[2], len(annotator_ids))
        if len(keep) == 0:
            raise InvalidAnswersError("no answers left after dropping conflicting pairs")
        item_ids, item_codes = _compact(item_ids, codes[0][keep])
        annotator_ids, annotator_codes = _compact(annotator_ids, codes[1][keep])
        label_codes = codes[2][keep]
        if not keep_classes:
            class_ids, label_codes = _compact(class_ids, label_codes)
        return cls(
            items=item_ids,
            annotators=annotator_ids,
            classes=class_ids,
            item=_frozen_int(item_codes),
            annotator=_frozen_int(annotator_codes),
            label=_frozen_int(label_codes),
            dropped_conflicts=conflicts,
        )

    def without_annotators(self, dropped: npt.NDArray[np.bool_]) -> Answers:
        """The table without the answers of the annotators marked in ``dropped`` (one flag
        per annotator); ids no remaining answer uses are removed, the classes kept."""
        keep = ~np.asarray(dropped, dtype=bool)[self.annotator]
        return Answers.from_codes(
            self.item[keep],
            self.annotator[keep],
            self.label[keep],
            items=self.items,
            annotators=self.annotators,
            classes=self.classes,
        )

    def encode_gold(self, gold: Mapping[str, str] | None) -> IntArray:
        """Gold as one class code per item, ``-1`` where an item has no gold answer.

        Gold for items nobody answered is ignored (it cannot change any consensus); a gold
        value outside the classes is an error, since it means the task is inconsistent.
        """
        codes = np.full(self.n_items, -1, dtype=np.int64)
        if not gold:
            return codes
        class_index = {c: k for k, c in enumerate(self.classes)}
        items = self.items
        n_items = len(items)
        # Gold on many items: one dictionary of every item is faster; otherwise a binary
        # search in the sorted ids, where that dictionary costs about a microsecond an item
        # to build (a second at a million items, for gold on a tenth of them).
        index = {item: i for i, item in enumerate(items)} if 4 * len(gold) >= n_items else None
        positions: list[int] = []
        classes: list[int] = []
        for item_id, value in gold.items():
            key = str(item_id)
            if index is not None:
                found = index.get(key)
                if found is None:
                    continue
                position = found
            else:
                position = bisect_left(items, key)
                if position == n_items or items[position] != key:
                    continue
            code = class_index.get(str(value))
            if code is None:
                raise InvalidAnswersError(f"gold value {value!r} is not a class")
            positions.append(position)
            classes.append(code)
        codes[np.array(positions, dtype=np.int64)] = np.array(classes, dtype=np.int64)
        return codes


@dataclass(frozen=True, eq=False)
class NumericAnswers(_LongFormat):
    """Numeric answers in canonical form; values are finite float64.

    Values parse with Python's correctly rounded decimal conversion, so the same text gives
    the same float on every machine. "Exact duplicate" means the same float value.
    """

    items: tuple[str, ...]
    annotators: tuple[str, ...]
    item: IntArray
    annotator: IntArray
    value: FloatArray
    dropped_conflicts: int = 0

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str | float]]) -> NumericAnswers:
        """Build from ``(item, annotator, value)`` rows; values may be numbers or text."""
        columns = _columns(rows)
        return cls.from_arrays(columns[0], columns[1], columns[2])

    @classmethod
    def from_arrays(
        cls, items: npt.ArrayLike, annotators: npt.ArrayLike, values: npt.ArrayLike
    ) -> NumericAnswers:
        """Build from three equally long array-likes."""
        item_ids, item = _encode(items, "item")
        annotator_ids, annotator = _encode(annotators, "annotator")
        try:
            raw = np.asarray(values)
            numbers = np.array([float(v) for v in raw.tolist()], dtype=np.float64)
        except OverflowError as exc:  # an integer past the largest float
            raise InvalidAnswersError("values must be finite (an integer past any float)") from exc
        except (TypeError, ValueError) as exc:
            raise InvalidAnswersError(f"non-numeric value: {exc}") from exc
        if not (len(item) == len(annotator) == len(numbers)):
            raise InvalidAnswersError("items, annotators and values differ in length")
        if len(numbers) == 0:
            raise InvalidAnswersError("no answers")
        if not np.all(np.isfinite(numbers)):
            raise InvalidAnswersError("values must be finite")
        numbers = numbers + 0.0  # -0.0 and 0.0 are the same answer
        _, value_key = np.unique(numbers, return_inverse=True)
        keep, conflicts = canonical_rows(
            item, annotator, value_key.astype(np.int64).reshape(-1), len(annotator_ids)
        )
        if len(keep) == 0:
            raise InvalidAnswersError("no answers left after dropping conflicting pairs")
        item_ids, item_codes = _compact(item_ids, item[keep])
        annotator_ids, annotator_codes = _compact(annotator_ids, annotator[keep])
        return cls(
            items=item_ids,
            annotators=annotator_ids,
            item=_frozen_int(item_codes),
            annotator=_frozen_int(annotator_codes),
            value=_frozen_float(numbers[keep]),
            dropped_conflicts=conflicts,
        )
