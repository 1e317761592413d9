"""Multi-label aggregation, one binary model per class."""

from __future__ import annotations

import pytest

from node.consensus.majority_vote import MajorityVote
from node.consensus.multilabel import MultiLabelAggregator, MultiLabelAnswers
from node.protocol.errors import InvalidAnswersError

CLASSES = ["cat", "dog", "person"]


def rows() -> list[tuple[str, str, list[str]]]:
    return [
        ("img1", "w1", ["cat", "person"]),
        ("img1", "w2", ["cat", "person"]),
        ("img1", "w3", ["cat"]),
        ("img2", "w1", ["dog"]),
        ("img2", "w2", ["dog"]),
        ("img2", "w3", ["dog", "cat"]),
        ("img3", "w1", []),
        ("img3", "w2", []),
        ("img3", "w3", ["person"]),
    ]


@pytest.mark.parametrize("estimator", [MajorityVote, None])
def test_per_class_majorities(estimator: type[MajorityVote] | None) -> None:
    data = MultiLabelAnswers.from_rows(rows(), CLASSES)
    model = MultiLabelAggregator(estimator) if estimator else MultiLabelAggregator()
    assert model.fit_predict(data) == [("cat", "person"), ("dog",), ()]
    assert model.items_ == ("img1", "img2", "img3")
    assert model.labels_.shape == (3, 3)


def test_gold_sets_are_clamped() -> None:
    data = MultiLabelAnswers.from_rows(rows(), CLASSES)
    model = MultiLabelAggregator(MajorityVote).fit(data, gold={"img3": ["person", "dog"]})
    assert model.label_sets_[2] == ("dog", "person")


def test_set_conflicts_follow_the_answer_rule() -> None:
    data = MultiLabelAnswers.from_rows(
        [("i", "w1", ["cat"]), ("i", "w1", ["cat"]), ("i", "w2", ["dog"]), ("i", "w2", [])],
        CLASSES,
    )
    assert data.annotators == ("w1",)
    assert data.dropped_conflicts == 1
    with pytest.raises(InvalidAnswersError, match="not a declared class"):
        MultiLabelAnswers.from_rows([("i", "w", ["horse"])], CLASSES)
