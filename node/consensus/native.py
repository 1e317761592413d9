"""Loading the native loops (``_kernels.c``) and checking them against the numpy definitions.

The loops do what :mod:`node.consensus.numerics` and the E-step of
:mod:`node.consensus.base` do in numpy, with the same IEEE operations in the same order, in
one call where numpy makes dozens. A validator whose loops gave other bits would attest
another payout root, so they are used only once they have reproduced the numpy definitions
on a fixed probe in this process; otherwise (or where they were not built, or
:data:`NATIVE_ENV` is ``0``) the numpy code runs: the same results, slower.

This module holds the probe; ``numerics`` hands it the definitions (:class:`Reference`), so
the check never depends on the loops it checks.
"""

from __future__ import annotations

import importlib
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt

from node.protocol.rules import PPB

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NATIVE_ENV = "LABELNET_NATIVE"
"""Set to ``0`` to run the numpy definitions even where the native loops are built: the same
results, slower (an operator's way out, and the benchmarks' "before")."""
THREADS_ENV = "LABELNET_THREADS"
"""The most threads the E-step and the per-cell sums may use, 1 to :data:`MAX_THREADS`;
unset, the CPUs this process may run on, within its cgroup's CPU quota (at most
:data:`MAX_THREADS`). The results are the same bits for every count: the loops split only
work whose parts add up exactly."""
MAX_THREADS = 16
"""The most threads ``_kernels.c`` runs a loop on (its ``MAX_THREADS``)."""
PROBE_SEED = 20261207
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class Reference:
    """What the loops must reproduce: the numpy definitions and the constants they use."""

    constants: Mapping[str, float | int | tuple[float, ...]]
    det_exp: Callable[[FloatArray], FloatArray]
    det_log: Callable[[FloatArray], FloatArray]
    softmax_ppb: Callable[[FloatArray], IntArray]
    shares_ppb: Callable[[FloatArray], IntArray]
    to_fixed_log: Callable[[FloatArray], FloatArray]
    clamp_rows: Callable[[IntArray, IntArray, IntArray], None]
    ppb_entropy_fixed: Callable[[IntArray, float, int], int]


