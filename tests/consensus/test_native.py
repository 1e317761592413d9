"""The native loops (``node/consensus/_kernels.c``) against the numpy definitions of
:mod:`node.consensus.numerics` and :mod:`node.consensus.base`: the same bits everywhere, or
they must not be used. CI builds them (``pip install -e``), so a build that fails, or that
gives other bits, fails here."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.consensus import base, numerics
from node.consensus import native as native_module
from node.consensus.answers import Answers
from node.consensus.registry import CATEGORICAL
from node.protocol.errors import ConsensusError
from node.protocol.rules import PPB
from tests.consensus.test_fast_paths import sparse, tables


@pytest.fixture(name="native")
def fixture_native() -> ModuleType:
    module = numerics.native_kernels()
    assert module is not None, "the native loops were not built, or differ from numpy"
    return module


def bits(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64).tobytes()


def test_det_exp_gives_numpys_bits(native: ModuleType) -> None:
    rng = np.random.default_rng(1)
    special = [0.0, -0.0, 5e-324, -5e-324, 700.0, -700.0, 700.5, -745.2, 1e308, -math.inf]
    x = np.concatenate(
        (np.linspace(-800.0, 800.0, 160_001), rng.normal(0.0, 40.0, 200_000), special)
    )
    assert bits(numerics.det_exp(x)) == bits(numerics._det_exp_numpy(x))
    # NaN in, NaN out (numpy's cast of NaN to an exponent warns; the value is NaN either way)
    got = numerics.det_exp(np.array([math.nan]))
    assert math.isnan(float(got[0]))


def test_det_log_gives_numpys_bits(native: ModuleType) -> None:
    rng = np.random.default_rng(2)
    special = [5e-324, 1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 1.0, 0.5]
    y = np.concatenate(
        (np.exp2(rng.uniform(-1074.0, 1024.0, 200_000)), rng.uniform(0.0, 1.0, 1000), special)
    )
    y = y[(y > 0.0) & np.isfinite(y)]
    assert bits(numerics.det_log(y)) == bits(numerics._det_log_numpy(y))


@pytest.mark.parametrize(("floor", "bits"), [(1e-10, 20), (1e-10, 0), (0.25, 52), (1.0, 7)])
def test_ppb_entropy_fixed_gives_numpys_integer(
    native: ModuleType, floor: float, bits: int
) -> None:
    rng = np.random.default_rng(bits)
    ppb = np.concatenate(
        (
            rng.integers(0, PPB + 1, (30_000, 5)).reshape(-1),
            np.array([0, 1, 30, 31, PPB - 477, PPB - 1, PPB]),
            rng.integers(0, 50, 1000),
        )
    )
    want = numerics._ppb_entropy_fixed_numpy(ppb, floor, bits, numerics._det_log_numpy)
    assert numerics.ppb_entropy_fixed(ppb, floor, bits) == want
    assert native.ppb_entropy_fixed(ppb.reshape(-1, 1), floor, bits) == want  # any shape
    before = native.parallel()
    try:
        native.parallel(7, 1)  # seven parts of whole entries: integer sums, the same
        assert native.ppb_entropy_fixed(ppb, floor, bits) == want
    finally:
        native.parallel(*before)


def test_ppb_entropy_fixed_leaves_entries_outside_ppb_to_numpy(native: ModuleType) -> None:
    """A loop that sees an entry outside ``[0, PPB]`` sums nothing; the definition then
    runs in numpy, where the floor and the logarithm take any integer."""
    for outside in (np.array([5, -1, 7]), np.array([PPB + 1, 0])):
        assert native.ppb_entropy_fixed(outside, 1e-10, 20) is None
        assert numerics.ppb_entropy_fixed(outside, 1e-10, 20) == (
            numerics._ppb_entropy_fixed_numpy(outside, 1e-10, 20, numerics._det_log_numpy)
        )
    assert native.ppb_entropy_fixed(np.zeros(0, dtype=np.int64), 1e-10, 20) == 0
    for floor, bits in ((0.0, 20), (1.5, 20), (1e-10, 53), (1e-10, -1)):
        with pytest.raises(ValueError, match="ppb_entropy_fixed"):
            native.ppb_entropy_fixed(np.zeros(3, dtype=np.int64), floor, bits)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, -0.0])
def test_det_log_rejects_what_numpy_rejects(native: ModuleType, bad: float) -> None:
    with pytest.raises(ConsensusError):
        numerics.det_log(np.array([1.0, bad]))


def test_shapes_and_empty_arrays_keep_their_form(native: ModuleType) -> None:
    matrix = np.arange(1.0, 13.0).reshape(3, 4)
    for function, numpy_form in ((numerics.det_exp, numerics._det_exp_numpy),):
        assert function(matrix).shape == (3, 4)
        assert bits(function(matrix.T)) == bits(numpy_form(np.ascontiguousarray(matrix.T)))
        assert function(np.zeros(0)).shape == (0,)
        assert function(np.float64(0.5)).shape == ()
    assert numerics.det_log(matrix).shape == (3, 4)
    assert numerics.det_log(np.zeros(0)).shape == (0,)
    assert float(numerics.det_log(np.float64(1.0))) == 0.0


def e_step_routes(answers: Answers, rows: np.ndarray, index: np.ndarray) -> list[bytes]:
    """The E-step's posteriors by the native loop and by each numpy route."""
    log_prior = numerics.det_log(np.full(answers.n_classes, 1.0 / answers.n_classes))
    out = [base.e_step_from_rows(answers, rows, index, log_prior, no_gold(answers)).tobytes()]
    out.append(base._e_step_small(answers, rows, index, log_prior).tobytes())
    if len(answers.item_starts) == answers.n_items:
        out.append(base._e_step_by_items(answers, rows, index, log_prior).tobytes())
    return out


