"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a real node.

Playwright cannot download its own browser on these machines; ``scripts/setup.sh`` installs
Debian's ``chromium`` package and the tests launch it by path, headless.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from node.chain.anvil import Anvil
from node.chain.contracts import Deployment
from tests.api.conftest import PASSWORD, write_deployment, write_keystore
from tests.api.processes import NodeUnderTest
from tests.api.test_cli_node import node_env

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PATIENCE_MS = 20_000
"""How long an expectation waits: CI machines are small and shared, so a page that takes a
few seconds to catch up under load is slow, not broken."""


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    expect.set_options(timeout=PATIENCE_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def node(tmp_path: Path, anvil: Anvil, deployment: Deployment) -> Iterator[NodeUnderTest]:
    """An annotator node process (no labeling program: its items wait for the page)."""
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
