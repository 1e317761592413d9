"""The validator duty on a real anvil: attest, finalize, slash the liar, survive restarts.

Three annotators reveal (two perfect, one wrong on q4), two honest validators and one
``wrong-root`` validator attest, finalize settles the task, and the honest validators record
the winning leaves. The drop rule, waiting for unfetchable batches, gold, and a crash between
the intent and the send are tested against the same small network.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.market import TaskStatus, read_task
from node.consensus.task import TaskSpec
from node.db.models import AttestationOutcome, Commitment, ValidationIntent, ValidationState
from node.db.repositories.settlement import AttestationRepository, PayoutRepository
from node.db.repositories.validation import ValidationRepository
from node.protocol.canonical import JsonValue
from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABELS_V1, LABELS_V2, LabelBatch
from node.protocol.manifest import ConsensusParams, ItemSpec, build_task_content
from node.protocol.result import parse_result
from node.protocol.result_pages import NO_PAYOUTS_ROOT, RESULT_V4, iter_result_items
from node.roles import validator as validator_module
from node.roles.validator import ValidatorDuty, check_batch
from tests.chain.test_lifecycle import TOKEN
from tests.conftest import Actors, advance_time
from tests.roles.network import SLOPPY, TRUTH, Network, make_network, post_task, reveal_all

LABELS = {"annotator_a": TRUTH, "annotator_b": TRUTH, "annotator_c": SLOPPY}
VALIDATORS = ("validator_1", "validator_2", "validator_3")


@pytest.fixture
def net(
    w3: Web3, contracts: Contracts, deployment: Deployment, actors: Actors, tmp_path: Path
) -> Network:
    return make_network(w3, contracts, deployment, actors, tmp_path)


def intent(net: Network, role: str, task_id: int) -> ValidationIntent | None:
    with net.peer(role).db.session() as session:
        return ValidationRepository(session).get(
            net.chain_id, task_id, getattr(net.actors, role).address
        )


def published_result(net: Network, role: str, task_id: int) -> dict[str, object]:
    """The result ``role`` published for ``task_id``: a ``result@4`` root (new tasks choose
    it in their manifest) with its pages' items joined in, as ``result@1`` listed them."""
    row = intent(net, role, task_id)
    assert row is not None and row.result_cid is not None
    root = parse_result(net.store.get(row.result_cid, max_size=1 << 20), task_id).document
    assert root["schema"] == RESULT_V4 and "items" not in root
    items = iter_result_items(root, task_id, lambda cid: net.store.get(cid, max_size=1 << 20))
    return {**root, "items": list(items)}


def attest_round(net: Network, roles: tuple[str, ...], **options: bool | str) -> None:
    for role in roles:
        net.sync(role)
        net.validator(role, **options).tick()


def test_honest_majority_finalizes_early_and_the_liar_is_slashed(net: Network) -> None:
    task = post_task(net)
    reveal_all(net, [task], LABELS)
    attest_round(net, ("validator_1",))
    attest_round(net, ("validator_3",), adversary="wrong-root")
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.OPEN
    attest_round(net, ("validator_2",))  # the third vote gives 2/3 of all stake: early finalize
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED

    honest, other, liar = (intent(net, role, task.task_id) for role in VALIDATORS)
    assert honest is not None and other is not None and liar is not None
    assert (other.payout_root, other.result_cid) == (honest.payout_root, honest.result_cid)
    assert liar.payout_root != honest.payout_root and liar.result_cid == honest.result_cid
    chain = read_task(net.contracts.market, task.task_id)
    assert "0x" + chain.payout_root.hex() == honest.payout_root
    assert chain.total_payout == 110 * TOKEN  # 4 + 4 + 3 accepted labels at 10 tokens

    net.sync("validator_1")
    with net.peer("validator_1").db.session() as session:
        outcomes = {
            a.validator: a.outcome
            for a in AttestationRepository(session).for_task(net.chain_id, task.task_id)
        }
    assert outcomes == {
        net.actors.validator_1.address: AttestationOutcome.RELEASED,
        net.actors.validator_2.address: AttestationOutcome.RELEASED,
        net.actors.validator_3.address: AttestationOutcome.SLASHED,
    }

    net.validator("validator_1").tick()  # finalized: records the winning leaves
    with net.peer("validator_1").db.session() as session:
        leaves = {
            p.account: p.amount
            for p in PayoutRepository(session).for_task(net.chain_id, task.task_id)
        }
    assert leaves == {
        net.actors.annotator_a.address: 40 * TOKEN,
        net.actors.annotator_b.address: 40 * TOKEN,
        net.actors.annotator_c.address: 30 * TOKEN,
    }
    nonce = net.nonce("validator_1")
    net.validator("validator_1").tick()  # nothing left to do: no transaction
    assert net.nonce("validator_1") == nonce


