"""``hds@4`` (issue #15, speed; the default for new tasks until ``hds@5``): ``hds@2``
stopped once the labels and the class prior rounded to 1e-6 have been the same for two
iterations in a row. Bytes equal to ``hds@2``'s where the stop never fires, the same labels
where it does, the stop independent of row order and annotator names, and byte pins on a
real set where it fires."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.consensus.answers import Answers
from node.consensus.base import Posteriors
from node.consensus.early_stop_ds import EarlyStopDawidSkene, Settled
from node.consensus.majority_vote import MajorityVote
from node.consensus.registry import categorical_estimator
from node.consensus.staged_ds import StagedDawidSkene
from node.protocol.errors import InvalidParameterError
from node.protocol.ids import DEFAULT_ALGORITHM
from tests.consensus.helpers import load_dataset
from tests.consensus.replay import replayed_everywhere
from tests.consensus.test_staged_ds import held_out_accuracy, small_task

ROOT = Path(__file__).resolve().parents[2]


def answers_of(name: str) -> Answers:
    rows, _ = load_dataset(name)
    items, workers, labels = (list(c) for c in zip(*rows, strict=True))
    return Answers.from_arrays(items, workers, labels)


def test_registered_with_its_parameters() -> None:
    assert DEFAULT_ALGORITHM == "hds@10"  # hds@4 was the default until hds@5
    model = categorical_estimator("hds@4")
    assert type(model) is EarlyStopDawidSkene and model.algorithm == "hds@4"
    params = model.params()
    assert params["stop_prior_grid"] == 1_000_000 and params["stop_repeats"] == 2
    assert params["pooled_iterations"] == 5 and params["n_iter"] == 30
    for bad in (0, 10**10, 1.5):
        with pytest.raises(InvalidParameterError):
            EarlyStopDawidSkene(stop_prior_grid=bad)  # type: ignore[arg-type]


def test_stops_early_with_hds2s_labels() -> None:
    """sp: the stop fires at iteration 20 of 30; every label is hds@2's."""
    data = answers_of("sp")
    early = EarlyStopDawidSkene().fit(data)
    full = StagedDawidSkene().fit(data)
    assert early.iterations_ == 20
    np.testing.assert_array_equal(early.label_codes_, full.label_codes_)
    assert not np.array_equal(early.probas_ppb_, full.probas_ppb_)  # a different id's bytes


def test_never_settled_is_hds2_to_the_byte() -> None:
    """bluebirds: labels still move at iteration 30, so the run is hds@2's."""
    data = answers_of("bluebirds")
    early = EarlyStopDawidSkene().fit(data)
    assert early.iterations_ == 30
    full = StagedDawidSkene().fit(data)
    assert early.probas_ppb_.tobytes() == full.probas_ppb_.tobytes()
    np.testing.assert_array_equal(early.confusions_, full.confusions_)


def test_the_last_m_step_waits_until_asked_and_any_order_gives_its_fit() -> None:
    """The M-step after the last E-step only fits the confusions and the strength, so it
    runs when they are asked for; strength first or confusions first, the same fit (and
    the one ``hds@2`` keeps where the stop never fires: the test above)."""
    data = answers_of("temp")
    first, second = EarlyStopDawidSkene().fit(data), EarlyStopDawidSkene().fit(data)
    assert first._last_step is not None and first._log_confusion is None
    strength, confusions = first.strength_, first.confusions_
    assert first._last_step is None
    assert second.confusions_.tobytes() == confusions.tobytes()
    assert second.strength_ == strength


def test_a_coarser_grid_stops_sooner() -> None:
    data = answers_of("sp")
    assert EarlyStopDawidSkene(stop_prior_grid=10**4).fit(data).iterations_ == 15
    assert EarlyStopDawidSkene(n_iter=12).fit(data).iterations_ == 12  # the cap


def test_row_order_and_annotator_names_change_nothing() -> None:
    """Where the stop fires (rte, iteration 23), it fires at the same iteration and on the
    same bytes whatever the order of the rows and the annotators' names."""
    rows, _ = load_dataset("rte")
    items, workers, labels = (list(c) for c in zip(*rows, strict=True))
    renamed = [f"z{999 - sorted(set(workers)).index(w):03d}" for w in workers]
    first = EarlyStopDawidSkene().fit(Answers.from_arrays(items, workers, labels))
    second = EarlyStopDawidSkene().fit(
        Answers.from_arrays(items[::-1], renamed[::-1], labels[::-1])
    )
    assert first.iterations_ == second.iterations_ == 23
    assert first.probas_ppb_.tobytes() == second.probas_ppb_.tobytes()


def test_small_task_above_the_vote() -> None:
    """The 40-item task of hds@2's small-task fix: the pooled phase always runs in full."""
    data, gold, truth = small_task(40)
    vote = held_out_accuracy(MajorityVote().fit(data, gold), truth, gold)
    ours = held_out_accuracy(EarlyStopDawidSkene().fit(data, gold), truth, gold)
    assert ours >= vote + 0.05


def test_replay_of_a_real_set_is_pinned_to_the_byte() -> None:
    """rte as an ``hds@4`` task (gold revealed, bloc test on), in two interpreters fed in
    opposite orders with different hash seeds, and in this one. The stop fires at iteration
    23 here; the payout root is the same as the ``hds@2`` replay's, the CID is not (the
    document names the algorithm and carries the posteriors)."""
    forward = replayed_everywhere("rte", "hds@4")
    assert forward == (
        "bafkreickena65gbchvdfpnlpyu3c645wplrsddvjiyukdc2jxpy7p7rzjm "
        "adad08e43d76abd67312718d78ad9c8ccee9b67518a3b7db87b4f5e8c433d98f"
    )


def test_the_stop_compares_labels_and_the_prior_on_its_grid() -> None:
    """Two states are the same when every label and the prior's grid point are; a first
    state has nothing to be the same as; ``==`` is identity, never an array of answers."""
    model = EarlyStopDawidSkene(stop_prior_grid=1000)
    probas = np.array([[900_000_000, 100_000_000], [200_000_000, 800_000_000]])
    state = model._settled_state(Posteriors.of(probas), np.array([0.5004, 0.4996]))
    assert state.labels.tolist() == [0, 1]
    assert state.prior_grid.tolist() == [500, 500]
    assert not state.same_as(None)
    again = model._settled_state(Posteriors.of(probas.copy()), np.array([0.5001, 0.4999]))
    assert again.same_as(state) and state.same_as(again)  # the same grid point: 500, 500
    prior_moved = model._settled_state(Posteriors.of(probas), np.array([0.5006, 0.4994]))
    assert not prior_moved.same_as(state)
    flipped = Settled(np.array([0, 0]), state.prior_grid)
    assert not flipped.same_as(state)
    assert (again == state) is False and (state == state) is True
