"""The crowd data a demo replays: which items, which workers, which answers are gold.

A demo takes a real set from ``../shared/datasets`` (``answers.csv``: item, worker, label;
``gold.csv``: item, label) and cuts it down to what one machine replays in a couple of
minutes: the ``annotators`` workers who answered the most gold-labelled items (ties by
worker id), then the ``items`` gold-labelled items most of those workers answered (ties by
first appearance in the file), in file order. So a small network still sees every chosen
item several times, as a real task with its redundancy would. Each chosen worker becomes
one annotator node whose replay labeler answers exactly as that worker did. The cut is a
pure function of the files and the numbers, so every run replays the same answers.

:func:`write_synthetic` writes a set in the same layout for runs larger than any real set
(the end-to-end benchmark): workers of known accuracy answering uniformly random items.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from node.errors import LabelnetError


class DatasetError(LabelnetError, ValueError):
    """A data set directory that is missing or does not have the expected layout."""


@dataclass(frozen=True)
class DemoDataset:
    """The replayed cut of a crowd data set."""

    name: str
    directory: Path
    items: tuple[str, ...]
    """Items in task (manifest) order."""
    classes: tuple[str, ...]
    workers: tuple[str, ...]
    """The workers replayed, one annotator node each."""
    answers: dict[str, dict[str, str]]
    """worker -> item -> label, for the chosen workers and items only."""
    truth: dict[str, str]
    """item -> gold label, for every chosen item."""

    @property
    def n_answers(self) -> int:
        return sum(len(by_item) for by_item in self.answers.values())

    def write_answers(self, path: Path) -> Path:
        """The cut as an ``answers.csv`` the replay labelers read (smaller than the source)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["item", "worker", "label"])
            for worker in self.workers:
                for item, label in sorted(self.answers[worker].items()):
                    writer.writerow([item, worker, label])
        return path


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"no {path.name} in {path.parent}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(columns) <= set(reader.fieldnames):
            raise DatasetError(f"{path} needs the columns {', '.join(columns)}")
        return list(reader)


def resolve_dataset(name_or_path: str, datasets_dir: Path) -> Path:
    """A data set directory from a name under ``datasets_dir`` or a path."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    named = datasets_dir / name_or_path
    if named.is_dir():
        return named
    known = sorted(p.name for p in datasets_dir.glob("*") if (p / "answers.csv").is_file())
    raise DatasetError(
        f"no data set {name_or_path!r}: give a directory or one of {', '.join(known) or 'none'}"
        f" (in {datasets_dir})"
    )


def load_dataset(directory: Path, *, items: int, annotators: int) -> DemoDataset:
    """Cut ``directory``'s answers down to ``items`` items and ``annotators`` workers."""
    if items < 1 or annotators < 1:
        raise DatasetError("a demo needs at least one item and one annotator")
    gold_rows = _read_rows(directory / "gold.csv", ("item", "label"))
    answer_rows = _read_rows(directory / "answers.csv", ("item", "worker", "label"))
    gold = {row["item"]: row["label"] for row in gold_rows}
    counts = Counter(row["worker"] for row in answer_rows if row["item"] in gold)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    workers = tuple(worker for worker, _ in ranked[:annotators])
    if len(workers) < annotators:
        raise DatasetError(f"{directory.name}: only {len(workers)} workers answered gold items")
    chosen = set(workers)
    coverage: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for position, row in enumerate(answer_rows):
        if row["item"] in gold:
            first_seen.setdefault(row["item"], position)
            if row["worker"] in chosen:
                coverage[row["item"]] += 1
    candidates = sorted(coverage, key=lambda item: (-coverage[item], first_seen[item]))
    ordered = tuple(
        _share_items(candidates[:items], workers, answer_rows, coverage, first_seen, candidates)
    )
    picked = set(ordered)
    answers: dict[str, dict[str, str]] = {w: {} for w in workers}
    for row in answer_rows:
        if row["worker"] in chosen and row["item"] in picked:
            answers[row["worker"]].setdefault(row["item"], row["label"])
    ordered = tuple(sorted(ordered, key=lambda item: first_seen[item]))
    classes = sorted({row["label"] for row in answer_rows} | set(gold.values()))
    return DemoDataset(
        name=directory.name,
        directory=directory,
        items=ordered,
        classes=tuple(classes),
        workers=workers,
        answers=answers,
        truth={item: gold[item] for item in ordered},
    )


def _share_items(
    ordered: list[str],
    workers: tuple[str, ...],
    answer_rows: list[dict[str, str]],
    coverage: Counter[str],
    first_seen: dict[str, int],
    candidates: list[str],
) -> list[str]:
    """``ordered`` with items swapped in for any chosen worker who answered none of them.

    With few items, the items most of the chosen workers answered can all belong to the
    others (sets where each item has three answers), and a node replaying nobody's answers
    labels nothing. Such a worker gets up to ``len(ordered) // (2 * len(workers))`` (at
    least one) of the items they answered, the most covered first, in place of the least
    covered picked items that no other such worker needs. Cuts where every worker already
    has answers are left exactly as they were.
    """
    by_worker: dict[str, set[str]] = {w: set() for w in workers}
    by_item: dict[str, set[str]] = {}
    for row in answer_rows:
        if row["worker"] in by_worker and row["item"] in coverage:
            by_worker[row["worker"]].add(row["item"])
            by_item.setdefault(row["item"], set()).add(row["worker"])
    picked = list(ordered)
    held = Counter(w for item in picked for w in by_item.get(item, ()))
    lacking = [w for w in workers if held[w] == 0]
    if not lacking:
        return picked
    quota = max(1, len(picked) // (2 * len(workers)))
    rank = {item: i for i, item in enumerate(candidates)}
    for worker in lacking:
        theirs = sorted(by_worker[worker] - set(picked), key=lambda item: rank[item])
        for item in theirs[:quota]:
            # The least covered picked item whose answerers all keep another picked item.
            removable = next(
                (old for old in reversed(picked) if all(held[w] > 1 for w in by_item.get(old, ()))),
                None,
            )
            if removable is None:
                break
            picked.remove(removable)
            held.subtract(by_item.get(removable, ()))
            picked.insert(0, item)  # not at the end, where the next removal looks first
            held.update(by_item[item])
    return picked


def write_synthetic(
    directory: Path,
    *,
    items: int,
    workers: int,
    answers_per_worker: int,
    classes: int = 5,
    seed: int = 7,
) -> Path:
    """A crowd data set of ``workers`` workers with accuracies drawn from 0.55..0.95.

    Each worker answers ``answers_per_worker`` distinct random items; a wrong answer is a
    uniformly random other class. Written as ``answers.csv`` and ``gold.csv``.
    """
    if answers_per_worker > items:
        raise DatasetError("a worker cannot answer more items than there are")
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, size=items)
    accuracy = rng.uniform(0.55, 0.95, size=workers)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "gold.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "label"])
        writer.writerows([f"i{i:06d}", f"c{int(truth[i])}"] for i in range(items))
    with (directory / "answers.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "worker", "label"])
        for w in range(workers):
            chosen = np.sort(rng.choice(items, size=answers_per_worker, replace=False))
            correct = rng.random(answers_per_worker) < accuracy[w]
            shift = rng.integers(1, classes, size=answers_per_worker)
            labels = np.where(correct, truth[chosen], (truth[chosen] + shift) % classes)
            writer.writerows(
                [f"i{int(i):06d}", f"w{w:03d}", f"c{int(v)}"]
                for i, v in zip(chosen, labels, strict=True)
            )
    return directory
