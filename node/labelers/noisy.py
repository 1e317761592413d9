"""``noisy:<truth.jsonl>:<skill>:<seed>``: a noisy oracle for boxes, spans, text and pairwise
tasks, the simulated annotators of ``labelnet demo --kind``.

It knows each item's true value (``{"item": ..., "value": ...}`` lines, as the demo writes
them) and answers as an annotator of that ``skill`` in [0, 1] would, with the generators
of :mod:`node.labelers.synthetic` (the same ones ``scripts/bench_kinds.py`` measures the
consensus with); skill ``spam`` answers at random whatever the truth. Seeded per item with
the seed, chain, task and item position, so a restarted node answers the same and the
answer does not depend on how items are batched. Items without a true value are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from node.labelers.base import ItemToLabel, LabelerError, LabelingTask
from node.labelers.synthetic import noisy_answer
from node.protocol.annotation import RULES
from node.protocol.canonical import JsonValue

SPAM = "spam"


class NoisyLabeler:
    """Noisy copies of known true values, at one skill."""

    def __init__(self, truth: dict[str, JsonValue], skill: float | None, seed: int) -> None:
        if skill is not None and not 0.0 <= skill <= 1.0:
            raise LabelerError(f"noisy: the skill must be in [0, 1] or {SPAM!r}, got {skill}")
        self.truth = truth
        self.skill = skill
        """None: a spammer."""
        self.seed = seed

    @classmethod
    def from_spec(cls, rest: str) -> NoisyLabeler:
        """``<truth.jsonl>:<skill>:<seed>`` (the path may hold colons)."""
        head, _, seed = rest.rpartition(":")
        path, _, skill = head.rpartition(":")
        if not path:
            raise LabelerError("noisy:<truth.jsonl>:<skill>:<seed> needs all three parts")
        try:
            level = None if skill == SPAM else float(skill)
            number = int(seed)
        except ValueError as exc:
            raise LabelerError(f"noisy: bad skill {skill!r} or seed {seed!r}") from exc
        return cls(read_truth(Path(path)), level, number)

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        if task.kind not in RULES:
            raise LabelerError(f"noisy: no answers for {task.kind} tasks")
        answers: list[JsonValue | None] = []
        for item in items:
            if item.item_id not in self.truth and self.skill is not None:
                answers.append(None)
                continue
            rng = np.random.default_rng([self.seed, task.chain_id, task.task_id, item.position])
            try:
                answers.append(
                    noisy_answer(
                        task.kind,
                        rng,
                        self.truth.get(item.item_id),
                        self.skill or 0.0,
                        self.skill is None,
                        task.classes,
                    )
                )
            except ValueError as exc:
                raise LabelerError(f"noisy: item {item.item_id!r}: {exc}") from exc
        return answers


def read_truth(path: Path) -> dict[str, JsonValue]:
    """``{"item": ..., "value": ...}`` per line."""
    truth: dict[str, JsonValue] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("item"), str):
                    raise LabelerError(f"noisy: {path}:{number}: not an item and value")
                truth[row["item"]] = row.get("value")
    except (OSError, ValueError) as exc:
        raise LabelerError(f"noisy: cannot read {path}: {exc}") from exc
    return truth
