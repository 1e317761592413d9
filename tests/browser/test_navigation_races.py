"""The page's views do not draw over each other when answers come back late.

A person who leaves a view before its requests are answered must keep the view they went
to: the tasks list refreshes every five seconds, and a refresh in flight when the person
opens Earnings used to redraw the list over it; a task opened and left before its first
request came back used to draw the labelling view over the next one (and take keys).
Requests are held with Playwright routes installed before the page loads, on a real node.
"""

from __future__ import annotations

import json
import time

import httpx
from playwright.sync_api import Browser, Page, Route, expect
from web3 import Web3

from node.chain.contracts import Contracts
from tests.api.processes import NodeUnderTest
from tests.browser.content import ANSWERS, blobs, task_content
from tests.browser.network import node_on_task
from tests.browser.pages import sign_in, watched_page
from tests.browser.test_labeling_page import TITLE
from tests.conftest import Actors


class Held:
    """Requests to one path: the first ``passed`` go through, the later ones wait."""

    def __init__(self, passed: int) -> None:
        self.passed = passed
        self.seen = 0
        self.waiting: list[Route] = []

    def __call__(self, route: Route) -> None:
        self.seen += 1
        if self.seen <= self.passed:
            route.continue_()
        else:
            self.waiting.append(route)


def wait_for_held(page: Page, held: Held, timeout: float = 20.0) -> Route:
    deadline = time.monotonic() + timeout
    while not held.waiting:
        assert time.monotonic() < deadline, "the page never sent the request"
        page.wait_for_timeout(100)
    return held.waiting.pop(0)


def test_late_answers_do_not_draw_over_the_view_the_person_went_to(
    node: NodeUnderTest, browser: Browser, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    task = node_on_task(
        node, w3, contracts, actors, blobs(), task_content().manifest_cid, len(ANSWERS)
    )
    page, problems = watched_page(browser)
    cards = Held(passed=1)
    view = Held(passed=0)
    page.route("**/api/v1/ui/tasks", cards)
    page.route(f"**/api/v1/ui/tasks/{task.task_id}", view)
    sign_in(page, node)
    expect(page.get_by_role("heading", name="Your tasks", level=1)).to_be_visible()

    # The list's five-second refresh is in flight when the person opens Earnings; it comes
    # back with a different list (the node dropped the task, say).
    refresh = wait_for_held(page, cards)
    page.get_by_role("link", name="Earnings").click()
    expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    refresh.fulfill(status=200, content_type="application/json", body=json.dumps([]))
    page.wait_for_timeout(500)
    expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Your tasks")).to_have_count(0)

    # A task opened and left before its view was answered.
    page.goto(f"{node.url}/ui/#/task/{task.task_id}")
    first_load = wait_for_held(page, view)
    page.goto(f"{node.url}/ui/#/earnings")
    expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    first_load.continue_()
    page.wait_for_timeout(1_000)
    expect(page.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE)).to_have_count(0)
    page.keyboard.press("1")  # would label the first item if the stale view took keys
    page.wait_for_timeout(1_000)
    progress = httpx.get(
        f"{node.url}/api/v1/ui/tasks/{task.task_id}/progress", headers=node.headers(), timeout=10
    ).json()
    assert progress["done"] == 0
    assert problems == []