def many_classes(k: int) -> Answers:
    """Two to six answers per item from 30 annotators, ``k`` classes named to sort."""
    rng = np.random.default_rng(100 + k)
    per_item = rng.integers(2, 7, 500)
    item = np.repeat(np.arange(500), per_item)
    annotator = rng.integers(0, 30, len(item))
    return Answers.from_codes(
        item,
        annotator,
        rng.integers(0, k, len(item)),
        items=[f"i{i:03d}" for i in range(500)],
        annotators=[f"a{a:02d}" for a in range(30)],
        classes=[f"c{c:02d}" for c in range(k)],
    )


def no_gold(answers: Answers) -> np.ndarray:
    return np.full(answers.n_items, -1, dtype=np.int64)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 20])
def test_e_step_gives_every_routes_integers(native: ModuleType, vector_unit: str, k: int) -> None:
    answers = many_classes(k)
    rng = np.random.default_rng(k)
    cells = answers.n_annotators * k
    # Fixed-point rows with exact zeros of both signs, the floor and ties in the softmax.
    rows = numerics.to_fixed_log(rng.uniform(-70.0, 0.0, (cells, k)))
    rows[rng.random(rows.shape) < 0.05] = -0.0
    rows[rng.random(rows.shape) < 0.05] = numerics.LOG_FLOOR * numerics.LOG_FIXED_SCALE
    if k > 1:
        rows[: cells // 4, 1] = rows[: cells // 4, 0]
    routes = e_step_routes(answers, rows, answers.key)
    assert all(route == routes[0] for route in routes[1:])


@pytest.fixture(params=["avx2", "baseline"])
def vector_unit(request: pytest.FixtureRequest, native: ModuleType) -> Iterator[str]:
    """Each vector unit the E-step's four-lane loop can run on here, then the import's."""
    chosen = native.vector_unit()
    if request.param == "avx2" and chosen != "avx2":
        pytest.skip("this CPU has no AVX2")  # the baseline case still runs
    native.vector_unit(request.param)
    try:
        yield request.param
    finally:
        native.vector_unit(chosen)


@pytest.mark.parametrize("k", [3, 4, 5, 7])
@pytest.mark.parametrize("n_items", [1, 3, 4, 5, 9])
def test_e_step_four_items_a_lane_and_the_rest(
    native: ModuleType, vector_unit: str, k: int, n_items: int
) -> None:
    """Past two classes the loop takes the items four at a time, one a vector lane, and the
    last few one by one: every count of items, and rows of NaN and infinities (whose
    shares are NaN and take to_ppb1's rounding lane by lane), give numpy's integers."""
    rng = np.random.default_rng(7 * k + n_items)
    item = np.repeat(np.arange(n_items), 3)
    answers = Answers.from_codes(
        item,
        np.tile(np.arange(3), n_items),
        rng.integers(0, k, len(item)),
        items=[f"i{i}" for i in range(n_items)],
        annotators=["a", "b", "c"],
        classes=[f"c{c}" for c in range(k)],
    )
    rows = numerics.to_fixed_log(rng.uniform(-40.0, 0.0, (3 * k, k)))
    if n_items > 2:
        rows[rng.integers(0, 3 * k)] = [np.nan, *([0.0] * (k - 1))]
        rows[rng.integers(0, 3 * k), 0] = np.inf
        rows[rng.integers(0, 3 * k), -1] = -np.inf
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        routes = e_step_routes(answers, rows, answers.key)
    assert all(route == routes[0] for route in routes[1:])


def numpy_e_step(
    rows: np.ndarray, index: np.ndarray, item: np.ndarray, log_prior: np.ndarray, gold: np.ndarray
) -> np.ndarray:
    """What the native ``e_step`` must give: ``np.bincount`` sums of the answers' rows, the
    reference softmax and the gold rows clamped."""
    n_items, k = len(gold), len(log_prior)
    cells = (item[:, None] * k + np.arange(k)[None, :]).reshape(-1)
    weights = rows.take(index, axis=0).reshape(-1)
    sums = np.bincount(cells, weights=weights, minlength=n_items * k).reshape(n_items, k)
    want = numerics.softmax_ppb(sums / numerics.LOG_FIXED_SCALE + log_prior)
    numerics.clamp_rows(want, np.flatnonzero(gold >= 0), gold)
    return want


@pytest.mark.parametrize("k", [2, 3, 5])
def test_e_step_takes_answers_in_any_order(native: ModuleType, vector_unit: str, k: int) -> None:
    """Sorted by item, the loop sums a block of items at a time; an item that goes back to
    an earlier block sends it the two-pass way. Both give numpy's integers: each item's
    sum added in row order, as ``np.bincount`` adds it, and the gold items' rows clamped
    (with the totals and labels of the clamped rows)."""
    rng = np.random.default_rng(50 + k)
    n_items, n_answers = 300, 2000
    rows = numerics.to_fixed_log(rng.uniform(-20.0, 0.0, (40, k)))
    index = rng.integers(0, 40, n_answers)
    log_prior = numerics.det_log(np.full(k, 1.0 / k))
    gold = np.where(rng.random(n_items) < 0.2, rng.integers(0, k, n_items), -1)
    ordered = np.sort(rng.integers(0, n_items, n_answers))
    backwards = ordered.copy()
    backwards[-1] = 0  # the last answer goes back to the first block
    for item in (ordered, rng.permutation(ordered), backwards):
        want = numpy_e_step(rows, index, item, log_prior, gold)
        got = np.empty((n_items, k), dtype=np.int64)
        totals = np.full(k, -1, dtype=np.int64)
        labels = np.full(n_items, -1, dtype=np.int64)
        native.e_step(rows, index, item, log_prior, gold, got, totals, labels)
        assert np.array_equal(got, want)
        assert np.array_equal(totals, want.sum(axis=0))  # the same on either way
        assert np.array_equal(labels, np.argmax(want, axis=1))


def test_e_step_on_a_table_larger_than_a_chunk(native: ModuleType) -> None:
    answers = tables()[1]  # one item alone holds more answers than a chunk of rows
    rng = np.random.default_rng(3)
    rows = numerics.to_fixed_log(rng.uniform(-20.0, 0.0, (answers.n_annotators * 3, 3)))
    log_prior = numerics.det_log(np.array([0.2, 0.3, 0.5]))
    gold = no_gold(answers)
    native_probas = base.e_step_from_rows(answers, rows, answers.key, log_prior, gold)
    chunked = base.SMALL_TABLE  # past it, the numpy E-step goes a class and a chunk at a time
    assert len(answers) * 3 > chunked
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base, "native_kernels", lambda: None)
        numpy_probas = base.e_step_from_rows(answers, rows, answers.key, log_prior, gold)
    assert native_probas.tobytes() == numpy_probas.tobytes()


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_answer_cell_sums_give_reduceats_integers(native: ModuleType, k: int) -> None:
    rng = np.random.default_rng(10 + k)
    probas = rng.integers(0, PPB + 1, (300, k))
    item = rng.integers(0, 300, 5000)  # in any order: integer sums
    cell = rng.integers(0, 700, 5000)
    got = np.full((702, k), -1, dtype=np.int64)  # cells 700 and 701 have no answers
    native.answer_cell_sums(probas, item, cell, got, k)
    order = np.argsort(cell, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0])
    want = np.zeros((702, k), dtype=np.int64)
    want[cell[order][starts]] = np.add.reduceat(probas.take(item[order], axis=0), starts)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 20])
