"""Tasks of the kinds of issue #20 (boxes, spans, text, pairwise) through the real
validator duty on a real anvil: posted with their ``annotation`` section, labelled,
revealed, attested by two validators, finalized; the published result is the kind's."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.db.models import ValidationState
from node.protocol.annotation import AnnotationParams, match_text
from node.protocol.canonical import JsonValue
from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec
from tests.conftest import Actors
from tests.roles.network import TRUTH, Network, make_network, post_task, reveal_all
from tests.roles.test_validator_duty import attest_round, intent, published_result

VALIDATORS = ("validator_1", "validator_2")
CAR, PERSON = [10, 10, 50, 40, "cat"], [100, 20, 140, 90, "dog"]
BOXES = {
    "annotator_a": {"q1": [CAR], "q2": [CAR, PERSON], "q3": [], "q4": [PERSON]},
    "annotator_b": {"q1": [[11, 10, 50, 41, "cat"]], "q2": [CAR, PERSON], "q3": [], "q4": [PERSON]},
    "annotator_c": {"q1": [CAR], "q2": [CAR], "q3": [[0, 0, 5, 5, "dog"]], "q4": [PERSON]},
}
SPANS = {
    "annotator_a": {"q1": [[0, 4, "cat"]], "q2": [[2, 6, "dog"]], "q3": [], "q4": [[1, 3, "cat"]]},
    "annotator_b": {"q1": [[0, 4, "cat"]], "q2": [[2, 6, "dog"]], "q3": [], "q4": [[1, 3, "cat"]]},
    "annotator_c": {"q1": [[0, 4, "dog"]], "q2": [], "q3": [[5, 9, "cat"]], "q4": [[1, 3, "cat"]]},
}
TEXTS = {
    "annotator_a": {"q1": "a red car", "q2": "two people", "q3": "a dog", "q4": "rain"},
    "annotator_b": {"q1": "A  red car", "q2": "two people", "q3": "a dog", "q4": "rain"},
    "annotator_c": {"q1": "a rod car", "q2": "too people", "q3": "a dog", "q4": "snow"},
}
CHOICES = {
    "annotator_a": {"q1": "A", "q2": "B", "q3": "A", "q4": "tie"},
    "annotator_b": {"q1": "A", "q2": "B", "q3": "A", "q4": "B"},
    "annotator_c": {"q1": "B", "q2": "B", "q3": "B", "q4": "B"},
}
CASES: dict[TaskKind, tuple[dict[str, dict[str, JsonValue]], dict[str, JsonValue]]] = {
    TaskKind.BOXES: (BOXES, {"q1": [CAR], "q2": [CAR, PERSON], "q3": [], "q4": [PERSON]}),
    TaskKind.SPANS: (SPANS, {"q1": [[0, 4, "cat"]], "q2": [[2, 6, "dog"]], "q3": []}),
    TaskKind.TEXT: (TEXTS, {"q1": "a red car", "q2": "two people", "q3": "a dog"}),
    TaskKind.PAIRWISE: (CHOICES, {"q1": "A", "q2": "B", "q3": "A", "q4": "B"}),
}


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def sides(item: str) -> dict[str, JsonValue]:
    """A pairwise item: two responses, addressed by the CIDs of their text."""
    return {
        "prompt": item,
        "a": compute_cid(f"{item}: answer one".encode()),
        "b": compute_cid(f"{item}: answer two".encode()),
    }


def pair_items(data: dict[str, JsonValue] | None = None) -> list[ItemSpec]:
    return [ItemSpec(item, data=(data or {}).get(item, sides(item))) for item in TRUTH]


@pytest.mark.parametrize("kind", list(CASES))
def test_a_task_of_each_kind_is_attested_with_its_result(net: Network, kind: TaskKind) -> None:
    labels, expected = CASES[kind]
    items = pair_items() if kind is TaskKind.PAIRWISE else None
    task = post_task(net, kind=kind, items=items, annotation=AnnotationParams(kind))
    reveal_all(net, [task], labels)
    attest_round(net, VALIDATORS)
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED
    document = published_result(net, "validator_1", task.task_id)
    assert document["kind"] == str(kind)
    values = {e["item"]: e["value"] for e in document["items"]}  # type: ignore[attr-defined]
    if kind is TaskKind.TEXT:  # one of the agreeing answers, as its author spelled it
        values = {item: match_text(str(value), "loose") for item, value in values.items()}
    for item, value in expected.items():
        assert values[item] == value, item
    if kind is TaskKind.PAIRWISE:  # Bradley-Terry over the eight responses
        assert len(document["scores"]) == 8  # type: ignore[arg-type]
    first = intent(net, "validator_1", task.task_id)
    second = intent(net, "validator_2", task.task_id)
    assert first is not None and second is not None
    assert (first.result_cid, first.payout_root) == (second.result_cid, second.payout_root)


def test_the_manifests_limits_drop_a_batch_the_defaults_would_keep(net: Network) -> None:
    tight = AnnotationParams(TaskKind.BOXES, max_objects=1)
    task = post_task(net, kind=TaskKind.BOXES, annotation=tight)
    reveal_all(net, [task], BOXES)  # annotators a and b drew two boxes on q2
    attest_round(net, VALIDATORS)
    row = intent(net, "validator_1", task.task_id)
    assert row is not None
    assert (row.batches_used, row.batches_dropped) == (1, 2)


def test_a_pairwise_task_with_an_item_that_is_not_a_pair_is_not_attested(net: Network) -> None:
    task = post_task(
        net,
        kind=TaskKind.PAIRWISE,
        items=pair_items({"q3": {"a": "not a cid", "b": "x"}}),
        annotation=AnnotationParams(TaskKind.PAIRWISE),
    )
    reveal_all(net, [task], CHOICES)
    attest_round(net, VALIDATORS)
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.SKIPPED
    assert row.reason is not None and "item 'q3': pairwise item side 'a' is not a CID" in row.reason
    assert read_task(net.contracts.market, task.task_id).attest_count == 0
