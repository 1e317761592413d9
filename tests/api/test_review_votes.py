"""Where a reviewer node's votes come from (node/roles/review_votes.py, node/labelers/review.py):
the page's votes only once every contested item has one, review programs over the same set,
and page votes refused (409) once the reviewer duty has recorded its commitment."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.app.runtime import NodeServices
from node.db.repositories.review import ReviewIntentRepository, votes_for
from node.labelers.base import LabelerError
from node.labelers.review import (
    ConsensusReviewer,
    GoldReviewer,
    RandomReviewer,
    load_review_program,
)
from node.roles.review_votes import ContestedVoteSource
from tests.api.conftest import CHAIN
from tests.api.test_review import CLASSES, answers, reveal, reviewed_task

NOW = 2_000  # after the tasks' reveal deadline (1,000)


def source(services: NodeServices, program: object = None) -> ContestedVoteSource:
    assert services.annotator is not None
    return ContestedVoteSource(
        service=services.reviews(),
        board=None,
        reviewer=services.annotator,
        clock=lambda: NOW,
        program=program,  # type: ignore[arg-type]
    )


def contested(client: TestClient, auth: dict[str, str]) -> list[str]:
    body = client.get("/api/v1/review/tasks/1", headers=auth).json()
    return [item["item_id"] for item in body["items"]]


def test_page_votes_are_offered_only_when_every_contested_item_has_one(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    reviewed_task(services)
    reveal(services, 1, answers())
    items = contested(client, auth)
    votes = source(services)
    assert votes.votes(1) is None  # nothing voted yet
    for n, item in enumerate(items):
        assert votes.votes(1) is None  # still one short
        url = f"/api/v1/review/tasks/1/votes/{item}"
        assert client.put(url, json={"value": CLASSES[n % 3]}, headers=auth).status_code == 200
    assert votes.votes(1) == {item: CLASSES[n % 3] for n, item in enumerate(items)}
    # No board: no task is reviewed by the rule, so the duty is offered none.
    assert votes.tasks() == []


def test_votes_are_refused_once_the_duty_recorded_its_commitment(
    client: TestClient, services: NodeServices, auth: dict[str, str]
) -> None:
    reviewed_task(services)
    reveal(services, 1, answers())
    items = contested(client, auth)
    url = f"/api/v1/review/tasks/1/votes/{items[0]}"
    assert client.put(url, json={"value": "dog"}, headers=auth).status_code == 200
    assert services.annotator is not None
    with services.db.write() as session:
        ReviewIntentRepository(session).record_intent(
            CHAIN,
            1,
            services.annotator,
            votes={item: "dog" for item in items},
            votes_root="0x" + "00" * 32,
            votes_cid="bafy",
            salt="0x" + "11" * 32,
            commitment="0x" + "22" * 32,
        )
    refused = client.put(url, json={"value": "fox"}, headers=auth)
    assert (refused.status_code, refused.json()["error"]) == (409, "VotesCommittedError")
    with services.db.session() as session:  # the stored vote is unchanged
        assert votes_for(session, CHAIN, 1, services.annotator) == {items[0]: "dog"}


def test_review_programs_vote_on_every_contested_item(
    client: TestClient, services: NodeServices, auth: dict[str, str], tmp_path: Path
) -> None:
    reviewed_task(services)
    reveal(services, 1, answers())
    items = contested(client, auth)
    truth = answers()[0]  # the first annotator is always right
    view = client.get("/api/v1/review/tasks/1", headers=auth).json()["items"]

    lazy = source(services, ConsensusReviewer()).votes(1)
    assert lazy == {item["item_id"]: item["consensus"] for item in view}

    gold_file = tmp_path / "gold.csv"
    gold_file.write_text("item,label\n" + "".join(f"{i},{truth[i]}\n" for i in items))
    right = source(services, load_review_program(f"gold:{gold_file}:1")).votes(1)
    assert right == {item: truth[item] for item in items}
    wrong = source(services, GoldReviewer({i: truth[i] for i in items}, 0.0)).votes(1)
    assert wrong is not None and all(wrong[i] != truth[i] for i in items)

    careless = source(services, RandomReviewer(7)).votes(1)
    assert careless is not None and sorted(careless) == items
    assert set(careless.values()) <= set(CLASSES)
    assert source(services, load_review_program("random:7")).votes(1) == careless  # seeded
    others = [source(services, RandomReviewer(seed)).votes(1) for seed in range(8)]
    assert len({tuple(sorted(v.items())) for v in others if v is not None}) > 1


@pytest.mark.parametrize(
    "spec", ["consensus:x", "gold:/nowhere.csv", "random:x", "gold:/nowhere.csv:0.9", "lazy"]
)
def test_bad_review_program_specs_are_refused(spec: str) -> None:
    with pytest.raises(LabelerError):
        load_review_program(spec)


def test_gold_program_spec_with_a_seed(tmp_path: Path) -> None:
    gold_file = tmp_path / "gold.csv"
    gold_file.write_text("item,label\na,cat\n")
    program = load_review_program(f"gold:{gold_file}:0.95:3")
    assert isinstance(program, GoldReviewer)
    assert (program.accuracy, program.seed, program.gold) == (0.95, 3, {"a": "cat"})
    with pytest.raises(LabelerError):
        GoldReviewer({}, 1.5)
