"""What ``bench_consensus.py`` runs and the selection rule chooses from (issue #15): every
labelnet estimator by its benchmark key, the default's key, and the numeric estimators.

Kept apart from the benchmark's measuring code so that adding a candidate is one entry
here; ``--candidates REGEX`` narrows :data:`CANDIDATES` for one run, and :data:`ALWAYS`
runs whatever it keeps.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import consensus_prototypes as proto  # noqa: E402

from node.consensus.agreed_ds import AgreedDawidSkene  # noqa: E402
from node.consensus.base import CategoricalEstimator  # noqa: E402
from node.consensus.bwa import BayesianWeightedAveraging  # noqa: E402
from node.consensus.bwa_started_ds import BwaStartedDawidSkene  # noqa: E402
from node.consensus.capped_ds import CappedDominanceDawidSkene  # noqa: E402
from node.consensus.dawid_skene import DawidSkene  # noqa: E402
from node.consensus.early_stop_ds import EarlyStopDawidSkene  # noqa: E402
from node.consensus.ebcc import EnhancedBayesianClassifierCombination  # noqa: E402
from node.consensus.evidence_ds import EvidenceDawidSkene  # noqa: E402
from node.consensus.fallback_ds import FallbackDawidSkene  # noqa: E402
from node.consensus.fenced_mean import FencedRobustMean  # noqa: E402
from node.consensus.gated_ds import GATE_PSEUDO, GatedDominanceDawidSkene  # noqa: E402
from node.consensus.hierarchical_ds import HierarchicalDawidSkene  # noqa: E402
from node.consensus.ignoring_ds import IgnoringDawidSkene  # noqa: E402
from node.consensus.majority_vote import MajorityVote  # noqa: E402
from node.consensus.median import FiniteMedian, Median  # noqa: E402
from node.consensus.numeric_base import NumericEstimator  # noqa: E402
from node.consensus.one_coin import OneCoinDawidSkene  # noqa: E402
from node.consensus.peer_gated_ds import PeerGatedDominanceDawidSkene  # noqa: E402
from node.consensus.polished_ds import AnchoredDawidSkene, PolishedDawidSkene  # noqa: E402
from node.consensus.proportional_ds import (  # noqa: E402
    DominanceDawidSkene,
    ProportionalDawidSkene,
)
from node.consensus.registry import categorical_estimator  # noqa: E402
from node.consensus.regularized_ds import RegularizedDawidSkene  # noqa: E402
from node.consensus.robust_mean import RobustMean  # noqa: E402
from node.consensus.staged_ds import StagedDawidSkene  # noqa: E402


def _hds(row: float, lean: float) -> Callable[[], CategoricalEstimator]:
    return lambda: HierarchicalDawidSkene(row_strength=row, skill_lean=lean, max_strength=row)


CANDIDATES: dict[str, Callable[[], CategoricalEstimator]] = {
    "hds_agreed": AgreedDawidSkene,
    "labelnet_ds": DawidSkene,
    "labelnet_ds1": OneCoinDawidSkene,
    "labelnet_rds": RegularizedDawidSkene,
    **{
        f"hds_r{row:g}_l{lean:g}": _hds(row, lean)
        for row in (4.0, 8.0, 16.0)
        for lean in (0.0, 0.25, 0.5)
    },
    **{
        f"hds_auto_l{lean:g}_x{scale:g}": partial(
            HierarchicalDawidSkene, skill_lean=lean, max_strength=64.0, strength_scale=scale
        )
        for lean in (0.25, 0.5)
        for scale in (1.0, 0.5, 0.25)
    },
    **{
        f"hds2_w{pooled}": partial(StagedDawidSkene, pooled_iterations=pooled)
        for pooled in (3, 5, 10, 15)
    },
    "bwa": BayesianWeightedAveraging,
    "ebcc": EnhancedBayesianClassifierCombination,
    "ebcc_r10": partial(EnhancedBayesianClassifierCombination, restarts=10),
    **{
        f"hds_bwa_w{pooled}": partial(BwaStartedDawidSkene, pooled_iterations=pooled)
        for pooled in (0, 5)
    },
    **{
        f"hds4_p{digits}": partial(EarlyStopDawidSkene, stop_prior_grid=10**digits)
        for digits in (4, 6)
    },
    "hds5_ev": EvidenceDawidSkene,
    **{
        f"hds6_a{share:g}": partial(ProportionalDawidSkene, answer_share=share)
        for share in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    },
    **{
        f"hds7_d{share:g}": partial(DominanceDawidSkene, answer_share=share)
        for share in (0.125, 0.25, 0.5, 1.0, 2.0)
    },
    **{
        f"hds5_cap{cap}": partial(DominanceDawidSkene, n_iter=cap)
        for cap in (8, 9, 10, 11, 12, 14, 16, 18, 20, 25)
    },
    **{
        f"proto_gate_d{threshold:g}_t{tau:g}": partial(
            proto.GatedDominance, threshold=threshold, tau=tau
        )
        for threshold, tau in ((8.0, 8.0), (4.0, 8.0), (4.0, 4.0), (1.0, 16.0))
    },
    "proto_loo": proto.LeaveOwnOut,
    **{f"proto_temper{c:g}": partial(proto.TemperedEvidence, c=c) for c in (0.1, 0.5)},
    "proto_hds4_after_hds5": proto.Hds4AfterHds5,
    **{
        f"gate_t{width:g}": partial(GatedDominanceDawidSkene, gate_width=width)
        for width in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
    },
    **{
        f"gate_t0.25_m{pseudo:g}": partial(
            GatedDominanceDawidSkene, gate_width=0.25, gate_pseudo=pseudo
        )
        for pseudo in (GATE_PSEUDO / 2, GATE_PSEUDO * 2)
    },
    **{
        f"pgate_k{kappa:g}_t{width:g}_m{pseudo:g}": partial(
            PeerGatedDominanceDawidSkene,
            kappa_floor=kappa,
            excess_width=width,
            excess_pseudo=pseudo,
        )
        for kappa, width, pseudo in (
            (0.1, 0.1, 256.0),
            (0.2, 0.1, 256.0),
            (0.1, 0.1, 64.0),
            (0.2, 0.2, 64.0),
            (0.1, 0.1, 512.0),
        )
    },
    **{
        f"ignore_a{alpha:g}": partial(IgnoringDawidSkene, alpha=alpha)
        for alpha in (0.001, 0.01, 0.05, 0.2)
    },
    **{
        f"polish_i{iterations}_n{items}": partial(
            PolishedDawidSkene, polish_iterations=iterations, min_items=items
        )
        for iterations in (10, 30)
        for items in (300, 500)
    },
    **{
        f"anchor_t{strength:g}": partial(AnchoredDawidSkene, anchor_strength=strength)
        for strength in (1.0, 2.0, 4.0)
    },
    **{
        f"fallback_m{least}": partial(FallbackDawidSkene, min_beyond_chance=least)
        for least in (1, 2)
    },
}
"""What the selection rule chooses from (hds_agreed: ``hds@10``, or ``ds@2`` where it
relabels at most 5% of its items, session 26's candidate, ``node/consensus/agreed_ds.py``;
r: fixed ``row_strength``; auto: estimated between
4 and 64 and multiplied by x; l: ``skill_lean``; hds2_w: ``hds@2`` with its first w
iterations pooled; ``hds_auto_l0.5_x1`` is ``hds@2`` with none, i.e. ``hds@1``; bwa and
ebcc: the published leaders, benchmark candidates with the papers' hyperparameters, see
``node/consensus/bwa.py`` and ``ebcc.py``; ebcc_r10: the best ELBO of 10 random starts, as
the reference implementation's usage keeps the best of 40; hds_bwa_w: ``hds@2`` with w
pooled iterations, started from BWA's posteriors instead of the vote; hds4_p: ``hds@4``,
``hds@2`` stopped once labels and the class prior rounded to 10**-p have settled; hds5_ev:
``hds@4`` with the row strength chosen by marginal likelihood over 4, 8, .., 64; hds6_a:
``hds@4`` whose rows weigh at least a times their own answers of the one-coin row; hds7_d:
the same with a times the annotator's answers over the mean per annotator, minus one;
hds5_cap: ``hds@5`` with at most that many EM iterations instead of 30; gate_t: the answer-bias
gate of ``node/consensus/gated_ds.py`` at that width (``_m``: that many pseudo-answers in
the bias); pgate_k_t_m: the peer-agreement gate of ``node/consensus/peer_gated_ds.py``
(kappa floor, excess width, excess pseudo-answers); ignore_a: ``hds@8`` ignoring
uninformative annotators at that ``alpha`` (``node/consensus/uninformative.py``; 0.001 is
``hds@8``); polish_i_n: ``hds@9`` with at most that many polish iterations on tasks of at least that
many items (``node/consensus/polished_ds.py``); anchor_t: ``hds@9`` whose polish gives each
row that many pseudo-answers spread as ``hds@8``'s fitted row; fallback_m: ``hds@9``, or an
equal-skill fit where fewer than that many annotators agree (or disagree) with everyone
beyond chance and there is no gold (``node/consensus/fallback_ds.py``; 1 is ``hds@10``);
proto_*: research prototypes in float numerics, ``scripts/consensus_prototypes.py``)."""
ALWAYS: dict[str, Callable[[], CategoricalEstimator]] = {
    "labelnet_mv": MajorityVote,
    "labelnet_hds": HierarchicalDawidSkene,
    "labelnet_hds2": StagedDawidSkene,
    "labelnet_hds4": EarlyStopDawidSkene,
    "labelnet_hds5": DominanceDawidSkene,
    "labelnet_hds6": CappedDominanceDawidSkene,
    "labelnet_hds8": IgnoringDawidSkene,
    "labelnet_hds9": PolishedDawidSkene,
    "labelnet_hds10": FallbackDawidSkene,
}
"""Run in every benchmark whatever ``--candidates`` keeps: the vote, the previous defaults
and the default."""
LABELNET: dict[str, Callable[[], CategoricalEstimator]] = {**ALWAYS, **CANDIDATES}
DEFAULT_KEY = "labelnet_hds10"


def estimator_for(key: str) -> Callable[[], CategoricalEstimator]:
    """The estimator a benchmark flag names: a key of :data:`LABELNET`, or a registered
    algorithm id."""
    return LABELNET.get(key, partial(categorical_estimator, key))


NUMERIC: dict[str, Callable[[], NumericEstimator]] = {
    "labelnet_median": Median,
    "labelnet_robust_mean": RobustMean,
    "labelnet_median2": FiniteMedian,
    "labelnet_robust_mean2": FencedRobustMean,
}
DEFAULT_NUMERIC_KEY = "labelnet_robust_mean2"
