"""The page's other inputs in Chromium: multi-label and numeric tasks, and signing in.

These need no chain: a node without a deployment still serves the page and accepts labels,
so the app runs in-process under uvicorn, with the joined tasks written to its database as
the task loader would write them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from eth_account import Account
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.chain.anvil import free_port
from node.config import load_settings
from node.db.models import ItemCreate, ParticipationState
from node.db.repositories import ItemRepository, LabelRepository, ParticipationRepository
from tests.api.conftest import ANNOTATOR_KEY, CHAIN, add_task

SCENES = {"s1": "A dog on a beach", "s2": "An empty office", "s3": "Kids feeding ducks"}
PARCELS = {"p1": "Parcel, 30 x 20 x 10 cm", "p2": "Letter, A4"}


@dataclass
class Served:
    url: str
    services: NodeServices

    def join(
        self, task_id: int, kind: str, classes: tuple[str, ...], items: dict[str, str]
    ) -> None:
        add_task(self.services.db, task_id, items=0, num_items=len(items))
        with self.services.db.write() as session:
            ItemRepository(session).upsert_many(
                CHAIN,
                task_id,
                [
                    ItemCreate(item_id=item, position=n, data={"text": text})
                    for n, (item, text) in enumerate(items.items())
                ],
            )
            ParticipationRepository(session).record(
                CHAIN,
                task_id,
                ParticipationState.JOINED,
                title=f"A {kind} task",
                instructions="Label each item.",
                kind=kind,
                classes=classes,
            )

    def labels(self, task_id: int) -> dict[str, object]:
        with self.services.db.session() as session:
            rows = LabelRepository(session).list_for(CHAIN, task_id, str(self.services.annotator))
        return {row.item_id: row.value for row in rows}

    @property
    def token(self) -> str:
        return self.services.api_token


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    services = NodeServices.open(load_settings(data_dir=tmp_path / "node", chain_id=CHAIN))
    services.account = Account.from_key(ANNOTATOR_KEY)
    port = free_port()
    config = uvicorn.Config(create_app(services=services), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture
def problems() -> list[str]:
    """Console errors and warnings and uncaught exceptions of the page (none expected)."""
    return []


@pytest.fixture
def page(browser: Browser, problems: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    context.close()
    assert problems == []


def test_multilabel_items_take_several_classes_by_keyboard_and_mouse(
    served: Served, page: Page, screenshots: Path
) -> None:
    classes = ("animals", "people", "outdoor", "indoor")
    served.join(5, "multilabel", classes, SCENES)
    page.goto(f"{served.url}/ui/#token={served.token}")
    page.get_by_role("link", name="Label A multilabel task").click()
    group = page.get_by_role("group", name="Classes (choose all that apply)")

    expect(page.locator(".item-text")).to_have_text(SCENES["s1"])
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("2")
    page.keyboard.press("2")  # toggled off again
    expect(group.get_by_role("button", name="outdoor", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(group.get_by_role("button", name="people", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    page.screenshot(path=screenshots / "8-multilabel.png", full_page=True)
    page.keyboard.press("Enter")

    expect(page.locator(".item-text")).to_have_text(SCENES["s2"])
    group.get_by_role("button", name="indoor", exact=True).click()
    page.get_by_role("button", name="Save selection (Enter)").click()

    expect(page.locator(".item-text")).to_have_text(SCENES["s3"])
    for name in ("people", "animals", "outdoor"):
        group.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("button", name="Save selection (Enter)").click()

    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    assert served.labels(5) == {
        "s1": ["animals", "outdoor"],
        "s2": ["indoor"],
        "s3": ["animals", "outdoor", "people"],
    }


def test_numeric_items_take_a_typed_number(served: Served, page: Page, screenshots: Path) -> None:
    served.join(6, "numeric", (), PARCELS)
    page.goto(f"{served.url}/ui/#token={served.token}")
    page.get_by_role("link", name="Label A numeric task").click()
    value = page.get_by_label("Value")
    expect(value).to_be_focused()
    value.fill("1.75")
    page.screenshot(path=screenshots / "9-numeric.png", full_page=True)
    page.keyboard.press("Enter")
    expect(page.locator(".item-text")).to_have_text(PARCELS["p2"])
    page.keyboard.press("Enter")  # nothing typed: nothing saved, the item stays
    expect(page.get_by_role("status").filter(has_text="Enter a number")).to_be_visible()
    expect(page.locator(".item-text")).to_have_text(PARCELS["p2"])
    value.fill("0.02")
    page.get_by_role("button", name="Save (Enter)").click()
    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    assert served.labels(6) == {"p1": 1.75, "p2": 0.02}


def test_without_a_token_the_page_says_how_to_sign_in_and_takes_a_pasted_one(
    served: Served, page: Page, screenshots: Path
) -> None:
    served.join(7, "categorical", ("cat", "dog"), {"a": "a cat"})
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{served.url}/ui/#/task/7")
    banner = page.get_by_role("region", name="Sign in to your node")
    expect(banner).to_contain_text("api-token")
    expect(page.get_by_text("Not signed in")).to_be_visible()
    # The node shows labels and progress only with the token: the page asks for it first
    # and sends none of those requests (the node would refuse them with 401).
    expect(page.get_by_role("heading", name="Sign in to see your tasks")).to_be_visible()
    expect(page.locator(".item-text")).to_have_count(0)
    page.keyboard.press("1")
    assert served.labels(7) == {}
    assert not [url for url in asked if "/api/v1/" in url], asked
    page.screenshot(path=screenshots / "10-sign-in.png", full_page=True)

    banner.get_by_label("API token").fill(served.token)
    banner.get_by_role("button", name="Use token").click()
    expect(banner).to_be_hidden()
    expect(page.get_by_text(f"Account {served.services.annotator[:6]}")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)  # the view, signed in
    expect(page.locator(".item-text")).to_have_text("a cat")
    page.keyboard.press("1")
    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    with served.services.db.session() as session:
        stored = LabelRepository(session).get(CHAIN, 7, str(served.services.annotator), "a")
    assert stored is not None and stored.value == "cat"


def test_labels_given_while_the_node_is_down_are_kept_and_sent_later(
    served: Served, page: Page, problems: list[str]
) -> None:
    served.join(8, "categorical", ("cat", "dog"), {"a": "a cat", "b": "a dog"})
    # The route is in place before the page loads and the node goes "down" by a flag: a
    # route added to a running page (page.route after goto) reaches Chromium's renderer
    # asynchronously, and a busy page (CI under load) could send its label past it to the
    # node, which saved it: the status said "All changes saved", never "Not saved yet".
    down = threading.Event()
    page.route(
        "**/api/v1/tasks/8/labels",
        lambda route: route.abort() if down.is_set() else route.continue_(),
    )
    page.goto(f"{served.url}/ui/#token={served.token}")
    page.get_by_role("link", name="Label A categorical task").click()
    expect(page.locator(".item-text")).to_have_text("a cat")
    down.set()
    page.keyboard.press("1")
    expect(page.get_by_role("status").filter(has_text="Not saved yet")).to_be_visible()
    assert served.labels(8) == {}
    down.clear()
    page.reload()  # the outbox survives in localStorage and is sent on load
    expect(page.locator(".progress-text")).to_have_text("1 / 2 labelled", timeout=10_000)
    assert served.labels(8) == {"a": "cat"}
    expect(page.locator(".item-text")).to_have_text("a dog")
    # The aborted request is the one console error this test causes on purpose.
    problems[:] = [p for p in problems if "ERR_FAILED" not in p]


def test_skip_puts_an_item_last_and_arrows_walk_the_class_buttons(
    served: Served, page: Page
) -> None:
    served.join(9, "categorical", ("cat", "dog", "bird"), {"a": "a cat", "b": "a dog"})
    page.goto(f"{served.url}/ui/#token={served.token}")
    page.get_by_role("link", name="Label A categorical task").click()
    expect(page.locator(".item-text")).to_have_text("a cat")
    page.keyboard.press("ArrowRight")  # skip: the cat comes back after the dog
    expect(page.locator(".item-text")).to_have_text("a dog")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="dog", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # wraps around to the first class
    expect(page.get_by_role("button", name="cat", exact=True)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("button", name="bird", exact=True)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")  # the focused button, as a screen-reader user would
    expect(page.locator(".item-text")).to_have_text("a cat")
    expect(page.get_by_role("button", name="cat", exact=True)).to_be_focused()  # still there
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    assert served.labels(9) == {"a": "cat", "b": "dog"}
