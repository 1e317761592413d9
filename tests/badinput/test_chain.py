"""Bad input and failures at the chain: the wrong chain, the wrong keystore password, a
requester without the tokens or the allowance, deadlines in the past, a task id nobody
created, and the RPC going away while the annotator duty commits. Each is one error class
with one message; chain state and the node's database are read back afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from web3 import Web3

from node.app.errors import ChainMismatchError
from node.app.runtime import NodeServices
from node.app.workers import DutyRunner
from node.chain.anvil import Anvil, free_port
from node.chain.contracts import Contracts, Deployment, bind
from node.chain.errors import ContractRevertError
from node.chain.market import read_task
from node.chain.tx import TxSender
from node.config import load_settings
from node.db.models import CommitState
from node.db.repositories.labels import LabelRepository
from node.keys import KeystoreError
from node.roles.annotator import AnnotatorDuty
from node.roles.requester.posting import TaskRequestError, create_task
from tests.api.conftest import write_deployment, write_keystore
from tests.chain.test_lifecycle import fund, sender
from tests.conftest import Actors
from tests.roles.test_annotator_duty import ITEMS, Node, node, prepare
from tests.roles.test_requester import request

__all__ = ["node"]  # fixtures used here


def balance(contracts: Contracts, account: str) -> int:
    return int(contracts.token.functions.balanceOf(account).call())


def test_node_refuses_a_chain_id_other_than_the_deployments(
    tmp_path: Path, anvil: Anvil, deployment: Deployment
) -> None:
    """ChainMismatchError "settings name chain 1 but the deployment is on chain 31337: fix
    chain_id or deployment_file"; the node does not start."""
    settings = load_settings(
        data_dir=tmp_path / "node",
        chain_id=1,
        rpc_url=anvil.url,
        deployment_file=write_deployment(tmp_path / "deployment.json", deployment),
    )
    with pytest.raises(ChainMismatchError) as raised:
        NodeServices.open(settings)
    assert str(raised.value) == (
        "settings name chain 1 but the deployment is on chain 31337: "
        "fix chain_id or deployment_file"
    )


def test_node_refuses_an_rpc_serving_another_chain(
    tmp_path: Path, anvil: Anvil, deployment: Deployment
) -> None:
    """ChainMismatchError "<rpc> serves chain 31337 but the deployment is on chain 5: point
    rpc_url at the right chain or redeploy"."""
    path = write_deployment(tmp_path / "deployment.json", deployment, chain_id=5)
    settings = load_settings(data_dir=tmp_path / "node", rpc_url=anvil.url, deployment_file=path)
    with pytest.raises(ChainMismatchError) as raised:
        NodeServices.open(settings)
    assert str(raised.value) == (
        f"{anvil.url} serves chain 31337 but the deployment is on chain 5: "
        "point rpc_url at the right chain or redeploy"
    )


def test_wrong_keystore_password_stops_the_node_and_keeps_the_keystore(tmp_path: Path) -> None:
    """KeystoreError "wrong password for keystore <path>"; the keystore is left unchanged."""
    keystore = write_keystore(tmp_path / "node" / "keystore.json")
    before = keystore.read_bytes()
    settings = load_settings(
        data_dir=tmp_path / "node", chain_id=31337, keystore_password="not the password"
    )
    with pytest.raises(KeystoreError) as raised:
        NodeServices.open(settings)
    assert str(raised.value) == f"wrong password for keystore {keystore}"
    assert keystore.read_bytes() == before


def test_task_create_with_insufficient_balance_sends_nothing(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    """TaskRequestError "<requester> holds 0 tokens; the task escrows <escrow>"; no
    transaction is sent."""
    poor = actors.outsider
    asked = request(w3, gold=None)
    nonce = w3.eth.get_transaction_count(poor.address)
    with pytest.raises(TaskRequestError) as raised:
        create_task(sender(w3, poor), contracts, asked)
    assert str(raised.value) == f"{poor.address} holds 0 tokens; the task escrows {asked.escrow}"
    assert w3.eth.get_transaction_count(poor.address) == nonce


def test_task_create_with_insufficient_allowance_reverts_with_the_tokens_error(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    """ContractRevertError "ERC20InsufficientAllowance(<market>, <allowance>, <needed>)";
    the requester keeps every token and no task exists."""
    requester = actors.requester
    asked = request(w3, gold=None)
    fund(w3, contracts, actors, requester, asked.escrow)
    tx = sender(w3, requester)
    tx.transact(contracts.token.functions.approve(contracts.market.address, asked.escrow - 1))
    before = balance(contracts, requester.address)
    count = contracts.market.functions.taskCount().call()
    call = contracts.market.functions.createTask(
        asked.params(asked.content.manifest_cid, bytes(32))
    )
    with pytest.raises(ContractRevertError) as raised:
        tx.transact(call)
    market = contracts.market.address.lower()
    assert str(raised.value) == (
        f"ERC20InsufficientAllowance({market}, {asked.escrow - 1}, {asked.escrow})"
    )
    assert balance(contracts, requester.address) == before
    assert contracts.market.functions.taskCount().call() == count


def test_task_create_with_a_deadline_in_the_past_sends_nothing(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    """TaskRequestError "commit deadline <t> is not after the chain's current time <now>"."""
    requester = actors.requester
    asked = request(w3, gold=None, commit_in=-60)
    fund(w3, contracts, actors, requester, asked.escrow)
    nonce = w3.eth.get_transaction_count(requester.address)
    with pytest.raises(TaskRequestError) as raised:
        create_task(sender(w3, requester), contracts, asked)
    assert str(raised.value).startswith(f"commit deadline {asked.commit_deadline} is not after")
    assert w3.eth.get_transaction_count(requester.address) == nonce


def test_a_task_id_nobody_created_is_a_typed_revert(contracts: Contracts) -> None:
    """ContractRevertError "TaskMarketUnknownTask(999)"."""
    with pytest.raises(ContractRevertError) as raised:
        read_task(contracts.market, 999)
    assert str(raised.value) == "TaskMarketUnknownTask(999)"


def test_rpc_down_while_committing_loses_nothing_and_resumes(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    node: Node,
    deployment: Deployment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Log line "duty annotator: the chain did not answer (retrying next tick): ..." per
    tick while the RPC is down (no traceback); the labels stay, no commit is recorded as
    sent; with the RPC back the same database commits."""
    task = prepare(w3, contracts, actors, node, ITEMS)
    url = f"http://127.0.0.1:{free_port()}"
    dead = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2}))
    offline = AnnotatorDuty(
        db=node.db,
        store=node.store,
        market=bind(dead, deployment).market,
        sender=TxSender(dead, node.account),
        chain_id=node.chain_id,
    )
    runner = DutyRunner(offline, interval=60)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="node.app.workers"):
        thread.start()
        deadline = time.monotonic() + 20
        while runner.snapshot().ticks == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(10)
    status = runner.snapshot()
    assert (status.ticks, status.failures) == (1, 1)
    assert status.last_error is not None and status.last_error.startswith("ConnectionError")
    (record,) = caplog.records
    assert record.exc_info is None
    assert record.getMessage().startswith(
        "duty annotator: the chain did not answer (retrying next tick): "
    )
    with node.db.session() as session:
        kept = LabelRepository(session).list_for(node.chain_id, task.task_id, node.account.address)
    assert sorted(row.item_id for row in kept) == ITEMS
    assert node.state(task.task_id) is None

    node.duty().tick()  # the RPC is back
    node.sync.sync_once()
    assert node.state(task.task_id) is CommitState.COMMITTED