def test_a_result_that_pays_nobody_is_attested_and_finalized(net: Network) -> None:
    """Under result@2 (new tasks) a result that pays nobody has a non-zero root: the task
    finalizes with a total of 0 (the requester's refund is the whole pool) instead of ending
    disputed. Here the evidence test is on, and three answers each show no skill."""
    task = post_task(net, consensus=ConsensusParams())
    reveal_all(net, [task], LABELS)
    attest_round(net, VALIDATORS)
    chain = read_task(net.contracts.market, task.task_id)
    assert chain.status is TaskStatus.FINALIZED
    assert chain.payout_root == NO_PAYOUTS_ROOT and chain.total_payout == 0
    assert published_result(net, "validator_1", task.task_id)["payouts"] == []
    net.validator("validator_1").tick()  # finalized: nothing to record, nothing to claim
    with net.peer("validator_1").db.session() as session:
        assert PayoutRepository(session).for_task(net.chain_id, task.task_id) == []


def test_batch_not_matching_its_root_is_dropped_identically(net: Network) -> None:
    task = post_task(net)
    forged = LabelBatch.create(task.task_id, net.actors.annotator_c.address, TRUTH.items())
    reveal_all(net, [task], LABELS, published={"annotator_c": forged})
    attest_round(net, ("validator_1", "validator_2"), finalize_early=False)

    rows = [intent(net, role, task.task_id) for role in ("validator_1", "validator_2")]
    assert all(r is not None and r.state is ValidationState.SENT for r in rows)
    assert [(r.batches_used, r.batches_dropped) for r in rows if r] == [(2, 1), (2, 1)]
    assert rows[0] and rows[1] and rows[0].result_cid == rows[1].result_cid
    document = published_result(net, "validator_1", task.task_id)
    accounts = {a["account"] for a in document["annotators"]}  # type: ignore[attr-defined]
    assert accounts == {net.actors.annotator_a.address, net.actors.annotator_b.address}

    advance_time(net.w3, 3600)  # past the attest deadline: finalized without the dry run
    attest_round(net, ("validator_1",), finalize_early=False)
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED


def test_unfetchable_batch_is_awaited_then_left_out_near_the_deadline(net: Network) -> None:
    task = post_task(net)
    reveal_all(net, [task], LABELS, published={"annotator_c": None})
    attest_round(net, ("validator_1",))
    assert intent(net, "validator_1", task.task_id) is None  # still waiting for the batch
    advance_time(net.w3, 3600 - 600)  # 10 minutes left of the hour: less than a quarter
    attest_round(net, ("validator_1",))
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.SENT
    assert (row.batches_used, row.batches_dropped) == (2, 0)


