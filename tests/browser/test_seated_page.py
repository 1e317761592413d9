"""The labelling page on seated tasks (market v2): a message, not an error, when the node's
seat has not been dealt its items yet (409 ``not_dealt_yet``) and when it holds no seat
(403 ``no_seat``). A real node process on anvil joins two seated tasks: it claims a seat of
the first by itself; the only seat of the second is taken before it starts."""

from __future__ import annotations

import os

import httpx
from playwright.sync_api import Browser, expect
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.protocol.commitments import algorithm_id, gold_commitment
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.browser.content import ANSWERS, blobs, task_content
from tests.browser.network import BOND, FEE, REWARD, bond_ready, joined, wait_until
from tests.browser.pages import sign_in, watched_page
from tests.chain.test_lifecycle import HOUR, TOKEN, sender
from tests.conftest import TEST_CONFIG, Actors


def post_seated(w3: Web3, contracts: Contracts, actors: Actors, redundancy: int, batch: int) -> int:
    """A seated task over the page test's items, its seat window an hour long."""
    sender(w3, actors.deployer).transact(
        contracts.token.functions.transfer(actors.requester.address, 1_000 * TOKEN)
    )
    items = len(ANSWERS)
    now = int(w3.eth.get_block("latest")["timestamp"])
    commit = now + HOUR + TEST_CONFIG.min_label_time
    params = (
        task_content().manifest_cid,
        algorithm_id("ds-gold@1"),
        gold_commitment(os.urandom(32), os.urandom(32)),
        REWARD,
        FEE,
        BOND,
        commit,
        commit + HOUR,
        commit + 2 * HOUR,
        items,
        redundancy,
        now + HOUR,
        batch,
    )
    poster = sender(w3, actors.requester)
    escrow = REWARD * items * redundancy + FEE
    poster.transact(contracts.token.functions.approve(contracts.market.address, escrow))
    receipt = poster.transact(contracts.market.functions.createTask(params))
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId)


def node_status(node: NodeUnderTest, task_id: int) -> int:
    """The HTTP status of the node's next-items answer for ``task_id``."""
    url = f"{node.url}/api/v1/tasks/{task_id}/items/next"
    return httpx.get(url, headers=node.headers()).status_code


def test_the_page_says_not_dealt_yet_and_no_seat(
    node: NodeUnderTest, browser: Browser, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in blobs():
        store.put(blob)
    waiting = post_seated(w3, contracts, actors, redundancy=2, batch=len(ANSWERS))
    full = post_seated(w3, contracts, actors, redundancy=1, batch=len(ANSWERS))
    bond_ready(w3, contracts, actors.deployer, actors.annotator_a)
    sender(w3, actors.annotator_a).transact(contracts.market.functions.claimSeat(full))
    bond_ready(w3, contracts, actors.deployer, ANNOTATOR)
    node.start()
    wait_until(lambda: joined(node, waiting) and joined(node, full), "the node to join")
    market = contracts.market
    wait_until(
        lambda: bool(market.functions.hasSeat(waiting, ANNOTATOR.address).call()),
        "the node to claim a seat",
    )
    # The chain knows the seat before the node's event journal does; until then the node
    # answers 403 no_seat, so wait for its own answer to turn into 409 not_dealt_yet.
    wait_until(lambda: node_status(node, waiting) == 409, "the node to index its seat")
    wait_until(lambda: node_status(node, full) == 403, "the node to see the full task")

    page, problems = watched_page(browser, ignore=("409", "403"))
    sign_in(page, node)

    page.goto(f"{node.url}/ui/#/task/{waiting}")
    expect(page.get_by_text("Items not dealt yet")).to_be_visible()
    expect(page.locator(".done[role=status]")).to_contain_text("Your node holds a seat")
    expect(page.get_by_text("Something went wrong")).to_have_count(0)

    page.goto(f"{node.url}/ui/#/task/{full}")
    expect(page.get_by_text("No seat for you on this task")).to_be_visible()
    expect(page.get_by_text("Something went wrong")).to_have_count(0)
    assert not problems, problems
