"""A node run as a real `labelnet node start` process, for tests that kill and restart it."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account

from node.chain.anvil import Anvil, free_port
from node.chain.contracts import Deployment
from node.db.engine import open_database
from node.db.models import ItemCreate
from node.db.repositories import ItemRepository, LabelRepository
from tests.api.conftest import ANNOTATOR_KEY, PASSWORD, write_deployment, write_keystore
from tests.api.test_cli_node import node_env, poll, run_node

CHAIN = 31337
ANNOTATOR = Account.from_key(ANNOTATOR_KEY)


@dataclass
class NodeUnderTest:
    """One node's data directory and environment, started and killed as often as needed."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **extra_env: str) -> None:
        self.process = run_node(self.data_dir, self.port, {**self.env, **extra_env})
        poll(f"{self.url}/readyz", self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait_for_death(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def headers(self) -> dict[str, str]:
        token = (self.data_dir / "api-token").read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def labels(self, task_id: int) -> dict[str, object]:
        db = open_database(url=f"sqlite:///{self.data_dir / 'node.db'}")
        try:
            with db.session() as session:
                rows = LabelRepository(session).list_for(CHAIN, task_id, ANNOTATOR.address)
            return {row.item_id: row.value for row in rows}
        finally:
            db.dispose()

    def store_items(self, task_id: int, items: list[str]) -> None:
        """What the manifest loader does when a node joins a task."""
        db = open_database(url=f"sqlite:///{self.data_dir / 'node.db'}")
        try:
            with db.write() as session:
                ItemRepository(session).upsert_many(
                    CHAIN, task_id, [ItemCreate(item_id=i, position=n) for n, i in enumerate(items)]
                )
        finally:
            db.dispose()


@pytest.fixture
def node(tmp_path: Path, anvil: Anvil, deployment: Deployment) -> Iterator[NodeUnderTest]:
    data_dir = tmp_path / "node"
    write_keystore(data_dir / "keystore.json")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    env = node_env(
        LABELNET_RPC_URL=anvil.url,
        LABELNET_DEPLOYMENT_FILE=str(write_deployment(tmp_path / "deployment.json", deployment)),
        LABELNET_KEYSTORE_PASSWORD_FILE=str(tmp_path / "password"),
        LABELNET_SYNC_INTERVAL="0.1",
        LABELNET_DUTY_INTERVAL="0.2",
    )
    under_test = NodeUnderTest(data_dir, env)
    try:
        yield under_test
    finally:
        under_test.stop()
