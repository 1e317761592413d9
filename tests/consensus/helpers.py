"""Small shared helpers for the consensus tests (fixture data, addresses, data sets)."""

from __future__ import annotations

from pathlib import Path

from node.consensus.answers import Answers

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def address(n: int) -> str:
    """A deterministic, valid, lowercase Ethereum address for annotator ``n``."""
    return "0x" + f"{n + 1:040x}"


def answers(rows: list[tuple[str, str, str]], classes: list[str] | None = None) -> Answers:
    return Answers.from_rows(rows, classes=classes)


def obvious_rows() -> list[tuple[str, str, str]]:
    """3 items x 3 annotators; two annotators always right, one always answers "a"."""
    truth = {"i1": "a", "i2": "b", "i3": "b"}
    rows = []
    for item, label in truth.items():
        rows.append((item, "good1", label))
        rows.append((item, "good2", label))
        rows.append((item, "lazy", "a"))
    return rows


def load_dataset(name: str) -> tuple[list[list[str]], dict[str, str]]:
    """``(rows, gold)`` of a benchmark data set in ../shared/datasets."""
    import csv

    folder = DATASETS / name
    if not folder.is_dir():
        raise FileNotFoundError(f"benchmark data set missing: {folder} (clone beside ../shared)")
    with (folder / "answers.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r[:3] for r in list(csv.reader(handle))[1:]]
    with (folder / "gold.csv").open(newline="", encoding="utf-8") as handle:
        gold = {r[0]: r[1] for r in list(csv.reader(handle))[1:]}
    return rows, gold
