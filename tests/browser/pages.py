"""A browser page on a node's UI for the page tests: its console errors and page errors
collected, and signing in with the node's API token."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.api.processes import NodeUnderTest

DESKTOP = {"width": 1280, "height": 900}


def watched_page(browser: Browser, ignore: tuple[str, ...] = ()) -> tuple[Page, list[str]]:
    """A new desktop-sized page and the list its console errors (those holding none of
    ``ignore``) and uncaught page errors are appended to: a test asserts it stays empty."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in ignore):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page, problems


def sign_in(page: Page, node: NodeUnderTest) -> None:
    """Open the node's UI with its API token in the fragment, which leaves the address bar."""
    token = node.headers()["Authorization"].removeprefix("Bearer ")
    page.goto(f"{node.url}/ui/#token={token}")
    expect(page).to_have_url(f"{node.url}/ui/#/")
