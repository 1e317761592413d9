"""A task driven to FINALIZED on the devnet: results, exports and claims through the CLI/SDK.

The task is posted with ``labelnet task create``; one annotator commits and reveals a real
label batch, the requester reveals the gold, both validators attest the project's own
consensus result, and anyone finalizes. The claim paths are checked against the chain.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from client.cli.task_results import _results_table
from client.devnet import DevnetInfo
from client.sdk import AnnotatorClient, Network
from node.chain.engines import attach
from node.chain.market import read_task
from node.chain.tx import TxSender
from node.consensus.task import ConsensusOutcome, TaskSpec, run_consensus
from node.protocol.commitments import label_commitment
from node.protocol.labels import LabelBatch
from node.protocol.result import ResultAssignment
from node.roles.requester import TaskResults
from node.roles.requester.gold import GoldSecrets
from node.store.embedded import EmbeddedStore
from tests.client.conftest import assert_one_line_error, chain, run
from tests.roles.network import TINY_TASK_CONSENSUS

ANSWERS = {"a": "pos", "b": "neg", "c": "neg"}
TOKEN = 10**18


@dataclass
class Final:
    task_id: int
    data_dir: Path
    outcome: ConsensusOutcome
    annotator: str


def _advance(devnet: Path, seconds: int) -> None:
    dev = attach(chain(devnet))
    dev.increase_time(seconds)
    dev.mine()


def _drive(devnet: Path, tmp_path: Path) -> Final:
    items = tmp_path / "items.jsonl"
    items.write_text(
        '{"id": "a", "text": "love it", "gold": "pos"}\n'
        '{"id": "b", "text": "hate it"}\n{"id": "c", "text": "meh"}\n'
    )
    data_dir = tmp_path / "requester-node"
    created = run(
        "task", "create", str(items), "--classes", "pos,neg", "--reward-per-label", "2",
        "--validator-fee", "1", "--redundancy", "1", "--gold-field", "gold",
        "--commit-in", "10m", "--reveal-in", "10m", "--attest-in", "10m",
        "--data-dir", str(data_dir), "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    task_id = int(json.loads(created.stdout)["task_id"])

    info = DevnetInfo.load(devnet)
    network = Network.from_devnet(devnet)
    market = network.contracts.market
    store = EmbeddedStore.in_data_dir(data_dir)
    annotator = info.signer("annotator-1")
    batch = LabelBatch.create(task_id, annotator.address, list(ANSWERS.items()))
    salt = os.urandom(32)
    commitment = label_commitment(task_id, annotator.address, batch.root(), salt)
    as_annotator = TxSender(network.w3, annotator)
    as_annotator.transact(market.functions.commit(task_id, commitment))
    _advance(devnet, 601)
    store.put(batch.to_bytes())
    as_annotator.transact(market.functions.reveal(task_id, batch.root(), batch.cid(), salt))
    state = read_task(market, task_id)
    secret = GoldSecrets(data_dir / "requester" / "gold").find(state.gold_commitment)
    assert secret is not None
    gold, gold_salt = secret
    store.put(gold.to_bytes())
    TxSender(network.w3, info.signer("requester")).transact(
        market.functions.revealGold(task_id, gold.root(), gold.cid(), gold_salt)
    )

    spec = TaskSpec(
        task_id=task_id,
        rewards=TINY_TASK_CONSENSUS.reward_params(2 * TOKEN, state.reward_pool),
        classes=("pos", "neg"),
    )
    outcome = run_consensus(spec, [batch], gold.as_dict())
    store.put(outcome.document_bytes)
    _advance(devnet, 601)
    for name in ("validator-1", "validator-2"):
        TxSender(network.w3, info.signer(name)).transact(
            market.functions.attest(task_id, outcome.payout_root, outcome.total_payout, outcome.cid)
        )
    _advance(devnet, 601)
    TxSender(network.w3, info.signer("requester")).transact(market.functions.finalize(task_id))
    return Final(task_id, data_dir, outcome, annotator.address)


def test_results_export_and_claim_from_result_documents(devnet: Path, tmp_path: Path) -> None:
    final = _drive(devnet, tmp_path)
    data_dir = str(final.data_dir)
    shown = run("task", "results", str(final.task_id), "--data-dir", data_dir, "--json")
    assert shown.exit_code == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["result_cid"] == final.outcome.cid
    assert {item["item"]: item["value"] for item in document["items"]} == ANSWERS
    assert document["assignment"] is None  # an open task's result states no deal

    table = run("task", "results", str(final.task_id), "--data-dir", data_dir)
    assert table.exit_code == 0, table.stderr
    assert "love it" not in table.stdout and "pos" in table.stdout

    out = tmp_path / "labels.csv"
    exported = run(
        "task", "export", str(final.task_id), "--format", "csv", "--out", str(out),
        "--data-dir", data_dir,
    )  # fmt: skip
    assert exported.exit_code == 0, exported.stderr
    with out.open() as handle:
        rows = {row["id"]: row["label"] for row in csv.DictReader(handle)}
    assert rows == ANSWERS

    config = tmp_path / "project.xml"
    config.write_text(
        '<View><Text name="post" value="$text"/><Choices name="tone" toName="post">'
        '<Choice value="pos"/><Choice value="neg"/></Choices></View>'
    )
    ls_out = tmp_path / "labels.json"
    exported = run(
        "task", "export", str(final.task_id), "--format", "labelstudio", "--out", str(ls_out),
        "--label-config", str(config), "--data-dir", data_dir,
    )  # fmt: skip
    assert exported.exit_code == 0, exported.stderr
    tasks = json.loads(ls_out.read_text())
    consensus = {t["data"]["id"]: t["annotations"][0]["result"][0] for t in tasks}
    assert {item: r["value"]["choices"] for item, r in consensus.items()} == {
        item: [value] for item, value in ANSWERS.items()
    }
    assert {(r["from_name"], r["to_name"]) for r in consensus.values()} == {("tone", "post")}
    assert (tmp_path / "labels.label_config.xml").read_text() == config.read_text()

    owed = dict(final.outcome.payouts.leaves)[final.annotator]
    assert owed > 0
    network = Network.from_devnet(devnet, "annotator-1")
    before = network.token_balance()
    claimed = run(
        "claim", "--task", str(final.task_id), "--from-results", data_dir,
        "--account", "annotator-1", "--json",
    )  # fmt: skip
    assert claimed.exit_code == 0, claimed.stderr
    assert int(json.loads(claimed.stdout)["amount"]) == owed
    assert network.token_balance() == before + owed

    again = run(
        "claim", "--task", str(final.task_id), "--from-results", data_dir,
        "--account", "annotator-1",
    )  # fmt: skip
    assert_one_line_error(again, "already claimed")


def test_claim_through_the_node_api_uses_its_recorded_proofs(devnet: Path, tmp_path: Path) -> None:
    final = _drive(devnet, tmp_path)
    network = Network.from_devnet(devnet, "annotator-1")
    amount = dict(final.outcome.payouts.leaves)[final.annotator]
    proof = ["0x" + node.hex() for node in final.outcome.payouts.proof(final.annotator)]
    earnings = {
        "account": final.annotator,
        "claimed": "0",
        "claimable": str(amount),
        "pending": "0",
        "tasks": 1,
        "payouts": [
            {
                "chain_id": 31337,
                "task_id": final.task_id,
                "account": final.annotator,
                "claimed": False,
                "amount": str(amount),
                "proof": proof,
            }
        ],
    }

    def node_api(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/earnings"
        assert request.url.params["account"] == final.annotator
        return httpx.Response(200, json=earnings)

    node = AnnotatorClient("http://node.test", transport=httpx.MockTransport(node_api))
    before = network.token_balance()
    receipt = node.claim(network)
    assert (receipt.task_ids, receipt.amount) == ((final.task_id,), amount)
    assert network.token_balance() == before + amount
    with pytest.raises(LookupError, match="nothing to claim"):
        node.claim(network, [final.task_id])


def test_the_results_table_says_how_many_items_a_seated_task_left_short() -> None:
    dealt = ResultAssignment(
        deal="deal@1",
        reward_rule="assigned@1",
        seed_source="blockHash",
        seal_block=40,
        items=10,
        redundancy=3,
        batch_size=6,
        seats=5,
        claimed=4,
        short_items=6,
    )
    outcome = TaskResults(
        task_id=9,
        result_cid="bafy-result",
        kind="categorical",
        classes=("pos", "neg"),
        items=(),
        annotators=(),
        document={},
        assignment=dealt,
    )
    table, more = _results_table(outcome, 9, 50)
    assert more == 0 and table.title == "task 9: 0 items (result bafy-result)"
    assert table.caption == (
        "6 of 10 items got fewer than 3 labels (4 of 5 seats claimed; seed from blockHash)"
    )
    open_task, _ = _results_table(replace(outcome, assignment=None), 9, 50)
    assert open_task.caption is None
