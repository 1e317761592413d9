"""``scripts/adversaries.py``, the adversaries of ``bench_incentives.py`` and of the
selection rule's attacked units: each replaces exactly the chosen annotators' answers, and
the later ones (``biased``, ``prior``, ``flip``) answer as the module says, on a table big
enough for the shares to be tight."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import adversaries  # noqa: E402

from node.consensus.answers import Answers  # noqa: E402


def table() -> Answers:
    """2,000 items, 20 annotators answering all of them, three classes answered 60/30/10."""
    rng = np.random.default_rng(3)
    items, annotators = 2_000, 20
    label = rng.choice(3, size=items * annotators, p=[0.6, 0.3, 0.1])
    return Answers.from_codes(
        np.repeat(np.arange(items), annotators),
        np.tile(np.arange(annotators), items),
        label,
        items=[f"i{i:05d}" for i in range(items)],
        annotators=[f"a{a:02d}" for a in range(annotators)],
        classes=["x", "y", "z"],
    )


@pytest.mark.parametrize("strategy", adversaries.STRATEGIES)
def test_only_the_replaced_annotators_change(strategy: str) -> None:
    answers = table()
    attacked, bad = adversaries.attack(answers, 0.3, strategy, np.random.default_rng(0))
    assert int(bad.sum()) == 6
    honest = ~bad[answers.annotator]
    assert np.array_equal(attacked.label[honest], answers.label[honest])
    assert np.array_equal(attacked.item, answers.item)


def test_later_strategies_answer_as_documented() -> None:
    answers = table()
    shares = np.bincount(answers.label, minlength=3) / len(answers.label)
    for strategy in ("biased", "prior", "flip"):
        attacked, bad = adversaries.attack(answers, 0.3, strategy, np.random.default_rng(1))
        rows = bad[answers.annotator]
        given = attacked.label[rows]
        got = np.bincount(given, minlength=3) / len(given)
        if strategy == "flip":
            assert np.array_equal(given, (answers.label[rows] + 1) % 3)
        elif strategy == "biased":  # the favourite (class 0) 0.8 + 0.2 / 3 of the time
            assert abs(got[0] - (0.8 + 0.2 / 3)) < 0.01
            assert abs(got[1] - got[2]) < 0.01
        else:  # as often as the crowd gives each class, whatever the item
            assert np.allclose(got, shares, atol=0.01)
            agree = np.mean(given == answers.label[rows])
            assert abs(agree - float(np.sum(shares**2))) < 0.01


def test_the_seed_order_of_the_first_strategies_is_kept() -> None:
    """A run's seed includes the strategy's index, so the figures of the original three
    strategies stay comparable only if they keep their places."""
    assert adversaries.STRATEGIES[:3] == ("random", "constant", "colluding")
    assert adversaries.FIRST_STRATEGIES == ("random", "constant", "colluding")
