"""Review programs: what a reviewer node votes with when no person reviews (issue #17).

A review program sees a task's contested set as the validators compute it
(:class:`~node.protocol.review.ContestedSet`: each item with its current consensus answer) and
returns one class per contested item. :func:`load_review_program` reads the ``review_program``
setting:

* ``consensus`` — the *lazy* reviewer: votes the current consensus answer. It costs nothing
  and is what review@1 is built to pay less than judging (docs/review.md §7);
* ``gold:<gold.csv>:<accuracy>[:<seed>]`` — a reviewer that judges: the gold class of the
  file (``item,label`` rows, the layout of ``datasets/*/gold.csv``) with probability
  ``accuracy``, else a uniformly drawn other class; items without gold get the consensus;
* ``random[:<seed>]`` — the *careless* reviewer: a uniformly random class per item.

Draws use an explicit :class:`numpy.random.Generator` seeded with (seed, chain, task, item
position), so a restarted node votes the same (its commitment is recorded once anyway) and
two tasks get independent draws.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from node.labelers.base import LabelerError

if TYPE_CHECKING:
    from node.protocol.review import ContestedSet

__all__ = [
    "ConsensusReviewer",
    "GoldReviewer",
    "RandomReviewer",
    "ReviewProgram",
    "load_review_program",
]


class ReviewProgram(Protocol):
    """Votes on a contested set: one class of the task per contested item."""

    def votes(self, chain_id: int, contested: ContestedSet) -> dict[str, str]: ...


class ConsensusReviewer:
    """The lazy reviewer: the current consensus answer of every contested item."""

    def votes(self, chain_id: int, contested: ContestedSet) -> dict[str, str]:
        return {entry.item.id: entry.consensus for entry in contested.items}


def _rng(seed: int, chain_id: int, task_id: int, position: int) -> np.random.Generator:
    return np.random.default_rng([seed, chain_id, task_id, position])


class RandomReviewer:
    """The careless reviewer: a uniformly random class per contested item."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def votes(self, chain_id: int, contested: ContestedSet) -> dict[str, str]:
        classes = contested.manifest.classes
        return {
            entry.item.id: classes[
                int(_rng(self.seed, chain_id, contested.task_id, n).integers(len(classes)))
            ]
            for n, entry in enumerate(contested.items)
        }


class GoldReviewer:
    """A reviewer that judges at a stated accuracy, simulated from known answers (the
    simulation of ``scripts/bench_review.py``'s coherent reviewers)."""

    def __init__(self, gold: dict[str, str], accuracy: float, seed: int = 0) -> None:
        if not 0.0 <= accuracy <= 1.0:
            raise LabelerError(f"review accuracy {accuracy} is not in [0, 1]")
        self.gold, self.accuracy, self.seed = dict(gold), accuracy, seed

    def votes(self, chain_id: int, contested: ContestedSet) -> dict[str, str]:
        classes = contested.manifest.classes
        votes: dict[str, str] = {}
        for n, entry in enumerate(contested.items):
            item = entry.item.id
            truth = self.gold.get(item)
            if truth is None or truth not in classes:
                votes[item] = entry.consensus
                continue
            rng = _rng(self.seed, chain_id, contested.task_id, n)
            if rng.random() < self.accuracy:
                votes[item] = truth
            else:
                wrong = [c for c in classes if c != truth]
                votes[item] = wrong[int(rng.integers(len(wrong)))] if wrong else truth
        return votes


def read_gold_csv(path: Path) -> dict[str, str]:
    """``item,label`` rows (a header first) as item -> class."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise LabelerError(f"review gold file {path}: {exc}") from exc
    if not rows or [cell.strip() for cell in rows[0][:2]] != ["item", "label"]:
        raise LabelerError(f"review gold file {path}: the header must be item,label")
    return {row[0]: row[1] for row in rows[1:] if len(row) >= 2}


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise LabelerError(f"{what} must be an integer, not {text!r}") from exc


REVIEW_PROGRAM_FORMS: Sequence[str] = (
    "consensus",
    "gold:<gold.csv>:<accuracy>[:<seed>]",
    "random",
    "random:<seed>",
)


def load_review_program(spec: str) -> ReviewProgram:
    """The review program a spec names; :class:`LabelerError` for any other spec."""
    scheme, _, rest = spec.partition(":")
    if scheme == "consensus" and not rest:
        return ConsensusReviewer()
    if scheme == "random":
        return RandomReviewer(_int(rest, "random:<seed>") if rest else 0)
    if scheme == "gold":
        parts = rest.rsplit(":", 2)
        # gold:<path>:<accuracy> or gold:<path>:<accuracy>:<seed>; a path may hold colons.
        seed = 0
        if len(parts) == 3 and parts[2].isdigit() and _is_float(parts[1]):
            path, accuracy, seed_text = parts
            seed = _int(seed_text, "the seed")
        else:
            path, _, accuracy = rest.rpartition(":")
        if path and _is_float(accuracy):
            return GoldReviewer(read_gold_csv(Path(path)), float(accuracy), seed)
    raise LabelerError(
        f"unknown review program {spec!r}; accepted: {', '.join(REVIEW_PROGRAM_FORMS)}"
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
