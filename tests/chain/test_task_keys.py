"""``TaskKeys`` on a real anvil: the requester publishes key document CIDs, readers get them
in order, anyone else is refused with the typed error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from node.app.chain import load_deployment, write_deployment
from node.chain.contracts import Contracts, Deployment
from node.chain.errors import ContractRevertError
from node.chain.task_keys import publish_keys, published_keys
from node.chain.tx import TxSender
from tests.chain.test_seats import _create
from tests.conftest import Actors

CIDS = [
    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
    "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
]


def test_requester_publishes_and_readers_see_the_order(
    w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    assert contracts.task_keys is not None
    task_id, _ = _create(w3, contracts, actors, batch=4)
    other, _ = _create(w3, contracts, actors, batch=4)
    requester = TxSender(w3, actors.requester)
    for cid in CIDS:
        publish_keys(requester, contracts.task_keys, task_id, cid)
    publish_keys(requester, contracts.task_keys, other, CIDS[1])
    assert published_keys(contracts.task_keys, task_id) == CIDS
    assert published_keys(contracts.task_keys, other) == CIDS[1:]
    assert contracts.task_keys.functions.market().call() == contracts.market.address


def test_anyone_else_is_refused(w3: Web3, contracts: Contracts, actors: Actors) -> None:
    assert contracts.task_keys is not None
    task_id, _ = _create(w3, contracts, actors, batch=4)
    with pytest.raises(ContractRevertError) as error:
        publish_keys(TxSender(w3, actors.outsider), contracts.task_keys, task_id, CIDS[0])
    assert error.value.name == "TaskKeysNotRequester"
    assert published_keys(contracts.task_keys, task_id) == []


def test_a_deployment_file_without_task_keys_still_loads(
    deployment: Deployment, tmp_path: Path
) -> None:
    path = tmp_path / "deployment.json"
    write_deployment(path, deployment)
    assert load_deployment(path) == deployment
    document = json.loads(path.read_text())
    del document["task_keys"]
    path.write_text(json.dumps(document))
    assert load_deployment(path).task_keys is None
    assert Deployment.from_json(document).task_keys is None
