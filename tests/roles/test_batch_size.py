"""The least batch size of a seated task (docs/settlement.md §1.6) and the requester's checks
of a seated task before it reaches the market (TaskRequest.batch_size, seat_deadline)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, build_task_content
from node.roles.requester import TaskRequest, TaskRequestError, minimum_batch, validate_request
from node.roles.requester.batch_size import minimum_batch_size, pass_probability, passes

Z = 2_576_000_000  # the default significance_z, in ppb


def test_the_least_batch_for_the_default_test_by_class_count() -> None:
    figures = {c: minimum_batch_size(c, Z) for c in (2, 3, 4, 5, 10)}
    assert figures == {2: 38, 3: 15, 4: 11, 5: 8, 10: 4}
    for classes, n in figures.items():
        assert pass_probability(n, classes, Z) >= 0.9
        assert pass_probability(n - 1, classes, Z) < 0.9 or n == 1


def test_the_figure_follows_the_test_and_the_annotator() -> None:
    assert minimum_batch_size(2, 0) == 1  # no evidence test: any batch
    assert minimum_batch_size(2, 5_000_000_000) > minimum_batch_size(2, Z)
    assert minimum_batch_size(2, Z, accuracy=Fraction(9, 10)) < minimum_batch_size(2, Z)
    # Evidence grows with the right answers: the threshold is a count.
    assert not passes(38, 19, 2, Z) and passes(38, 38, 2, Z)
    with pytest.raises(ValueError, match="at least 2 classes"):
        minimum_batch_size(1, Z)


def _request(
    batch: int, seat_deadline: int, *, items: int = 40, kind: TaskKind = TaskKind.CATEGORICAL
) -> TaskRequest:
    content = build_task_content(
        [ItemSpec(f"i{n}", data="x") for n in range(items)],
        title="t",
        kind=kind,
        classes=() if kind is TaskKind.NUMERIC else ("p", "n"),
    )
    return TaskRequest(
        content,
        1,
        3,
        0,
        2_000,
        3_000,
        4_000,
        algorithm=content.manifest.algorithm,
        batch_size=batch,
        seat_deadline=seat_deadline,
    )


def test_a_seated_request_is_checked_before_the_market_sees_it() -> None:
    ok = _request(40, 1_000)
    validate_request(ok, now=0, max_attest_window=10_000, min_label_time=1_000)
    assert ok.seats == 3 and minimum_batch(ok) == 38
    with pytest.raises(TaskRequestError, match="below 38"):
        validate_request(_request(30, 1_000), now=0, max_attest_window=10_000)
    with pytest.raises(TaskRequestError, match="divide"):
        validate_request(_request(39, 1_000), now=0, max_attest_window=10_000)
    with pytest.raises(TaskRequestError, match="labelling time"):
        validate_request(ok, now=0, max_attest_window=10_000, min_label_time=1_001)
    with pytest.raises(TaskRequestError, match="labelling time"):
        validate_request(ok, now=1_000, max_attest_window=10_000)
    with pytest.raises(TaskRequestError, match="no seat deadline"):
        validate_request(_request(0, 1_000), now=0, max_attest_window=10_000)
    with pytest.raises(TaskRequestError, match="only categorical"):
        validate_request(
            _request(40, 1_000, kind=TaskKind.NUMERIC), now=0, max_attest_window=10_000
        )
    open_task = _request(0, 0)
    validate_request(open_task, now=0, max_attest_window=10_000)
    assert open_task.params("cid", bytes(32))[-2:] == (0, 0)
    assert ok.params("cid", bytes(32))[-2:] == (1_000, 40)
