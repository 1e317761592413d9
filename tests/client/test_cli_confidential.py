"""``labelnet task create --confidential --validators ...`` (docs/confidential.md): the CLI
posts a sealed, seated task on the devnet; no file of the requester's data directory (its
content store included) holds an item text, the task key is in the vault the node's
``KeyPublisher`` reads (a requester node process wraps it to the named validator), and what
a sealed task cannot carry is refused in one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client.devnet import DevnetInfo
from client.sdk import Network, RequesterClient, Timing
from client.sdk.confidential import (
    Confidential,
    ConfidentialSpecError,
    check_confidential,
    seal,
)
from node.chain.anvil import free_port
from node.chain.market import read_task
from node.chain.registry import announce_encryption_key
from node.chain.task_keys import published_keys
from node.chain.tx import TxSender
from node.content.imports import ImportedItems
from node.keys import encryption_key_path, load_encryption_key
from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.manifest import MAX_DOCUMENT_BYTES, ItemSpec, Manifest
from node.protocol.sealed import key_commitment
from node.protocol.sealed_keys import parse_key_document, unwrap_key
from node.roles.requester import task_key_vault
from node.store.embedded import EmbeddedStore
from node.store.sealed import ITEMS, SealedView
from tests.client.conftest import assert_one_line_error, run

LABELNET = str(Path(sys.executable).parent / "labelnet")
SECRET = "patient record"
COUNT = 40  # two classes: the least seat batch is 38 items


def _items(tmp_path: Path, *, gold: bool = False) -> Path:
    path = tmp_path / "items.jsonl"
    lines = []
    for n in range(COUNT):
        item: dict[str, str] = {"id": f"i{n}", "text": f"{SECRET} {n}"}
        if gold and n == 0:
            item["gold"] = "pos"
        lines.append(json.dumps(item) + "\n")
    path.write_text("".join(lines))
    return path


def _common(data_dir: Path) -> tuple[str, ...]:
    return (
        "--classes", "pos,neg", "--reward-per-label", "2", "--validator-fee", "1",
        "--redundancy", "2", "--commit-in", "20m", "--seat-in", "10m",
        "--data-dir", str(data_dir),
    )  # fmt: skip


def test_the_cli_posts_a_sealed_seated_task_and_keeps_its_key(devnet: Path, tmp_path: Path) -> None:
    info = DevnetInfo.load(devnet)
    named = sorted(
        (info.account("validator-1").address, info.account("validator-2").address),
        key=str.lower,
    )
    data_dir = tmp_path / "requester-node"
    result = run(
        "task", "create", str(_items(tmp_path)), *_common(data_dir), "--batch-size", "40",
        "--confidential", "--validators", ",".join(a.lower() for a in named), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert "task key kept in" in result.stderr and "no gold" not in result.stderr

    network = Network.from_devnet(devnet)
    state = read_task(network.contracts.market, int(created["task_id"]))
    assert state.seated and state.seat_limit == 2 and state.gold_commitment == bytes(32)

    store = EmbeddedStore.in_data_dir(data_dir)
    cid = str(created["manifest_cid"])
    manifest = Manifest.from_bytes(store.get(cid, max_size=MAX_DOCUMENT_BYTES))
    assert manifest.confidential is not None
    assert list(manifest.confidential.validators) == named  # checksummed, sorted
    key = task_key_vault(data_dir).find(cid)
    assert key is not None and key_commitment(key) == manifest.confidential.commitment

    # Every byte the requester keeps (store blocks, gold and key files) is free of item text...
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert len(files) >= 2 + len(manifest.pages)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    # ...while the key opens the pages to it (the check above can fail).
    opened = SealedView(store, key, ITEMS).get(manifest.pages[0], max_size=MAX_DOCUMENT_BYTES)
    assert f"{SECRET} 0".encode() in opened


def test_what_a_sealed_task_cannot_carry_is_refused_in_one_line(
    devnet: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "requester-node"
    validator = DevnetInfo.load(devnet).account("validator-1").address
    sealed = ("--confidential", "--validators", validator)
    seated = ("--batch-size", "40")
    items = str(_items(tmp_path, gold=True))
    market = Network.from_devnet(devnet).contracts.market
    before = int(market.functions.taskCount().call())

    gold = run(
        "task", "create", items, *_common(data_dir), *seated, *sealed, "--gold-field", "gold"
    )
    assert_one_line_error(gold, "takes no gold", "revealed in public")
    no_seat = [a for a in _common(data_dir) if a not in ("--seat-in", "10m")]
    open_task = run("task", "create", items, *no_seat, *sealed)
    assert_one_line_error(open_task, "must be seated")
    unnamed = run("task", "create", items, *_common(data_dir), *seated, "--confidential")
    assert_one_line_error(unnamed, "names its validators", "--validators")
    stray = run("task", "create", items, *_common(data_dir), *seated, "--validators", validator)
    assert_one_line_error(stray, "--validators is for confidential tasks")
    bad = run(
        "task", "create", items, *_common(data_dir), *seated,
        "--confidential", "--validators", "not-an-address",
    )  # fmt: skip
    assert_one_line_error(bad, "'not-an-address' is not an address")
    # Nothing was sealed or posted: no key saved, no task created.
    assert not task_key_vault(data_dir).directory.exists()
    assert int(market.functions.taskCount().call()) == before


def test_the_sdk_seals_media_and_refuses_other_kinds(tmp_path: Path) -> None:
    picture = b"\x89PNG\r\n\x1a\n a picture the requester cannot publish"
    imported = ImportedItems(
        items=(ItemSpec("p", content=compute_cid(picture), media_type="image/png"),),
        media=(picture,),
        gold={},
        classes=(),
    )
    validator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    content = seal(imported, Confidential((validator,)), tmp_path, title="t", instructions="",
                   classes=("a", "b"))  # fmt: skip
    (sealed,) = content.media
    assert picture not in sealed and compute_cid(sealed) != compute_cid(picture)
    assert compute_cid(picture) not in b"".join(content.blobs()).decode("latin-1")
    with pytest.raises(ConfidentialSpecError, match="categorical for now, not boxes"):
        check_confidential(gold=None, batch_size=40, kind=TaskKind.BOXES)
    check_confidential(gold={}, batch_size=40)  # an empty gold set is no gold


def test_the_requester_node_wraps_a_cli_posted_key_to_a_named_validator(
    devnet: Path, tmp_path: Path
) -> None:
    """The round trip with a real node process: the CLI's vault is the one the requester
    node's ``KeyPublisher`` reads, so the named validator with an announced key gets the
    task key, and the named one without an announced key gets nothing."""
    info = DevnetInfo.load(devnet)
    network = Network.from_devnet(devnet)
    validator = info.account("validator-1")
    secret = load_encryption_key(encryption_key_path(validator.keystore), info.password())
    sender = TxSender(network.w3, info.signer("validator-1"))
    announce_encryption_key(sender, network.contracts.registry, secret.public_key)
    silent = info.account("validator-2").address  # named, never announces a key
    data_dir = tmp_path / "requester-node"
    posted = run(
        "task", "create", str(_items(tmp_path)), *_common(data_dir), "--batch-size", "40",
        "--confidential", "--validators", f"{validator.address},{silent}", "--json",
    )  # fmt: skip
    assert posted.exit_code == 0, posted.stderr
    created = json.loads(posted.stdout)
    task_id = int(created["task_id"])
    task_keys = network.contracts.task_keys
    assert task_keys is not None and published_keys(task_keys, task_id) == []

    cids = _published_by_requester_node(devnet, data_dir, task_id, tmp_path / "node.log")
    assert len(cids) == 1
    store = EmbeddedStore.in_data_dir(data_dir)
    document = parse_key_document(store.get(cids[0], max_size=MAX_DOCUMENT_BYTES))
    assert [a.lower() for a in document.addresses] == [validator.address.lower()]
    key = task_key_vault(data_dir).find(str(created["manifest_cid"]))
    assert unwrap_key(document, validator.address, secret.secret) == key


def _published_by_requester_node(
    devnet: Path, data_dir: Path, task_id: int, log: Path
) -> list[str]:
    """Run ``labelnet node start --role requester`` on ``data_dir`` until ``task_id`` has a
    key document on chain (two minutes at most), then stop it; the documents' CIDs."""
    task_keys = Network.from_devnet(devnet).contracts.task_keys
    assert task_keys is not None
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                LABELNET, "node", "start", "--devnet", str(devnet), "--account", "requester",
                "--role", "requester", "--data-dir", str(data_dir), "--port", str(free_port()),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not (cids := published_keys(task_keys, task_id)):
                assert process.poll() is None, log.read_text()[-4000:]
                assert time.monotonic() < deadline, "no key document: " + log.read_text()[-4000:]
                time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return cids


