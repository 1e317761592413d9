"""A node run as a real `labelnet node start` process, for tests that kill and restart it."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account

from node.chain.anvil import free_port
from node.db.engine import open_database
from node.db.models import ItemCreate
from node.db.repositories import ItemRepository, LabelRepository
from node.protocol.manifest import TaskContent
from node.store.embedded import EmbeddedStore
from tests.api.conftest import ANNOTATOR_KEY
from tests.api.test_cli_node import poll, run_node

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

    def store_content(self, content: TaskContent) -> None:
        """The manifest and pages the loader leaves in the node's store when it joins a task
        (the annotator reads the task's batch schema from the manifest)."""
        store = EmbeddedStore.in_data_dir(self.data_dir)
        for blob in content.blobs():
            store.put(blob)

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