def test_argmax_rows_gives_numpys_first_maximum(native: ModuleType, k: int) -> None:
    rng = np.random.default_rng(30 + k)
    values = rng.integers(-2, 2, (4000, k))  # ties in most rows
    values[:3] = np.iinfo(np.int64).min
    values[3:6, -1] = np.iinfo(np.int64).max
    got = np.empty(4000, dtype=np.int64)
    native.argmax_rows(values, got, k)
    assert np.array_equal(got, np.argmax(values, axis=1))
    assert np.array_equal(numerics.argmax_lowest(values), got)
    totals = np.empty(k, dtype=np.int64)
    native.column_sums(values, totals, k)  # the extremes wrap, as numpy's sums do
    with np.errstate(over="ignore"):
        assert np.array_equal(totals, values.sum(axis=0))
    assert np.array_equal(base.column_totals(values), totals)
    with pytest.raises(ValueError, match="inconsistent"):
        native.argmax_rows(values, got, k + 1)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 20])
def test_shares_ppb_give_the_definitions_integers(native: ModuleType, k: int) -> None:
    rng = np.random.default_rng(60 + k)
    votes = rng.integers(0, 7, (3000, k)).astype(np.float64)
    votes[votes.sum(axis=1) == 0, 0] = 1.0  # every item has an answer
    weights = rng.uniform(0.001, 4.0, (3000, k))
    for values in (votes, weights, weights[:0]):
        got = numerics.shares_ppb(values)
        assert np.array_equal(got, numerics._shares_ppb_numpy(values))
        assert got.dtype == np.int64 and got.shape == values.shape
    strided = weights[:, ::-1]  # not C-contiguous: the numpy definition
    assert np.array_equal(numerics.shares_ppb(strided), numerics._shares_ppb_numpy(strided))


