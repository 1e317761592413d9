"""The canonical answer table: ordering, duplicate rule, validation, immutability."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from node.consensus import answers as answers_module
from node.consensus.answers import Answers, NumericAnswers
from node.protocol.errors import InvalidAnswersError


def test_ids_are_sorted_and_rows_canonical() -> None:
    a = Answers.from_rows([("b", "w2", "y"), ("a", "w2", "x"), ("b", "w1", "x"), ("a", "w1", "y")])
    assert a.items == ("a", "b")
    assert a.annotators == ("w1", "w2")
    assert a.classes == ("x", "y")
    assert a.item.tolist() == [0, 0, 1, 1]
    assert a.annotator.tolist() == [0, 1, 0, 1]
    assert a.label.tolist() == [1, 0, 0, 1]
    assert a.key.tolist() == [1, 2, 0, 3]


def test_string_order_is_code_point_order() -> None:
    a = Answers.from_rows([("10", "w", "B"), ("9", "w", "a"), ("1", "w", "B")])
    assert a.items == ("1", "10", "9")
    assert a.classes == ("B", "a")


def test_exact_duplicates_collapse_and_conflicts_are_dropped() -> None:
    a = Answers.from_rows(
        [
            ("i1", "w1", "x"),
            ("i1", "w1", "x"),  # exact duplicate: kept once
            ("i2", "w1", "x"),
            ("i2", "w1", "y"),  # conflict: both dropped
            ("i2", "w2", "y"),
        ]
    )
    assert len(a) == 2
    assert a.dropped_conflicts == 1
    assert [(a.items[i], a.annotators[w]) for i, w in zip(a.item, a.annotator, strict=False)] == [
        ("i1", "w1"),
        ("i2", "w2"),
    ]


def test_row_order_and_repeats_do_not_change_the_table() -> None:
    """Rows are ordered by an unstable sort: equal keys are equal rows, so any order of
    any number of repeats, with conflicts among them, gives the same table."""
    rows = [(f"i{i}", f"w{w}", "xyz"[(i + w) % 3]) for i in range(60) for w in range(5)]
    noisy = rows * 4 + [("i3", "w1", "x"), ("i3", "w1", "y"), ("i7", "w0", "z")]
    for seed in range(5):
        shuffled = [noisy[j] for j in np.random.default_rng(seed).permutation(len(noisy))]
        table = Answers.from_rows(shuffled)
        conflicted = {("i3", "w1"), ("i7", "w0")}
        expected = [r for r in rows if (r[0], r[1]) not in conflicted]
        assert table.dropped_conflicts == 2
        assert [
            (table.items[i], table.annotators[w], table.classes[c])
            for i, w, c in zip(table.item, table.annotator, table.label, strict=True)
        ] == sorted(expected, key=lambda r: (r[0], r[1]))


def test_unused_ids_are_removed_but_declared_classes_stay() -> None:
    a = Answers.from_rows(
        [("i1", "w1", "x"), ("i1", "w1", "y"), ("i2", "w2", "x")], classes=["z", "x", "y"]
    )
    assert a.items == ("i2",)
    assert a.annotators == ("w2",)
    assert a.classes == ("x", "y", "z")
    assert a.label.tolist() == [0]


@pytest.mark.parametrize(
    ("rows", "classes", "message"),
    [
        ([], None, "no answers"),
        ([("i", "w", "x"), ("i", "w", "y")], None, "no answers left"),
        ([("i", "w", "q")], ["x"], "outside the declared classes"),
        ([("", "w", "x")], None, "empty item"),
    ],
)
def test_invalid_answers(
    rows: list[tuple[str, str, str]], classes: list[str] | None, message: str
) -> None:
    with pytest.raises(InvalidAnswersError, match=message):
        Answers.from_rows(rows, classes=classes)


def test_from_arrays_rejects_length_mismatch_and_never_touches_inputs() -> None:
    items = np.array(["b", "a"])
    with pytest.raises(InvalidAnswersError):
        Answers.from_arrays(items, ["w"], ["x", "y"])
    annotators = np.array(["w", "w"])
    values = np.array(["x", "y"])
    a = Answers.from_arrays(items, annotators, values)
    assert items.tolist() == ["b", "a"]  # caller's array unchanged
    with pytest.raises(ValueError, match="read-only"):
        a.label[0] = 5


def test_from_codes_validates_ids_and_ranges() -> None:
    with pytest.raises(InvalidAnswersError, match="sorted"):
        Answers.from_codes([0], [0], [0], items=["b", "a"], annotators=["w"], classes=["x"])
    with pytest.raises(InvalidAnswersError, match="out of range"):
        Answers.from_codes([2], [0], [0], items=["a", "b"], annotators=["w"], classes=["x"])
    a = Answers.from_codes(
        np.array([1, 0]), [0, 0], [0, 0], items=["a", "b"], annotators=["w"], classes=["x", "y"]
    )
    assert a.item.tolist() == [0, 1]
    assert a.classes == ("x", "y")


@pytest.mark.parametrize(
    ("item", "items", "message"),
    [
        # Each was numpy's or Python's own error: ValueError, OverflowError, TypeError.
        (["0"], ["a"], None),  # text that is an integer stays a code, as numpy reads it
        (["a"], ["a"], r"^codes must be integers: invalid literal"),
        ([float("nan")], ["a"], r"^codes must be integers: cannot convert float NaN"),
        ([2**64], ["a"], r"^codes must be integers: Python int too large"),
        ([0], [1, "a"], r"^item ids must be sorted and unique$"),
    ],
)
def test_from_codes_refuses_codes_that_are_no_integers_and_ids_that_do_not_sort(
    item: list[object], items: list[object], message: str | None
) -> None:
    build = partial(Answers.from_codes, item, [0], [0], annotators=["w"], classes=["x"])
    if message is None:
        assert build(items=items).item.tolist() == [0]
        return
    with pytest.raises(InvalidAnswersError, match=message):
        build(items=items)


@pytest.mark.parametrize("rows", [[1], [None], [("i", "w", "x"), 5]])
def test_rows_that_are_not_triples_are_invalid_answers(rows: list[object]) -> None:
    # Was TypeError ("object of type 'int' has no len()").
    for table in (Answers, NumericAnswers):
        with pytest.raises(InvalidAnswersError, match=r"^every row must be \("):
            table.from_rows(rows)  # type: ignore[arg-type]


def test_annotator_codes_that_are_no_integers_are_invalid_answers() -> None:
    with pytest.raises(InvalidAnswersError, match=r"^codes must be integers"):
        Answers.from_annotator_codes(["i"], ["w"], ["x"], annotators=["w"])


def test_item_chunks_never_split_an_item(monkeypatch: pytest.MonkeyPatch) -> None:
    from node.consensus import answers as module

    monkeypatch.setattr(module, "ROW_CHUNK", 2)
    rows = [(f"i{i}", f"w{w}", "x") for i in range(4) for w in range(i + 1)]
    a = Answers.from_rows(rows)
    chunks = a.item_chunks
    assert chunks[0][0] == 0 and chunks[-1][1] == len(a)
    for (start, stop, first, last), following in zip(chunks, [*chunks[1:], None], strict=True):
        assert set(a.item[start:stop].tolist()) == set(range(first, last))
        if following is not None:
            assert following[0] == stop


def test_encode_gold() -> None:
    a = Answers.from_rows([("i1", "w", "x"), ("i2", "w", "y")])
    assert a.encode_gold({"i2": "x", "unseen": "y"}).tolist() == [-1, 0]
    with pytest.raises(InvalidAnswersError, match="not a class"):
        a.encode_gold({"i1": "nope"})


def test_encode_gold_on_a_few_of_many_items_finds_them_by_search() -> None:
    """Gold on under a quarter of the items is looked up by binary search, not through a
    dictionary of every item: the same codes, ids before, between and after the items
    ignored, a wrong value still an error."""
    items = [f"i{n:03d}" for n in range(0, 200, 2)]
    a = Answers.from_rows([(item, "w", "xy"[n % 2]) for n, item in enumerate(items)])
    gold = {"i000": "y", "i198": "x", "i100": "y", "i001": "x", "a": "x", "z": "y", "i50": "x"}
    codes = a.encode_gold(gold)
    assert {a.items[i]: int(c) for i, c in enumerate(codes) if c >= 0} == {
        "i000": 1,
        "i100": 1,
        "i198": 0,
    }
    every = {item: "x" for item in items}  # gold on every item: the dictionary path
    assert a.encode_gold(every).tolist() == [0] * len(items)
    with pytest.raises(InvalidAnswersError, match="not a class"):
        a.encode_gold({"i010": "nope"})


def test_numeric_answers_parse_exactly_and_dedupe() -> None:
    a = NumericAnswers.from_rows(
        [("i", "w1", "0.1"), ("i", "w1", 0.1), ("i", "w2", "-0"), ("j", "w2", "3"), ("j", "w2", 4)]
    )
    assert a.items == ("i",)
    assert a.value.tolist() == [0.1, 0.0]
    assert a.dropped_conflicts == 1
    with pytest.raises(InvalidAnswersError, match="finite"):
        NumericAnswers.from_rows([("i", "w", "nan")])
    with pytest.raises(InvalidAnswersError, match="non-numeric"):
        NumericAnswers.from_rows([("i", "w", "high")])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # Each was a bare Python error: OverflowError (no float holds 401 digits), then
        # IndexError and ValueError from unpacking rows that are not triples.
        ([("i", "w", 10**400)], r"^values must be finite \(an integer past any float\)$"),
        ([("i", "w", -(10**400)), ("j", "w", 1)], "^values must be finite"),
        ([("i", "w")], r"^every row must be \(item, annotator, value\)$"),
        ([("i", "w", 1), ("i", "w")], r"^every row must be \(item, annotator, value\)$"),
    ],
)
def test_numeric_answers_refuse_values_past_any_float_and_short_rows(
    rows: list[tuple[str, str, float]], message: str
) -> None:
    with pytest.raises(InvalidAnswersError, match=message):
        NumericAnswers.from_rows(rows)


def test_without_annotators_drops_their_answers_and_keeps_the_classes() -> None:
    data = Answers.from_rows([("i1", "x", "a"), ("i1", "y", "b"), ("i2", "y", "c")])
    kept = data.without_annotators(np.array([False, True]))  # drop "y"
    assert (kept.items, kept.annotators, kept.classes) == (("i1",), ("x",), ("a", "b", "c"))
    assert kept.label.tolist() == [0]
    assert data.without_annotators(np.array([False, False])).label.tolist() == [0, 1, 2]


def test_string_lists_encode_as_numpy_strings_do() -> None:
    """The fast path for lists of str (a set, a sort, a dict) gives the ids and codes of the
    numpy path on strings that sort differently by bytes, by UTF-16 and by code point."""
    rng = np.random.default_rng(7)
    alphabet = ["a", "B", "é", "中", "\U0001f600", "\ufb01", " ", "-", "0", "9", "\ud800"]
    for _ in range(200):
        values = [
            "".join(rng.choice(alphabet, size=int(rng.integers(1, 5))))
            for _ in range(int(rng.integers(1, 40)))
        ]
        fast = answers_module._encode_strings(values)
        assert fast is not None
        uniques, codes = np.unique(np.asarray(values, dtype=np.str_), return_inverse=True)
        assert fast[0] == tuple(str(u) for u in uniques)
        assert fast[1].tolist() == codes.reshape(-1).tolist()


def test_non_strings_and_nul_take_the_numpy_path() -> None:
    assert answers_module._encode_strings(["a", 1]) is None
    assert answers_module._encode_strings(["a\x00"]) is None  # numpy strips a trailing NUL
    assert answers_module._encode_strings(np.array(["a"])) is None
    assert answers_module._encode_strings([["a"], ["b"]]) is None
    with pytest.raises(InvalidAnswersError, match="one-dimensional"):
        Answers.from_arrays([["a"], ["b"]], ["w", "w"], ["x", "x"])
    a = Answers.from_arrays([2, "10", 2], ["w", "w", "v"], [True, "x", True])
    assert a.items == ("10", "2")
    assert a.classes == ("True", "x")
    with pytest.raises(InvalidAnswersError, match="empty item id"):
        Answers.from_arrays(["", "a"], ["w", "w"], ["x", "x"])


@pytest.mark.parametrize(("annotators", "classes"), [(300, 3), (30_000, 3)])
def test_key_runs_are_the_stable_sort_of_the_cells(annotators: int, classes: int) -> None:
    """The runs come from a 16-bit radix sort where the cells fit 16 bits (the first case)
    and from the int64 sort otherwise; both must be the stable order of the keys."""
    rng = np.random.default_rng(11)
    n = 20_000
    item = np.sort(rng.integers(0, 2_000, n))
    table = Answers.from_codes(
        item,
        rng.integers(0, annotators, n),
        rng.integers(0, classes, n),
        items=[f"i{i:05d}" for i in range(2_000)],
        annotators=[f"a{a:06d}" for a in range(annotators)],
        classes=[f"c{c}" for c in range(classes)],
    )
    order = np.argsort(table.key, kind="stable")
    items, starts, cells = table.key_runs
    assert np.array_equal(items, table.item[order])
    assert np.array_equal(cells, np.unique(table.key))
    assert np.array_equal(np.diff(np.append(starts, len(order))), np.bincount(table.key)[cells])
    counts = np.bincount(table.key, minlength=table.n_annotators * table.n_classes)
    assert np.array_equal(table.key_counts, counts)
    assert not table.key_counts.flags.writeable
    # the cells and their runs' starts without the sort: by counting in the first case, by
    # np.unique in the second; the same arrays as the sort's
    assert all(np.array_equal(a, b) for a, b in zip(table.key_cells, (starts, cells), strict=True))
    # each answer's run: by a look-up table in the first case, by binary search in the second
    assert np.array_equal(table.cell_of_answer, np.searchsorted(cells, table.key))
    assert np.array_equal(cells[table.cell_of_answer], table.key)
    assert not table.cell_of_answer.flags.writeable


def test_annotator_codes_are_checked_where_items_and_classes_are_built() -> None:
    """``from_annotator_codes`` checks only what its caller gives (annotator ids and
    codes): items and classes it encodes itself."""
    build = partial(Answers.from_annotator_codes, ["i", "j"], [0, 1], ["x", "y"])
    assert build(annotators=["v", "w"]).annotators == ("v", "w")
    with pytest.raises(InvalidAnswersError, match="annotator ids must be sorted and unique"):
        build(annotators=["w", "v"])
    with pytest.raises(InvalidAnswersError, match="annotator code out of range"):
        build(annotators=["v"])
    with pytest.raises(InvalidAnswersError, match="values outside the declared classes"):
        build(annotators=["v", "w"], classes=[])
    with pytest.raises(InvalidAnswersError, match="differ in length"):
        Answers.from_annotator_codes(["i"], [0, 0], ["x"], annotators=["v"])
