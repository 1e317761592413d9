"""Fixtures for the API tests: a real node (SQLite and an embedded store in a temporary data
directory) behind FastAPI's TestClient; the chain only where a test asks for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.chain.anvil import Anvil
from node.chain.contracts import Deployment
from node.config import NodeSettings, load_settings
from node.db.engine import Database
from node.db.models import ItemCreate, Task
from node.db.repositories import CommitmentRepository, ItemRepository

if TYPE_CHECKING:
    from tests.api.processes import NodeUnderTest

CHAIN = 31337
REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ANNOTATOR_KEY = "0x" + "11" * 32
PASSWORD = "correct horse battery staple"


@pytest.fixture
def annotator() -> LocalAccount:
    account: LocalAccount = Account.from_key(ANNOTATOR_KEY)
    return account


@pytest.fixture
def settings(tmp_path: Path) -> NodeSettings:
    return load_settings(data_dir=tmp_path / "node", chain_id=CHAIN)


@pytest.fixture
def services(settings: NodeSettings, annotator: LocalAccount) -> Iterator[NodeServices]:
    """A node without a chain whose account is ``annotator`` (no keystore decryption: it
    costs a second of scrypt per test; the CLI test covers keystores)."""
    node = NodeServices.open(settings)
    node.account = annotator
    try:
        yield node
    finally:
        node.close()


@pytest.fixture
def client(services: NodeServices) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as http:
        yield http


@pytest.fixture
def auth(services: NodeServices) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.api_token}"}


def record_commit_intent(services: NodeServices, task_id: int = 1) -> None:
    """Record that the node's annotator is committing on the task: its labels are frozen."""
    assert services.annotator is not None
    with services.db.write() as session:
        CommitmentRepository(session).record_intent(
            CHAIN,
            task_id,
            services.annotator,
            commitment="0x" + "ab" * 32,
            labels_root="0x" + "cd" * 32,
            labels_cid="bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
            salt="0x" + "ef" * 32,
        )


def add_task(db: Database, task_id: int = 1, items: int = 10, **overrides: object) -> list[str]:
    """A mirrored task (as the chain mirror writes it) and its manifest's items."""
    values: dict[str, object] = {
        "chain_id": CHAIN,
        "task_id": task_id,
        "requester": REQUESTER,
        "manifest_cid": "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        "algorithm": "ds-gold@1",
        "commit_deadline": 4_000_000_000,
        "reveal_deadline": 4_000_003_600,
        "attest_deadline": 4_000_007_200,
        "num_items": items,
        "redundancy": 3,
        "reward_per_label": 10 * 10**18,
        "validator_fee": 9 * 10**18,
        "annotator_bond": 2 * 10**18,
        "reward_pool": items * 30 * 10**18,
    }
    values.update(overrides)
    with db.write() as session:
        session.add(Task.model_validate(values))
    ids = [f"img-{n:04d}" for n in range(items)]
    with db.write() as session:
        ItemRepository(session).upsert_many(
            CHAIN, task_id, [ItemCreate(item_id=item, position=n) for n, item in enumerate(ids)]
        )
    return ids


def write_deployment(path: Path, deployment: Deployment, **overrides: object) -> Path:
    path.write_text(json.dumps({**deployment.to_json(), **overrides}))
    return path


def write_keystore(path: Path, key: str = ANNOTATOR_KEY, password: str = PASSWORD) -> Path:
    """A V3 keystore with a cheap KDF (tests only: scrypt's default costs a second)."""
    document = Account.encrypt(key, password, kdf="pbkdf2", iterations=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def node(tmp_path: Path, anvil: Anvil, deployment: Deployment) -> Iterator[NodeUnderTest]:
    """A real `labelnet node start` process against anvil, for tests that kill and restart it."""
    # Imported here: those modules import this one's constants.
    from tests.api.processes import NodeUnderTest
    from tests.api.test_cli_node import node_env

    data_dir = tmp_path / "node"
    write_keystore(data_dir / "keystore.json")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = node_env(
        LABELNET_RPC_URL=anvil.url,
        LABELNET_DEPLOYMENT_FILE=str(write_deployment(tmp_path / "deployment.json", deployment)),
        LABELNET_KEYSTORE_PASSWORD_FILE=str(tmp_path / "password"),
        LABELNET_SYNC_INTERVAL="0.1",
        LABELNET_DUTY_INTERVAL="0.2",
        LABELNET_COMMIT_GRACE="1",  # a person's grace to correct answers, kept short here
        LABELNET_ALLOW_PRIVATE_PEERS="true",  # announced gateways are on 127.0.0.1
    )
    under_test = NodeUnderTest(data_dir, env)
    try:
        yield under_test
    finally:
        under_test.stop()
