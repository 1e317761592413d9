"""Replay a benchmark data set as a labelnet task (used by the cross-process test).

    python -m tests.consensus.replay NAME ORDER [Z [ALGORITHM]]
        ->  prints "<cid> <payout root hex>"

ORDER is ``forward`` or ``reverse``: the order in which answers are fed in. Z is the
reward rule's ``significance_z`` (default: the rule's default; ``0`` is the rule of tasks
created before the evidence test). ALGORITHM defaults to ``rds@1``, the algorithm the
pinned replays were made with (not the current default: a new default must not move old
pins); a numeric id (``robust-mean@2``) replays NAME as a numeric task, its labels and gold
as JSON numbers. The bloc test runs as on new tasks unless
:func:`replay` is told otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from eth_utils.crypto import keccak

from node.consensus.registry import NUMERIC
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.canonical import JsonValue
from node.protocol.ids import BLOC_TEST_ID
from node.protocol.kinds import TaskKind
from node.protocol.labels import LabelBatch
from node.protocol.rules import DEFAULT_SIGNIFICANCE_Z, RewardParams
from tests.consensus.helpers import load_dataset

PINNED_ALGORITHM = "rds@1"
ROOT = Path(__file__).resolve().parents[2]


def worker_address(worker: str) -> str:
    return "0x" + keccak(text=worker)[-20:].hex()


def replay(
    name: str,
    reverse: bool = False,
    significance_z: str = DEFAULT_SIGNIFICANCE_Z,
    bloc_test: str = BLOC_TEST_ID,
    algorithm: str = PINNED_ALGORITHM,
) -> ConsensusOutcome:
    rows, gold = load_dataset(name)
    numeric = algorithm in NUMERIC
    if reverse:
        rows = rows[::-1]
    per_annotator: dict[str, list[tuple[str, JsonValue]]] = defaultdict(list)
    for item, worker, label in rows:
        per_annotator[worker_address(worker)].append((item, float(label) if numeric else label))
    batches = [LabelBatch.create(1, a, labels) for a, labels in per_annotator.items()]
    if reverse:
        batches = batches[::-1]
    revealed: dict[str, JsonValue] = {
        item: float(label) if numeric else label
        for n, (item, label) in enumerate(sorted(gold.items()))
        if n % 10 == 0
    }
    params = RewardParams.create(
        reward_per_label=10**15, reward_pool=10**22, significance_z=significance_z
    )
    if numeric:  # the bloc test is categorical: numeric tasks name none
        spec = TaskSpec(1, params, algorithm=algorithm, kind=TaskKind.NUMERIC)
    else:
        spec = TaskSpec(1, params, algorithm=algorithm, bloc_test=bloc_test)
    return run_consensus(spec, batches, gold=revealed)


def replayed_everywhere(name: str, algorithm: str = PINNED_ALGORITHM) -> str:
    """``"<cid> <payout root hex>"`` of ``name`` replayed as an ``algorithm`` task (gold
    revealed, bloc test on) in two fresh interpreters fed in opposite orders with different
    hash seeds, and in this one; AssertionError unless all three give the same bytes. What
    every determinism pin of an algorithm id checks before comparing with its pinned
    value."""
    printed = [
        subprocess.run(
            [sys.executable, "-m", "tests.consensus.replay", name, order, "2.576", algorithm],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=180,
        ).stdout.strip()
        for order, seed in (("forward", "11"), ("reverse", "9090"))
    ]
    local = replay(name, algorithm=algorithm)
    here = f"{local.cid} {local.payout_root.hex()}"
    assert printed == [here, here], (printed, here)
    return here


if __name__ == "__main__":
    z = sys.argv[3] if len(sys.argv) > 3 else DEFAULT_SIGNIFICANCE_Z
    algorithm = sys.argv[4] if len(sys.argv) > 4 else PINNED_ALGORITHM
    outcome = replay(
        sys.argv[1], reverse=sys.argv[2] == "reverse", significance_z=z, algorithm=algorithm
    )
    print(outcome.cid, outcome.payout_root.hex())
