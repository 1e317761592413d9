"""A person labels a whole task in Chromium, on a real node, and the node commits it.

Everything is real: the task content sits in the node's own embedded store, the task is
posted on anvil, the node's loader joins it, a headless Chromium (Debian's, driven by
Playwright) labels its twenty items — ten by keyboard, ten by mouse, one undo, one reload
in the middle — and the annotator duty commits the batch on chain. Two scripted annotators
and two validators then settle the task, so the requester view charts an attested result
and the earnings view shows the node's claim. Screenshots go to test-artifacts/screenshots.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from web3 import Web3

from node.chain.contracts import Contracts
from node.chain.market import read_task
from node.protocol.labels import LabelBatch
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.browser.content import ANSWERS, CLASSES, blobs, task_content
from tests.browser.network import bond_ready, joined, peer, post_task, settle, wait_until
from tests.browser.pages import DESKTOP
from tests.chain.test_lifecycle import HOUR
from tests.conftest import Actors, advance_time

REVEALED = (1).to_bytes(32, "big")
PHONE = {"width": 390, "height": 844}
TITLE = "Product review mood"


def current_item(page: Page) -> str:
    return page.locator(".item-id").inner_text().removeprefix("id ")


def expect_item(page: Page, item_id: str) -> None:
    expect(page.locator(".item-id")).to_have_text(f"id {item_id}")


def label_by_keyboard(page: Page, item_id: str, answer: str) -> None:
    expect_item(page, item_id)
    page.keyboard.press(str(CLASSES.index(answer) + 1))


def label_by_mouse(page: Page, item_id: str, answer: str) -> None:
    expect_item(page, item_id)
    classes = page.get_by_role("group", name="Classes")
    classes.get_by_role("button", name=answer, exact=True).click()


def focus_by_tab(page: Page, name: str, presses: int = 12) -> None:
    """Tab through the page until the control named ``name`` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => document.activeElement.getAttribute('aria-label') || "
            "document.activeElement.textContent.trim()"
        )
        if label == name:
            return
    raise AssertionError(f"{name!r} never got the keyboard focus")


def focus_ring(page: Page) -> tuple[str, float]:
    style, width = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return str(style), float(width)


