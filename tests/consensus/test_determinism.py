"""Determinism is a protocol rule: the same revealed labels must give every validator the
same result document bytes and the same payout root, however they are ordered or batched."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator
from node.consensus.dawid_skene import DawidSkene
from node.consensus.majority_vote import MajorityVote
from node.consensus.one_coin import OneCoinDawidSkene
from node.consensus.regularized_ds import RegularizedDawidSkene
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.ids import BLOC_TEST_ID
from node.protocol.labels import LabelBatch
from node.protocol.rules import RewardParams
from tests.consensus.helpers import address
from tests.consensus.replay import replayed_everywhere

ROOT = Path(__file__).resolve().parents[2]
ESTIMATORS: list[Callable[[], CategoricalEstimator]] = [
    MajorityVote,
    DawidSkene,
    OneCoinDawidSkene,
    RegularizedDawidSkene,
]
Labels = dict[tuple[int, str], str]  # (annotator number, item) -> class


@st.composite
def tasks(draw: st.DrawFn) -> tuple[Labels, dict[str, str]]:
    """Up to 6 annotators x 8 items, each answer present or not, plus some gold."""
    n_annotators = draw(st.integers(1, 6))
    items = [f"item-{i}" for i in range(draw(st.integers(1, 8)))]
    labels: Labels = {}
    for a in range(n_annotators):
        for item in items:
            value = draw(st.none() | st.sampled_from(["a", "b", "c"]))
            if value is not None:
                labels[a, item] = value
    if not labels:
        labels[0, items[0]] = "a"
    answered = sorted({item for _, item in labels})
    gold = {
        item: draw(st.sampled_from(["a", "b", "c"]))
        for item in answered[:: draw(st.integers(2, 9))]
    }
    return labels, gold


def batches_of(labels: Labels, names: Callable[[int], str] = address) -> list[LabelBatch]:
    per_annotator: dict[int, list[tuple[str, str]]] = {}
    for (a, item), value in sorted(labels.items()):
        per_annotator.setdefault(a, []).append((item, value))
    return [LabelBatch.create(1, names(a), rows) for a, rows in per_annotator.items()]


def outcome(batches: list[LabelBatch], gold: dict[str, str]) -> ConsensusOutcome:
    params = RewardParams.create(reward_per_label=10**18, reward_pool=10**21)
    spec = TaskSpec(1, params, classes=("a", "b", "c"), bloc_test=BLOC_TEST_ID)
    return run_consensus(spec, batches, gold)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def split_randomly(batches: list[LabelBatch], rnd: random.Random) -> list[LabelBatch]:
    """The same labels, each annotator's split into 1-3 batches, all in a random order."""
    pieces = []
    for batch in batches:
        rows = list(batch.labels)
        rnd.shuffle(rows)
        cuts = sorted(rnd.sample(range(1, len(rows)), rnd.randint(1, min(3, len(rows))) - 1))
        for start, stop in itertools.pairwise([0, *cuts, len(rows)]):
            pieces.append(LabelBatch.create(1, batch.annotator, rows[start:stop]))
    rnd.shuffle(pieces)
    return pieces


@SETTINGS
@given(tasks(), st.randoms(use_true_random=False))
def test_batch_order_and_splitting_do_not_matter(
    task: tuple[Labels, dict[str, str]], rnd: random.Random
) -> None:
    labels, gold = task
    reference = outcome(batches_of(labels), gold)
    again = outcome(split_randomly(batches_of(labels), rnd), dict(reversed(list(gold.items()))))
    assert again.document_bytes == reference.document_bytes
    assert again.cid == reference.cid
    assert again.payout_root == reference.payout_root


@SETTINGS
@given(tasks(), st.permutations(range(6)))
def test_renaming_annotators_renames_the_result_and_nothing_else(
    task: tuple[Labels, dict[str, str]], permutation: list[int]
) -> None:
    """Annotator order follows their addresses; renaming them reorders the canonical rows,
    yet every item's posterior and every annotator's figures stay the same to the bit,
    because every sum over answers is exact."""
    labels, gold = task
    first = outcome(batches_of(labels), gold)
    renamed = outcome(batches_of(labels, lambda a: address(10 + permutation[a])), gold)
    assert first.document["items"] == renamed.document["items"]
    before = {a["account"]: a for a in first.document["annotators"]}
    after = {a["account"]: a for a in renamed.document["annotators"]}
    for n in {a for a, _ in labels}:
        old = before[next(k for k in before if k.lower() == address(n))]  # checksummed
        new = after[next(k for k in after if k.lower() == address(10 + permutation[n]))]
        assert {k: v for k, v in old.items() if k != "account"} == {
            k: v for k, v in new.items() if k != "account"
        }
    assert first.document["krippendorff_alpha"] == renamed.document["krippendorff_alpha"]
    assert first.total_payout == renamed.total_payout


@settings(max_examples=40, deadline=None)
@given(tasks(), st.randoms(use_true_random=False))
def test_every_estimator_ignores_row_order(
    task: tuple[Labels, dict[str, str]], rnd: random.Random
) -> None:
    labels, gold = task
    rows = [(item, f"w{a}", value) for (a, item), value in labels.items()]
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    for make in ESTIMATORS:
        one = make().fit(Answers.from_rows(rows, classes=["a", "b", "c"]), gold)
        two = make().fit(Answers.from_rows(shuffled, classes=["a", "b", "c"]), gold)
        np.testing.assert_array_equal(one.probas_ppb_, two.probas_ppb_)


def test_two_processes_produce_identical_bytes() -> None:
    """The rte data set (800 items, 164 annotators) replayed as a task in two separate
    interpreters, fed in opposite orders with different hash seeds, and in this one."""
    forward = replayed_everywhere("rte")
    # Pinned: a different value on any machine means the computation is not reproducible
    # there, or that it changed (then it is a new algorithm version).
    assert forward == (
        "bafkreib3oijbhpr2ozj7bn2yemanke33tk6w4y6ea6n6cmewohra6zpzs4 "
        "83a5f7d4944075f3ad924c89ae3717b797fb0fe7cc5b5d8fb952166a6c1a0d02"
    )


def test_tasks_from_before_the_bloc_test_keep_their_bytes() -> None:
    """A task whose manifest has no ``bloc_test`` runs none; its result must be the exact
    bytes validators produced before the bloc test existed (pinned then)."""
    from tests.consensus.replay import replay

    old = replay("rte", bloc_test="")
    assert f"{old.cid} {old.payout_root.hex()}" == (
        "bafkreigpd3tniiyijolrxe5bg7bqqhkgg6nfemtvf7ihmy3shsvrp72zwi "
        "83a5f7d4944075f3ad924c89ae3717b797fb0fe7cc5b5d8fb952166a6c1a0d02"
    )


def test_tasks_from_before_the_evidence_test_keep_their_bytes() -> None:
    """A task whose manifest has no ``significance_z`` reads it as 0; its result must be
    the exact bytes validators produced before the evidence test existed (pinned then)."""
    from tests.consensus.replay import replay

    old = replay("rte", significance_z="0", bloc_test="")
    assert f"{old.cid} {old.payout_root.hex()}" == (
        "bafkreihjkv6fxz55gigtr4rrr6jqqkinkm3yjr7maanie5x33qgdrr52ie "
        "eff29526c85f2271e136c76da31c9021968cc40587de7765d5d17ae2d62b8ddc"
    )
