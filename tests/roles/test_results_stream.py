"""The requester's result items stream (issue #14): :class:`ResultItems` joins a paged
``result@2`` with the manifest's item pages in manifest order, holding pages, not the task;
the SDK's exports (every format) write from it with the bytes the held items give.

The task is built without a chain (what ``fetch_results`` reads from the chain is tested in
test_requester_results.py): a manifest of shuffled ids, and a result document paged by the
protocol's own rule.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.consensus.task import TaskSpec, run_consensus
from node.content.exports import (
    export_results,
    hf_features,
    hf_rows,
    jsonl_lines,
    labelstudio_tasks,
)
from node.protocol.canonical import JsonValue
from node.protocol.commitments import label_commitment
from node.protocol.labels import LabelBatch
from node.protocol.manifest import PAGE_SIZE, ItemSpec, build_task_content
from node.protocol.result import parse_result
from node.protocol.result_pages import PAGE_ITEMS, RESULT_V1, RESULT_V2, page_document
from node.roles.requester import (
    GoldSecrets,
    ResultItem,
    ResultItems,
    ResultUnavailableError,
    TaskRequest,
    TaskResults,
    create_task,
    fetch_results,
    publish_content,
)
from node.roles.settlement import result_page_bytes
from node.store.base import ContentStore
from node.store.budget import FetchBudget
from node.store.embedded import EmbeddedStore
from tests.chain.test_lifecycle import HOUR, TOKEN, fund, sender, stake_validators
from tests.conftest import Actors, advance_time
from tests.roles.network import TINY_TASK_CONSENSUS

TASK = 7
ANNOTATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class CountingStore(EmbeddedStore):
    """An embedded store that logs every whole-file read (``get``), as the join makes them."""

    def __init__(self, root: Path, log: list[tuple[str, str]]) -> None:
        super().__init__(root)
        self.log = log

    def get(
        self,
        cid: str,
        *,
        max_size: int,
        budget: FetchBudget | None = None,
        canonical: bool = False,
    ) -> bytes:
        self.log.append(("read", cid))
        return super().get(cid, max_size=max_size, budget=budget, canonical=canonical)


@dataclass
class PagedTask:
    results: TaskResults
    item_pages: tuple[str, ...]
    result_pages: tuple[str, ...]
    expected: list[ResultItem]
    """The items in the order fetch_results gave before streaming: the result entries
    sorted by manifest position, entries the manifest does not list last (id order)."""


def _value(kind: str, n: int) -> JsonValue:
    if kind == "multilabel":
        return [["a"], ["b"], ["a", "b"]][n % 3]
    if kind == "numeric":
        return n / 8 + 0.1
    return "ab"[n % 2]


def paged_task(
    store: ContentStore, items: int, kind: str = "categorical", seed: int = 14
) -> PagedTask:
    """A finalized-looking ``result@2`` task of about ``items`` items: the manifest lists
    them shuffled; one manifest item has no result entry and one result entry no manifest
    item (both are read as the old join read them)."""
    rng = random.Random(seed)
    ids = [f"item-{n:06d}" for n in range(items)]
    manifest_ids = [*ids[:-1], "only-in-the-manifest"]  # ids[-1]: only in the result
    rng.shuffle(manifest_ids)
    specs = [
        ItemSpec(id=i, data={"text": f"text of {i}"} if n % 3 else f"plain {i}")
        for n, i in enumerate(manifest_ids)
    ]
    content = build_task_content(specs, title="stream", classes=("a", "b"))
    for blob in content.blobs():
        store.put(blob)
    entries: list[dict[str, JsonValue]] = [
        {
            "item": i,
            "value": _value(kind, n),
            "confident": n % 5 != 0,
            "gold": n % 17 == 0,
            **({"confidence": f"0.{n % 1000:03d}000000"} if n % 7 else {}),
        }
        for n, i in enumerate(ids)
    ]
    document: dict[str, Any] = {
        "schema": RESULT_V1,
        "task": TASK,
        "kind": kind,
        "classes": [] if kind == "numeric" else ["a", "b"],
        "items": entries,
        "annotators": [
            {
                "account": ANNOTATOR,
                "labels": items,
                "accepted": items,
                "accuracy": "1",
                "payout": "5",
            }
        ],
        "payouts": [{"account": ANNOTATOR, "amount": "5"}],
    }
    paged = page_document(document)
    for page in paged.pages:
        store.put(page)
    root_cid = store.put(paged.root_bytes)
    result = parse_result(paged.root_bytes, TASK)
    stream = ResultItems(store, TASK, result, tuple(content.manifest.pages))
    results = TaskResults(
        task_id=TASK,
        result_cid=root_cid,
        kind=kind,
        classes=result.classes,
        items=stream,
        annotators=result.annotators,
        document=result.document,
        labels={i: {ANNOTATOR: "a"} for i in ids[::2]},
        manifest_cid=content.manifest_cid,
        payouts=result.payouts,
    )
    position = {spec.id: n for n, spec in enumerate(specs)}
    by_id = {spec.id: spec for spec in specs}
    ordered = sorted(
        result.iter_items(lambda cid: result_page_bytes(store, cid)),
        key=lambda e: position.get(e.item, items),
    )
    expected = [
        ResultItem.joined(
            e,
            by_id[e.item].data if e.item in by_id else None,
            by_id[e.item].content if e.item in by_id else None,
        )
        for e in ordered
    ]
    return PagedTask(
        results,
        tuple(content.manifest.pages),
        tuple(paged.root["item_pages"]),
        expected,
    )


@pytest.mark.parametrize("kind", ["categorical", "multilabel", "numeric"])
def test_items_come_in_manifest_order_joined_with_their_data(tmp_path: Path, kind: str) -> None:
    task = paged_task(EmbeddedStore(tmp_path), 2 * PAGE_ITEMS + 345, kind)
    assert len(task.result_pages) == 3 and len(task.item_pages) == -(-(2345) // PAGE_SIZE)
    items = list(task.results.items)
    assert items == task.expected
    assert items[-1].item == "item-002344" and items[-1].data is None  # not in the manifest
    assert "only-in-the-manifest" not in {item.item for item in items}
    assert isinstance(task.results.items, ResultItems)
    assert len(task.results.items) == len(items) == 2345  # from the root, nothing read
    assert list(task.results.items) == items  # a second pass reads it again, the same


def test_an_export_writes_before_the_last_item_page_is_read(tmp_path: Path) -> None:
    log: list[tuple[str, str]] = []
    task = paged_task(CountingStore(tmp_path, log), 3 * PAGE_ITEMS + 10)
    log.clear()
    for _ in jsonl_lines(task.results.items):
        log.append(("line", ""))
    reads = [cid for event, cid in log if event == "read"]
    first_line = log.index(("line", ""))
    last_item_page = log.index(("read", task.item_pages[-1]))
    # The result pages are read first, each once (the join's table); then the item pages
    # one at a time, in order, each page's lines written before the next page is read.
    assert reads == [*task.result_pages, *task.item_pages]
    assert first_line < last_item_page
    lines_between = [
        sum(1 for event, _ in log[start:end] if event == "line")
        for start, end in zip(
            [log.index(("read", cid)) for cid in task.item_pages],
            [log.index(("read", cid)) for cid in task.item_pages[1:]] + [len(log)],
            strict=True,
        )
    ]
    assert all(0 < n <= PAGE_SIZE for n in lines_between)


def test_later_passes_read_the_joined_copy_not_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    log: list[tuple[str, str]] = []
    task = paged_task(CountingStore(tmp_path / "store", log), 2 * PAGE_ITEMS + 3, "multilabel")
    items = task.results.items
    assert isinstance(items, ResultItems)
    log.clear()
    abandoned = iter(items)
    next(abandoned)
    abandoned.close()  # a pass that stops early keeps no copy: the next one joins again
    assert list(scratch.iterdir()) == []
    log.clear()
    assert list(items) == task.expected
    assert len(log) == len(task.result_pages) + len(task.item_pages)
    [copy] = scratch.iterdir()
    log.clear()
    assert list(items) == list(items) == task.expected
    assert log == []  # read back from the copy
    items.close()
    assert not copy.exists()
    assert list(items) == task.expected and log  # joined again


def _peak_export(tmp_path: Path, items: int) -> int:
    task = paged_task(EmbeddedStore(tmp_path / f"store-{items}"), items)
    tracemalloc.start()
    try:
        export_results(task.results, tmp_path / f"out-{items}.jsonl", "jsonl")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_exports_memory_is_bounded_by_pages_not_the_task(tmp_path: Path) -> None:
    small = _peak_export(tmp_path, 3 * PAGE_ITEMS)
    large = _peak_export(tmp_path, 12 * PAGE_ITEMS)
    # Holding the items (as fetch_results did) makes the peak grow with the task, about 4x
    # here; streaming holds a result page and an item page whatever the task's size.
    assert large < 1.5 * small, (small, large)


def test_labelstudio_json_of_a_paged_task_streams_the_held_bytes(tmp_path: Path) -> None:
    task = paged_task(EmbeddedStore(tmp_path / "store"), 2 * PAGE_ITEMS + 3)
    streamed = export_results(task.results, tmp_path / "streamed.json", "labelstudio")
    held = TaskResults(**{**task.results.__dict__, "items": tuple(task.results.items)})
    assert streamed.read_text(encoding="utf-8") == json.dumps(
        list(labelstudio_tasks(held)), ensure_ascii=False, indent=1
    )
    tasks = json.loads(streamed.read_text(encoding="utf-8"))
    assert [t["data"]["id"] for t in tasks] == [item.item for item in task.expected]
    assert [t["id"] for t in tasks] == list(range(1, len(task.expected) + 1))
    assert not list(tmp_path.glob(".*.partial"))


def test_hf_dataset_of_a_paged_task_has_every_row_and_the_features(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")  # the 'hf' extra (scripts/setup.sh installs it)
    task = paged_task(EmbeddedStore(tmp_path / "store"), 2 * PAGE_ITEMS + 3)
    path = export_results(task.results, tmp_path / "hf", "hf")
    loaded = datasets.load_from_disk(str(path))
    held = TaskResults(**{**task.results.__dict__, "items": tuple(task.results.items)})
    assert loaded.features == hf_features(held, datasets)
    rows = hf_rows(held)
    assert loaded.num_rows == len(rows) == 2 * PAGE_ITEMS + 3
    expected = datasets.Dataset.from_list(rows, features=hf_features(held, datasets))
    assert loaded.to_list() == expected.to_list()


def test_a_result_page_that_fails_halfway_leaves_no_file(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    task = paged_task(store, 2 * PAGE_ITEMS + 3)
    broken = TaskResults(
        **{
            **task.results.__dict__,
            "items": ResultItems(
                EmbeddedStore(tmp_path / "empty"),  # holds no page of this task
                TASK,
                parse_result(store.get(task.results.result_cid, max_size=1 << 20), TASK),
                task.item_pages,
            ),
        }
    )
    with pytest.raises(ResultUnavailableError, match="a result page"):
        export_results(broken, tmp_path / "out.jsonl", "jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "store"]


def test_fetch_results_of_a_finalized_paged_task_streams_its_export(
    w3: Web3,
    contracts: Contracts,
    actors: Actors,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    """On a real chain, a task of three result pages and five item pages: ``fetch_results``
    reads the winning root and the manifest only; the export reads each result page once,
    then the item pages one at a time, writing lines between them."""
    market = contracts.market
    log: list[tuple[str, str]] = []
    store = CountingStore(tmp_path / "store", log)
    stake_validators(w3, contracts, actors)
    fund(w3, contracts, actors, actors.requester, 100 * TOKEN)
    rng = random.Random(15)
    ids = [f"q{n}" for n in range(2 * PAGE_ITEMS + 5)]  # "q10" sorts before "q2"
    specs = [ItemSpec(id=i, data={"text": f"text of {i}"}) for i in ids]
    content = build_task_content(
        specs, title="paged", classes=("cat", "dog"), consensus=TINY_TASK_CONSENSUS
    )
    now = int(w3.eth.get_block("latest")["timestamp"])
    request = TaskRequest(
        content=content,
        reward_per_label=10**15,
        redundancy=3,
        validator_fee=TOKEN,
        commit_deadline=now + HOUR,
        reveal_deadline=now + 2 * HOUR,
        attest_deadline=now + 3 * HOUR,
    )
    publish_content(store, content)
    created = create_task(sender(w3, actors.requester), contracts, request, GoldSecrets(tmp_path))
    task_id = created.task_id
    truth = {i: rng.choice(("cat", "dog")) for i in ids}
    batches = [
        LabelBatch.create(task_id, getattr(actors, role).address, list(truth.items()))
        for role in ("annotator_a", "annotator_b", "annotator_c")
    ]
    salts = [os.urandom(32) for _ in batches]
    for batch, salt in zip(batches, salts, strict=True):
        account = next(a for a in actors.by_role.values() if a.address == batch.annotator)
        commitment = label_commitment(task_id, account.address, batch.root(), salt)
        sender(w3, account).transact(market.functions.commit(task_id, commitment))
    advance_time(w3, HOUR + 1)
    for batch, salt in zip(batches, salts, strict=True):
        account = next(a for a in actors.by_role.values() if a.address == batch.annotator)
        store.put(batch.to_bytes())
        call = market.functions.reveal(task_id, batch.root(), batch.cid(), salt)
        sender(w3, account).transact(call)
    spec = TaskSpec(
        task_id=task_id,
        rewards=content.manifest.consensus.reward_params(10**15, request.reward_pool),
        classes=("cat", "dog"),
        result_schema=RESULT_V2,
    )
    outcome = run_consensus(spec, batches)
    assert len(outcome.pages) == 3
    for page in outcome.pages:
        store.put(page)
    store.put(outcome.document_bytes)
    advance_time(w3, HOUR)
    for role in ("validator_1", "validator_2", "validator_3"):
        sender(w3, getattr(actors, role)).transact(
            market.functions.attest(task_id, outcome.payout_root, outcome.total_payout, outcome.cid)
        )
    advance_time(w3, HOUR)
    sender(w3, actors.outsider).transact(market.functions.finalize(task_id))

    log.clear()
    results = fetch_results(w3, contracts, store, task_id, deployment.start_block)
    assert [cid for _, cid in log] == [outcome.cid, content.manifest_cid]
    assert isinstance(results.items, ResultItems) and len(results.items) == len(ids)

    log.clear()
    lines = []
    for line in jsonl_lines(results.items):
        log.append(("line", ""))
        lines.append(json.loads(line))
    assert [row["id"] for row in lines] == ids  # manifest order, not the result's id order
    assert all(row["label"] == truth[row["id"]] for row in lines)
    assert all(row["data"] == {"text": f"text of {row['id']}"} for row in lines)
    result_pages = outcome.document["item_pages"]
    reads = [cid for event, cid in log if event == "read"]
    assert reads == [*result_pages, *content.manifest.pages]
    assert log.index(("line", "")) < log.index(("read", content.manifest.pages[-1]))
    # every label batch is left unread until an export shows annotators' labels
    assert all(batch.cid() not in reads for batch in batches)
    sdk = export_results(results, tmp_path / "out.jsonl", "jsonl")
    assert [json.loads(line) for line in sdk.read_text().splitlines()] == lines