def test_the_e_steps_totals_and_labels_follow_the_clamped_gold(native: ModuleType) -> None:
    """The native E-step takes the column totals and the labels before gold is clamped;
    those it returns are the clamped rows', as numpy's sums and argmax of them are."""
    answers = tables()[0]
    rng = np.random.default_rng(4)
    k = answers.n_classes
    rows = numerics.to_fixed_log(rng.uniform(-9.0, 0.0, (answers.n_annotators * k, k)))
    log_prior = numerics.det_log(np.full(k, 1.0 / k))
    gold = no_gold(answers)
    gold[::5] = rng.integers(0, k, len(gold[::5]))
    probas, totals, labels = base.e_step_posteriors(answers, rows, answers.key, log_prior, gold)
    assert np.array_equal(totals, probas.sum(axis=0))
    assert np.array_equal(labels, np.argmax(probas, axis=1))
    assert np.all(probas[::5].max(axis=1) == PPB)
    assert np.array_equal(labels[::5], gold[::5])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base, "native_kernels", lambda: None)
        patch.setattr(numerics, "native_kernels", lambda: None)
        on_numpy = base.e_step_posteriors(answers, rows, answers.key, log_prior, gold)
    assert probas.tobytes() == on_numpy.ppb.tobytes()
    assert np.array_equal(totals, on_numpy.totals)
    assert np.array_equal(labels, on_numpy.labels)


