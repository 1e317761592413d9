"""The bloc test (``bloc@1``): finding annotators who coordinate their answers.

Every estimator here assumes annotators answer independently given the truth. A bloc
that agrees on one class per item, whatever the item, breaks that assumption and is then
read as a group of skilled annotators who confirm each other: at 30% of the crowd, with
10% gold, such colluders earned 1/1.6 to 1/3.4 of honest pay per label on four of the
eight benchmark sets. Two independent tests must agree before anyone is flagged, because
honest annotators also agree with each other somewhat more than the model predicts (they
share mistakes on hard items), and either test alone, loosened a little, pulls honest
annotators in (measured in session 4's exploration, BENCHMARKS.md "Incentives"):

1. **Proposal: agreement beyond skill.** For each pair, their disagreements on shared
   non-gold items against what their confusion matrices predict, those matrices taken from
   the fit and pulled toward each annotator's own answers on revealed gold (the fit alone
   can be fooled by the bloc; gold cannot). A pair whose disagreements are far too few
   seeds a proposal; annotators whose pooled disagreement with it is far too low join.
2. **Decision: agreement against the consensus.** The consensus is refitted without the
   proposal. Colluders then agree with each other on answers the rest of the crowd does
   not give; honest annotators, when they agree, mostly agree with the consensus. Within
   each consensus class the expected number of shared wrong answers of a pair, if they err
   independently, follows from their own answer counts; the excess over it, less a
   tolerance per shared item, must pass a Bernstein bound for every member (pooled over
   the other members) and for the bloc as a whole.

Flagged annotators are left out of the final fit and paid nothing. Rounds repeat until
the flags stop changing (at most :data:`ROUNDS`); a bloc holding more than half the answers
flags nobody, since the test then cannot tell which side is the bloc.

Determinism: counts are integers; the few float quantities are built from single IEEE
operations in a fixed order (:mod:`node.consensus.numerics`) and summed only after being
rounded to fixed point, so every validator flags the same annotators.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from node.consensus.answers import Answers, FloatArray, IntArray
from node.consensus.base import clamp_gold
from node.consensus.bloc_sums import ProposalRows, null_agreement, stratum_counts
from node.consensus.numerics import argmax_lowest, det_log, from_ppb
from node.consensus.pairs import BoolArray, pair_chunks, pair_counts
from node.protocol.rules import PPB

__all__ = ["BlocOutcome", "find_blocs"]

AGREEMENT_TOLERANCE = 0.25
"""Proposal: the null agreement of a pair is ``q + 0.25 (1 - q)``; honest pairs on real
data agree more than Dawid-Skene predicts, and 0.20 already flagged honest pairs."""
SEED_LEVEL = 13.815510557964274
"""ln(1e6): a pair seeds a proposal when its Chernoff bound on so few disagreements is
below one in a million."""
SEED_RATIO = 0.5
"""... and its disagreements are at most half the expected number."""
GROW_LEVEL = 9.0
"""z² (z = 3) for an annotator whose pooled disagreement with a proposal is too low."""
GROW_RATIO = 0.5
SMOOTHING = 2.0
"""Pseudo-answers per confusion row: toward the pooled matrix, then toward the fit's
matrix when blending in gold."""
AGAINST_TOLERANCE = 0.05
"""Decision: shared wrong answers per shared item an honest pair may have beyond
independence (measured honest excess: mostly under 0.05; colluders 0.15-0.25)."""
MEMBER_LEVEL = 4.5
"""z²/2 (z = 3): the Bernstein level every member must pass."""
BLOC_LEVEL = 13.815510557964274
"""ln(1e6): the Bernstein level of the bloc as a whole."""
ROUNDS = 3
"""Propose-decide-refit rounds at most: a refit without one bloc can expose another."""
MAX_SHARE = 0.5
"""A bloc with more than this share of the answers flags nobody: it may be the honest side."""
FIXED = float(1 << 20)
"""Fixed-point scale for sums of per-pair statistics (exact integer sums, any order)."""


Fit = Callable[[Answers], tuple[tuple[str, ...], IntArray]]
"""Fits the estimator on some of the answers: ``(items, probas_ppb)`` of the items seen."""


@dataclass(frozen=True, eq=False)
class BlocOutcome:
    """The flags and the posteriors of the final fit (without the flagged annotators)."""

    flagged: BoolArray
    probas_ppb: IntArray


def find_blocs(
    answers: Answers, gold_codes: IntArray, fit: Fit, probas_ppb: IntArray
) -> BlocOutcome:
    """Flag coordinating annotators; ``gold_codes`` are the revealed gold
    (:meth:`Answers.encode_gold`, as the fit on everyone took it) and ``probas_ppb`` that
    fit (items aligned with ``answers.items``).

    On a two-class task without revealed gold nothing is flagged: a bloc and the honest
    crowd are then mirror images (each agrees with itself and disagrees with the other),
    and the test would as readily flag an honest majority as a bloc.
    """
    labels = np.bincount(answers.annotator, minlength=answers.n_annotators)
    flagged = np.zeros(answers.n_annotators, dtype=bool)
    probas = probas_ppb
    if answers.n_classes < 3 and not (gold_codes >= 0).any():
        return BlocOutcome(flagged, probas)
    # The decision refits without a proposal, and the next round without the flags; when
    # both leave out the same annotators (often: the whole proposal is confirmed), one fit.
    fits = {flagged.tobytes(): probas_ppb}

    def without(dropped: BoolArray) -> IntArray:
        key = dropped.tobytes()
        if key not in fits:
            fits[key] = _aligned(answers, fit, ~dropped, gold_codes)
        return fits[key]

    for _ in range(ROUNDS):
        proposal = _propose(answers, gold_codes, probas, flagged)
        new = (
            _decide(answers, gold_codes, without, proposal)
            if proposal.sum() >= 2
            else np.zeros_like(proposal)
        )
        if labels[new].sum() > MAX_SHARE * labels.sum():
            new = np.zeros_like(new)
        if np.array_equal(new, flagged):
            break
        flagged = new
        probas = without(flagged)
    return BlocOutcome(flagged, probas)


def _aligned(answers: Answers, fit: Fit, keep: BoolArray, gold_codes: IntArray) -> IntArray:
    """The fit on the answers of the ``keep`` annotators, on every item of ``answers``;
    items nobody kept answered get a uniform posterior (never confident), or their gold."""
    k = answers.n_classes
    out = np.full((answers.n_items, k), PPB // k, dtype=np.int64)
    if not keep[answers.annotator].any():
        return clamp_gold(out, gold_codes)
    items, probas = fit(answers.without_annotators(~keep))
    position = {item: n for n, item in enumerate(answers.items)}
    out[[position[i] for i in items]] = probas
    return clamp_gold(out, gold_codes)


def _fixed(values: FloatArray) -> IntArray:
    out: IntArray = np.rint(np.multiply(values, FIXED)).astype(np.int64)
    return out


def _propose(
    answers: Answers, gold_codes: IntArray, probas: IntArray, flagged: BoolArray
) -> BoolArray:
    """Annotators whose agreement with each other is far beyond their skill."""
    k = answers.n_classes
    confusion = ProposalRows(answers, gold_codes, probas, SMOOTHING)
    mass = np.add(from_ppb(probas.sum(axis=0, dtype=np.int64)), 1.0)
    prior = np.divide(mass, float(answers.n_items + k))
    no_class = np.full(answers.n_items, -1, dtype=np.int64)
    counts = pair_counts(answers, no_class, counted=gold_codes < 0)
    first, second, shared, agreed = counts.first, counts.second, counts.shared, counts.agreed
    n = shared.astype(np.float64)
    d = (shared - agreed).astype(np.float64)
    d_int = shared - agreed
    # The null agreement q costs K^2 terms a pair, and only two kinds of pair read it:
    # pairs that can seed a proposal and pairs with an end in the bloc. A pair can seed
    # only if n * KL(d/n || 1 - q) >= SEED_LEVEL, and KL(x || p) <= -ln(1 - p) = -ln q <=
    # -ln AGREEMENT_TOLERANCE for x < p, since q >= AGREEMENT_TOLERANCE. So pairs that
    # share fewer items than that bound allows never seed (most pairs, where each
    # annotator answers a few items among many), and their q is computed only if the bloc
    # reaches them. Each q is the same elementwise value either way: the same bits.
    may_seed = n * (-math.log(AGREEMENT_TOLERANCE) * (1.0 + 1e-9)) >= SEED_LEVEL
    q = np.ones(len(counts))  # 1.0 (p = 0: no pair seeds on it) until computed
    known = np.zeros(len(counts), dtype=bool)

    def need(where: BoolArray) -> None:
        todo = np.flatnonzero(where & ~known)
        if len(todo):
            ends = np.unique(np.concatenate((first[todo], second[todo])))
            raw = null_agreement(
                confusion.rows(ends),
                prior,
                np.searchsorted(ends, first[todo]),
                np.searchsorted(ends, second[todo]),
            )
            q[todo] = np.add(raw, np.multiply(np.subtract(1.0, raw), AGREEMENT_TOLERANCE))
            known[todo] = True

    bloc = flagged.copy()
    need(may_seed | bloc[first] | bloc[second])
    p = np.subtract(1.0, q)  # null disagreement probability
    expected = np.multiply(n, p)
    seed = (d <= np.multiply(expected, SEED_RATIO)) & (
        np.multiply(n, _kl(np.divide(d, n), p)) >= SEED_LEVEL
    )
    bloc[first[seed]] = True
    bloc[second[seed]] = True
    while True:
        need(bloc[first] | bloc[second])  # the pairs the sums below read
        expected = np.multiply(n, np.subtract(1.0, q))
        e_fixed = _fixed(expected)
        v_fixed = _fixed(np.multiply(expected, q))
        e_sum, v_sum, d_sum = (
            _sum_with(bloc, first, second, values) for values in (e_fixed, v_fixed, d_int)
        )
        e = np.divide(e_sum.astype(np.float64), FIXED)
        v = np.divide(v_sum.astype(np.float64), FIXED)
        gap = np.subtract(e, d_sum.astype(np.float64))
        join = (
            ~bloc
            & (e > 0)
            & (d_sum <= np.multiply(e, GROW_RATIO))
            & (gap > 0)
            & (np.multiply(gap, gap) >= np.multiply(v, GROW_LEVEL))
        )
        if not join.any():
            return bloc
        bloc |= join


def _kl(x: FloatArray, p: FloatArray) -> FloatArray:
    """Bernoulli relative entropy KL(x || p) for x < p (0 log 0 = 0): the Chernoff
    exponent of seeing a share ``x`` of disagreements where ``p`` is expected."""
    out = np.zeros_like(x)
    low = (x < p) & (p > 0) & (p < 1)
    xs, ps = x[low], p[low]
    term = np.zeros_like(xs)
    pos = xs > 0
    term[pos] = np.multiply(xs[pos], np.subtract(det_log(xs[pos]), det_log(ps[pos])))
    rest = np.subtract(1.0, xs)
    term = np.add(
        term, np.multiply(rest, np.subtract(det_log(rest), det_log(np.subtract(1.0, ps))))
    )
    out[low] = term
    return out


def _sum_with(
    members: BoolArray, first: IntArray, second: IntArray, values: npt.NDArray[np.int64]
) -> IntArray:
    """Per annotator, the sum of ``values`` over its pairs whose other end is a member."""
    size = len(members)
    return _int_bincount(first, values, members[second], size) + _int_bincount(
        second, values, members[first], size
    )


def _int_bincount(keys: IntArray, values: IntArray, where: BoolArray, size: int) -> IntArray:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, keys[where], values[where])
    return out


def _decide(
    answers: Answers,
    gold_codes: IntArray,
    without: Callable[[BoolArray], IntArray],
    proposal: BoolArray,
) -> BoolArray:
    """The members of the proposal whose shared answers go against a consensus fitted
    without the proposal (``without(proposal)``) far more often than independent errors
    explain."""
    k = answers.n_classes
    probas = without(proposal)
    consensus = np.where(gold_codes >= 0, gold_codes, argmax_lowest(probas))
    # Items only the proposal answered have no consensus independent of it.
    outside = np.bincount(answers.item[~proposal[answers.annotator]], minlength=answers.n_items)
    pairs = pair_chunks(answers, (outside > 0) | (gold_codes >= 0))
    first, second, size = pairs.first, pairs.second, len(pairs)
    # Integer sums per annotator pair, accumulated over groups of items (bloc_sums.py).
    counts = stratum_counts(answers, pairs, consensus)
    joint, in_stratum, against, n = counts.joint, counts.in_stratum, counts.against, counts.shared
    expected = np.zeros(size)
    variance = np.zeros(size)
    for t in range(k):
        n_t = in_stratum[:, t].astype(np.float64)
        safe = np.maximum(n_t, 1.0)
        share = np.divide(joint[:, t].astype(np.float64), np.multiply(safe, safe))
        expected = np.add(expected, np.multiply(n_t, share))
        variance = np.add(variance, np.multiply(n_t, np.multiply(share, np.subtract(1.0, share))))
    excess = np.subtract(
        np.subtract(against.astype(np.float64), expected),
        np.multiply(n.astype(np.float64), AGAINST_TOLERANCE),
    )
    spread = np.add(variance, np.multiply(n.astype(np.float64), AGAINST_TOLERANCE))
    s_fixed, v_fixed = _fixed(excess), _fixed(spread)

    def member_margins(bloc: BoolArray) -> tuple[BoolArray, FloatArray]:
        x = np.divide(_sum_with(bloc, first, second, s_fixed).astype(np.float64), FIXED)
        v = np.divide(_sum_with(bloc, first, second, v_fixed).astype(np.float64), FIXED)
        return _bernstein(x, v, MEMBER_LEVEL), _score(x, v, MEMBER_LEVEL)

    bloc = proposal.copy()
    while bloc.sum() >= 2:
        passed, score = member_margins(bloc)
        if passed[bloc].all():
            break
        members = np.flatnonzero(bloc)
        bloc[members[int(np.argmin(score[members]))]] = False
    if bloc.sum() < 2:
        return np.zeros_like(proposal)
    inside = bloc[first] & bloc[second]
    x = np.array([float(s_fixed[inside].sum()) / FIXED])
    v = np.array([float(v_fixed[inside].sum()) / FIXED])
    if not _bernstein(x, v, BLOC_LEVEL)[0]:
        return np.zeros_like(proposal)
    while True:
        passed, _ = member_margins(bloc)
        join = ~bloc & passed
        if not join.any():
            return bloc
        bloc |= join


def _bernstein(x: FloatArray, v: FloatArray, level: float) -> BoolArray:
    """Whether an excess ``x`` over a sum of bounded terms with variance ``v`` is beyond
    chance at ``exp(-level)``: ``x^2 >= 2 level (v + x/3)``."""
    bound = np.multiply(np.add(v, np.divide(x, 3.0)), 2.0 * level)
    out: BoolArray = (x > 0) & (np.multiply(x, x) >= bound)
    return out


def _score(x: FloatArray, v: FloatArray, level: float) -> FloatArray:
    """How far past the Bernstein threshold an excess is, comparable across members."""
    scale = np.add(np.sqrt(np.multiply(v, 2.0 * level)), 2.0 * level / 3.0)
    out: FloatArray = np.where(x > 0, np.divide(x, scale), x)
    return out
