"""The one rule that picks a finalized task's result document (``verified_result``): each
way a candidate is refused, the next tried, and one error naming every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.errors import LabelnetError
from node.protocol.result import ResultDocumentError
from node.roles.settlement import ResultUnavailableError, result_bytes, verified_result
from node.store.embedded import EmbeddedStore
from node.store.errors import StoreError
from tests.roles.test_settlement import TASK, WINNER, result_document

MISSING = "bafkreigzbmnxq5v2zyvyesijuxjxbqdtkrftwfkn4mcgw7yatzi5sabqjm"
"""A well-formed CID nobody holds."""


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


def refusal(store: EmbeddedStore, cid: str, total: int | None = 400) -> ResultUnavailableError:
    """The error for ``cid`` as the only candidate, checked to name it once."""
    with pytest.raises(ResultUnavailableError) as info:
        verified_result([cid], TASK, WINNER.root, total, lambda c: result_bytes(store, c))
    assert [c for c, _ in info.value.failures] == [cid]
    assert str(info.value).startswith(f"task {TASK}: no verifiable result document ({cid}: ")
    return info.value


def test_no_candidate_is_none_attested(store: EmbeddedStore) -> None:
    with pytest.raises(ResultUnavailableError, match=r"document \(none attested\)$") as info:
        verified_result([], TASK, WINNER.root, 400, lambda c: result_bytes(store, c))
    assert info.value.failures == ()


def test_a_cid_nobody_serves_is_refused(store: EmbeddedStore) -> None:
    assert isinstance(refusal(store, MISSING).failures[0][1], StoreError)


def test_a_string_that_is_no_cid_is_refused(store: EmbeddedStore) -> None:
    assert isinstance(refusal(store, "not-a-cid").failures[0][1], StoreError)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[" * 100_000, "not JSON"),  # nested too deep to parse
        (result_document(task=8), "a result of task 8, not 7"),
        (result_document(amounts=(350, 50)), "do not rebuild the finalized root"),
    ],
)
def test_a_document_that_is_not_the_winning_result_is_refused(
    store: EmbeddedStore, content: bytes, reason: str
) -> None:
    error = refusal(store, store.put(content))
    assert isinstance(error.failures[0][1], ResultDocumentError)
    assert reason in str(error)


def test_a_document_with_another_total_is_refused(store: EmbeddedStore) -> None:
    error = refusal(store, store.put(result_document()), total=399)
    assert "its total 400 is not the task's 399" in str(error)
    _, document = verified_result(  # no total to check: the root alone decides
        [store.put(result_document())],
        TASK,
        WINNER.root,
        None,
        lambda c: result_bytes(store, c),
    )
    assert document.payouts.total == 400


def test_the_first_that_verifies_wins_after_each_refusal_is_reported(
    store: EmbeddedStore,
) -> None:
    good = store.put(result_document())
    junk = store.put(b"not json")
    seen: list[tuple[str, LabelnetError]] = []
    cid, document = verified_result(
        [MISSING, junk, MISSING, good, store.put(result_document(task=8))],
        TASK,
        WINNER.root,
        400,
        lambda c: result_bytes(store, c),
        on_failure=lambda c, exc: seen.append((c, exc)),
    )
    assert (cid, document.payouts.root) == (good, WINNER.root)
    assert [c for c, _ in seen] == [MISSING, junk]  # each CID once, none after the winner


def test_one_error_lists_every_refusal_in_attest_order(store: EmbeddedStore) -> None:
    junk, other = store.put(b"not json"), store.put(result_document(task=8))
    with pytest.raises(ResultUnavailableError) as info:
        verified_result(
            [junk, MISSING, other], TASK, WINNER.root, 400, lambda c: result_bytes(store, c)
        )
    assert [c for c, _ in info.value.failures] == [junk, MISSING, other]
    message = str(info.value)
    assert "\n" not in message
    assert message.index(junk) < message.index(MISSING) < message.index(other)
