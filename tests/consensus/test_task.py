"""The validator pipeline: batches in, document, CID and payout tree out."""

from __future__ import annotations

import json

import pytest

from node.consensus.task import TaskSpec, run_consensus
from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.ids import BLOC_TEST_ID
from node.protocol.labels import LabelBatch
from node.protocol.merkle import MerkleTreeError, leaf_hash, verify_proof
from node.protocol.result import EMPTY_ROOT, ResultDocumentError, parse_result
from node.protocol.result_pages import NO_PAYOUTS_ROOT, RESULT_V2
from node.protocol.rules import RewardParams
from node.protocol.values import categorical_value
from tests.consensus.helpers import address
from tests.consensus.test_collusion import crowd, every_fifth

TRUTH = {"i1": "cat", "i2": "dog", "i3": "cat", "i4": "dog", "i5": "cat", "i6": "dog"}


def batches(task_id: int = 7) -> list[LabelBatch]:
    honest = list(TRUTH.items())
    return [
        LabelBatch.create(task_id, address(0), honest),
        LabelBatch.create(task_id, address(1), honest),
        LabelBatch.create(task_id, address(2), honest[:4]),
        LabelBatch.create(task_id, address(3), [(item, "cat") for item in TRUTH]),
    ]


def test_pipeline_document_and_tree() -> None:
    # Six answers cannot show skill beyond chance at any useful z: the floors are tested.
    params = RewardParams.create(reward_per_label=100, reward_pool=10_000, significance_z="0")
    task = TaskSpec(7, params)
    outcome = run_consensus(task, batches(), gold={"i1": "cat"})
    doc = outcome.document
    assert doc["schema"] == "labelnet/result@1"
    assert doc["task"] == 7 and doc["kind"] == "categorical"
    assert doc["algorithm"]["id"] == "hds@10"
    assert [(i["item"], i["value"]) for i in doc["items"]] == sorted(TRUTH.items())
    assert doc["items"][0]["gold"] is True and doc["items"][0]["confidence"] == "1.000000000"
    by_account = {a["account"]: a for a in doc["annotators"]}
    assert by_account[outcome.payouts.leaves[0][0]]["eligible"] is True
    constant = next(a for a in doc["annotators"] if a["account"].endswith("4"))
    assert constant["eligible"] is False and constant["payout"] == "0"
    assert [(p["account"][-1], p["amount"]) for p in doc["payouts"]] == [
        ("1", "600"),
        ("2", "600"),
        ("3", "400"),
    ]
    assert outcome.total_payout == 1600 and outcome.refund == 8400
    assert doc["total_payout"] == "1600" and doc["refund"] == "8400"
    assert doc["payout_root"] == "0x" + outcome.payout_root.hex()
    assert "significance_z" not in doc["parameters"]
    assert all("evidence" not in a for a in doc["annotators"])
    assert outcome.document_bytes == canonical_json(doc)
    assert outcome.cid == compute_cid(outcome.document_bytes)
    assert json.loads(outcome.document_bytes) == doc
    for account, amount in outcome.payouts.leaves:
        proof = outcome.payouts.proof(account)
        assert verify_proof(outcome.payout_root, leaf_hash(account, amount), proof)


def test_nobody_paid_gives_the_empty_root() -> None:
    task = TaskSpec(7, RewardParams.create(100, 10_000, accuracy_floor="1"))
    outcome = run_consensus(task, batches())
    assert outcome.payout_root == EMPTY_ROOT
    assert outcome.total_payout == 0 and outcome.refund == 10_000
    with pytest.raises(MerkleTreeError):
        outcome.payouts.proof(address(0))


def test_nobody_paid_under_result_v2_gives_the_fixed_no_payouts_root() -> None:
    """result@2: a result that pays nobody has a non-zero root the market takes, stated in
    the document, and the one parser verifies it; no account can prove a leaf against it."""
    params = RewardParams.create(100, 10_000, accuracy_floor="1")
    outcome = run_consensus(TaskSpec(7, params, result_schema=RESULT_V2), batches())
    assert outcome.payout_root == NO_PAYOUTS_ROOT != EMPTY_ROOT
    assert outcome.document["payout_root"] == "0x" + NO_PAYOUTS_ROOT.hex()
    assert outcome.total_payout == 0 and outcome.refund == 10_000
    parsed = parse_result(outcome.document_bytes, 7)
    parsed.verify(NO_PAYOUTS_ROOT, 0)
    with pytest.raises(ResultDocumentError, match="do not rebuild"):
        parsed.verify(EMPTY_ROOT, 0)
    assert not verify_proof(NO_PAYOUTS_ROOT, leaf_hash(address(0), 0), [])


