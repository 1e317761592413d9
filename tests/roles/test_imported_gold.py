"""Gold imported from a Label Studio export whose annotators disagree still pays the task.

Issue #18: such an import used to commit a list-valued gold answer for the disputed item;
at the reveal the validators refused the whole gold set ("it labels unknown items or
classes"). Here the import leaves the disputed item out of the gold, the validators use the
rest, the task finalizes and every annotator claims their pay; the old list-valued gold, run
alongside, is still ignored by the validators (and is now refused before posting).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.content.imports import import_items
from node.db.repositories.validation import ValidationRepository
from tests.chain.test_lifecycle import TOKEN
from tests.conftest import Actors, advance_time
from tests.roles.network import SLOPPY, TRUTH, Network, make_network, post_task, reveal_all

LABELS = {"annotator_a": TRUTH, "annotator_b": TRUTH, "annotator_c": SLOPPY}
REVIEWERS = {  # two Label Studio annotators: they disagree on q2
    "q1": ("cat", "cat"),
    "q2": ("cat", "dog"),
    "q3": ("cat", "cat"),
    "q4": ("dog", "dog"),
}


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def label_studio_export(path: Path) -> Path:
    tasks = [
        {
            "id": number,
            "data": {"id": item, "text": item},
            "annotations": [
                {
                    "id": 10 * number + user,
                    "completed_by": user,
                    "result": [
                        {
                            "from_name": "animal",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [choice]},
                        }
                    ],
                }
                for user, choice in enumerate(choices, start=1)
            ],
        }
        for number, (item, choices) in enumerate(REVIEWERS.items(), start=1)
    ]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def gold_items(net: Network, task_id: int) -> int:
    """How many gold answers the validator's published result used."""
    with net.peer("validator_1").db.session() as session:
        row = ValidationRepository(session).get(
            net.chain_id, task_id, net.actors.validator_1.address
        )
    assert row is not None and row.result_cid is not None
    document = json.loads(net.store.get(row.result_cid, max_size=1 << 20))
    return int(document["answers"]["gold_items"])


def test_imported_gold_with_disagreements_pays_every_annotator(
    net: Network, tmp_path: Path
) -> None:
    imported = import_items(label_studio_export(tmp_path / "project.json"))
    assert imported.gold == {"q1": "cat", "q3": "cat", "q4": "dog"}
    assert imported.gold_conflicts == ("q2",)

    task = post_task(net, gold=imported.gold)
    old = post_task(net, gold={**imported.gold, "q2": ["cat", "dog"]})  # the old import's
    reveal_all(net, [task, old], LABELS)
    for role in ("validator_1", "validator_2"):
        net.sync(role)
        net.validator(role, finalize_early=False).tick()
    advance_time(net.w3, 3600)
    net.sync("validator_1")
    net.validator("validator_1", finalize_early=False).tick()
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED

    assert gold_items(net, task.task_id) == 3  # the validators used the imported gold
    assert gold_items(net, old.task_id) == 0  # the list-valued answer voided all of it
    paid_of = net.contracts.market.functions.paidOf
    for role, expected in {"annotator_a": 40, "annotator_b": 40, "annotator_c": 30}.items():
        net.sync(role)
        net.claimer(role).tick()
        address = getattr(net.actors, role).address
        assert paid_of(task.task_id, address).call() == expected * TOKEN
