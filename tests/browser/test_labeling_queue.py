"""The labelling page while its next items are still loading: keys pressed then act on
nothing, so the item just labelled keeps its label and no item is passed over.

The page fetches items 40 at a time and asks for more when fewer than ten are queued. A
real node serves a 50-item task; the test holds every request for more items (a Playwright
route installed before the page loads) so the page runs out of queued items and waits.
Two class keys pressed then used to label the last item again and skip the next one.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Route, expect
from web3 import Web3

from node.chain.contracts import Contracts
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, build_task_content
from tests.api.processes import NodeUnderTest
from tests.browser.network import node_on_task, wait_until
from tests.browser.pages import sign_in, watched_page
from tests.browser.test_labeling_page import current_item
from tests.conftest import Actors
from tests.roles.network import TINY_TASK_CONSENSUS

CLASSES = ("yes", "no")
ITEMS = 50
FIRST_FETCH = 40  # label.js BATCH


def test_keys_pressed_while_items_load_relabel_nothing_and_skip_nothing(
    node: NodeUnderTest, browser: Browser, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    content = build_task_content(
        [ItemSpec(f"q{n:02d}", data={"text": f"question {n}"}) for n in range(ITEMS)],
        title="Loading queue",
        kind=TaskKind.CATEGORICAL,
        classes=CLASSES,
        consensus=TINY_TASK_CONSENSUS,
    )
    task = node_on_task(node, w3, contracts, actors, content.blobs(), content.manifest_cid, ITEMS)

    page, problems = watched_page(browser)
    fetches: list[Route] = []

    def hold_later_fetches(route: Route) -> None:
        fetches.append(route)
        if len(fetches) == 1:
            route.continue_()  # the first 40 items; every later request waits for the test

    page.route(f"**/api/v1/tasks/{task.task_id}/items/next*", hold_later_fetches)
    sign_in(page, node)
    page.get_by_role("link", name="Label Loading queue").click()

    labelled: list[str] = []
    for _ in range(FIRST_FETCH):
        expect(page.locator(".item-id")).to_be_visible()
        item = current_item(page)
        assert item not in labelled, f"{item} shown twice"
        expect(page.locator(".item-id")).to_have_text(f"id {item}")
        page.keyboard.press("2")  # "no"
        labelled.append(item)
        if len(labelled) < FIRST_FETCH:
            expect(page.locator(".item-id")).not_to_have_text(f"id {item}")
    # Forty labelled, the request for the rest held: the page says it is loading...
    expect(page.locator("#item-title")).to_have_text("Loading items…")
    assert len(fetches) == 2, f"{len(fetches)} requests for items: one refill at a time"
    # ...and a person who keeps pressing keys labels nothing.
    page.keyboard.press("1")
    page.keyboard.press("1")
    fetches[1].continue_()
    expect(page.locator(".item-id")).to_be_visible()
    following = current_item(page)
    assert following not in labelled
    page.keyboard.press("1")
    expect(page.locator(".item-id")).not_to_have_text(f"id {following}")
    labelled.append(following)

    headers = node.headers()

    def saved() -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for item in labelled:
            url = f"{node.url}/api/v1/ui/tasks/{task.task_id}/items/{item}"
            values[item] = httpx.get(url, headers=headers, timeout=10).json()["value"]
        return values

    wait_until(lambda: None not in saved().values(), "the page's labels to reach the node")
    values = saved()
    assert [values[item] for item in labelled[:FIRST_FETCH]] == ["no"] * FIRST_FETCH
    assert values[following] == "yes"
    # The first item of the second fetch is the one shown: nothing was passed over.
    progress = httpx.get(
        f"{node.url}/api/v1/ui/tasks/{task.task_id}/progress", headers=headers, timeout=10
    ).json()
    assert progress["done"] == FIRST_FETCH + 1
    remaining = {f"q{n:02d}" for n in range(ITEMS)} - set(labelled)
    assert current_item(page) in remaining
    assert problems == []
