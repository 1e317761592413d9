"""A validator reviews a task's contested items in Chromium, on a real node (issue #17).

Everything is real: the task (the labelling page's twenty reviews and two pictures, its
manifest with a ``review`` section) is posted on anvil; three scripted annotators commit
and reveal ``labels@2`` batches that disagree on a few items; a ``labelnet node start``
process in the validator role reads the batches from its store, runs the consensus and
names the contested set. Before the reveal deadline the node refuses (409); after it, a
headless Chromium opens the review page, checks the contested items, the revealed labels
and the consensus are shown, votes on every item with the keyboard (digits, a class's first
letter, j/k and arrows to move), and the votes are read back from the node's API and, after
a kill -9, from its database and the reloaded page. Desktop and phone screenshots go to
test-artifacts/screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from web3 import Web3

from node.chain.contracts import Contracts
from node.consensus.contested import contested_set
from node.consensus.task import answers_from_batches, categorical_consensus
from node.db.engine import open_database
from node.db.repositories.review import votes_for
from node.protocol.commitments import label_commitment
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABELS_V2, LabelBatch
from node.protocol.manifest import TaskContent, build_task_content
from node.protocol.review import ReviewParams
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, CHAIN, NodeUnderTest
from tests.browser.content import ANSWERS, CLASSES, IMAGES, INSTRUCTIONS, items
from tests.browser.network import bond_ready, post_task, wait_until
from tests.browser.pages import DESKTOP
from tests.browser.test_labeling_page import PHONE
from tests.chain.test_lifecycle import HOUR, sender
from tests.conftest import Actors, advance_time
from tests.roles.network import TINY_TASK_CONSENSUS

TITLE = "Product review mood (reviewed)"
ALGORITHM = "hds@4"
SHARE = "0.25"  # five of the twenty items are contested


def reviewed_content() -> TaskContent:
    return build_task_content(
        items(),
        title=TITLE,
        instructions=INSTRUCTIONS,
        kind=TaskKind.CATEGORICAL,
        classes=CLASSES,
        consensus=TINY_TASK_CONSENSUS,
        review=ReviewParams.create(10**16, 3 * 10**16, contested_share=SHARE),
    )


def crowd() -> list[dict[str, str]]:
    """Three annotators: one right everywhere, two who each slip on a few items."""
    ids = list(ANSWERS)
    second = dict(ANSWERS, **{i: "neutral" for i in ids[0:10:3]})
    third = dict(ANSWERS, **{i: "positive" for i in ids[2:20:5]})
    return [dict(ANSWERS), second, third]


def review_status(node: NodeUnderTest, task_id: int) -> int:
    url = f"{node.url}/api/v1/review/tasks/{task_id}"
    return httpx.get(url, headers=node.headers(), timeout=30).status_code


def vote_key(value: str) -> str:
    """The key that votes ``value``: the first letter where no other class shares it
    ("p" for positive), else its digit (negative and neutral share "n")."""
    return "p" if value == "positive" else str(CLASSES.index(value) + 1)


def expect_item(page: Page, item_id: str) -> None:
    expect(page.locator(".item-id")).to_have_text(f"id {item_id}")


def test_a_validator_reviews_the_contested_items_in_the_browser(
    node: NodeUnderTest,
    browser: Browser,
    screenshots: Path,
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
) -> None:
    content = reviewed_content()
    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in [*IMAGES.values(), *content.blobs()]:
        store.put(blob)
    task = post_task(
        w3,
        contracts,
        actors.deployer,
        actors.requester,
        content.manifest_cid,
        len(ANSWERS),
        algorithm=ALGORITHM,
    )
    # The annotators commit, the commit window closes, they reveal labels@2 batches (stored
    # where the node reads them, as if fetched from their gateways).
    annotators = [actors.annotator_a, actors.annotator_b, actors.annotator_c]
    batches = [
        LabelBatch.create(task.task_id, account.address, labels.items())
        for account, labels in zip(annotators, crowd(), strict=True)
    ]
    salts = [os.urandom(32) for _ in annotators]
    for account, batch, salt in zip(annotators, batches, salts, strict=True):
        bond_ready(w3, contracts, actors.deployer, account)
        commitment = label_commitment(task.task_id, account.address, batch.root(), salt)
        sender(w3, account).transact(contracts.market.functions.commit(task.task_id, commitment))
    node.start(LABELNET_ROLE="validator")
    advance_time(w3, HOUR + 1)
    for account, batch, salt in zip(annotators, batches, salts, strict=True):
        cid = batch.publish(LABELS_V2, store.put)
        sender(w3, account).transact(
            contracts.market.functions.reveal(task.task_id, batch.root(), cid, salt)
        )

    # In the reveal window there is no contested set yet: the node says so.
    wait_until(lambda: review_status(node, task.task_id) == 409, "the node to mirror the task")
    refused = httpx.get(f"{node.url}/api/v1/review/tasks/{task.task_id}", headers=node.headers())
    assert refused.json()["error"] == "ReviewNotOpenError"
    advance_time(w3, HOUR)
    wait_until(lambda: review_status(node, task.task_id) == 200, "the contested set", 60)

    # What every validator computes from the same batches: the set the page must show.
    fit = categorical_consensus(answers_from_batches(batches, task.task_id, CLASSES), {}, ALGORITHM)
    assert content.manifest.review is not None
    expected = contested_set(fit, content.manifest.review)
    assert len(expected) == 5

    token = node.headers()["Authorization"].removeprefix("Bearer ")
    page = browser.new_context(viewport=DESKTOP, device_scale_factor=1).new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(f"{node.url}/ui/#token={token}")
    expect(page).to_have_url(f"{node.url}/ui/#/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    start = page.get_by_role("link", name=f"Review {TITLE}")
    expect(start).to_have_text("Start review")
    page.screenshot(path=screenshots / "8-review-list.png", full_page=True)
    start.click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.locator("#review-progress")).to_have_text("0 / 5 voted")
    instructions = page.get_by_role("complementary", name="Instructions")
    expect(instructions).to_contain_text("overall mood")
    chips = page.get_by_role("navigation", name="Contested items").get_by_role("button")
    expect(chips).to_have_count(5)

    # Each contested item with the labels its annotators revealed, and the consensus.
    given = {item: [labels[item] for labels in crowd()] for item in expected}
    for n, item_id in enumerate(expected):
        expect_item(page, item_id)
        rows = page.get_by_role("list", name="Revealed labels").get_by_role("listitem")
        shown = {
            row.locator(".revealed-class").inner_text(): row.locator(".revealed-count").inner_text()
            for row in rows.all()
        }
        assert shown == {
            value: f"{given[item_id].count(value)} of 3" for value in set(given[item_id])
        }, item_id
        row = fit.probas_ppb[fit.answers.items.index(item_id)]
        consensus = fit.answers.classes[int(row.argmax())]
        expect(page.locator(".consensus")).to_contain_text(f"Current consensus: {consensus}")
        if n == 0:
            page.screenshot(path=screenshots / "8-review-item.png", full_page=True)
        if n < len(expected) - 1:
            page.keyboard.press("j" if n % 2 else "ArrowRight")
    page.keyboard.press("k")
    expect_item(page, expected[-2])
    for _ in expected:
        page.keyboard.press("ArrowLeft")
    expect_item(page, expected[0])

    # A vote per item by keyboard: each vote saves and moves on to the next item.
    for n, item_id in enumerate(expected):
        expect_item(page, item_id)
        page.keyboard.press(vote_key(ANSWERS[item_id]))
        expect(page.locator("#review-progress")).to_have_text(f"{n + 1} / 5 voted")
    expect(
        page.get_by_role("status").filter(has_text="Every contested item has your vote")
    ).to_be_visible()
    expect(page.get_by_role("progressbar", name="Review progress")).to_have_attribute(
        "aria-valuenow", "5"
    )
    last = page.get_by_role("group", name="Your vote").get_by_role(
        "button", name=ANSWERS[expected[-1]], exact=True
    )
    expect(last).to_have_attribute("aria-pressed", "true")  # the last item stays, voted

    # The votes are the node's: read back through its API, and after a reload.
    url = f"{node.url}/api/v1/review/tasks/{task.task_id}"
    view = httpx.get(url, headers=node.headers(), timeout=30).json()
    assert {item["item_id"]: item["vote"] for item in view["items"]} == {
        item: ANSWERS[item] for item in expected
    }
    progress = httpx.get(f"{url}/progress", headers=node.headers(), timeout=30).json()
    assert progress == {"voted": 5, "total": 5}
    # Stored before the node answered: a kill -9 loses none, and the duty reads them so.
    node.kill()
    db = open_database(url=f"sqlite:///{node.data_dir / 'node.db'}")
    try:
        with db.session() as session:
            stored = votes_for(session, CHAIN, task.task_id, ANNOTATOR.address)
    finally:
        db.dispose()
    assert stored == {item: ANSWERS[item] for item in expected}
    node.start(LABELNET_ROLE="validator")
    page.reload()
    expect(page.locator("#review-progress")).to_have_text("5 / 5 voted")
    page.screenshot(path=screenshots / "9-review-done.png", full_page=True)
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("group", name="Your vote")).to_be_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the review page scrolls sideways by {overflow}px at phone width"
    page.screenshot(path=screenshots / "9-review-phone.png", full_page=True)
    assert problems == []
