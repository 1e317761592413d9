"""``scripts/bench_real_subsets.py``: its parts and session 26's rule on them."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_real_subsets as brs  # noqa: E402


def rows() -> list[list[str]]:
    return [[f"i{i:03d}", f"w{w:02d}", "ab"[(i + w) % 2]] for i in range(200) for w in range(20)]


def test_a_part_keeps_whole_items_or_whole_annotators_the_same_for_a_seed() -> None:
    answers = rows()
    half = brs.draw(answers, "items", 0)
    assert half == brs.draw(answers, "items", 0) and half != brs.draw(answers, "items", 1)
    kept = {r[0] for r in half}
    assert 60 < len(kept) < 140  # about half of 200
    assert all(sum(r[0] == item for r in half) == 20 for item in list(kept)[:5])  # whole items
    some = brs.draw(answers, "annotators", 3)
    kept_annotators = {r[1] for r in some}
    assert 4 < len(kept_annotators) < 20
    assert len(some) == 200 * len(kept_annotators)


def part(
    default: float, ds2: float, relabelled: float, items: int = 300, fell_back: bool = False
) -> brs.Part:
    return brs.Part("s", "items", 0, items, default, ds2, 0.8, 0.85, relabelled, fell_back, 0.7)


def test_the_rule_takes_ds2_only_where_it_agrees_on_a_large_enough_part() -> None:
    assert brs.candidate(part(0.84, 0.86, 0.02), 0.05, 200) == 0.86
    assert brs.candidate(part(0.84, 0.86, 0.06), 0.05, 200) == 0.84
    assert brs.candidate(part(0.84, 0.86, 0.02, items=150), 0.05, 200) == 0.84
    assert brs.candidate(part(0.84, 0.86, 0.02, fell_back=True), 0.05, 200) == 0.84
    assert brs.candidate(part(0.84, 0.86, 0.02), 0.05, 200, heavy=0.8) == 0.84