def load(reference: Reference) -> ModuleType | None:
    """The native loops, or ``None`` where they were not built (the package installs without
    them), where :data:`NATIVE_ENV` is ``0``, or where they do not give ``reference``'s bits
    on :func:`agrees`'s probe (a build with fused multiply-adds or fast-math, say), which is
    also warned about."""
    if os.environ.get(NATIVE_ENV, "1") == "0":
        return None
    try:
        module = importlib.import_module("node.consensus._kernels")
    except ImportError:
        return None
    if not agrees(module, reference):
        warnings.warn(
            "node.consensus._kernels differs from the numpy definitions; not using it",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    module.parallel(loop_threads())
    return module


def loop_threads() -> int:
    """The threads the loops may use: :data:`THREADS_ENV` where it is a whole number from 1
    to :data:`MAX_THREADS`, otherwise (with a warning where it is set to something else)
    the CPUs this process may run on, no more than its cgroup's CPU quota allows
    (:func:`cgroup_cpus`), at most :data:`MAX_THREADS`."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cgroup_cpus()
    if quota is not None:
        usable = min(usable or quota, quota)
    default = max(1, min(usable or 1, MAX_THREADS))
    text = os.environ.get(THREADS_ENV)
    if text is None:
        return default
    if text.strip().isdigit() and 1 <= int(text) <= MAX_THREADS:
        return int(text)
    warnings.warn(
        f"{THREADS_ENV}={text!r} is not a whole number from 1 to {MAX_THREADS}; "
        f"using {default} threads",
        RuntimeWarning,
        stacklevel=2,
    )
    return default


def cgroup_cpus(root: Path = CGROUP_ROOT, membership: Path = PROC_CGROUP) -> int | None:
    """The CPUs this process's cgroup CPU quota allows, rounded up; ``None`` without one.

    Why: a container's CPU limit is a quota of CPU time, not a CPU mask, so the CPUs the
    process may run on (``sched_getaffinity``) can be the host's 64 where the quota is two;
    that many threads share two CPUs' time, and a loop waits for its slowest part. The
    limit is the smallest quota along the process's cgroup and its ancestors, in cgroup v2
    (``cpu.max``: ``quota period`` or ``max``) or v1 (``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``, ``-1`` for none). Unreadable or malformed files count as no
    limit: this only caps the threads, it never decides a result."""
    files = dict.fromkeys(_cgroup_quota_files(root, membership))  # each once, in order
    limits = [cpus for path in files if (cpus := _quota(path))]
    return min(limits) if limits else None


def _cgroup_quota_files(root: Path, membership: Path) -> Iterator[Path]:
    """The quota files of the process's cgroups and their ancestors (v2's ``cpu.max``, v1's
    ``cpu.cfs_quota_us``), with the hierarchy roots a container shows itself as."""
    try:
        lines = membership.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    v2, v1 = ["/"], ["/"]
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and not parts[1]:
            v2.append(parts[2])
        elif "cpu" in parts[1].split(","):
            v1.append(parts[2])
    for cgroup in v2:
        for folder in _with_ancestors(root, cgroup):
            yield folder / "cpu.max"
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for cgroup in v1:
            for folder in _with_ancestors(root / controller, cgroup):
                yield folder / "cpu.cfs_quota_us"


def _with_ancestors(base: Path, cgroup: str) -> Iterator[Path]:
    parts = [part for part in cgroup.split("/") if part and part not in (".", "..")]
    for depth in range(len(parts), -1, -1):
        yield base.joinpath(*parts[:depth])


def _quota(path: Path) -> int | None:
    """The CPUs one quota file allows (module :func:`cgroup_cpus`), or ``None``."""
    try:
        if path.name == "cpu.max":
            fields = path.read_text(encoding="utf-8").split()
            quota, period = fields[0], fields[1] if len(fields) > 1 else "100000"
        else:
            quota = path.read_text(encoding="utf-8").strip()
            period = (path.parent / "cpu.cfs_period_us").read_text(encoding="utf-8").strip()
        if quota == "max" or int(quota) <= 0 or int(period) <= 0:
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, IndexError):
        return None


LOOPS = (
    "constants",
    "parallel",
    "det_exp",
    "det_log",
    "ppb_entropy_fixed",
    "e_step",
    "answer_cell_sums",
    "argmax_rows",
    "column_sums",
    "shares_ppb",
    "pair_counts",
)
"""What a build must offer; one built from an older ``_kernels.c`` may lack some."""


def agrees(loops: ModuleType, reference: Reference) -> bool:
    """Whether ``loops`` offer every one of :data:`LOOPS`, hold ``reference``'s constants
    and give its bits on a fixed probe: exponentials over the clamp and past it, with the
    special values; logarithms over the normal and subnormal range; the fixed-point entropy
    sum; the E-step, the
    per-cell sums, the row argmax, the column sums and the row shares for every class count
    from 1 to 5 (a few milliseconds, once per process).
    A loop that refuses the probe's arguments (a stale build with other signatures) does
    not agree either."""
    if not all(callable(getattr(loops, name, None)) for name in LOOPS):
        return False
    try:
        return _probe(loops, reference)
    except (TypeError, ValueError, IndexError, BufferError):
        return False


def _probe(loops: ModuleType, reference: Reference) -> bool:
    """:func:`agrees`'s probe, on loops known to exist."""
    if loops.constants() != dict(reference.constants):
        return False
    rng = np.random.default_rng(PROBE_SEED)
    special = [0.0, -0.0, 700.0, -700.0, 709.0, -745.0, 1e300, -1e300, np.inf, -np.inf]
    x = np.concatenate((np.linspace(-760.0, 760.0, 4001), rng.normal(0.0, 20.0, 4000), special))
    got = np.empty_like(x)
    loops.det_exp(x, got)
    if not np.array_equal(got.view(np.int64), reference.det_exp(x).view(np.int64)):
        return False
    edges = [1.0, 0.5, _scalar(reference, "sqrt_half")]  # where frexp's mantissa is halved
    y = np.concatenate((np.exp2(rng.uniform(-1074.0, 1023.0, 4000)), edges))
    got = np.empty_like(y)
    if not loops.det_log(y, got):
        return False
    if not np.array_equal(got.view(np.int64), reference.det_log(y).view(np.int64)):
        return False
    if not all(
        _argmax_agrees(loops, k, rng) and _shares_agree(loops, reference, k, rng)
        for k in range(1, 6)
    ):
        return False
    if not _pair_counts_agree(loops, rng):
        return False
    return all(_split_agrees(loops, reference, threads, rng) for threads in (1, 3))


