"""``random[:<seed>]``: a uniformly random answer per item — the demo's spammers.

Reproducible: the generator is seeded with the seed, the chain and the task id, so the
same node labels the same task the same way after a restart (labels are upserts, so a
replayed batch changes nothing), while two tasks get independent answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from node.labelers.base import ItemToLabel, LabelingTask
from node.labelers.synthetic import noisy_answer
from node.protocol.annotation import RULES
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind


class RandomLabeler:
    """Random classes (categorical), random class subsets (multilabel), numbers in [0, 1), or
    for the kinds of issue #20 the synthetic spammer's answers (:mod:`.synthetic`)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        answers: list[JsonValue | None] = []
        for item in items:
            # Seeded per item, so the answer does not depend on how items are batched.
            rng = np.random.default_rng([self.seed, task.chain_id, task.task_id, item.position])
            if task.kind is TaskKind.CATEGORICAL:
                answers.append(task.classes[int(rng.integers(len(task.classes)))])
            elif task.kind in RULES:  # boxes, spans, texts, pairs: the synthetic spammer's
                answers.append(noisy_answer(task.kind, rng, None, 0.0, True, task.classes))
            elif task.kind is TaskKind.MULTILABEL:
                chosen = rng.random(len(task.classes)) < 0.5
                answers.append([c for c, keep in zip(task.classes, chosen, strict=True) if keep])
            else:
                answers.append(round(float(rng.random()), 6))
        return answers