def test_answer_cell_sums_wrap_as_numpy_does(native: ModuleType) -> None:
    probas = np.array([[2**62, 1], [2**62, 2]], dtype=np.int64)
    got = np.empty((1, 2), dtype=np.int64)
    native.answer_cell_sums(probas, np.array([0, 1, 0]), np.zeros(3, dtype=np.int64), got, 2)
    with np.errstate(over="ignore"):
        want = probas[[0, 1, 0]].sum(axis=0)
    assert np.array_equal(got, want[None, :])


def test_the_loops_refuse_bad_arguments(native: ModuleType) -> None:
    rows = np.zeros((4, 2))
    index, item = np.array([0, 4]), np.array([0, 1])
    out, totals = np.empty((2, 2), dtype=np.int64), np.empty(2, dtype=np.int64)
    labels, none = np.empty(2, dtype=np.int64), np.full(2, -1)
    with pytest.raises(IndexError):
        native.e_step(rows, index, item, np.zeros(2), none, out, totals, labels)  # row 4 of 4
    with pytest.raises(IndexError):  # item 2 of 2
        native.e_step(
            rows, np.array([0, 1]), np.array([0, 2]), np.zeros(2), none, out, totals, labels
        )
    with pytest.raises(ValueError, match="inconsistent"):
        native.e_step(rows, index, item, np.zeros(3), none, out, totals, labels)
    ok = np.array([0, 1])
    with pytest.raises(ValueError, match="inconsistent"):  # a total for each class
        native.e_step(rows, ok, item, np.zeros(2), none, out, np.empty(3, np.int64), labels)
    with pytest.raises(ValueError, match="inconsistent"):  # a label for each item
        native.e_step(rows, ok, item, np.zeros(2), none, out, totals, np.empty(3, np.int64))
    with pytest.raises(ValueError, match="not C-contiguous"):
        native.e_step(np.zeros((4, 4))[:, ::2], index, item, np.zeros(2), none, out, totals, labels)
    readonly = np.frombuffer(bytes(32), np.int64)
    with pytest.raises((BufferError, ValueError)):  # the outputs must be writable
        native.e_step(rows, index, item, np.zeros(2), none, readonly, totals, labels)
    with pytest.raises((BufferError, ValueError)):
        native.e_step(rows, ok, item, np.zeros(2), none, out, readonly[:2], labels)
    with pytest.raises((BufferError, ValueError)):
        native.e_step(rows, ok, item, np.zeros(2), none, out, totals, readonly[:2])
    with pytest.raises(IndexError, match="gold class"):  # class 2 of 2
        native.e_step(rows, ok, item, np.zeros(2), np.array([-1, 2]), out, totals, labels)
    with pytest.raises(ValueError, match="inconsistent"):  # a gold code for each item
        native.e_step(rows, ok, item, np.zeros(2), np.full(3, -1), out, totals, labels)
    with pytest.raises(ValueError, match="inconsistent"):
        native.shares_ppb(np.ones((3, 2)), np.empty((2, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="inconsistent"):
        native.shares_ppb(np.ones((3, 2)), np.empty((3, 2), dtype=np.int64), 0)
    probas, sums = np.zeros((3, 2), dtype=np.int64), np.empty((2, 2), dtype=np.int64)
    with pytest.raises(IndexError):  # item 3 of 3
        native.answer_cell_sums(probas, np.array([0, 3, 2]), np.array([0, 1, 1]), sums, 2)
    with pytest.raises(IndexError):  # cell 2 of 2
        native.answer_cell_sums(probas, np.array([0, 1, 2]), np.array([0, 2, 1]), sums, 2)
    with pytest.raises(IndexError):
        native.answer_cell_sums(probas, np.array([0, -1, 2]), np.array([0, 1, 1]), sums, 2)
    with pytest.raises(ValueError, match="inconsistent"):
        native.answer_cell_sums(probas, np.array([0, 1, 2]), np.array([0, 1]), sums, 2)
    with pytest.raises(ValueError, match="inconsistent"):
        native.answer_cell_sums(probas, np.array([0, 1, 2]), np.array([0, 1, 1]), sums, 4)
    with pytest.raises(ValueError, match="inconsistent"):
        native.answer_cell_sums(probas, np.array([0, 1, 2]), np.array([0, 1, 1]), sums, 0)
    with pytest.raises(ValueError, match="differ in length"):
        native.det_exp(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="whole"):
        native.det_log(np.zeros(3, dtype=np.int32), np.zeros(2))


@pytest.mark.parametrize("algorithm", sorted(CATEGORICAL))
def test_every_estimator_fits_the_same_bits_either_way(
    native: ModuleType, algorithm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [tables()[0], sparse(2), sparse(4)]
    with_native = [CATEGORICAL[algorithm]().fit(a).probas_ppb_.tobytes() for a in answers]
    monkeypatch.setattr(numerics, "native_kernels", lambda: None)
    monkeypatch.setattr(base, "native_kernels", lambda: None)
    without = [CATEGORICAL[algorithm]().fit(a).probas_ppb_.tobytes() for a in answers]
    assert with_native == without


def test_loops_that_differ_from_numpy_are_not_used(
    native: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = numerics.numpy_reference()
    assert native_module.agrees(native, reference)
    wrong_constant = SimpleNamespace(**vars(native))
    wrong_constant.constants = lambda: {**native.constants(), "ln2_lo": 1.9e-10}
    assert not native_module.agrees(wrong_constant, reference)  # type: ignore[arg-type]

    def exp_one_ulp_off(source: np.ndarray, target: np.ndarray) -> None:
        native.det_exp(source, target)
        target[len(target) // 2] = np.nextafter(target[len(target) // 2], math.inf)

    off = SimpleNamespace(**vars(native))
    off.det_exp = exp_one_ulp_off
    assert not native_module.agrees(off, reference)  # type: ignore[arg-type]
    entropy_off = SimpleNamespace(**vars(native))
    entropy_off.ppb_entropy_fixed = lambda *args: native.ppb_entropy_fixed(*args) + 1
    assert not native_module.agrees(entropy_off, reference)  # type: ignore[arg-type]
    stale = SimpleNamespace(**{k: v for k, v in vars(native).items() if k != "answer_cell_sums"})
    assert not native_module.agrees(stale, reference)  # type: ignore[arg-type]

    def e_step_of_another_signature(*args: np.ndarray) -> None:
        raise TypeError("e_step() takes exactly 6 arguments (5 given)")

    other = SimpleNamespace(**vars(native))
    other.e_step = e_step_of_another_signature
    assert not native_module.agrees(other, reference)  # type: ignore[arg-type]
    # and load() refuses such loops with a warning: the numpy code runs instead
    monkeypatch.setattr(native_module.importlib, "import_module", lambda name: off)
    with pytest.warns(RuntimeWarning, match="differs from the numpy definitions"):
        assert native_module.load(reference) is None


def test_the_environment_can_turn_the_loops_off(
    native: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(native_module.NATIVE_ENV, "0")
    numerics.native_kernels.cache_clear()
    try:
        assert numerics.native_kernels() is None
        assert bits(numerics.det_exp(np.array([-1.5]))) == bits(
            numerics._det_exp_numpy(np.array([-1.5]))
        )
    finally:
        monkeypatch.delenv(native_module.NATIVE_ENV)
        numerics.native_kernels.cache_clear()
    assert numerics.native_kernels() is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=40))
def test_det_exp_gives_numpys_bits_on_any_floats(values: list[float]) -> None:
    x = np.array(values, dtype=np.float64)
    assert numerics.native_kernels() is not None
    assert bits(numerics.det_exp(x)) == bits(numerics._det_exp_numpy(x))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_infinity=False),
        min_size=1,
        max_size=40,
    )
)
def test_det_log_gives_numpys_bits_on_any_positive_floats(values: list[float]) -> None:
    y = np.array(values, dtype=np.float64)
    assert numerics.native_kernels() is not None
    assert bits(numerics.det_log(y)) == bits(numerics._det_log_numpy(y))
