"""The demo's cut of a crowd data set gives every replayed worker something to answer.

``labelnet demo --items 40 --annotators 4`` on zheng_d_product ended in a traceback: its
items have three answers each, the 40 items most of the four chosen workers answered were
all the first three's, and the fourth worker's node had nothing to replay (issue #18).
"""

from __future__ import annotations

import pytest

from client.demo.dataset import load_dataset
from client.demo.runner import default_datasets_dir


@pytest.mark.parametrize(
    ("name", "items", "annotators"),
    [("zheng_d_product", 40, 4), ("zheng_d_product", 20, 12), ("zheng_n_emotion", 500, 12)],
)
def test_every_worker_answers_some_chosen_item(name: str, items: int, annotators: int) -> None:
    cut = load_dataset(default_datasets_dir() / name, items=items, annotators=annotators)
    assert len(cut.items) == items and len(cut.workers) == annotators
    assert all(cut.answers[worker] for worker in cut.workers)
    assert all(set(answers) <= set(cut.items) for answers in cut.answers.values())


def test_a_worker_left_out_gets_a_fair_share() -> None:
    cut = load_dataset(default_datasets_dir() / "zheng_d_product", items=40, annotators=4)
    # 40 // (2 * 4) = 5 of the fourth worker's items replace the least covered ones.
    assert sorted(len(answers) for answers in cut.answers.values()) == [5, 35, 40, 40]


def test_the_default_cut_is_unchanged() -> None:
    cut = load_dataset(default_datasets_dir() / "zheng_d_product", items=300, annotators=10)
    counts = sorted(len(answers) for answers in cut.answers.values())
    assert counts == [16, 17, 32, 32, 32, 57, 81, 195, 203, 235]
    assert cut.n_answers == 900
