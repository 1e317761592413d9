"""Algorithm and rule ids, as tasks name them on chain and in their manifests
(``name@version``), and the defaults new tasks get.

The version is part of the id because a validator must run exactly the computation the
task was created with: any change to an estimator's output, however small, is a new id,
and old ids stay valid for old tasks. Only the ids live here; the estimators that
implement them are :mod:`node.consensus` (its ``registry`` maps each id to one).
"""

from __future__ import annotations

from node.protocol.errors import InvalidParameterError

MAJORITY_VOTE = "mv@1"
DAWID_SKENE = "ds@1"
ONE_COIN_DAWID_SKENE = "ds1@1"
STOPPED_DAWID_SKENE = "ds@2"
"""Dawid-Skene as crowd-kit's ``DawidSkene`` runs it: the vote's shares as the start,
unsmoothed rows and prior, and crowd-kit's stop on the evidence lower bound, in exact
arithmetic (issue #15; registered, not the default: :mod:`node.consensus.stopped_ds`)."""
REGULARIZED_DAWID_SKENE = "rds@1"
HIERARCHICAL_DAWID_SKENE = "hds@1"
STAGED_DAWID_SKENE = "hds@2"
BWA_STARTED_DAWID_SKENE = "hds@3"
"""``hds@1`` started from Bayesian weighted averaging's posteriors (issue #15; registered,
not the default: :mod:`node.consensus.bwa_started_ds`)."""
EARLY_STOP_DAWID_SKENE = "hds@4"
"""``hds@2`` stopped once its labels and rounded class prior settle (issue #15:
:mod:`node.consensus.early_stop_ds`)."""
DOMINANCE_DAWID_SKENE = "hds@5"
"""``hds@4`` whose annotators busier than average have their confusion rows pulled toward
their one-coin row by a share growing with the excess (issue #15:
:mod:`node.consensus.proportional_ds`)."""
CAPPED_DOMINANCE_DAWID_SKENE = "hds@6"
"""``hds@5`` with at most 16 EM iterations instead of 30 (issue #15:
:mod:`node.consensus.capped_ds`, which says how the count was chosen)."""
IGNORING_DAWID_SKENE = "hds@8"
"""``hds@6`` that takes no evidence from annotators whose answers say nothing about the
truth: constant answerers, and annotators who over-give a class while agreeing with nobody
beyond chance (issue #15: :mod:`node.consensus.ignoring_ds`,
:mod:`node.consensus.uninformative`). ``hds@7`` is retired: a gated ``hds@6`` briefly
registered under it (commit 12e8786) was withdrawn before any release (8e2a50f), and the
id is never reused for other bytes."""
POLISHED_DAWID_SKENE = "hds@9"
"""``hds@8``, then plain Dawid-Skene EM from its posteriors, kept where ``hds@8``'s row
strength is below its cap and the answers on the items the two disagree on do not side
with ``hds@8`` beyond the evidence z (issue #15: :mod:`node.consensus.polished_ds`)."""
FALLBACK_DAWID_SKENE = "hds@10"
"""``hds@9``, except that where no annotator agrees, or disagrees, with the others beyond
chance and no gold is given, the consensus is a fit of one accuracy for the whole crowd
and the class prior (issue #15: :mod:`node.consensus.fallback_ds`)."""
MEDIAN = "median@1"
ROBUST_MEAN = "robust-mean@1"
MEDIAN_V2 = "median@2"
"""``median@1`` whose two middle answers are averaged without overflow: a result for any
finite answers (:mod:`node.consensus.median`)."""
ROBUST_MEAN_V2 = "robust-mean@2"
"""``robust-mean@1`` on answers fenced around their item's median and rescaled by a power of
two: a result for any finite answers, one annotator's extreme answers cannot move it far
(:mod:`node.consensus.fenced_mean`)."""
MULTILABEL_ALGORITHM = "multilabel@1"
"""Per-class ``rds@1`` over (item, class) yes/no answers (:mod:`node.consensus.multilabel`)."""

DEFAULT_ALGORITHM = FALLBACK_DAWID_SKENE
"""What new categorical tasks get: chosen by the leave-one-out rule over the real sets, a
synthetic grid and the real sets under attack (BENCHMARKS.md "Consensus on unseen data
(issue #15)", "Row pull proportional to the answers", "``hds@6``: an iteration cap",
"Uninformative annotators", "``hds@9``", "``hds@10``"). Tasks created with ``rds@1`` or
``hds@1`` .. ``hds@9`` keep theirs: a task's algorithm id is on chain and every id stays
known."""

DEFAULT_NUMERIC_ALGORITHM = ROBUST_MEAN_V2
"""What new numeric tasks get: ``robust-mean@2``, the bytes of ``robust-mean@1`` on
zheng_n_emotion (mean absolute error 11.810 both), and a result whatever finite answers one
annotator reveals. Tasks created with ``robust-mean@1`` or ``median@1`` keep theirs."""

DEAL_RULE = "deal@1"
"""Which items each seat of a market v2 task gets (:mod:`node.protocol.deal`,
docs/settlement.md §1.4). Defined and tested; no task uses it yet (market v2 is not built)."""
ASSIGNED_REWARD_RULE = "assigned@1"
"""Market v2's reward rule: exactly ``rewardPerLabel`` per accepted label on dealt items, no
pro rata step (:mod:`node.consensus.assigned`). Defined and tested; no task uses it yet."""

BLOC_TEST_ID = "bloc@1"
"""The bloc (collusion) test of :mod:`node.consensus.collusion`; ``""`` in a manifest: none."""


def bloc_test_id(value: object) -> str:
    """``value`` if it names a bloc test this engine runs (``""``: none), else an error."""
    if value not in ("", BLOC_TEST_ID):
        raise InvalidParameterError(f"unknown bloc test {value!r}: give {BLOC_TEST_ID!r} or ''")
    return str(value)


CONTESTED_RULE = "contested@1"
"""Which items a reviewed task sends to review (:mod:`node.consensus.contested`,
docs/review.md §2). Defined and tested; no task uses it yet (the review round's contracts
and node duty are not built)."""
REVIEW_RULE = "review@1"
"""The review round's rules: the reviewed answer, reviewer pay and slashing, and how reviewed
items enter the consensus (:mod:`node.consensus.review`, docs/review.md). Defined and
tested; no task uses it yet."""
