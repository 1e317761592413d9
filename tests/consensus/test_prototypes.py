"""``scripts/consensus_prototypes.py`` still reproduces the figures BENCHMARKS.md records
for it ("Measured and rejected in session 12"). The prototypes subclass the estimators'
internals (``_fit``, ``_logs``, ``_confusion_rows``), so a change there could silently move
a recorded number; these are the real-set accuracies of that record, on sets small enough
for the suite."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator
from tests.consensus.helpers import load_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import consensus_prototypes as proto

RECORDED: list[tuple[str, Callable[[], CategoricalEstimator], str, float]] = [
    ("gate_d8_t8", partial(proto.GatedDominance, threshold=8.0, tau=8.0), "dog", 0.8414),
    ("gate_d8_t8", partial(proto.GatedDominance, threshold=8.0, tau=8.0), "web", 0.8726),
    ("gate_d4_t8", partial(proto.GatedDominance, threshold=4.0, tau=8.0), "web", 0.8865),
    ("loo", proto.LeaveOwnOut, "web", 0.6299),
    ("temper0.1", partial(proto.TemperedEvidence, c=0.1), "web", 0.5315),
    ("hds4_after_hds5", proto.Hds4AfterHds5, "web", 0.8259),
]


@pytest.mark.parametrize(("name", "make", "dataset", "recorded"), RECORDED)
def test_a_prototype_reproduces_its_recorded_accuracy(
    name: str, make: Callable[[], CategoricalEstimator], dataset: str, recorded: float
) -> None:
    rows, gold = load_dataset(dataset)
    items, annotators, values = zip(*rows, strict=True)
    fitted = make().fit(Answers.from_arrays(items, annotators, values))
    labels = dict(zip(fitted.items_, (str(v) for v in fitted.labels_), strict=True))
    accuracy = sum(labels.get(item) == label for item, label in gold.items()) / len(gold)
    assert round(accuracy, 4) == recorded, name