def test_algorithm_choice_and_errors() -> None:
    outcome = run_consensus(TaskSpec(7, RewardParams.create(1, 100), algorithm="mv@1"), batches())
    assert outcome.document["algorithm"] == {"id": "mv@1", "params": {}}
    with pytest.raises(InvalidParameterError, match="unknown algorithm"):
        run_consensus(TaskSpec(7, RewardParams.create(1, 100), algorithm="magic@9"), batches())
    with pytest.raises(InvalidAnswersError, match="task 8"):
        run_consensus(TaskSpec(7, RewardParams.create(1, 100)), batches(task_id=8))
    with pytest.raises(InvalidAnswersError, match="no revealed labels"):
        run_consensus(TaskSpec(7, RewardParams.create(1, 100)), [])


def test_declared_classes_and_values() -> None:
    task = TaskSpec(7, RewardParams.create(1, 100), classes=("bird", "cat", "dog"))
    outcome = run_consensus(task, batches())
    assert outcome.document["classes"] == ["bird", "cat", "dog"]
    assert categorical_value(3) == "3" and categorical_value("x") == "x"
    for bad in (True, 1.5, None, "", ["a"]):
        with pytest.raises(InvalidAnswersError):
            categorical_value(bad)


def test_evidence_test_is_stated_in_the_document_and_withholds_pay() -> None:
    # The figures were pinned under rds@1 (the default then); tasks created then keep it.
    spec = TaskSpec(7, RewardParams.create(100, 10_000), algorithm="rds@1")
    outcome = run_consensus(spec, batches(), {"i1": "cat"})
    doc = outcome.document
    assert doc["parameters"]["significance_z"] == "2.576000000"
    evidence = {a["account"][-1]: a["evidence"] for a in doc["annotators"]}
    # Chance is about 1/2 for each: six right of six is about sqrt(6) = 2.449 standard
    # errors above it (a little less: the posteriors are not quite certain), four of four
    # about 2, and the constant answerer shows nothing. All short of z = 2.576: six answers
    # are too few to tell skill from luck, so nobody is paid and the pool is refunded.
    assert evidence == {
        "1": "2.433734421",
        "2": "2.433734421",
        "3": "1.997041818",
        "4": "0.000000000",
    }
    assert doc["payouts"] == [] and outcome.refund == 10_000


def test_bloc_test_flags_colluders_in_the_document_and_pays_them_nothing() -> None:
    rows, gold = crowd(honest=6, colluders=3)
    revealed = every_fifth(gold)
    per_annotator: dict[str, list[tuple[str, str]]] = {}
    for item, worker, label in rows:
        per_annotator.setdefault(worker, []).append((item, label))
    names = {w: address(n) for n, w in enumerate(sorted(per_annotator))}
    batches = [LabelBatch.create(7, names[w], labels) for w, labels in per_annotator.items()]
    params = RewardParams.create(100, 10**9, significance_z="0")
    tested = run_consensus(TaskSpec(7, params, bloc_test=BLOC_TEST_ID), batches, revealed)
    doc = tested.document
    assert doc["parameters"]["bloc_test"] == "bloc@1"
    flagged = {a["account"].lower() for a in doc["annotators"] if a["bloc"]}
    assert flagged == {names[w] for w in ("x00", "x01", "x02")}
    paid = {account.lower() for account, _ in tested.payouts.leaves}
    assert paid and not paid & flagged
    assert all(not a["eligible"] for a in doc["annotators"] if a["bloc"])
    # The same batches in another order: the same bytes.
    again = run_consensus(TaskSpec(7, params, bloc_test=BLOC_TEST_ID), batches[::-1], revealed)
    assert again.document_bytes == tested.document_bytes
    # Without the test the document says nothing of blocs.
    untested = run_consensus(TaskSpec(7, params), batches, revealed).document
    assert "bloc_test" not in untested["parameters"]
    assert all("bloc" not in a for a in untested["annotators"])


def test_unknown_bloc_test_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="bloc test"):
        run_consensus(TaskSpec(7, RewardParams.create(1, 100), bloc_test="bloc@9"), batches())
