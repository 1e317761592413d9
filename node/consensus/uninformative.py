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
from node.consensus.base import FloatArray, IntArray
from node.consensus.numerics import det_log, row_sum

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
    counts = np.bincount(answers.key, minlength=w * k).reshape(w, k).astype(np.int64)
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
    bound = float(det_log(alpha / float(answers.n_annotators)))
    log_share = det_log(np.where(share > 0.0, share, 1.0))
    rare = (share == 0.0) | (np.multiply(n, log_share) < bound)
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
    k, w = answers.n_classes, answers.n_annotators
    item, annotator, label = answers.item, answers.annotator, answers.label
    member = peers[annotator].astype(np.int64)
    counts = np.bincount(
        (item * np.int64(k) + label)[member == 1], minlength=answers.n_items * k
    ).reshape(answers.n_items, k)
    per_item = counts @ np.ones(k, dtype=np.int64)
    pairs_row = per_item[item] - member
    agree_row = counts[item, label] - member
    pairs = np.bincount(annotator, weights=pairs_row, minlength=w).astype(np.float64)
    agree = np.bincount(annotator, weights=agree_row, minlength=w).astype(np.float64)
    seen = np.empty((w, k))  # peers' answers per class on each annotator's items
    for c in range(k):
        seen[:, c] = np.bincount(annotator, weights=counts[item, c], minlength=w)
    seen -= np.bincount(answers.key, weights=member, minlength=w * k).reshape(w, k)
    given = np.bincount(answers.key, weights=pairs_row, minlength=w * k).reshape(w, k)
    some = np.maximum(pairs, 1.0)
    chance = row_sum(np.multiply(given / some[:, None], seen / some[:, None]))
    spread = np.sqrt(np.maximum(chance * (1.0 - chance), 1e-12) / some)
    z = np.where(pairs > 0, (agree / some - chance) / spread, 0.0)
    shared_rows = pairs_row > 0
    own = np.bincount(answers.key[shared_rows], minlength=w * k).reshape(w, k)
    top = np.argmax(given, axis=1)
    rows = np.arange(w)
    totals = np.ones(answers.n_items, dtype=np.int64) @ counts
    share = totals.astype(np.float64) / float(max(int(totals.sum()), 1))
    return PeerAgreement(
        z=z,
        pairs=pairs,
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
    safe_rate = np.where(rate > 0.0, rate, 1.0)
    safe_p = np.where(p > 0.0, p, 1.0)
    head = np.where(rate > 0.0, rate * (det_log(safe_rate) - det_log(safe_p)), 0.0)
    rest_rate = np.where(rate < 1.0, 1.0 - rate, 1.0)
    rest_p = np.where(p < 1.0, 1.0 - p, 1.0)
    tail = np.where(rate < 1.0, (1.0 - rate) * (det_log(rest_rate) - det_log(rest_p)), 0.0)
    divergence = head + tail
    out: BoolArray = above & ((p == 0.0) | (n * divergence > -float(det_log(bound))))
    return out


def favourite_answerers(
    answers: Answers, alpha: float = ALPHA, z: float = AGREEMENT_Z
) -> BoolArray:
    """Per annotator, whether it is a favourite-class answerer (module docstring)."""
    everyone = peer_agreement(answers, np.ones(answers.n_annotators, dtype=bool))
    informative = everyone.z > z
    if int(informative.sum()) < 2:
        return np.zeros(answers.n_annotators, dtype=bool)
    against = peer_agreement(answers, informative)
    bound = alpha / float(answers.n_annotators * answers.n_classes)
    out: BoolArray = (
        (against.pairs > 0) & (against.z <= z) & (everyone.z <= z) & over_given(against, bound)
    )
    return out


def uninformative_annotators(answers: Answers, alpha: float = ALPHA) -> BoolArray:
    """:func:`constant_answerers` or :func:`favourite_answerers`."""
    out: BoolArray = constant_answerers(answers, alpha) | favourite_answerers(answers, alpha)
    return out
