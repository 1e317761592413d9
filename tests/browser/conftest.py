"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a real node.

Playwright cannot download its own browser on these machines; ``scripts/setup.sh`` installs
Debian's ``chromium`` package and the tests launch it by path, headless.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

# `node`: a real `labelnet node start` process on the session's anvil, as tests/api builds
# it; with no labeling program configured, its items wait for the page.
from tests.api.conftest import node

__all__ = ["node"]

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PATIENCE_MS = 20_000
"""How long an expectation waits: CI machines are small and shared, so a page that takes a
few seconds to catch up under load is slow, not broken."""


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Module-scoped: Playwright's sync API keeps an asyncio loop running in the main thread
    while it is open, which would break any later test module that calls ``asyncio.run``."""
    expect.set_options(timeout=PATIENCE_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
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
