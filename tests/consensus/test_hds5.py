"""``hds@5`` (issue #15): ``hds@4`` whose annotators busier than average are pulled toward
their one-coin row (:class:`~node.consensus.proportional_ds.DominanceDawidSkene` with the
share the selection rule chose). Registered under its own id, so ``hds@4`` tasks keep their
bytes; the model's behaviour is tested in ``test_proportional_ds.py``, its registration,
the small task and its byte pins here."""

from __future__ import annotations

from pathlib import Path

from node.consensus.early_stop_ds import EarlyStopDawidSkene
from node.consensus.proportional_ds import DOMINANCE_SHARE, DominanceDawidSkene
from node.consensus.registry import categorical_estimator
from node.protocol.ids import DEFAULT_ALGORITHM
from tests.consensus.replay import replayed_everywhere
from tests.consensus.test_hds4 import answers_of
from tests.consensus.test_staged_ds import small_task_accuracies

ROOT = Path(__file__).resolve().parents[2]


def test_registered_with_the_rules_share() -> None:
    assert DEFAULT_ALGORITHM == "hds@10"  # hds@5 was the default until hds@6
    model = categorical_estimator("hds@5")
    assert type(model) is DominanceDawidSkene and model.algorithm == "hds@5"
    params = model.params()
    assert params["answer_share"] == repr(DOMINANCE_SHARE)
    assert params["stop_prior_grid"] == 1_000_000 and params["pooled_iterations"] == 5
    # hds@4 is untouched: its own class, no share.
    old = categorical_estimator("hds@4")
    assert type(old) is EarlyStopDawidSkene and "answer_share" not in old.params()


def test_where_no_annotator_is_busier_than_average_it_is_hds4_to_the_byte() -> None:
    data = answers_of("bluebirds")  # 39 workers, each answered all 108 items
    ours = categorical_estimator("hds@5").fit(data)
    old = categorical_estimator("hds@4").fit(data)
    assert ours.probas_ppb_.tobytes() == old.probas_ppb_.tobytes()


def test_small_tasks_stay_above_the_vote() -> None:
    for items in (40, 100):
        ours, vote = small_task_accuracies("hds@5", items)
        assert ours >= vote, (items, ours, vote)


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """web (177 annotators, the busiest with many times the mean number of answers, so the
    pull is at work) as an ``hds@5`` task with gold revealed and the bloc test on, in two
    interpreters fed in opposite orders with different hash seeds, and in this one."""
    assert replayed_everywhere("web", "hds@5") == PINNED


PINNED = (
    "bafybeiddyz4lr4bn6tgw576ofhzo57bveixvlodychdnaavadklf5tmr5u "
    "b9ea123c06365375e4ed75f1840226526e0d3c985cf82ed375b0dcb14cd68659"
)
"""The ``hds@4`` replay of web gives another payout root (``08b3be7d…``): the pull moves
payouts there."""
