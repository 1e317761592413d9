"""Fetching a finalized task's verified result from chain events and content, and exporting it.

The task runs its whole lifecycle on anvil with real label batches and the project's own
consensus, so the result document the validators attest is the one a validator would build.
Two validators attest the winning root with a tampered and a maliciously nested document:
the fetch must skip both.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import read_task
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.content.exports import MissingDependencyError, export_results
from node.content.imports import import_items
from node.protocol.canonical import canonical_json
from node.protocol.commitments import label_commitment
from node.protocol.gold import GoldSet
from node.protocol.labels import LabelBatch
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.protocol.result_pages import RESULT_V1, RESULT_V2, RESULT_V4
from node.roles.requester.gold import GoldSecrets
from node.roles.requester.posting import TaskRequest, create_task, publish_content
from node.roles.requester.results import (
    ResultNotFinalError,
    ResultUnavailableError,
    TaskResults,
    fetch_results,
)
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import HOUR, TOKEN, fund, sender, stake_validators
from tests.conftest import Actors, advance_time
from tests.roles.network import TINY_TASK_CONSENSUS

ITEMS = (  # manifest order differs from id order: results and exports keep this one
    ItemSpec(id="q2", data={"text": "whiskers"}),
    ItemSpec(id="q1", data={"text": "a purring thing"}),
    ItemSpec(id="q4", data={"text": "fetches sticks"}),
    ItemSpec(id="q3", data={"text": "barks at night"}),
)
GOLD = GoldSet.create({"q1": "cat", "q3": "dog"})
ANSWERS = {
    "annotator_a": ("cat", "cat", "dog", "dog"),
    "annotator_b": ("cat", "cat", "dog", "dog"),
    "annotator_c": ("cat", "dog", "dog", "dog"),
}


@dataclass
class Finalized:
    task_id: int
    content: TaskContent
    outcome: ConsensusOutcome
    store: EmbeddedStore
    start_block: int


def drive_to_attested(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    deployment: Deployment,
    tmp_path: Path,
    result_schema: str = RESULT_V1,
) -> Finalized:
    """Post, label, reveal and attest a task (attest window still open); the validators'
    document is ``result_schema`` (``result@1``: a task from before paging)."""
    market = contracts.market
    store = EmbeddedStore(tmp_path / "store")
    stake_validators(w3, contracts, actors)
    fund(w3, contracts, actors, actors.requester, 1_000 * TOKEN)
    content = build_task_content(
        ITEMS, title="pets", classes=("cat", "dog"), consensus=TINY_TASK_CONSENSUS
    )
    now = int(w3.eth.get_block("latest")["timestamp"])
    request = TaskRequest(
        content=content,
        reward_per_label=10 * TOKEN,
        redundancy=3,
        validator_fee=9 * TOKEN,
        commit_deadline=now + HOUR,
        reveal_deadline=now + 2 * HOUR,
        attest_deadline=now + 3 * HOUR,
        gold=GOLD,
    )
    publish_content(store, content)
    secrets = GoldSecrets(tmp_path / "gold")
    requester = sender(w3, actors.requester)
    task_id = create_task(requester, contracts, request, secrets).task_id

    batches = {
        role: LabelBatch.create(
            task_id,
            getattr(actors, role).address,
            list(zip(["q1", "q2", "q3", "q4"], values, strict=True)),
        )
        for role, values in ANSWERS.items()
    }
    salts = {role: os.urandom(32) for role in ANSWERS}
    for role, batch in batches.items():
        account = getattr(actors, role)
        commitment = label_commitment(task_id, account.address, batch.root(), salts[role])
        sender(w3, account).transact(market.functions.commit(task_id, commitment))
    advance_time(w3, HOUR + 1)
    for role, batch in batches.items():
        store.put(batch.to_bytes())
        call = market.functions.reveal(task_id, batch.root(), batch.cid(), salts[role])
        sender(w3, getattr(actors, role)).transact(call)
    secret = secrets.find(read_task(market, task_id).gold_commitment)
    assert secret is not None
    requester.transact(market.functions.revealGold(task_id, GOLD.root(), GOLD.cid(), secret[1]))

    spec = TaskSpec(
        task_id=task_id,
        rewards=content.manifest.consensus.reward_params(10 * TOKEN, request.reward_pool),
        classes=("cat", "dog"),
        result_schema=result_schema,
    )
    outcome = run_consensus(spec, batches.values(), GOLD.as_dict())
    for page in outcome.pages:
        store.put(page)
    assert store.put(outcome.document_bytes) == outcome.cid
    tampered = {
        **outcome.document,
        "payouts": [{"account": actors.outsider.address, "amount": "1"}],
    }
    tampered_cid = store.put(canonical_json(tampered))
    deep_cid = store.put(b"[" * 100_000 + b"]" * 100_000)  # would crash json.loads here
    advance_time(w3, HOUR)
    attesters = (
        ("validator_1", tampered_cid),
        ("validator_3", deep_cid),
        ("validator_2", outcome.cid),
    )
    for role, cid in attesters:
        sender(w3, getattr(actors, role)).transact(
            market.functions.attest(task_id, outcome.payout_root, outcome.total_payout, cid)
        )
    return Finalized(task_id, content, outcome, store, deployment.start_block)


def finalize(w3: Web3, contracts: Contracts, actors: Actors, task: Finalized) -> TaskResults:
    advance_time(w3, HOUR)
    sender(w3, actors.outsider).transact(contracts.market.functions.finalize(task.task_id))
    return fetch_results(w3, contracts, task.store, task.task_id, task.start_block)


@pytest.fixture
def attested(
    w3: Web3, contracts: Contracts, actors: Actors, deployment: Deployment, tmp_path: Path
) -> Finalized:
    return drive_to_attested(w3, contracts, actors, deployment, tmp_path)


def test_fetch_refuses_a_task_that_is_not_final(
    w3: Web3, contracts: Contracts, attested: Finalized
) -> None:
    with pytest.raises(ResultNotFinalError, match=f"task {attested.task_id} is open"):
        fetch_results(w3, contracts, attested.store, attested.task_id)


def test_fetch_returns_the_verified_document_joined_with_item_data(
    w3: Web3, contracts: Contracts, actors: Actors, attested: Finalized
) -> None:
    results = finalize(w3, contracts, actors, attested)
    outcome = attested.outcome
    assert results.result_cid == outcome.cid  # the tampered document was skipped
    assert results.document == outcome.document
    assert results.kind == "categorical" and results.classes == ("cat", "dog")
    assert [(r.item, r.value) for r in results.items] == [
        ("q2", "cat"),
        ("q1", "cat"),
        ("q4", "dog"),
        ("q3", "dog"),
    ]
    assert [r.item for r in results.items if r.gold] == ["q1", "q3"]
    first = next(iter(results.items))  # the items stream (ResultItems): no indexing
    assert first.data == {"text": "whiskers"} and first.content_cid is None
    assert sum(a.payout for a in results.annotators) == outcome.total_payout > 0
    by_account = {a.account: a for a in results.annotators}
    assert by_account[actors.annotator_a.address].accepted == 4
    # Each annotator's revealed labels, read back from their batches and checked against
    # the revealed roots (exports show them next to the consensus).
    assert results.manifest_cid == attested.content.manifest_cid
    for role, values in ANSWERS.items():
        address = getattr(actors, role).address
        given = {item: results.labels[item][address] for item in ("q1", "q2", "q3", "q4")}
        assert given == dict(zip(["q1", "q2", "q3", "q4"], values, strict=True))


@pytest.mark.parametrize("schema", [RESULT_V2, RESULT_V4])
def test_fetch_reads_a_paged_result_page_by_page(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    deployment: Deployment,
    tmp_path: Path,
    schema: str,
) -> None:
    task = drive_to_attested(w3, contracts, actors, deployment, tmp_path, schema)
    results = finalize(w3, contracts, actors, task)
    assert results.result_cid == task.outcome.cid and len(task.outcome.pages) == 1
    assert results.document["schema"] == schema and "items" not in results.document
    assert [(r.item, r.value, r.gold) for r in results.items] == [
        ("q2", "cat", False),
        ("q1", "cat", True),
        ("q4", "dog", False),
        ("q3", "dog", True),
    ]


def test_fetch_fails_clearly_when_no_document_can_be_fetched(
    w3: Web3, contracts: Contracts, actors: Actors, attested: Finalized, tmp_path: Path
) -> None:
    advance_time(w3, HOUR)
    sender(w3, actors.outsider).transact(contracts.market.functions.finalize(attested.task_id))
    empty = EmbeddedStore(tmp_path / "empty")
    with pytest.raises(ResultUnavailableError, match="no verifiable result document"):
        fetch_results(w3, contracts, empty, attested.task_id, attested.start_block)


def test_exports_of_a_finalized_task_in_every_format(
    w3: Web3, contracts: Contracts, actors: Actors, attested: Finalized, tmp_path: Path
) -> None:
    results = finalize(w3, contracts, actors, attested)
    out = tmp_path / "out"

    lines = export_results(results, out / "r.jsonl", "jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 4
    assert first["id"] == "q2" and first["label"] == "cat" and first["gold"] is False
    assert first["data"] == {"text": "whiskers"}

    with export_results(results, out / "r.csv", "csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["q2", "q1", "q4", "q3"]
    assert rows[2]["label"] == "dog" and rows[2]["text"] == "fetches sticks"
    assert rows[0]["confidence"] == next(iter(results.items)).confidence

    again = import_items(export_results(results, out / "ls.json", "labelstudio"))
    assert again.items == ITEMS
    assert again.gold == GOLD.as_dict()  # the ground-truth marks, not the annotators' answers
    assert again.gold_conflicts == ()

    try:
        import datasets  # type: ignore[import-untyped]
    except ImportError:
        with pytest.raises(MissingDependencyError, match=r"pip install 'labelnet\[hf\]'"):
            export_results(results, out / "hf", "hf")
    else:  # pragma: no cover - only where the optional extra is installed
        loaded = datasets.load_from_disk(str(export_results(results, out / "hf", "hf")))
        assert loaded["id"] == ["q2", "q1", "q4", "q3"]
        assert loaded.features["label"].names == ["cat", "dog"]
        assert [len(row) for row in loaded["annotator_labels"]] == [3, 3, 3, 3]
