"""Majority vote: the consensus is the class most annotators chose.

Tie rule: among classes with the most votes, the one whose id sorts first (Python string
order) wins. The rule is arbitrary but fixed, which is what a protocol needs; the reported
confidence of a tied item is the tied share (e.g. 0.5), so a confidence threshold above it
keeps tied items from paying anyone.
"""

from __future__ import annotations

from node.consensus.answers import Answers
from node.consensus.base import CategoricalEstimator, IntArray, vote_counts
from node.consensus.numerics import shares_ppb
from node.protocol import ids


class MajorityVote(CategoricalEstimator):
    """Unweighted vote; posteriors are the vote shares (gold items clamped)."""

    algorithm = ids.MAJORITY_VOTE

    def _fit(self, answers: Answers, gold: IntArray) -> IntArray:
        return shares_ppb(vote_counts(answers))  # fit() clamps gold items
