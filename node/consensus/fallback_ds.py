"""``hds@10``: ``hds@9``, except that where no annotator agrees (or disagrees) with the
others beyond chance and no gold is given, the consensus is an equal-skill fit (issue #15).

Why. Every Dawid-Skene fit weighs an annotator by how well its answers match the others'.
Where nobody's answers match anybody's beyond chance, no such weight is identified: one
expert among random answerers agrees with them exactly as often as they agree with each
other, and one answer an item gives no pairs at all. The fit still finds weights, and
labels, in the noise, and on the synthetic grid that is where ``hds@9`` falls furthest
under the vote: two runs of 100 items answered by one expert and five random answerers
(0.47 against the vote's 0.66 and 0.72), and 306 items of one answer each (0.696 against
0.761).

Where the answers identify nobody's skill, ``hds@10`` fits only what they do identify: one
accuracy for the whole crowd and the class prior
(:class:`~node.consensus.pooled_one_coin.PooledOneCoin`). That is the vote where the vote
is clear and the commoner class where it is close. The plain vote was measured too: it is
never under itself, but it drops the prior, and with it the issue's own small task
without gold (four real workers who agree with each other no more than chance on a
skewed two-class set, two random answerers): ``hds@9`` and the equal-skill fit 0.85 on 100
items, the vote 0.75 (BENCHMARKS.md, "``hds@10``").

The test is the statistic ``hds@8`` already computes (:mod:`node.consensus.uninformative`):
each annotator's chance-corrected agreement with everyone, on the items it shares with
them, as a z. ``hds@10`` falls back when fewer than :data:`MIN_BEYOND_CHANCE` annotators
have ``|z|`` above :data:`~node.consensus.uninformative.AGREEMENT_Z`; the selection rule
chose one (only when nobody does) over two. Below chance counts too: an annotator who
disagrees with the crowd beyond chance is structure a fit can weigh (30% of annotators
flipping their answers cancel the honest ones' agreement with everyone, but not their own
disagreement). Gold identifies skill without agreement, so a task with gold keeps
``hds@9``'s fit.

Determinism: the test's (integer counts, elementwise IEEE operations) and the
equal-skill fit's (:mod:`node.consensus.pooled_one_coin`); elsewhere ``hds@9``'s bytes.
"""

from __future__ import annotations

import math

import numpy as np

from node.consensus.answers import Answers
from node.consensus.base import IntArray, check_count
from node.consensus.polished_ds import (
    MIN_ITEMS,
    POLISH_ALPHA,
    POLISH_ITERATIONS,
    PolishedDawidSkene,
)
from node.consensus.pooled_one_coin import PooledOneCoin
from node.consensus.uninformative import ALPHA
from node.protocol import ids

MIN_BEYOND_CHANCE = 1
"""Fewer annotators whose agreement with everyone is beyond chance than this, and no gold:
the equal-skill fit. The selection rule's choice between 1 and 2 (BENCHMARKS.md,
"``hds@10``")."""


class FallbackDawidSkene(PolishedDawidSkene):
    """``hds@9``, or :class:`PooledOneCoin` where the module docstring says so;
    :attr:`fell_back_` says which. After a fallback, ``confusions_``, ``priors_`` and
    ``skills_`` are the equal-skill fit's (every annotator's rows the crowd's one-coin
    rows), ``strength_`` is infinite (rows held at their one-coin means) and nothing of an
    earlier fit is left. No result document reads them: the reward rule counts confusion
    against the consensus labels."""

    algorithm = ids.FALLBACK_DAWID_SKENE

    def __init__(
        self,
        alpha: float = ALPHA,
        polish_iterations: int = POLISH_ITERATIONS,
        polish_alpha: float = POLISH_ALPHA,
        min_items: int = MIN_ITEMS,
        min_beyond_chance: int = MIN_BEYOND_CHANCE,
    ) -> None:
        super().__init__(alpha, polish_iterations, polish_alpha, min_items)
        self.min_beyond_chance = check_count("min_beyond_chance", min_beyond_chance)
        self.fell_back_ = False
        """After a fit: whether the posteriors are the equal-skill fit's."""

    def params(self) -> dict[str, int | str]:
        out = super().params()
        out["fallback_below_beyond_chance"] = self.min_beyond_chance
        return out

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        self._screen(answers)
        identified = int(self.beyond_chance_.sum()) >= self.min_beyond_chance
        self.fell_back_ = not identified and not bool((gold >= 0).any())
        if self.fell_back_:
            return self._adopt(PooledOneCoin().fit(answers), answers.n_annotators)
        return super()._fit(answers, gold)

    def _adopt(self, pooled: PooledOneCoin, n_annotators: int) -> IntArray:
        """Make ``pooled``'s fit this one's: its posteriors, and its rows and prior where
        ``confusions_`` and ``priors_`` look (the state ``hds@9``'s fit would leave is
        cleared, so a reused estimator keeps nothing of a fit before)."""
        self._cell_state = None
        self._last_step = None
        rows = pooled.log_rows()
        self._log_confusion = np.repeat(rows[None, :, :], n_annotators, axis=0)
        self._prior = pooled.prior_
        self.strength_ = math.inf
        self.polished_ = False
        self.polish_iterations_ = 0
        return pooled.probas_ppb_
