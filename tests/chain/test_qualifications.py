"""Gated tasks and reputation on a real chain (issue #19 items 1 and 2), driven from Python.

Two gated tasks in one domain run to their claims; the gate's counters must equal what the
finalized payout trees' leaves say (accepted = amount / rate, answered = the batch). A third
task admits by allowlist, reputation and the first task as its qualification task, and the
accounts that fail a rule are refused on chain with the error naming it.
"""

from __future__ import annotations

import os

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.errors import ContractRevertError
from node.chain.qualifications import (
    Gate,
    Reputation,
    admission_refusal,
    read_reputation,
    read_rule,
)
from node.chain.tx import TxSender
from node.protocol.commitments import algorithm_id, label_commitment
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.protocol.manifest_allowlist import AllowlistParams
from node.protocol.merkle import Allowlist, PayoutTree
from node.roles.requester import TaskRequest, TaskRequestError, create_task
from tests.conftest import TEST_CONFIG, Actors, advance_time

TOKEN = 10**18
HOUR = 3600
NUM_ITEMS, REDUNDANCY, BATCH = 4, 3, 4  # 12 positions: 3 seats of 4 items
REWARD, FEE = TOKEN, TOKEN
STAKE = 10_000 * TOKEN
DOMAIN = "radiology"
ANNOTATORS = ("annotator_a", "annotator_b", "annotator_c")


def _gate(contracts: Contracts) -> Contract:
    assert contracts.qualifications is not None, "the test deployment has a gate"
    return contracts.qualifications


def _stake(w3: Web3, contracts: Contracts, actors: Actors) -> None:
    deployer = TxSender(w3, actors.deployer)
    for role in ("validator_1", "validator_2", "validator_3"):
        account = getattr(actors, role)
        deployer.transact(contracts.token.functions.transfer(account.address, STAKE))
        validator = TxSender(w3, account)
        validator.transact(contracts.token.functions.approve(contracts.staking.address, STAKE))
        validator.transact(contracts.staking.functions.stake(STAKE))


def _create(w3: Web3, contracts: Contracts, actors: Actors, gate: Gate) -> int:
    deployer, requester = TxSender(w3, actors.deployer), TxSender(w3, actors.requester)
    escrow = NUM_ITEMS * REDUNDANCY * REWARD + FEE
    deployer.transact(contracts.token.functions.transfer(actors.requester.address, escrow))
    now = int(w3.eth.get_block("latest")["timestamp"])
    commit_deadline = now + HOUR + TEST_CONFIG.min_label_time
    params = (
        "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        algorithm_id("ds-gold@1"),
        bytes(32),
        REWARD,
        FEE,
        0,
        commit_deadline,
        commit_deadline + HOUR,
        commit_deadline + 2 * HOUR,
        NUM_ITEMS,
        REDUNDANCY,
        now + HOUR,
        BATCH,
    )
    requester.transact(contracts.token.functions.approve(contracts.market.address, escrow))
    receipt = requester.transact(
        _gate(contracts).functions.createGatedTask(params, gate.as_tuple())
    )
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    assert event.args.requester == actors.requester.address
    return int(event.args.taskId)


def _seat(
    w3: Web3, contracts: Contracts, who: LocalAccount, task_id: int, proof: list[bytes]
) -> None:
    TxSender(w3, who).transact(_gate(contracts).functions.claimSeat(task_id, proof))


def _run(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    task_id: int,
    accepted: dict[str, int],
    accounts: dict[str, LocalAccount] | None = None,
) -> PayoutTree:
    """Seat, commit and reveal the three annotators (``accounts`` by name, default the
    actors of :data:`ANNOTATORS`), finalize on a tree paying ``accepted[name]`` labels each,
    and claim every leaf; the finalized tree."""
    if accounts is None:
        accounts = {role: getattr(actors, role) for role in ANNOTATORS}
    for who in accounts.values():
        _seat(w3, contracts, who, task_id, [])
    salts = {role: (os.urandom(32), os.urandom(32)) for role in accounts}
    for role, who in accounts.items():
        root, salt = salts[role]
        commitment = label_commitment(task_id, who.address, root, salt)
        TxSender(w3, who).transact(contracts.market.functions.commit(task_id, commitment))
    advance_time(w3, HOUR + TEST_CONFIG.min_label_time + 1)
    for role, who in accounts.items():
        root, salt = salts[role]
        reveal = contracts.market.functions.reveal(task_id, root, "bafkreilabels", salt)
        TxSender(w3, who).transact(reveal)
    advance_time(w3, HOUR)
    tree = PayoutTree.build([(accounts[r].address, n * REWARD) for r, n in accepted.items()])
    for role in ("validator_1", "validator_2"):
        attest = contracts.market.functions.attest(task_id, tree.root, tree.total, "bafkreiresult")
        TxSender(w3, getattr(actors, role)).transact(attest)
    TxSender(w3, actors.deployer).transact(contracts.market.functions.finalize(task_id))
    claimer = TxSender(w3, actors.outsider)  # anyone may send a claim; the leaf's account is paid
    for account, amount in tree.payouts:
        claimer.transact(
            contracts.market.functions.claim(task_id, account, amount, tree.proof(account))
        )
    return tree


