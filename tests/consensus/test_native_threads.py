"""The native E-step and per-cell sums split over threads (``_kernels.c``'s ``parallel``):
the same bits for every thread count and every way of cutting the table, and the same
errors. The tests cut tables of a few thousand answers into parts of any size by setting
the fewest answers a part to 1."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from node.consensus import native as native_module
from node.consensus import numerics
from node.consensus.registry import CATEGORICAL
from node.protocol.rules import PPB
from tests.consensus.test_fast_paths import sparse, tables
from tests.consensus.test_native import numpy_e_step

THREADS = [1, 2, 3, 5, 16]


@pytest.fixture(name="native")
def fixture_native() -> Iterator[ModuleType]:
    module = numerics.native_kernels()
    assert module is not None, "the native loops were not built, or differ from numpy"
    before = module.parallel()
    try:
        yield module
    finally:
        module.parallel(*before)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_e_step_gives_the_same_integers_in_any_number_of_parts(
    native: ModuleType, threads: int, k: int
) -> None:
    """Sorted answers are cut at whole blocks of items (a part may hold items with no
    answers at all); unsorted ones make a part find its answers out of order, and the
    whole is redone in one part the two-pass way. Both give numpy's integers, totals and
    labels."""
    rng = np.random.default_rng(300 + 10 * threads + k)
    n_items, n_answers = 1000, 6000
    rows = numerics.to_fixed_log(rng.uniform(-20.0, 0.0, (60, k)))
    index = rng.integers(0, 60, n_answers)
    log_prior = numerics.det_log(np.full(k, 1.0 / k))
    gold = np.where(rng.random(n_items) < 0.2, rng.integers(0, k, n_items), -1)
    ordered = np.sort(rng.integers(0, n_items, n_answers))
    gap = ordered[(ordered < 200) | (ordered >= 520)]  # blocks 4 to 7 have no answers
    backwards = ordered.copy()
    backwards[-1] = 0
    native.parallel(threads, 1)
    for item in (ordered, gap, rng.permutation(ordered), backwards):
        at = index[: len(item)]
        want = numpy_e_step(rows, at, item, log_prior, gold)
        got = np.full((n_items, k), -1, dtype=np.int64)
        totals = np.full(k, -1, dtype=np.int64)
        labels = np.full(n_items, -1, dtype=np.int64)
        native.e_step(rows, at, item, log_prior, gold, got, totals, labels)
        assert np.array_equal(got, want)
        assert np.array_equal(totals, want.sum(axis=0))
        assert np.array_equal(labels, np.argmax(want, axis=1))


@pytest.mark.parametrize("threads", [2, 3, 16])
def test_a_code_out_of_range_in_any_part_is_refused(native: ModuleType, threads: int) -> None:
    rng = np.random.default_rng(threads)
    n_items, k = 640, 3
    item = np.sort(rng.integers(0, n_items, 4000))
    index = rng.integers(0, 10, 4000)
    rows = numerics.to_fixed_log(rng.uniform(-5.0, 0.0, (10, k)))
    out = np.empty((n_items, k), dtype=np.int64)
    totals, labels = np.empty(k, dtype=np.int64), np.empty(n_items, dtype=np.int64)
    none = np.full(n_items, -1)
    native.parallel(threads, 1)
    for where in (0, 2000, 3999):
        bad_row = index.copy()
        bad_row[where] = 10
        with pytest.raises(IndexError):
            native.e_step(rows, bad_row, item, np.zeros(k), none, out, totals, labels)
    past = np.append(item, n_items)  # an answer past the last item, in the last part
    with pytest.raises(IndexError):
        native.e_step(rows, np.append(index, 0), past, np.zeros(k), none, out, totals, labels)
    probas = rng.integers(0, PPB + 1, (n_items, k))
    cell = rng.integers(0, 5, 4000)
    sums = np.empty((5, k), dtype=np.int64)
    for where in (0, 2000, 3999):
        bad_cell = cell.copy()
        bad_cell[where] = 5
        with pytest.raises(IndexError):
            native.answer_cell_sums(probas, item, bad_cell, sums, k)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("k", [1, 2, 5])
def test_answer_cell_sums_are_the_same_in_any_number_of_parts(
    native: ModuleType, threads: int, k: int
) -> None:
    """Each part past the first sums into a table of its own, added in at the end
    (wrapping as numpy's int64 does); a table of sums too large beside the answers is not
    split at all. Either way, ``np.add.reduceat``'s integers."""
    rng = np.random.default_rng(400 + 10 * threads + k)
    probas = rng.integers(0, PPB + 1, (300, k))
    probas[:3] = 2**62  # sums that wrap
    for n_cells in (40, 5000):
        item = rng.integers(0, 300, 20_000)
        cell = rng.integers(0, n_cells - 2, 20_000)  # the last two cells have no answers
        native.parallel(threads, 1)
        got = np.full((n_cells, k), -1, dtype=np.int64)
        native.answer_cell_sums(probas, item, cell, got, k)
        order = np.argsort(cell, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0])
        want = np.zeros((n_cells, k), dtype=np.int64)
        with np.errstate(over="ignore"):
            want[cell[order][starts]] = np.add.reduceat(probas.take(item[order], axis=0), starts)
        assert np.array_equal(got, want)


