"""Which annotators' answers say nothing about the truth, from the answers alone (issue #15):
the rules ``hds@8`` ignores annotators by (:mod:`node.consensus.ignoring_ds`).

Two kinds, each a one-sided test whose level is Bonferroni-corrected, so that on a task of
honest annotators the chance that any of them is ignored is about :data:`ALPHA` or less:

* **Constant answerers** (:func:`constant_answerers`): every answer is class ``c``, and an
  annotator answering like the rest of the crowd (share ``r`` of ``c``) would give ``n``
  answers of ``c`` with probability ``r ** n < ALPHA / W`` (``W`` annotators).
* **Favourite-class answerers** (:func:`favourite_answerers`): they give a class more often
  than informative annotators do, beyond chance, *and* agree with nobody beyond chance.
  Agreement is chance-corrected agreement with co-annotators on shared items
  (:func:`peer_agreement`), as a z statistic. *Informative* annotators are those whose
  agreement with everyone is more than :data:`AGREEMENT_Z` standard errors above chance;
  with fewer than two there is nothing to measure against and nobody is ignored (one expert
  among random answerers looks exactly like a favourite-class answerer, and is kept). An
  annotator is ignored when (1) it shares items with informative annotators, (2) its
  agreement with them and with everyone is at most :data:`AGREEMENT_Z` standard errors
  above chance, and (3) on those shared items it gives its top class ``x`` times in ``n``
  where the informative annotators give it at rate ``p`` overall, with the Chernoff bound
  ``exp(-n KL(x/n, p)) < ALPHA / (W K)`` on the chance of that many (``K`` classes: the top
  class is chosen after looking).

Why (2) asks about everyone too: a coordinated bloc agrees with itself, and is then
"informative"; honest annotators who do not agree with the bloc still agree with each other.

Determinism: every sum is a sum of integer counts (exact in any order, below 2**53), the
rest elementwise IEEE operations (square roots are correctly rounded), sums over classes
left to right, and logs through :func:`det_log`; ties of the top class go to the lowest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers
from node.consensus.base import FloatArray, IntArray, column_totals, expected_cell_counts
from node.consensus.numerics import count_keys, det_log, row_sum

BoolArray = npt.NDArray[np.bool_]

ALPHA = 0.001
"""The chance, on a task of honest annotators, that any of them is ignored by either test:
the selection rule's choice among 0.001, 0.01, 0.05 and 0.2 (BENCHMARKS.md, "Uninformative
annotators")."""
AGREEMENT_Z = 2.576
"""Standard errors above chance that count as agreeing (a one-sided 99.5% normal quantile:
the value of the reward rule's evidence test, fixed here so that rule can change alone)."""


def own_and_rest(answers: Answers) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """Per annotator: its answer distribution ``q``, everyone else's ``r``, its number of
    answers ``n``, and whether anybody else answered (integer counts, then one division)."""
    k, w = answers.n_classes, answers.n_annotators
    counts = answers.key_counts.reshape(w, k)
    own = counts @ np.ones(k, dtype=np.int64)  # integer sums: exact
    total = np.ones(w, dtype=np.int64) @ counts
    rest = total[None, :] - counts
    rest_total = np.int64(len(answers)) - own
    q = counts.astype(np.float64) / np.maximum(own, 1).astype(np.float64)[:, None]
    r = rest.astype(np.float64) / np.maximum(rest_total, 1).astype(np.float64)[:, None]
    return q, r, own.astype(np.float64), rest_total > 0


def constant_answerers(answers: Answers, alpha: float = ALPHA) -> BoolArray:
    """Per annotator, whether every answer is one class ``c`` while ``r ** n < alpha / W``
    (``r``: everyone else's frequency of ``c``; ``n``: the annotator's answers)."""
    q, r, n, others = own_and_rest(answers)
    rows = np.arange(answers.n_annotators)
    top = np.argmax(q, axis=1)
    constant = (q[rows, top] == 1.0) & others
    share = r[rows, top]
    logs = det_log(np.append(np.where(share > 0.0, share, 1.0), alpha / float(len(share))))
    rare = (share == 0.0) | (np.multiply(n, logs[:-1]) < float(logs[-1]))
    out: BoolArray = constant & rare
    return out


