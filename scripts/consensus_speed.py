"""The speed half of ``bench_consensus.py`` (issue #15): the default's build and fit against
crowd-kit's DawidSkene on one real set, and the synthetic scaling task, each size in a
fresh subprocess so its peak resident memory is its own.

    python scripts/consensus_speed.py N_ANSWERS KEY   # one scaling run; prints its JSON
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from consensus_candidates import DEFAULT_KEY, LABELNET, estimator_for  # noqa: E402
from scaling_task import PER_ITEM, scaling_task  # noqa: E402

from node.consensus.answers import Answers  # noqa: E402
from node.consensus.base import CategoricalEstimator  # noqa: E402
from node.consensus.numerics import native_kernels  # noqa: E402


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def fit_with(make: Callable[[], CategoricalEstimator], answers: Answers) -> CategoricalEstimator:
    return make().fit(answers)


def scaling_worker(
    n_answers: int, key: str = DEFAULT_KEY, rows: str = "one_coin", per_item: int = PER_ITEM
) -> dict[str, float | bool | str]:
    """Fit the default (or the estimator ``key`` of :data:`LABELNET`, or the registered
    algorithm id ``key``) to the scaling task of ``n_answers`` answers, ``per_item`` an
    item, with confusion ``rows`` (:mod:`scaling_task`)."""
    answers, truth, build = scaling_task(n_answers, rows, per_item)
    make = estimator_for(key)
    cpu_start = time.process_time()
    fitted, fit = timed(lambda: make().fit(answers))
    fit_cpu = time.process_time() - cpu_start
    kept_items = np.array([int(i) for i in fitted.items_])
    acc = float(np.mean(fitted.label_codes_ == truth[kept_items]))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "answers": len(answers),
        "seconds": fit,
        "cpu_seconds": fit_cpu,
        "build_seconds": build,
        "peak_mb": peak_mb,
        "accuracy": acc,
        "native_loops": native_kernels() is not None,
        "rows": rows,
        "per_item": per_item,
        "polish_iterations": int(getattr(fitted, "polish_iterations_", 0)),
    }


def scaling(
    sizes: list[int], key: str = DEFAULT_KEY, rows: str = "one_coin", per_item: int = PER_ITEM
) -> list[dict[str, float | bool | str]]:
    results = []
    for size in sizes:
        completed = subprocess.run(
            [sys.executable, __file__, str(size), key, rows, str(per_item)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f"  {size:>11,d} answers: fit {result['seconds']:6.2f}s "
            f"(cpu {result['cpu_seconds']:6.2f}s)  "
            f"(+ build {result['build_seconds']:5.2f}s)  peak {result['peak_mb']:7.0f} MB  "
            f"acc {result['accuracy']:.4f}  polish iterations {result['polish_iterations']}",
            flush=True,
        )
        results.append(result)
    return results


def speed_set(
    rows: list[list[str]],
    repeats: int,
    make: Callable[[], CategoricalEstimator] | None = None,
) -> dict[str, Any]:
    """Best of ``repeats`` runs of ``make``'s estimator (the default's without one; build +
    fit, and fit alone) and of crowd-kit's DawidSkene on one set: the speed columns without
    the accuracy study, and steadier than one run on a shared machine (both sides get the
    same number of tries)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

    columns = list(zip(*rows, strict=True))
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    build = fit = crowdkit = float("inf")
    for _ in range(repeats):
        answers, seconds = timed(lambda: Answers.from_arrays(columns[0], columns[1], columns[2]))
        build = min(build, seconds)
        estimator = LABELNET[DEFAULT_KEY] if make is None else make
        fit = min(fit, timed(partial(fit_with, estimator, answers))[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, seconds = timed(lambda: CrowdKitDawidSkene(n_iter=100).fit_predict(frame))
        crowdkit = min(crowdkit, seconds)
    return {
        "answers": len(rows),
        "build_seconds": build,
        "fit_seconds": fit,
        "crowdkit_ds_seconds": crowdkit,
        "speedup_vs_crowdkit_ds": crowdkit / (build + fit),
        "fit_speedup_vs_crowdkit_ds": crowdkit / fit,
    }


if __name__ == "__main__":
    print(json.dumps(scaling_worker(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))))