def test_the_sdk_refuses_plaintext_media_beside_sealed_content(
    devnet: Path, tmp_path: Path
) -> None:
    """:func:`publish_content`'s rule, reported as the SDK's own error: nothing is stored
    and no task is created."""
    picture = b"\x89PNG\r\n\x1a\n a picture posted beside its sealed copy"
    imported = ImportedItems(
        items=(ItemSpec("p", content=compute_cid(picture), media_type="image/png"),),
        media=(picture,),
        gold={},
        classes=(),
    )
    validator = DevnetInfo.load(devnet).account("validator-1").address
    content = seal(imported, Confidential((validator,)), tmp_path, title="t", instructions="",
                   classes=("a", "b"))  # fmt: skip
    network = Network.from_devnet(devnet)
    market = network.contracts.market
    before = int(market.functions.taskCount().call())
    requester = RequesterClient(network, tmp_path / "requester")
    with pytest.raises(ConfidentialSpecError, match="would publish them"):
        requester.post(
            content, reward_per_label=2, redundancy=2, validator_fee=1,
            timing=Timing(commit_in=1200, reveal_in=600, attest_in=600, seats_in=600),
            media=[picture], batch_size=40,
        )  # fmt: skip
    assert not requester.local.has(compute_cid(picture))
    assert not requester.local.has(content.manifest_cid)
    assert int(market.functions.taskCount().call()) == before
