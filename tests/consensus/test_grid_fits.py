"""``scripts/grid_fits.py``'s session-26 rule (``agreed``): ``ds@2``'s labels only where
every gate holds, on units small enough to check by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import grid_fits as gf  # noqa: E402


def unit(
    items: int = 500, relabelled: int = 10, strength: float = 10.0, light: bool = False
) -> gf.Unit:
    """``items`` items of two classes, alternating, each answered by ten annotators (or,
    ``light``, by ten who answer nothing else); ``hds@9`` has the truth, ``ds@2`` the
    truth with the first ``relabelled`` items flipped, the equal-skill fit every item
    ``1``."""
    truth = np.arange(items) % 2
    item = np.repeat(np.arange(items), 10)
    ann = np.arange(len(item)) if light else np.tile(np.arange(10), items)
    ds2 = truth.copy()
    ds2[:relabelled] = 1 - ds2[:relabelled]
    return {
        "item": item,
        "ann": ann,
        "lab": truth[item],
        "truth": truth,
        "hds@9": truth,
        "ds2": ds2,
        "pooled": np.ones(items, dtype=np.int64),
        "nobody": np.array(False),
        "strength": np.array([strength, 64.0]),
    }


def test_heavy_share_counts_the_answers_of_annotators_whose_rarest_row_is_full() -> None:
    # Ten annotators, 500 answers each, rarest class half the items: 250 expected a row.
    assert gf.heavy_share(unit(), 20.0) == 1.0
    assert gf.heavy_share(unit(), 251.0) == 0.0
    assert gf.heavy_share(unit(light=True), 20.0) == 0.0


@pytest.mark.parametrize(
    ("case", "delta", "chosen"),
    [
        (unit(), 0.05, "ds2"),  # 2% relabelled, every gate holds
        (unit(relabelled=30), 0.05, "hds@9"),  # 6% relabelled
        (unit(), 0.01, "hds@9"),
        (unit(strength=64.0), 0.05, "hds@9"),  # rows at their cap: one-coin-like
        (unit(items=498), 0.05, "hds@9"),  # under 500 items
        (unit(light=True), 0.05, "hds@9"),  # no annotator's rows hold 20 answers
        ({**unit(), "nobody": np.array(True)}, 0.05, "pooled"),  # hds@10's fallback
    ],
)
def test_agreed_takes_ds2_only_where_every_gate_holds(
    case: gf.Unit, delta: float, chosen: str
) -> None:
    assert gf.agreed(delta)(case).tolist() == case[chosen].tolist()