@dataclass(frozen=True)
class PeerAgreement:
    """Each annotator's agreement with a set of peers on the items they share."""

    z: FloatArray
    """Observed minus chance agreement over its null standard error (0 without pairs)."""
    pairs: FloatArray
    """Answer pairs (own answer, a peer's answer on the same item): an exact integer."""
    top: IntArray
    """The class the annotator gives most on shared items (pairs-weighted; lowest on ties)."""
    top_count: FloatArray
    """Its own answers of ``top`` on shared items, and :attr:`shared` all of them."""
    shared: FloatArray
    peer_share: FloatArray
    """The peers' overall share of each annotator's ``top`` class."""


def peer_agreement(answers: Answers, peers: BoolArray) -> PeerAgreement:
    """:class:`PeerAgreement` of every annotator with the annotators in ``peers`` (itself
    excluded). Chance is the agreement of an annotator answering at its own rates with
    peers answering at theirs, on the same pairs."""
    return _PeerSums(answers, peers).agreement()


class _PeerSums:
    """The pair sums behind :class:`PeerAgreement`, up to its ``z``: a caller that needs
    only ``z`` (the test of who is informative) stops there, and asks for the rest
    (:meth:`agreement`) only if it needs it."""

    def __init__(self, answers: Answers, peers: BoolArray) -> None:
        k, w = answers.n_classes, answers.n_annotators
        if bool(peers.all()):
            counts = answers.votes
        else:
            kept = answers.item_label[peers[answers.annotator]]
            counts = np.bincount(kept, minlength=answers.n_items * k).reshape(answers.n_items, k)
        # Sums over each (annotator, answer) cell (Answers.key_cells): one annotator and one
        # label a cell, so whether its own answer is among the peers' is one flag.
        keys = answers.key_cells[1]
        run_annotator, run_label = keys // k, keys % k
        lengths = answers.key_counts[keys]
        member_run = peers[run_annotator].astype(np.int64)
        # Peers' answers per class, per run: the per-cell sum the M-step takes of the
        # posteriors, here of the peers' answer counts (its owner gathers K-wide on small
        # tables, in two numpy calls where a class at a time took 2K).
        by_run = expected_cell_counts(answers, counts)
        by_run[np.arange(len(keys)), run_label] -= lengths * member_run
        pairs_run = by_run @ np.ones(k, dtype=np.int64)
        agree_run = by_run[np.arange(len(keys)), run_label]
        pairs = np.bincount(run_annotator, weights=pairs_run, minlength=w).astype(np.float64)
        agree = np.bincount(run_annotator, weights=agree_run, minlength=w).astype(np.float64)
        seen = np.zeros((w, k), dtype=np.int64)  # peers' answers per class on each one's items
        np.add.at(seen, run_annotator, by_run)
        given = np.zeros(w * k, dtype=np.int64)  # own answers per class, weighted by pairs
        given[keys] = pairs_run
        seen_f, given_f = seen.astype(np.float64), given.reshape(w, k).astype(np.float64)
        some = np.maximum(pairs, 1.0)
        chance = row_sum(np.multiply(given_f / some[:, None], seen_f / some[:, None]))
        spread = np.sqrt(np.maximum(chance * (1.0 - chance), 1e-12) / some)
        self.z: FloatArray = np.where(pairs > 0, (agree / some - chance) / spread, 0.0)
        self._answers, self._counts, self._peers = answers, counts, peers
        self._pairs, self._given = pairs, given_f

    def agreement(self) -> PeerAgreement:
        """The whole :class:`PeerAgreement`."""
        answers, counts = self._answers, self._counts
        k, w = answers.n_classes, answers.n_annotators
        per_item = counts @ np.ones(k, dtype=np.int64)
        # An answer has a peer on its item where the item has two peers' answers, or one
        # that is not its own: per item 0, 1 or "2 or more", a byte an answer where the
        # count itself and the difference took eight each.
        level = np.minimum(per_item, 2).astype(np.int8)
        with_peers = level[answers.item] > self._peers[answers.annotator]
        # own answers per class on items with peers
        own = count_keys(answers.key[with_peers], w * k).reshape(w, k)
        top = np.argmax(self._given, axis=1)
        rows = np.arange(w)
        totals = column_totals(counts)  # an integer matmul took four times as long
        share = totals.astype(np.float64) / float(max(int(totals.sum()), 1))
        return PeerAgreement(
            z=self.z,
            pairs=self._pairs,
            top=top,
            top_count=own[rows, top].astype(np.float64),
            shared=(own @ np.ones(k, dtype=np.int64)).astype(np.float64),
            peer_share=share[top],
        )


