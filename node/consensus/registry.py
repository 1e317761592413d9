"""The estimator of each algorithm id (the ids and the defaults are
:mod:`node.protocol.ids`).

The version is part of the id because a validator must run exactly the computation the
task was created with: any change to an estimator's output, however small, is a new
version, and old versions stay available for old tasks.
"""

from __future__ import annotations

from collections.abc import Callable

from node.consensus.base import CategoricalEstimator
from node.consensus.bwa_started_ds import BwaStartedDawidSkene
from node.consensus.capped_ds import CappedDominanceDawidSkene
from node.consensus.dawid_skene import DawidSkene
from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.fallback_ds import FallbackDawidSkene
from node.consensus.fenced_mean import FencedRobustMean
from node.consensus.hierarchical_ds import HierarchicalDawidSkene
from node.consensus.ignoring_ds import IgnoringDawidSkene
from node.consensus.majority_vote import MajorityVote
from node.consensus.median import FiniteMedian, Median
from node.consensus.numeric_base import NumericEstimator
from node.consensus.one_coin import OneCoinDawidSkene
from node.consensus.polished_ds import PolishedDawidSkene
from node.consensus.proportional_ds import DominanceDawidSkene
from node.consensus.regularized_ds import RegularizedDawidSkene
from node.consensus.robust_mean import RobustMean
from node.consensus.staged_ds import StagedDawidSkene
from node.consensus.stopped_ds import StoppedDawidSkene
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM, DEFAULT_NUMERIC_ALGORITHM

CATEGORICAL: dict[str, Callable[[], CategoricalEstimator]] = {
    MajorityVote.algorithm: MajorityVote,
    DawidSkene.algorithm: DawidSkene,
    OneCoinDawidSkene.algorithm: OneCoinDawidSkene,
    RegularizedDawidSkene.algorithm: RegularizedDawidSkene,
    HierarchicalDawidSkene.algorithm: HierarchicalDawidSkene,
    StagedDawidSkene.algorithm: StagedDawidSkene,
    BwaStartedDawidSkene.algorithm: BwaStartedDawidSkene,
    EarlyStopDawidSkene.algorithm: EarlyStopDawidSkene,
    DominanceDawidSkene.algorithm: DominanceDawidSkene,
    CappedDominanceDawidSkene.algorithm: CappedDominanceDawidSkene,
    IgnoringDawidSkene.algorithm: IgnoringDawidSkene,
    PolishedDawidSkene.algorithm: PolishedDawidSkene,
    StoppedDawidSkene.algorithm: StoppedDawidSkene,
    FallbackDawidSkene.algorithm: FallbackDawidSkene,
}

NUMERIC: dict[str, Callable[[], NumericEstimator]] = {
    Median.algorithm: Median,
    RobustMean.algorithm: RobustMean,
    FiniteMedian.algorithm: FiniteMedian,
    FencedRobustMean.algorithm: FencedRobustMean,
}


def categorical_estimator(algorithm: str = DEFAULT_ALGORITHM) -> CategoricalEstimator:
    """A fresh estimator for a categorical algorithm id."""
    try:
        return CATEGORICAL[algorithm]()
    except KeyError as exc:
        known = ", ".join(sorted(CATEGORICAL))
        raise InvalidParameterError(f"unknown algorithm {algorithm!r} (known: {known})") from exc


def numeric_estimator(algorithm: str = DEFAULT_NUMERIC_ALGORITHM) -> NumericEstimator:
    """A fresh estimator for a numeric algorithm id."""
    try:
        return NUMERIC[algorithm]()
    except KeyError as exc:
        known = ", ".join(sorted(NUMERIC))
        raise InvalidParameterError(f"unknown algorithm {algorithm!r} (known: {known})") from exc
