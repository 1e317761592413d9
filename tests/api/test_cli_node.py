"""``labelnet node start`` as a real process: ready against anvil, labels over HTTP, SIGTERM.

Also: whatever keeps a node from starting is one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from web3 import Web3

from client.cli.main import app as cli
from node.chain.anvil import Anvil, free_port
from node.chain.contracts import Contracts, Deployment
from node.db.engine import open_database
from node.db.models import ItemCreate
from node.db.repositories import ItemRepository, LabelRepository
from tests.api.conftest import ANNOTATOR_KEY, PASSWORD, write_deployment, write_keystore
from tests.chain.test_lifecycle import create_task
from tests.conftest import Actors

LABELNET = str(Path(sys.executable).parent / "labelnet")


def node_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELNET_")}
    return {**env, **variables}


def run_node(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LABELNET, "node", "start", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "node"
    write_keystore(data_dir / "keystore.json")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    return data_dir


@pytest.fixture
def node_process(
    tmp_path: Path, node_dir: Path, anvil: Anvil, deployment: Deployment
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = node_env(
        LABELNET_RPC_URL=anvil.url,
        LABELNET_DEPLOYMENT_FILE=str(write_deployment(tmp_path / "deployment.json", deployment)),
        LABELNET_KEYSTORE_PASSWORD_FILE=str(tmp_path / "password"),
        LABELNET_SYNC_INTERVAL="0.1",
        LABELNET_ALLOW_PRIVATE_PEERS="true",  # announced gateways are on 127.0.0.1
    )
    process = run_node(node_dir, port, env)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def poll(url: str, process: subprocess.Popen[str], timeout: float = 60.0) -> httpx.Response:
    """GET ``url`` until it answers 200 (the node is not killed by a test that fails)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"node exited with {process.returncode}: {stderr}")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"{url} not 200 within {timeout}s: {last}")


def test_node_start_serves_labels_and_stops_cleanly_on_sigterm(
    node_process: tuple[subprocess.Popen[str], str],
    node_dir: Path,
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
) -> None:
    process, url = node_process
    task = create_task(w3, contracts, actors)
    ready = poll(f"{url}/readyz", process).json()
    assert ready["checks"]["chain"]["detail"].startswith("chain 31337")
    poll(f"{url}/api/v1/tasks/{task.task_id}", process)  # mirrored by the node's sync

    # The manifest loader is another duty's job: store the items as it would.
    db = open_database(url=f"sqlite:///{node_dir / 'node.db'}")
    items = [f"img-{n}" for n in range(4)]
    with db.write() as session:
        ItemRepository(session).upsert_many(
            31337, task.task_id, [ItemCreate(item_id=i, position=n) for n, i in enumerate(items)]
        )

    token = (node_dir / "api-token").read_text().strip()
    labels_url = f"{url}/api/v1/tasks/{task.task_id}/labels"
    batch = [{"item": items[0], "value": "cat"}, {"item": items[1], "value": "dog"}]
    assert httpx.post(labels_url, json=batch).status_code == 401
    answer = httpx.post(labels_url, json=batch, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    annotator = answer.json()["annotator"]
    assert annotator == Web3().eth.account.from_key(ANNOTATOR_KEY).address
    progress = httpx.get(
        f"{url}/api/v1/tasks/{task.task_id}/progress",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert (progress["done"], progress["total"]) == (2, 4)
    # The annotator's duty runs in the node (nothing to commit yet: 2 of 4 items labelled).
    metrics = httpx.get(f"{url}/metrics").text
    assert 'labelnet_duty_ticks_total{duty="annotator"}' in metrics
    assert 'labelnet_duty_failures_total{duty="annotator"} 0.0' in metrics

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "labelnet node stopped" in stdout
    # stdout is a pipe here, as under a service manager: the link must not carry the token
    assert f"labeling page: {url}/ui/\n" in stdout and token not in stdout + stderr
    with db.session() as session:
        stored = LabelRepository(session).list_for(31337, task.task_id, annotator)
    assert {label.item_id: label.value for label in stored} == {items[0]: "cat", items[1]: "dog"}
    db.dispose()


def test_startup_error_in_a_real_process_is_one_line(node_dir: Path) -> None:
    result = subprocess.run(
        [LABELNET, "node", "start", "--data-dir", str(node_dir)],
        env=node_env(LABELNET_DEPLOYMENT_FILE="/nonexistent/deployment.json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if not line[:4].isdigit()]  # no logs
    assert errors == [
        "error: no deployment file at /nonexistent/deployment.json: run `labelnet devnet up` "
        "or set deployment_file"
    ]


@pytest.mark.parametrize(
    ("variables", "arguments", "message"),
    [
        ({"LABELNET_KEYSTORE_PASSWORD": "wrong"}, [], "wrong password for keystore"),
        ({}, [], "is encrypted: set LABELNET_KEYSTORE_PASSWORD"),
        ({"LABELNET_DEPLOYMENT_FILE": "/"}, [], "cannot read deployment file"),
        ({}, ["--role", "king"], "invalid settings: role"),
        ({}, ["--port", "70000"], "invalid settings: port"),
        ({}, ["--config", "/nonexistent.toml"], "no settings file"),
        ({}, ["--config", "{not_toml}"], "is not a TOML settings file: "),
    ],
    ids=["password", "no-password", "deployment-dir", "role", "port", "config", "not-toml"],
)
def test_startup_errors_are_one_line(
    node_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    arguments: list[str],
    message: str,
) -> None:
    # In-process (the same command code as above, without a second of imports per case).
    for name in [k for k in os.environ if k.startswith("LABELNET_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    not_toml = node_dir.parent / "not.toml"  # was a TOMLDecodeError traceback
    not_toml.write_text("[[[[\n")
    arguments = [a.format(not_toml=not_toml) for a in arguments]
    result = CliRunner().invoke(cli, ["node", "start", "--data-dir", str(node_dir), *arguments])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
