"""Building a node from settings: deployment, chain-id agreement, keystore, shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from node.app.chain import load_deployment
from node.app.errors import ChainMismatchError, DeploymentError
from node.app.runtime import NodeServices
from node.chain.anvil import Anvil
from node.chain.contracts import Deployment
from node.config import load_settings
from node.keys import KeystoreError
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore
from tests.api.conftest import ANNOTATOR_KEY, PASSWORD, write_deployment, write_keystore


def test_deployment_file_round_trips(tmp_path: Path, deployment: Deployment) -> None:
    path = write_deployment(tmp_path / "deployment.json", deployment)
    assert load_deployment(path) == deployment


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no deployment file"),
        ("{not json", "cannot read"),
        ("[]", "not a JSON object"),
        ('{"chain_id": 1}', "lacks"),
        ('{"chain_id": 1, "token": 5, "staking": "0x", "market": "0x"}', "bad token"),
        # Were a UnicodeDecodeError traceback, and (a few hundred thousand deep) SIGSEGV.
        (b"\xff\xfe{", "cannot read deployment file .*: 'utf-8' codec can't decode"),
        ('{"chain_id": ' + "[" * 65 + "]" * 65 + "}", r"JSON nested 66 deep \(at most 64\)"),
    ],
    ids=["missing", "malformed", "not-object", "incomplete", "bad-address", "not-utf8", "deep"],
)
def test_bad_deployment_files_are_refused(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "deployment.json"
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DeploymentError, match=message):
        load_deployment(path)


def test_settings_chain_id_must_match_the_deployment(
    tmp_path: Path, anvil: Anvil, deployment: Deployment
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "node",
        rpc_url=anvil.url,
        chain_id=1,
        deployment_file=write_deployment(tmp_path / "d.json", deployment),
    )
    with pytest.raises(ChainMismatchError, match="settings name chain 1"):
        NodeServices.open(settings)


def test_rpc_chain_id_must_match_the_deployment(
    tmp_path: Path, anvil: Anvil, deployment: Deployment
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "node",
        rpc_url=anvil.url,
        deployment_file=write_deployment(tmp_path / "d.json", deployment, chain_id=5),
    )
    with pytest.raises(ChainMismatchError, match="serves chain 31337"):
        NodeServices.open(settings)


def test_node_without_deployment_runs_chainless_read_only(tmp_path: Path) -> None:
    node = NodeServices.open(load_settings(data_dir=tmp_path / "node"))
    try:
        assert node.chain is None and node.sync is None and node.account is None
        assert node.chain_id == 31337
        assert isinstance(node.store, GatewayStore)
        assert isinstance(node.gateway_store, EmbeddedStore)  # never the peer-fetching one
        assert (tmp_path / "node" / "api-token").is_file()
        assert (tmp_path / "node" / "node.db").is_file()
    finally:
        node.close()


def test_keystore_is_decrypted_with_the_configured_password(tmp_path: Path) -> None:
    keystore = write_keystore(tmp_path / "node" / "keystore.json")
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    node = NodeServices.open(
        load_settings(data_dir=tmp_path / "node", keystore_password_file=secret)
    )
    try:
        assert node.account is not None
        assert node.account.key.hex().removeprefix("0x") == ANNOTATOR_KEY.removeprefix("0x")
    finally:
        node.close()

    with pytest.raises(KeystoreError, match="is encrypted"):
        NodeServices.open(load_settings(data_dir=tmp_path / "node"))
    with pytest.raises(KeystoreError, match="wrong password"):
        NodeServices.open(load_settings(data_dir=tmp_path / "node", keystore_password="no"))
    with pytest.raises(KeystoreError, match="no keystore"):
        NodeServices.open(
            load_settings(
                data_dir=tmp_path / "other", keystore=keystore.with_name("gone.json"),
                keystore_password="x",
            )
        )  # fmt: skip


def test_close_stops_and_joins_every_thread(tmp_path: Path) -> None:
    started = threading.Event()

    class Blocking:
        name = "blocking"

        def tick(self) -> None:
            started.set()

    node = NodeServices.open(
        load_settings(data_dir=tmp_path / "node", duty_interval=30.0),
        duties=lambda _node: [Blocking()],
    )
    node.start()
    assert started.wait(5)
    assert node.running
    node.close()  # waits on the stop event, not the 30 s interval
    assert not node.running
    assert not any(t.name.startswith("labelnet-") for t in threading.enumerate())
    node.close()  # idempotent
