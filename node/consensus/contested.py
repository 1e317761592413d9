"""``contested@1``: which items of a reviewed task go to review (docs/review.md §2).

The rule, over the consensus every honest validator computes from the revealed batches and
the revealed gold (:func:`node.consensus.task.categorical_consensus`, the task's algorithm
and bloc test):

1. Candidates are the items that are not gold and whose consensus posterior (the largest
   class probability, parts per billion) is strictly under the review's ``contested_below``
   (by default 0.8, the reward rule's default confidence threshold: the items a default
   task calls not confident; ``1`` makes every item short of certainty a candidate).
2. They are ordered by (posterior ascending, item id ascending by code point): the least sure
   first, ties broken by the id so the order is total.
3. The first ``floor(share · items)`` of them are the contested set, where ``items`` is the
   number of items in the consensus (gold included) and ``share`` the requester's
   ``contested_share``: the requester pays for that many items at most, so the cap is what
   it chose.

The set is returned sorted by item id: that is the order votes are published in.

Integers only (posteriors in ppb, the cap by integer division), so the set is the same on
every machine; a task without review never calls this, so no existing bytes change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from node.consensus.answers import IntArray
from node.consensus.result import CategoricalConsensus
from node.protocol.errors import InvalidParameterError
from node.protocol.review import ReviewParams, contested_cap


def contested_items(
    items: Sequence[str],
    probas_ppb: IntArray,
    gold_codes: IntArray,
    threshold_ppb: int,
    share_ppb: int,
) -> tuple[str, ...]:
    """The ``contested@1`` set of one consensus (rows of ``probas_ppb`` are ``items``, in
    order; ``gold_codes`` is ``-1`` where an item is not gold), sorted by item id."""
    if probas_ppb.shape[0] != len(items) or gold_codes.shape[0] != len(items):
        raise InvalidParameterError("posteriors, gold codes and items must have one row each")
    cap = contested_cap(len(items), share_ppb)
    if cap == 0:
        return ()
    top = probas_ppb.max(axis=1) if len(items) else np.zeros(0, dtype=np.int64)
    candidates = [
        (int(top[i]), item)
        for i, item in enumerate(items)
        if gold_codes[i] < 0 and int(top[i]) < threshold_ppb
    ]
    candidates.sort()
    return tuple(sorted(item for _, item in candidates[:cap]))


def contested_set(fit: CategoricalConsensus, params: ReviewParams) -> tuple[str, ...]:
    """:func:`contested_items` of a fitted consensus (its items, posteriors and gold) under
    a task's review parameters."""
    return contested_items(
        fit.answers.items,
        fit.probas_ppb,
        fit.gold_codes,
        params.contested_below_ppb,
        params.contested_share_ppb,
    )