def test_while_a_batch_is_awaited_the_others_are_not_checked(
    net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking a batch is a Merkle tree over every label: done once everything is read (or
    the wait is over), not on every tick of the wait and thrown away."""
    task = post_task(net)
    reveal_all(net, [task], LABELS, published={"annotator_c": None})
    checked: list[str] = []

    def counting(data: bytes, reveal: Commitment, *args: object) -> object:
        checked.append(reveal.annotator)
        return check_batch(data, reveal, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("node.roles.validation.check_batch", counting)
    attest_round(net, ("validator_1",))
    attest_round(net, ("validator_1",))
    assert intent(net, "validator_1", task.task_id) is None and checked == []
    advance_time(net.w3, 3600 - 600)  # the wait is over: the two batches read are used
    attest_round(net, ("validator_1",))
    assert len(checked) == 2
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and (row.batches_used, row.batches_dropped) == (2, 0)


def test_invalid_labels_leave_nothing_to_attest(net: Network) -> None:
    task = post_task(net)
    bird = {item: "bird" for item in TRUTH}  # not one of the task's classes
    reveal_all(net, [task], {"annotator_a": bird, "annotator_b": bird})
    attest_round(net, ("validator_1",))
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.SKIPPED
    assert row.batches_dropped == 2 and row.reason == "no valid batch"
    assert net.contracts.market.functions.roundAttestations(task.task_id, 0).call() == []


def test_revealed_gold_changes_the_result(net: Network) -> None:
    plain, gold = post_task(net), post_task(net, gold={"q4": "cat"})
    reveal_all(net, [plain, gold], LABELS)
    attest_round(net, ("validator_1",))
    values = {}
    for task in (plain, gold):
        document = published_result(net, "validator_1", task.task_id)
        items = {i["item"]: i["value"] for i in document["items"]}  # type: ignore[attr-defined]
        payouts = {p["account"]: p["amount"] for p in document["payouts"]}  # type: ignore[attr-defined]
        values[task.task_id] = (items["q4"], payouts[net.actors.annotator_c.address])
    assert values[plain.task_id] == ("dog", str(30 * TOKEN))
    assert values[gold.task_id] == ("cat", str(40 * TOKEN))


def test_restart_after_intent_attests_exactly_once(
    net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = post_task(net)
    reveal_all(net, [task], LABELS)
    net.sync("validator_1")
    crashing = net.validator("validator_1")

    def die(*_args: object) -> None:
        raise KeyboardInterrupt("killed after recording the intent")

    monkeypatch.setattr(crashing.attester, "send", die)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.INTENT
    monkeypatch.undo()

    attest_round(net, ("validator_1",))
    attest_round(net, ("validator_1",))
    votes = net.contracts.market.functions.roundAttestations(task.task_id, 0).call()
    assert len(votes) == 1
    after = intent(net, "validator_1", task.task_id)
    assert after is not None and after.payout_root == row.payout_root


def test_restart_after_an_unrecorded_send_does_not_attest_twice(
    net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = post_task(net)
    reveal_all(net, [task], LABELS)
    net.sync("validator_1")
    crashing = net.validator("validator_1")
    real_submit = crashing.sender.submit

    def submit_then_die(call: object, **kwargs: int) -> object:
        real_submit(call, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt("killed between send and record")

    monkeypatch.setattr(crashing.sender, "submit", submit_then_die)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    nonce = net.nonce("validator_1")
    restarted: ValidatorDuty = net.validator("validator_1")
    restarted.tick()  # the contract refuses the duplicate before anything is sent
    assert net.nonce("validator_1") == nonce
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and row.state is ValidationState.SENT
    assert len(net.contracts.market.functions.roundAttestations(task.task_id, 0).call()) == 1


def test_a_lagging_event_mirror_delays_the_attestation(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    task = post_task(net)
    reveal_all(net, [task], LABELS)
    # The last blocks are the three reveals and the clock move: stop before the third reveal.
    net.peer("validator_1").sync.sync_once(until=net.w3.eth.block_number - 2)
    with caplog.at_level(logging.INFO, logger="node.roles.validator"):
        net.validator("validator_1").tick()
    assert "waiting for the event mirror" in caplog.text
    assert intent(net, "validator_1", task.task_id) is None
    attest_round(net, ("validator_1",))
    row = intent(net, "validator_1", task.task_id)
    assert row is not None and (row.batches_used, row.batches_dropped) == (3, 0)


def test_numeric_task_is_attested_with_its_own_result_document(net: Network) -> None:
    task = post_task(net, kind=TaskKind.NUMERIC, algorithm="median@1")
    steady = {"q1": 1, "q2": 2, "q3": 3, "q4": 4}
    reveal_all(
        net,
        [task],
        {"annotator_a": steady, "annotator_b": {**steady, "q1": 1.25}, "annotator_c": {"q1": 9}},
    )
    attest_round(net, ("validator_1", "validator_2"))
    assert read_task(net.contracts.market, task.task_id).status is TaskStatus.FINALIZED
    document = published_result(net, "validator_1", task.task_id)
    assert document["kind"] == "numeric"
    payouts = {p["account"]: int(p["amount"]) for p in document["payouts"]}  # type: ignore[attr-defined]
    assert payouts == {
        net.actors.annotator_a.address: 40 * TOKEN,
        net.actors.annotator_b.address: 40 * TOKEN,
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("honest", None),
        ("deeply nested", "not a label batch"),
        ("not an object", "not a JSON object"),
        ("other annotator", "batch of task 1 by"),
        ("other root", "is not the revealed"),
        ("unknown item", "is not in the manifest"),
        ("unknown class", "is not a valid label"),
    ],
)
@pytest.mark.parametrize("schema", [LABELS_V1, LABELS_V2])
def test_the_drop_rule_names_why_a_batch_is_dropped(
    case: str, reason: str | None, schema: str
) -> None:
    """The same drop reasons for a task's batches of either schema (a ``labels@2`` batch
    given as its root, its pages read through ``fetch``)."""
    content = build_task_content(
        [ItemSpec(item, data=item) for item in TRUTH],
        title="t",
        classes=("cat", "dog"),
        labels=schema,
    )
    items = frozenset(TRUTH)
    annotator, other = "0x" + "a1" * 20, "0x" + "b2" * 20
    labels: dict[str, JsonValue] = dict(TRUTH)
    if case == "unknown item":
        labels["q9"] = "cat"
    if case == "unknown class":
        labels["q1"] = "bird"
    batch = LabelBatch.create(1, other if case == "other annotator" else annotator, labels.items())
    stored: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        stored[compute_cid(data)] = data
        return compute_cid(data)

    cid = batch.publish(schema, put)
    data = {"deeply nested": b"[" * 100_000, "not an object": b"[]"}.get(case, stored[cid])
    root = bytes(32) if case == "other root" else batch.root()
    reveal = Commitment(
        chain_id=1, task_id=1, annotator=annotator, labels_root="0x" + root.hex(), labels_cid="x"
    )
    checked = check_batch(data, reveal, content.manifest, items, stored.__getitem__)
    if reason is None:
        assert checked == batch
    else:
        assert isinstance(checked, str) and reason in checked


def test_one_tasks_unexpected_failure_does_not_starve_the_others(
    net: Network, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug met by the first task's data (here: its consensus raises a RuntimeError) is
    logged with the task's id and the same tick attests the second task; the first is
    tried again on the next tick and attested once the bug is gone."""
    first, second = post_task(net), post_task(net)
    reveal_all(net, [first, second], LABELS)
    real = validator_module.run_consensus

    def broken_for_the_first(spec: TaskSpec, *args: object, **kwargs: object) -> object:
        if spec.task_id == first.task_id:
            raise RuntimeError("a bug this task's data meets")
        return real(spec, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validator_module, "run_consensus", broken_for_the_first)
    with caplog.at_level(logging.ERROR, logger="node.roles.validator"):
        attest_round(net, ("validator_1",))
    assert intent(net, "validator_1", first.task_id) is None
    assert intent(net, "validator_1", second.task_id) is not None
    assert f"task {first.task_id}: unexpected failure" in caplog.text
    monkeypatch.undo()
    attest_round(net, ("validator_1",))
    assert intent(net, "validator_1", first.task_id) is not None
