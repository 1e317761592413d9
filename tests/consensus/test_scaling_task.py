"""``scripts/scaling_task.py``: the one-coin task the 10M-answer lines were measured on keeps
its bytes, and the class-dependent one is a task where ``hds@9``'s polish runs."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from scaling_task import scaling_task

from node.consensus.polished_ds import PolishedDawidSkene

ONE_COIN_20K = "80d8d9b5a81fd0e218937bec4559dd72a7fd674c2a89050af39bbef6d3fce1f9"
"""The one-coin task of 20,000 answers as session 20 measured it (before ``rows``)."""


def digest(n_answers: int, rows: str) -> str:
    answers, truth, _ = scaling_task(n_answers, rows)
    arrays = (answers.item, answers.annotator, answers.label, truth)
    return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()


def test_the_one_coin_task_keeps_its_bytes() -> None:
    assert digest(20_000, "one_coin") == ONE_COIN_20K
    assert digest(20_000, "class_dependent") != ONE_COIN_20K


def test_class_dependent_rows_differ_by_true_class_and_the_polish_runs() -> None:
    answers, truth, _ = scaling_task(50_000, "class_dependent")
    right = answers.label == truth[answers.item]
    per_class = np.bincount(truth[answers.item], weights=right) / np.bincount(truth[answers.item])
    assert 0.6 < per_class.min() < per_class.max() < 0.8  # the crowd's, averaged over rows
    fitted = PolishedDawidSkene().fit(answers)
    assert fitted.strength_ < fitted.max_strength  # rows scatter: the polish is tried
    assert fitted.polish_iterations_ > 0
    one_coin = PolishedDawidSkene().fit(scaling_task(50_000)[0])
    assert one_coin.strength_ == one_coin.max_strength
    assert one_coin.polish_iterations_ == 0


def test_answers_per_item_can_be_fewer() -> None:
    answers, truth, _ = scaling_task(30_000, "one_coin", per_item=3)
    assert len(truth) == 10_000 and answers.n_items <= 10_000
    assert answers.max_item_answers == 3 and len(answers) > 29_000  # a few repeats dropped


def test_unknown_rows_and_empty_items_are_refused() -> None:
    with pytest.raises(ValueError, match="rows must be one of"):
        scaling_task(1_000, "neighbours")
    with pytest.raises(ValueError, match="per_item must be at least 1"):
        scaling_task(1_000, "one_coin", per_item=0)