def _entropy_agrees(loops: ModuleType, reference: Reference, rng: np.random.Generator) -> bool:
    """The fixed-point entropy sum over parts per billion: the ends (0, 1 and ``PPB``),
    small and near-certain values, uniform ones, at the bound's bits and at 0 and 52; and
    ``None`` (nothing summed) for an entry outside ``[0, PPB]``."""
    ppb = np.concatenate(
        (
            np.array([0, 1, 2, 29, 30, 31, PPB - 1, PPB, PPB // 2], dtype=np.int64),
            rng.integers(0, 1000, 2000),
            PPB - rng.integers(0, 1000, 2000),
            rng.integers(0, PPB + 1, 4000),
        )
    )
    for floor, bits in ((1e-10, 20), (1e-10, 0), (1e-3, 52), (1.0, 20)):
        if loops.ppb_entropy_fixed(ppb, floor, bits) != reference.ppb_entropy_fixed(
            ppb, floor, bits
        ):
            return False
    bad = np.array([0, PPB + 1], dtype=np.int64)
    return loops.ppb_entropy_fixed(bad, 1e-10, 20) is None and (
        loops.ppb_entropy_fixed(-bad, 1e-10, 20) is None
    )


def _split_agrees(
    loops: ModuleType, reference: Reference, threads: int, rng: np.random.Generator
) -> bool:
    """The fixed-point entropy sum, the E-step and the per-cell sums on one thread, or split
    into parts of a single answer (or entry) on ``threads`` (the probe's tables in three
    parts); the loops' setting is put back after."""
    before = loops.parallel()
    loops.parallel(threads, 1 if threads > 1 else before[1])
    try:
        return _entropy_agrees(loops, reference, rng) and all(
            _e_step_agrees(loops, reference, k, rng) and _cell_sums_agree(loops, k, rng)
            for k in range(1, 6)
        )
    finally:
        loops.parallel(*before)


def _e_step_agrees(
    loops: ModuleType, reference: Reference, k: int, rng: np.random.Generator
) -> bool:
    """The native E-step against ``np.bincount`` sums, the reference softmax and the gold
    clamp (a fifth of the items), with the answers sorted by item (the loop's blocks of
    items; 150 items are three) and in no order (its two-pass way)."""
    n_items, n_rows, n_answers = 150, 12, 1200
    rows = reference.to_fixed_log(rng.uniform(-12.0, 0.0, (n_rows, k)))
    index = rng.integers(0, n_rows, n_answers)
    log_prior = rng.uniform(-3.0, 0.0, k)
    gold = np.where(rng.random(n_items) < 0.2, rng.integers(0, k, n_items), -1)
    scale = _scalar(reference, "log_fixed_scale")
    for item in (np.sort(rng.integers(0, n_items, n_answers)), rng.integers(0, n_items, n_answers)):
        cells = (item[:, None] * k + np.arange(k)[None, :]).reshape(-1)
        weights = rows.take(index, axis=0).reshape(-1)
        sums = np.bincount(cells, weights=weights, minlength=n_items * k)
        log_weights = np.add(np.divide(sums.reshape(n_items, k), scale), log_prior)
        got = np.empty((n_items, k), dtype=np.int64)
        totals = np.empty(k, dtype=np.int64)
        labels = np.empty(n_items, dtype=np.int64)
        loops.e_step(rows, index, item, log_prior, gold, got, totals, labels)
        want = reference.softmax_ppb(log_weights)
        reference.clamp_rows(want, np.flatnonzero(gold >= 0), gold)
        if not (
            np.array_equal(got, want)
            and np.array_equal(totals, want.sum(axis=0))
            and np.array_equal(labels, np.argmax(want, axis=1))
        ):
            return False
    return True


def _cell_sums_agree(loops: ModuleType, k: int, rng: np.random.Generator) -> bool:
    """The native per-cell sums against ``np.add.reduceat`` of the rows gathered cell by
    cell (cells 17 and 41 of 60 have no answers: their sums are 0; 2,000 answers, enough
    for three parts' tables of sums)."""
    probas = rng.integers(0, PPB + 1, (50, k))
    item = np.sort(rng.integers(0, 50, 2000))
    cell = rng.choice(np.setdiff1d(np.arange(60), [17, 41]), 2000)
    got = np.empty((60, k), dtype=np.int64)
    loops.answer_cell_sums(probas, item, cell, got, k)
    order = np.argsort(cell, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0])
    want = np.zeros((60, k), dtype=np.int64)
    want[cell[order][starts]] = np.add.reduceat(probas.take(item[order], axis=0), starts)
    return bool(np.array_equal(got, want))


def _pair_counts_agree(loops: ModuleType, rng: np.random.Generator) -> bool:
    """The native pair counts against every two counted rows of an item taken one by one
    (60 items of 0 to 6 answers from 7 annotators, a third of the items not counted), and
    ``False`` for rows out of item order."""
    per_item = rng.integers(0, 7, 60)
    item = np.repeat(np.arange(60), per_item)
    annotator = rng.integers(0, 7, len(item))
    label = rng.integers(0, 3, len(item))
    flags = (rng.random(60) < 0.67)[item].astype(np.uint8) | (
        rng.integers(0, 2, len(item)).astype(np.uint8) << np.uint8(1)
    )
    want = np.zeros((3, 49), dtype=np.int64)
    for i in range(len(item)):
        for j in range(i + 1, len(item)):
            if item[j] == item[i] and flags[i] & flags[j] & 1:
                cell = annotator[i] * 7 + annotator[j]
                same = label[i] == label[j]
                want[:, cell] += (1, same, same and flags[i] >> 1)
    got = np.full((3, 49), -1, dtype=np.int64)
    done = loops.pair_counts(item, annotator, label, flags, got[0], got[1], got[2], 7)
    if not (done is True and np.array_equal(got, want)):
        return False
    backwards = item[::-1].copy()
    return loops.pair_counts(backwards, annotator, label, flags, got[0], got[1], got[2], 7) is False


def _argmax_agrees(loops: ModuleType, k: int, rng: np.random.Generator) -> bool:
    """The native row argmax against ``np.argmax`` on integers with many ties and the
    extremes of int64, and the native column sums against numpy's."""
    values = rng.integers(-3, 3, (300, k))
    values[:5] = np.iinfo(np.int64).min
    values[5:10, -1] = np.iinfo(np.int64).max
    got = np.empty(300, dtype=np.int64)
    loops.argmax_rows(values, got, k)
    totals = np.empty(k, dtype=np.int64)
    loops.column_sums(values[10:], totals, k)  # the extremes would overflow
    return bool(
        np.array_equal(got, np.argmax(values, axis=1))
        and np.array_equal(totals, values[10:].sum(axis=0))
    )


def _shares_agree(
    loops: ModuleType, reference: Reference, k: int, rng: np.random.Generator
) -> bool:
    """The native row shares against the reference on vote counts, fractional weights,
    shares that round half a part to even (1 of 8 is 125,000,000.0 exactly; 1 of 2e9,
    half a part) and a row of zeros (NaN shares)."""
    values = np.concatenate(
        (rng.integers(0, 6, (60, k)).astype(np.float64), rng.uniform(0.0, 3.0, (60, k)))
    )
    values[0, 0] = 1.0 if k == 1 else 0.0
    values[1] = 1.0
    values[1, 0] = 2e9 - (k - 1.0) if k > 1 else 1.0
    values[2] = 0.0
    got = np.empty(values.shape, dtype=np.int64)
    loops.shares_ppb(values, got, k)
    with np.errstate(invalid="ignore"):
        want = reference.shares_ppb(values)
    return bool(np.array_equal(got, want))


def _scalar(reference: Reference, name: str) -> float:
    value = reference.constants[name]
    if not isinstance(value, float):
        raise TypeError(f"constant {name} is {value!r}, not a float")
    return value
