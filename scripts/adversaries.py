"""The adversaries of the incentive simulation (``bench_incentives.py``) and of the
selection rule's attacked units (``consensus_attacked.py``), written once: each replaces a
share of a task's annotators, who then answer the same items as those they replace.

* ``random``: a uniformly random class for every answer;
* ``constant``: always the task's most frequently answered class (the best constant);
* ``colluding``: all adversaries give the *same* class on each item, drawn at random per
  item, to fake agreement;
* ``biased``: a lazy answerer with a favourite: the task's most frequently answered class
  with probability :data:`BIASED_SHARE`, otherwise a uniformly random class;
* ``prior``: a class drawn from the task's answer distribution (as often as the crowd gives
  each class, knowing nothing about the item);
* ``flip``: a saboteur who knows the answer: the replaced annotator's own answer moved to
  the next class (``(label + 1) mod K``; on two classes, the opposite answer).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers

STRATEGIES = ("random", "constant", "colluding", "biased", "prior", "flip")
"""Appended, never reordered: a run's seed includes the strategy's index."""
FIRST_STRATEGIES = STRATEGIES[:3]
"""The strategies of the original summary table."""
BIASED_SHARE = 0.8


def replaced(answers: Answers, fraction: float, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Which annotators ``fraction`` of them, drawn at random, are: the adversary mask (the
    first draw of every attack, so its seeds pick the same annotators)."""
    bad = np.zeros(answers.n_annotators, dtype=bool)
    bad[
        rng.choice(answers.n_annotators, size=round(fraction * answers.n_annotators), replace=False)
    ] = True
    return bad


def commonest(answers: Answers) -> int:
    """The task's most frequently answered class (the lowest code on a tie)."""
    return int(np.bincount(answers.label, minlength=answers.n_classes).argmax())


def relabelled(answers: Answers, labels: npt.NDArray[np.int64]) -> Answers:
    """The same rows with ``labels`` in place of their answers."""
    return Answers.from_codes(
        answers.item,
        answers.annotator,
        labels,
        items=answers.items,
        annotators=answers.annotators,
        classes=answers.classes,
    )


def attack(
    answers: Answers, fraction: float, strategy: str, rng: np.random.Generator
) -> tuple[Answers, npt.NDArray[np.bool_]]:
    """The answers with ``fraction`` of annotators replaced; also the adversary mask."""
    bad = replaced(answers, fraction, rng)
    rows = bad[answers.annotator]
    labels = np.array(answers.label, copy=True)
    k = answers.n_classes
    if strategy == "random":
        labels[rows] = rng.integers(0, k, int(rows.sum()))
    elif strategy == "constant":
        labels[rows] = commonest(answers)
    elif strategy == "colluding":
        shared = rng.integers(0, k, answers.n_items)
        labels[rows] = shared[answers.item[rows]]
    elif strategy == "biased":
        n = int(rows.sum())
        favourite = commonest(answers)
        labels[rows] = np.where(rng.random(n) < BIASED_SHARE, favourite, rng.integers(0, k, n))
    elif strategy == "prior":
        shares = np.bincount(answers.label, minlength=k) / float(len(answers.label))
        labels[rows] = rng.choice(k, size=int(rows.sum()), p=shares)
    elif strategy == "flip":
        labels[rows] = (labels[rows] + 1) % k
    else:
        raise ValueError(strategy)
    return relabelled(answers, labels), bad
