"""``hds@6`` (issue #15): ``hds@5`` with at most 16 EM iterations
(:mod:`node.consensus.capped_ds`). Registered under its own id, so ``hds@5`` tasks keep
their 30 iterations and their bytes."""

from __future__ import annotations

from node.consensus.capped_ds import EM_ITERATIONS, CappedDominanceDawidSkene
from node.consensus.proportional_ds import DominanceDawidSkene
from node.consensus.registry import categorical_estimator
from node.protocol.ids import DEFAULT_ALGORITHM
from tests.consensus.replay import replayed_everywhere
from tests.consensus.test_hds4 import answers_of
from tests.consensus.test_staged_ds import small_task_accuracies


def test_registered_with_the_rules_cap() -> None:
    assert DEFAULT_ALGORITHM == "hds@10"  # hds@6 was the default until hds@8
    model = categorical_estimator("hds@6")
    assert type(model) is CappedDominanceDawidSkene and model.algorithm == "hds@6"
    assert model.params() == {**DominanceDawidSkene().params(), "n_iter": EM_ITERATIONS}
    assert EM_ITERATIONS == 16
    assert categorical_estimator("hds@5").params()["n_iter"] == 30  # hds@5 keeps its count


def test_it_is_hds5_stopped_at_the_cap() -> None:
    """zencrowd_us never settles under hds@5 (30 iterations): hds@6 ends after 16, with
    hds@5's own state after its 16th iteration."""
    data = answers_of("zencrowd_us")
    ours = categorical_estimator("hds@6").fit(data)
    assert isinstance(ours, CappedDominanceDawidSkene) and ours.iterations_ == EM_ITERATIONS
    at_cap = DominanceDawidSkene(n_iter=EM_ITERATIONS).fit(data)
    full = categorical_estimator("hds@5").fit(data)
    assert isinstance(full, DominanceDawidSkene) and full.iterations_ == 30
    assert ours.probas_ppb_.tobytes() == at_cap.probas_ppb_.tobytes()
    assert ours.probas_ppb_.tobytes() != full.probas_ppb_.tobytes()


def test_where_hds5_stops_sooner_it_is_hds5_to_the_byte() -> None:
    data = answers_of("wsd")  # hds@5's early stop fires after iteration 9
    full = categorical_estimator("hds@5").fit(data)
    assert isinstance(full, DominanceDawidSkene) and full.iterations_ < EM_ITERATIONS
    ours = categorical_estimator("hds@6").fit(data)
    assert ours.probas_ppb_.tobytes() == full.probas_ppb_.tobytes()


def test_small_tasks_stay_above_the_vote() -> None:
    for items in (40, 100):
        ours, vote = small_task_accuracies("hds@6", items)
        assert ours >= vote, (items, ours, vote)


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """web (hds@5 runs all 30 iterations there, so the cap moves the result) as an
    ``hds@6`` task with gold revealed and the bloc test on, in two interpreters fed in
    opposite orders with different hash seeds, and in this one."""
    assert replayed_everywhere("web", "hds@6") == PINNED


PINNED = (
    "bafybeih4tglxw3yolsgoqagwxzbitxju7kjkzmsxwffaqiobor6cyzpuym "
    "930e0580665a04a24c14dd0c16254252ecea610c35e2f1f67f4edfa689a5adbd"
)
"""The ``hds@5`` replay of web gives another CID and payout root (``b9ea123c…``): the
cap moves the posteriors there."""
