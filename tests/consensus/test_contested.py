"""``contested@1`` (node/consensus/contested.py): a hand-checkable fixture for every clause of
the rule, and the set of two real data sets pinned."""

from __future__ import annotations

import numpy as np
from eth_utils.crypto import keccak

from node.consensus.answers import Answers
from node.consensus.contested import contested_items, contested_set
from node.consensus.result import CategoricalConsensus
from node.consensus.task import categorical_consensus
from node.protocol.ids import STAGED_DAWID_SKENE
from node.protocol.review import ReviewParams
from tests.consensus.helpers import load_dataset

PPB = 10**9
# Ten items, two classes: (item, top posterior in ppb, gold?). By hand, with threshold 0.8:
# candidates (not gold, top < 0.8) are b .5, c .6, e .7, f .6, h .79, j .5 (a and d are gold,
# g is 0.8 exactly, i is 0.95). Ordered by (posterior, id): b, j, c, f, e, h.
ROWS = [
    ("a", 500_000_000, True),
    ("b", 500_000_000, False),
    ("c", 600_000_000, False),
    ("d", 550_000_000, True),
    ("e", 700_000_000, False),
    ("f", 600_000_000, False),
    ("g", 800_000_000, False),
    ("h", 790_000_000, False),
    ("i", 950_000_000, False),
    ("j", 500_000_000, False),
]


def fixture() -> tuple[list[str], np.ndarray, np.ndarray]:
    items = [item for item, _, _ in ROWS]
    probas = np.array([[top, PPB - top] for _, top, _ in ROWS], dtype=np.int64)
    gold = np.array([0 if is_gold else -1 for _, _, is_gold in ROWS], dtype=np.int64)
    return items, probas, gold


def test_the_hand_checked_sets() -> None:
    items, probas, gold = fixture()
    threshold = 800_000_000
    # cap = floor(share * 10): 0.3 -> 3 items: b, j (0.5, ids b < j), then c (0.6, c < f).
    assert contested_items(items, probas, gold, threshold, 300_000_000) == ("b", "c", "j")
    # 0.4 -> 4: adds f; 0.39 -> 3 (floor).
    assert contested_items(items, probas, gold, threshold, 400_000_000) == ("b", "c", "f", "j")
    assert contested_items(items, probas, gold, threshold, 390_000_000) == ("b", "c", "j")
    # A cap above the candidates names every candidate and nothing else (g is not under).
    assert contested_items(items, probas, gold, threshold, PPB) == ("b", "c", "e", "f", "h", "j")
    # Share 0.09 of 10 items is no item at all.
    assert contested_items(items, probas, gold, threshold, 90_000_000) == ()
    # Below 1: every non-gold item short of certainty (g and i join).
    every = contested_items(items, probas, gold, PPB, PPB)
    assert every == ("b", "c", "e", "f", "g", "h", "i", "j")


def test_the_set_does_not_depend_on_row_order() -> None:
    items, probas, gold = fixture()
    order = np.arange(len(items))[::-1]
    shuffled = contested_items(
        [items[i] for i in order], probas[order], gold[order], 8 * 10**8, 4 * 10**8
    )
    assert shuffled == contested_items(items, probas, gold, 8 * 10**8, 4 * 10**8)


def test_gold_items_are_never_contested() -> None:
    items, probas, gold = fixture()
    every = contested_items(items, probas, gold, PPB, PPB)
    assert not {"a", "d"} & set(every)


def _fit(name: str, gold: dict[str, str] | None = None) -> CategoricalConsensus:
    rows, _ = load_dataset(name)
    columns = list(zip(*rows, strict=True))
    answers = Answers.from_arrays(columns[0], columns[1], columns[2])
    return categorical_consensus(answers, gold or {}, STAGED_DAWID_SKENE)


def _pin(items: tuple[str, ...]) -> str:
    return keccak(text="\n".join(items)).hex()


def test_real_sets_are_pinned() -> None:
    """``hds@2`` on temp (462 items) and web (2,665): the sets every node must name."""
    temp = _fit("temp")
    confident = ReviewParams.create(1, 1, contested_below="0.8")
    assert contested_set(temp, confident) == ("149_7",)
    default = ReviewParams.create(1, 1)
    full = contested_set(temp, default)
    assert len(full) == 46
    assert _pin(full) == "6ef72ba83624d9f58192c10a8c0bd117cfa80a00a6dea24ccfd3671f060ddca9"
    web = contested_set(_fit("web"), default)
    assert len(web) == 266  # the cap, floor(0.1 * 2,665)
    assert _pin(web) == "f2712c7c7797542f02df2144d9a9636c0796df5d18742d84a363d0c94106e39f"
