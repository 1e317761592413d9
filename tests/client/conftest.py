"""A session devnet for the CLI tests, started and stopped through client.devnet.

Each test that uses ``devnet`` runs between an ``evm_snapshot`` and ``evm_revert`` of it, so
stakes, tasks and time travel do not leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result
from web3 import Web3

from client.cli.main import app
from client.devnet import DevnetInfo, devnet_down, devnet_up
from node.chain.engines import attach

ACCOUNTS = ("requester", "annotator-1", "validator-1", "validator-2")


@pytest.fixture(scope="session")
def session_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("devnet")
    devnet_up(directory, accounts=ACCOUNTS)
    try:
        yield directory
    finally:
        devnet_down(directory)


@pytest.fixture
def devnet(session_devnet: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The session devnet as LABELNET_DEVNET, its chain state reverted after the test."""
    monkeypatch.setenv("LABELNET_DEVNET", str(session_devnet))
    dev = attach(chain(session_devnet))
    snapshot = dev.snapshot()
    try:
        yield session_devnet
    finally:
        dev.revert(snapshot)


def chain(directory: Path) -> Web3:
    return Web3(Web3.HTTPProvider(DevnetInfo.load(directory).rpc_url))


def run(*args: str, input: str | None = None) -> Result:
    """Invoke ``labelnet`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(app, list(args), input=input)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """The error contract: exit != 0, nothing on stdout, one ``error: what — fix`` line."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and " — " in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