@pytest.mark.parametrize("algorithm", ["hds@9", "ds@1", "mv@1"])
def test_estimators_fit_the_same_bits_on_any_number_of_threads(
    native: ModuleType, algorithm: str
) -> None:
    answers = [tables()[0], sparse(2), sparse(4)]
    fits = []
    for threads in (1, 3):
        native.parallel(threads, 1)
        fits.append([CATEGORICAL[algorithm]().fit(a).probas_ppb_.tobytes() for a in answers])
    assert fits[0] == fits[1]


def test_parallel_refuses_what_it_cannot_run(native: ModuleType) -> None:
    with pytest.raises(ValueError, match="threads must be 1 to 16"):
        native.parallel(17)
    with pytest.raises(ValueError, match="threads must be"):
        native.parallel(-1)
    with pytest.raises(ValueError, match="min_part"):
        native.parallel(1, -5)
    assert native.parallel(4, 9) == (4, 9)
    assert native.parallel() == (4, 9)  # zeros leave the setting as it is


def test_the_environment_sets_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native_module.THREADS_ENV, raising=False)
    default = native_module.loop_threads()
    assert 1 <= default <= native_module.MAX_THREADS
    monkeypatch.setenv(native_module.THREADS_ENV, "3")
    assert native_module.loop_threads() == 3
    for bad in ("0", "17", "two", "-1", ""):
        monkeypatch.setenv(native_module.THREADS_ENV, bad)
        with pytest.warns(RuntimeWarning, match="LABELNET_THREADS"):
            assert native_module.loop_threads() == default
    monkeypatch.setenv(native_module.THREADS_ENV, "1")
    numerics.native_kernels.cache_clear()
    try:
        loops = numerics.native_kernels()
        assert loops is not None and loops.parallel()[0] == 1
    finally:
        monkeypatch.delenv(native_module.THREADS_ENV)
        numerics.native_kernels.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numerics.native_kernels() is not None


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("membership", "files", "cpus"),
    [
        ("0::/\n", {"cpu.max": "150000 100000\n"}, 2),  # a v2 container: one and a half
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),
        ("0::/a/b\n", {"a/b/cpu.max": "max 100000\n", "a/cpu.max": "50000 100000\n"}, 1),
        (
            "5:cpu,cpuacct:/docker/x\n4:memory:/docker/x\n",
            {
                "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "300000\n",
                "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n",
            },
            3,
        ),
        ("5:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000"}, None),
        ("5:cpu:/\n", {"cpu/cpu.cfs_quota_us": "200000\n"}, None),  # no period: unreadable
        ("0::/\n", {"cpu.max": "two cpus\n"}, None),
        ("garbage\n", {}, None),
    ],
)
def test_the_cgroup_quota_caps_the_threads(
    tmp_path: Path, membership: str, files: dict[str, str], cpus: int | None
) -> None:
    root = tmp_path / "cgroup"
    root.mkdir()
    for relative, text in files.items():
        _write(root, relative, text)
    _write(tmp_path, "self-cgroup", membership)
    assert native_module.cgroup_cpus(root, tmp_path / "self-cgroup") == cpus


def test_loop_threads_take_the_smaller_of_the_cpus_and_the_quota(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(native_module.THREADS_ENV, raising=False)
    monkeypatch.setattr(native_module, "cgroup_cpus", lambda: 1)
    assert native_module.loop_threads() == 1
    monkeypatch.setattr(native_module, "cgroup_cpus", lambda: 1000)
    cpus = len(os.sched_getaffinity(0))
    assert native_module.loop_threads() == min(cpus, native_module.MAX_THREADS)
    monkeypatch.setenv(native_module.THREADS_ENV, "3")
    assert native_module.loop_threads() == 3  # an operator's setting wins


def test_no_cgroup_files_is_no_quota() -> None:
    assert native_module.cgroup_cpus(Path("/nonexistent"), Path("/nonexistent")) is None
