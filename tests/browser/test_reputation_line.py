"""The labeling page shows the node's own reputation in a gated task's domain (issue #19
item 1), read from the gate by ``GET /api/v1/ui/tasks/{id}/reputation``.

On anvil, a gated task in the domain ``radiology`` runs to its claims with the node's
account among its annotators: paid for 3 of its 4 labels, so the gate credits it 3
accepted of 4 answered in one task. A second gated task in the same domain, with real
content, is joined by a real node process; its labeling page says so, and an ungated
task's page shows no reputation line.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect
from web3 import Web3
from web3.logs import DISCARD

from node.chain.contracts import Contracts
from node.chain.qualifications import Gate, read_reputation
from node.protocol.commitments import algorithm_id
from node.store.embedded import EmbeddedStore
from tests.api.processes import ANNOTATOR, NodeUnderTest
from tests.browser.content import ANSWERS, blobs, task_content
from tests.browser.network import bond_ready, joined, post_task, wait_until
from tests.browser.pages import DESKTOP
from tests.chain.test_lifecycle import HOUR, TOKEN, sender
from tests.chain.test_qualifications import _create as create_gated
from tests.chain.test_qualifications import _run, _stake
from tests.conftest import TEST_CONFIG, Actors

DOMAIN = "radiology"


def _post_gated_page_task(w3: Web3, contracts: Contracts, actors: Actors) -> int:
    """A gated, seated task over the page test's items in :data:`DOMAIN` (no rule, no bond)."""
    assert contracts.qualifications is not None
    sender(w3, actors.deployer).transact(
        contracts.token.functions.transfer(actors.requester.address, 1_000 * TOKEN)
    )
    items = len(ANSWERS)
    now = int(w3.eth.get_block("latest")["timestamp"])
    commit = now + HOUR + TEST_CONFIG.min_label_time
    params = (
        task_content().manifest_cid,
        algorithm_id("ds-gold@1"),
        bytes(32),
        TOKEN // 100,
        TOKEN,
        0,
        commit,
        commit + HOUR,
        commit + 2 * HOUR,
        items,
        2,
        now + HOUR,
        items,
    )
    poster = sender(w3, actors.requester)
    escrow = TOKEN // 100 * items * 2 + TOKEN
    poster.transact(contracts.token.functions.approve(contracts.market.address, escrow))
    create = contracts.qualifications.functions.createGatedTask(params, Gate(DOMAIN).as_tuple())
    receipt = poster.transact(create)
    (event,) = contracts.market.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
    return int(event.args.taskId)


def test_the_page_shows_the_nodes_reputation_in_the_tasks_domain(
    node: NodeUnderTest, browser: Browser, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    gate = contracts.qualifications
    assert gate is not None
    _stake(w3, contracts, actors)
    bond_ready(w3, contracts, actors.deployer, ANNOTATOR)  # gas money
    earlier = create_gated(w3, contracts, actors, Gate(domain=DOMAIN))
    people = {"node": ANNOTATOR, "a": actors.annotator_a, "b": actors.annotator_b}
    _run(w3, contracts, actors, earlier, {"node": 3, "a": 4, "b": 1}, accounts=people)
    counters = read_reputation(gate, ANNOTATOR.address, DOMAIN)
    assert (counters.accepted, counters.answered, counters.tasks) == (3, 4, 1)

    store = EmbeddedStore.in_data_dir(node.data_dir)
    for blob in blobs():
        store.put(blob)
    gated = _post_gated_page_task(w3, contracts, actors)
    content = task_content()
    ungated = post_task(
        w3, contracts, actors.deployer, actors.requester, content.manifest_cid, len(ANSWERS)
    ).task_id
    node.start()
    wait_until(lambda: joined(node, gated) and joined(node, ungated), "the node to join")

    url = f"{node.url}/api/v1/ui/tasks/{gated}/reputation"
    shown = httpx.get(url, headers=node.headers()).json()
    assert shown["account"] == ANNOTATOR.address and shown["gated"] is True
    assert (shown["domain"], shown["accepted"], shown["answered"], shown["tasks"]) == (
        DOMAIN,
        3,
        4,
        1,
    )
    assert shown["accuracy"] == 0.75
    assert httpx.get(url).status_code == 401  # the node's own figures: the token's holder only

    token = node.headers()["Authorization"].removeprefix("Bearer ")
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{node.url}/ui/#token={token}")
    page.goto(f"{node.url}/ui/#/task/{gated}")
    line = page.locator("#reputation")
    expect(line).to_contain_text(f"Your reputation in {DOMAIN}")
    expect(line.locator(".reputation-accepted")).to_have_text("3")
    expect(line.locator(".reputation-answered")).to_have_text("4")
    expect(line).to_contain_text("75.0% accepted")
    expect(line).to_contain_text("over 1 task.")
    page.goto(f"{node.url}/ui/#/task/{ungated}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("#reputation")).to_have_text("")