def over_given(agreement: PeerAgreement, bound: float) -> BoolArray:
    """Whether ``top_count`` of ``shared`` answers beats the peers' share past the Chernoff
    bound ``exp(-n KL(x/n, p)) < bound``."""
    n = agreement.shared
    rate = agreement.top_count / np.maximum(n, 1.0)
    p = agreement.peer_share
    above = (n > 0) & (rate > p)
    m = len(n)
    logs = det_log(  # one call: det_log is elementwise, and its fixed cost dominates here
        np.concatenate(
            (
                np.where(rate > 0.0, rate, 1.0),
                np.where(p > 0.0, p, 1.0),
                np.where(rate < 1.0, 1.0 - rate, 1.0),
                np.where(p < 1.0, 1.0 - p, 1.0),
                [bound],
            )
        )
    )
    head = np.where(rate > 0.0, rate * (logs[:m] - logs[m : 2 * m]), 0.0)
    tail = np.where(rate < 1.0, (1.0 - rate) * (logs[2 * m : 3 * m] - logs[3 * m : 4 * m]), 0.0)
    divergence = head + tail
    out: BoolArray = above & ((p == 0.0) | (n * divergence > -float(logs[4 * m])))
    return out


@dataclass(frozen=True)
class Screen:
    """What the tests of this module find about a task's annotators."""

    ignored: BoolArray
    """:func:`constant_answerers` or :func:`favourite_answerers`."""
    agreement_z: FloatArray
    """Each annotator's chance-corrected agreement with everyone, on the items it shares
    with them, in standard errors (0 for an annotator who shares none)."""

    @property
    def informative(self) -> BoolArray:
        """Agreement with everyone more than :data:`AGREEMENT_Z` standard errors above
        chance."""
        out: BoolArray = self.agreement_z > AGREEMENT_Z
        return out

    @property
    def beyond_chance(self) -> BoolArray:
        """Agreement with everyone more than :data:`AGREEMENT_Z` standard errors from
        chance, above or below: answers that say something, for or against the others."""
        out: BoolArray = np.abs(self.agreement_z) > AGREEMENT_Z
        return out


def favourite_answerers(
    answers: Answers, alpha: float = ALPHA, z: float = AGREEMENT_Z
) -> BoolArray:
    """Per annotator, whether it is a favourite-class answerer (module docstring)."""
    return _favourites(answers, alpha, z)[0]


def _favourites(answers: Answers, alpha: float, z: float) -> tuple[BoolArray, FloatArray]:
    """:func:`favourite_answerers` and everyone's agreement z it measured them by."""
    everyone = _PeerSums(answers, np.ones(answers.n_annotators, dtype=bool))
    everyone_z = everyone.z
    informative: BoolArray = everyone_z > z
    if int(informative.sum()) < 2:
        return np.zeros(answers.n_annotators, dtype=bool), everyone_z
    if bool(informative.all()):
        against = everyone.agreement()
    else:
        del everyone  # its answer counts, 8 bytes an item and class, beside the next ones
        against = peer_agreement(answers, informative)
    bound = alpha / float(answers.n_annotators * answers.n_classes)
    out: BoolArray = (
        (against.pairs > 0) & (against.z <= z) & (everyone_z <= z) & over_given(against, bound)
    )
    return out, everyone_z


def screen(answers: Answers, alpha: float = ALPHA) -> Screen:
    """Both tests, and whose agreement with everyone is beyond chance, from one pass over
    the answer pairs."""
    favourites, everyone_z = _favourites(answers, alpha, AGREEMENT_Z)
    return Screen(ignored=constant_answerers(answers, alpha) | favourites, agreement_z=everyone_z)


def uninformative_annotators(answers: Answers, alpha: float = ALPHA) -> BoolArray:
    """:func:`constant_answerers` or :func:`favourite_answerers`."""
    return screen(answers, alpha).ignored