def test_reputation_matches_the_finalized_leaves_after_two_tasks(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    _stake(w3, contracts, actors)
    gate = _gate(contracts)
    assert gate.functions.market().call() == contracts.market.address
    assert int(contracts.market.functions.version().call()) == 3
    trees = []
    for accepted in (
        {"annotator_a": 4, "annotator_b": 3, "annotator_c": 1},
        {"annotator_a": 4, "annotator_b": 2, "annotator_c": 4},
    ):
        task_id = _create(w3, contracts, actors, Gate(domain=DOMAIN))
        rule = read_rule(gate, task_id)
        assert rule is not None and rule.domain == DOMAIN and rule.batch_size == BATCH
        trees.append((rule.reward_per_label, _run(w3, contracts, actors, task_id, accepted)))
    for role in ANNOTATORS:
        address = getattr(actors, role).address
        # What the two finalized payout trees say about this account, leaf by leaf.
        leaves = [tree.amount(address) // rate for rate, tree in trees]
        expected = Reputation(accepted=sum(leaves), answered=BATCH * len(leaves), tasks=len(leaves))
        assert read_reputation(gate, address, DOMAIN) == expected
        assert read_reputation(gate, address, "other") == Reputation(0, 0, 0)
    assert read_reputation(gate, actors.annotator_a.address, DOMAIN).accuracy == 1.0
    assert read_reputation(gate, actors.annotator_b.address, DOMAIN).accuracy == 5 / 8


def test_a_gated_task_refuses_on_chain_naming_the_rule(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    _stake(w3, contracts, actors)
    gate = _gate(contracts)
    qualification = _create(w3, contracts, actors, Gate(domain=DOMAIN))
    _run(
        w3, contracts, actors, qualification, {"annotator_a": 4, "annotator_b": 3, "annotator_c": 2}
    )
    # A direct seat on a gated task goes nowhere: the market sends it to the gate.
    gated = _create(w3, contracts, actors, Gate(domain=DOMAIN))
    with pytest.raises(ContractRevertError) as direct:
        TxSender(w3, actors.annotator_a).transact(contracts.market.functions.claimSeat(gated))
    assert direct.value.name == "TaskMarketGated"

    allowlist = Allowlist.build([actors.annotator_a.address, actors.annotator_b.address])
    rule = Gate(
        domain=DOMAIN,
        allowlist_root=allowlist.root,
        min_accepted=3,
        qualification_task_id=qualification,
        qualification_accuracy_bps=8_000,
    )
    task_id = _create(w3, contracts, actors, rule)
    a, b, c = actors.annotator_a, actors.annotator_b, actors.annotator_c
    # a: listed, 4 accepted, 4 of 4 on the qualification task: admitted.
    assert admission_refusal(gate, task_id, a.address, allowlist.proof(a.address)) is None
    # b: listed, 3 accepted, but 3 of 4 (7,500 bps) on the qualification task.
    refused_b = admission_refusal(gate, task_id, b.address, allowlist.proof(b.address))
    assert refused_b is not None and refused_b.name == "NotQualified"
    assert refused_b.args_[2] == qualification
    # c: not on the allowlist, whatever proof it borrows.
    _seat(w3, contracts, a, task_id, allowlist.proof(a.address))
    with pytest.raises(ContractRevertError) as on_chain:
        _seat(w3, contracts, c, task_id, allowlist.proof(a.address))
    assert on_chain.value.name == "NotOnAllowlist"
    assert Web3.to_checksum_address(on_chain.value.args_[1]) == c.address
    # The minimum reputation names what the account has and what the task needs.
    strict = _create(w3, contracts, actors, Gate(domain=DOMAIN, min_accepted=4))
    with pytest.raises(ContractRevertError) as too_low:
        _seat(w3, contracts, c, strict, [])
    assert too_low.value.name == "ReputationTooLow"
    assert tuple(too_low.value.args_[2:]) == (2, 4)


def test_the_requester_posts_a_gated_task_in_one_transaction(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    items = [ItemSpec(f"i{n}", data="x") for n in range(40)]
    listed = AllowlistParams.create([actors.annotator_a.address])
    content = build_task_content(items, title="t", classes=("p", "n"), allowlist=listed)
    unlisted = build_task_content(items, title="t", classes=("p", "n"))
    now = int(w3.eth.get_block("latest")["timestamp"])
    commit = now + HOUR + TEST_CONFIG.min_label_time
    allowlist = Allowlist.build([actors.annotator_a.address])
    gate = Gate(domain=DOMAIN, allowlist_root=allowlist.root, min_accepted=2)

    def request(batch: int, published: TaskContent = content) -> TaskRequest:
        return TaskRequest(
            published,
            REWARD,
            3,
            FEE,
            commit,
            commit + HOUR,
            commit + 2 * HOUR,
            algorithm=content.manifest.algorithm,
            batch_size=batch,
            seat_deadline=now + HOUR if batch else 0,
            gate=gate,
        )

    TxSender(w3, actors.deployer).transact(
        contracts.token.functions.transfer(actors.requester.address, 1_000 * TOKEN)
    )
    requester = TxSender(w3, actors.requester)
    with pytest.raises(TaskRequestError, match="must be seated"):
        create_task(requester, contracts, request(0))
    # A root whose accounts the manifest does not list is a task no node could seat on.
    with pytest.raises(TaskRequestError, match="must list the allowlist's accounts"):
        create_task(requester, contracts, request(40, unlisted))
    created = create_task(requester, contracts, request(40))
    rule = read_rule(_gate(contracts), created.task_id)
    assert rule is not None
    assert (rule.domain, rule.allowlist_root, rule.min_accepted) == (DOMAIN, allowlist.root, 2)
    assert (rule.batch_size, rule.reward_per_label) == (40, REWARD)
    assert "allowlist" in rule.describe() and "accepted >= 2" in rule.describe()
    assert read_rule(_gate(contracts), created.task_id + 1) is None