def test_a_person_labels_a_task_in_the_browser_and_the_node_commits_it(
    node: NodeUnderTest,
    browser: Browser,
    screenshots: Path,
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
) -> None:
    # The requester's content in the node's own store, the task on chain, the node joining it.
    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in blobs():
        store.put(blob)
    task = post_task(
        w3, contracts, actors.deployer, actors.requester, task_content().manifest_cid, len(ANSWERS)
    )
    bond_ready(w3, contracts, actors.deployer, ANNOTATOR)
    node.start()
    wait_until(lambda: joined(node, task.task_id), "the node to join the task")
    token = node.headers()["Authorization"].removeprefix("Bearer ")

    context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    # The token comes in the fragment and leaves the address bar at once.
    page.goto(f"{node.url}/ui/#token={token}")
    expect(page).to_have_url(f"{node.url}/ui/#/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    start = page.get_by_role("link", name=f"Label {TITLE}")
    expect(start).to_be_visible()
    expect(page.get_by_role("progressbar", name=f"Progress on {TITLE}")).to_have_attribute(
        "aria-valuenow", "0"
    )
    focus_by_tab(page, f"Label {TITLE}")
    style, width = focus_ring(page)
    assert style != "none" and width >= 2, (style, width)
    page.screenshot(path=screenshots / "1-task-list.png", full_page=True)

    # Ten items by keyboard, one of them corrected with undo.
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    instructions = page.get_by_role("complementary", name="Instructions")
    expect(instructions.get_by_role("link", name="the labeling guide")).to_have_attribute(
        "href", "https://example.org/guide"
    )
    expect(instructions).to_contain_text("markup such as <i>: label")  # text, not a tag
    expect(instructions.locator("i")).to_have_count(0)
    ids = list(ANSWERS)
    for item_id in ids[:10]:
        if item_id == "r04":
            label_by_keyboard(page, item_id, "negative")  # a slip of the finger...
            expect_item(page, "r05")
            page.keyboard.press("ArrowLeft")  # ...undone: back to r04, its label shown
            expect_item(page, "r04")
            expect(page.get_by_role("button", name="negative", exact=True)).to_have_attribute(
                "aria-pressed", "true"
            )
        label_by_keyboard(page, item_id, ANSWERS[item_id])
        if item_id == "r02":
            page.screenshot(path=screenshots / "2-labeling-text.png", full_page=True)
    expect_item(page, "r11")
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("10 / 20 labelled")

    # A reload in the middle loses nothing: the node's database is the progress.
    page.reload()
    expect(page.locator(".progress-text")).to_have_text("10 / 20 labelled")
    expect(page.get_by_role("progressbar", name="Labeling progress")).to_have_attribute(
        "aria-valuenow", "10"
    )
    expect_item(page, "r11")
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / "3-labeling-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    # Ten items by mouse, two of them pictures served by the node's gateway.
    for item_id in ids[10:]:
        expect_item(page, item_id)
        if item_id in ("r12", "r15"):
            picture = page.get_by_role("img", name=f"Image item {item_id}")
            expect(picture).to_be_visible()
            page.wait_for_function(
                "(img) => img.complete && img.naturalWidth === 160", arg=picture.element_handle()
            )
            if item_id == "r12":
                page.screenshot(path=screenshots / "4-labeling-image.png", full_page=True)
        label_by_mouse(page, item_id, ANSWERS[item_id])
    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("20 / 20 labelled")

    # Every label reached the node's database (r04 with its corrected value), then its commit.
    assert node.labels(task.task_id) == ANSWERS
    market = contracts.market.functions
    wait_until(
        lambda: market.commitmentOf(task.task_id, ANNOTATOR.address).call() != bytes(32),
        "the node's commit",
    )
    assert read_task(contracts.market, task.task_id).commit_count == 1
    expect(page.locator("#commit-state")).to_have_text("Committed on chain.", timeout=10_000)
    page.screenshot(path=screenshots / "5-labeling-done.png", full_page=True)

    # The rest of the network: two more annotators, the reveal, two validators, finalize.
    sloppy = dict(ANSWERS, r03="positive", r09="negative", r17="positive")
    peers = [peer(actors.annotator_a, task.task_id, dict(ANSWERS))]
    peers.append(peer(actors.annotator_b, task.task_id, sloppy))
    for other in peers:
        bond_ready(w3, contracts, actors.deployer, other.account)
        other.commit(w3, contracts)
    advance_time(w3, HOUR + 1)
    for other in peers:
        other.reveal(w3, contracts)
    wait_until(
        lambda: market.commitmentOf(task.task_id, ANNOTATOR.address).call() == REVEALED,
        "the node's reveal",
    )
    own = LabelBatch.create(task.task_id, ANNOTATOR.address, ANSWERS.items())
    outcome = settle(w3, contracts, actors, task, [own, *(p.batch for p in peers)], CLASSES)
    store.put(outcome.document_bytes)  # as if fetched from the validators' gateways
    wait_until(
        lambda: (
            httpx.get(f"{node.url}/api/v1/tasks/{task.task_id}").json()["status"] == "finalized"
        ),
        "the node to see the task finalized",
    )

    # The requester view: attested result, quality charts, exports.
    page.goto(f"{node.url}/ui/#/requester/{task.task_id}")
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    expect(page.get_by_role("img", name="Items per consensus class")).to_be_visible()
    expect(page.get_by_role("img", name="Accuracy per annotator")).to_be_visible()
    expect(page.locator("figure.confusion-figure")).to_have_count(1 + len(peers))
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("id,label,confidence") and len(rows) == 1 + len(ANSWERS)
    assert {row.split(",")[0]: row.split(",")[1] for row in rows[1:]} == ANSWERS
    page.screenshot(path=screenshots / "6-requester-results.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / "6-requester-results-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    # Earnings: the node claims its payout by itself once the task is final.
    wait_until(
        lambda: httpx.get(f"{node.url}/api/v1/earnings").json()["claimed"] != "0",
        "the node's claim",
    )
    page.goto(f"{node.url}/ui/#/earnings")
    claimed = page.get_by_role("listitem").filter(has_text="Claimed")
    expect(claimed.locator(".stat-value")).not_to_have_text("0 LABEL")
    page.screenshot(path=screenshots / "7-earnings.png", full_page=True)

    assert problems == []
    context.close()
