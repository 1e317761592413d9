"""Fixtures for the page's use cases and routes: a chainless node over SQLite and an
embedded store in a temporary data directory, its account set without a keystore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.config import load_settings
from tests.api.conftest import ANNOTATOR_KEY, CHAIN


@pytest.fixture
def annotator() -> LocalAccount:
    account: LocalAccount = Account.from_key(ANNOTATOR_KEY)
    return account


@pytest.fixture
def services(tmp_path: Path, annotator: LocalAccount) -> Iterator[NodeServices]:
    node = NodeServices.open(load_settings(data_dir=tmp_path / "node", chain_id=CHAIN))
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
