"""``scripts/consensus_grid.py``: the regimes of dominant annotators give the share of answers
the module docstring states, with the dominant annotators' stated behaviour, deterministically
per seed; and the regimes that existed before them still generate the same answers (the
grid's scores stay comparable across runs)."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import consensus_grid as grid

# sha256 of item, annotator, label, truth and accuracy bytes, from the generator as it was
# before the dominant regimes were added (branch prior15, commit 04f1eeb).
PINS = {
    "K4-n500-r5-w50-uniform-uniform-one_coin-even-s0": (
        "860cbd882d9d507c0cef1d3bdfca498f841ca4aeb73f5e9be9318ac32343a27e"
    ),
    "K4-n500-r5-w500-uniform-uniform-one_coin-sparse-s1": (
        "304338d1c34bc9407c299f9eca8684a2c12a4477d58352fc1d129f149dd11722"
    ),
    "K10-n700-r4-w30-uniform-zipf-class_dependent-even-s2": (
        "b2bbb4ec0548507c2b011177223f978de441c71ed49869bf0485302460ee8532"
    ),
    "K4-n500-r5-w50-uniform-uniform-biased-even-s0": (
        "86ee3266d34a9e712c7b936c30cb1acb79154af5c9d501d3c1128c453503c510"
    ),
}


def digest(task: grid.Task) -> str:
    h = hashlib.sha256()
    for array in (task.item, task.annotator, task.label, task.truth, task.accuracy):
        h.update(array.tobytes())
    return h.hexdigest()


def test_older_regimes_generate_the_same_answers() -> None:
    regimes = {r.name: r for r in grid.full_grid(30, 50_000)}
    for name, pin in PINS.items():
        assert digest(grid.generate(regimes[name])) == pin, name


def test_the_full_grid_holds_every_dominant_regime_once() -> None:
    names = [r.name for r in grid.full_grid(30, 50_000)]
    assert len(names) == len(set(names))
    dominant = [r.name for r in grid.dominant_grid()]
    assert len(dominant) == 36
    assert set(dominant) <= set(names)
    assert {r.activity for r in grid.short_grid()} >= set(grid.DOMINANT)


@pytest.mark.parametrize("regime", grid.dominant_grid()[::5], ids=lambda r: r.name)
def test_the_dominant_annotators_give_the_stated_share(regime: grid.Regime) -> None:
    task = grid.generate(regime)
    d = grid.dominant_count(regime.annotators)
    assert 3 <= d <= 6
    share = float(np.mean(task.annotator < d))
    assert abs(share - grid.dominant_share(regime.annotators, regime.per_item)) < 0.02
    per_annotator = np.bincount(task.annotator, minlength=regime.annotators)
    assert per_annotator[d:].max() < per_annotator[:d].min() / 3
    # every item has per_item answers from distinct annotators
    assert len(task.item) == regime.items * regime.per_item
    assert len(np.unique(task.item * regime.annotators + task.annotator)) == len(task.item)


@pytest.mark.parametrize("activity", grid.DOMINANT)
def test_deterministic_per_seed(activity: str) -> None:
    regime = replace(grid.BASE, annotators=40, per_item=4, activity=activity, seed=1)
    assert digest(grid.generate(regime)) == digest(grid.generate(regime))
    assert digest(grid.generate(regime)) != digest(grid.generate(replace(regime, seed=2)))


def test_the_dominant_kinds_behave_as_stated() -> None:
    base = replace(grid.BASE, classes=2, items=5000, annotators=40, per_item=4, seed=1)
    d = grid.dominant_count(40)
    # correlated: the dominant annotators' false class-0 answers fall on the same items
    task = grid.generate(replace(base, activity="dominant_correlated"))
    wrong = np.zeros((d, base.items), dtype=bool)
    asked = np.zeros((d, base.items), dtype=bool)
    dom = task.annotator < d
    a, i, lab = task.annotator[dom], task.item[dom], task.label[dom]
    asked[a, i] = True
    wrong[a, i] = (lab == 0) & (task.truth[i] == 1)
    both = asked[0] & asked[1] & (task.truth == 1)
    joint = float(np.mean(wrong[0][both] & wrong[1][both]))
    independent = float(np.mean(wrong[0][both]) * np.mean(wrong[1][both]))
    assert joint > 1.5 * independent
    # informative: annotator 0 is right on class 0 far more often than on class 1
    task = grid.generate(replace(base, activity="dominant_informative"))
    zero = task.annotator == 0
    truth = task.truth[task.item[zero]]
    hit = task.label[zero] == truth
    assert float(np.mean(hit[truth == 0])) > 0.9 > 0.7 > float(np.mean(hit[truth == 1]))
    # experts: the dominant annotators are the most accurate
    task = grid.generate(replace(base, activity="dominant_experts"))
    assert task.accuracy[:d].min() >= 0.9 > float(np.median(task.accuracy[d:]))


def test_the_held_out_regimes_are_none_of_the_selection_grids() -> None:
    """``--grid held-out`` measures a choice on regimes the choice never saw: no name (and
    so no data seed with the same factors) of the full grid, and the same draw every time."""
    held = grid.held_out_grid(80, 50_000)
    assert len(held) == 80 and len({r.name for r in held}) == 80
    assert not {r.name for r in held} & {r.name for r in grid.full_grid(30, 50_000)}
    assert all(r.seed >= 10_000 for r in held)
    assert held == grid.held_out_grid(80, 50_000)
    assert grid.held_out_grid(5, 50_000) == held[:5]
