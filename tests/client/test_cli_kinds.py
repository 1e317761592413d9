"""``task create --kind boxes|spans|text|pairwise`` on the devnet (issue #20): the manifest
states the kind's annotation section, gold is posted in its canonical spelling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.sdk import Network
from node.chain.market import read_task
from node.protocol.cid import compute_cid
from node.protocol.manifest import Manifest
from node.roles.requester.gold import GoldSecrets
from node.store.embedded import EmbeddedStore
from tests.client.conftest import assert_one_line_error, run

A, B = compute_cid(b"response one"), compute_cid(b"response two")
ITEMS = {
    "boxes": [
        {"id": "i1", "image": "x.png", "gold": [[50, 5, 60, 9, "car"], [1, 2, 30, 40, "car"]]},
        {"id": "i2", "image": "y.png"},
    ],
    "spans": [{"id": "s1", "text": "Ada met Bob", "gold": [[8, 11, "per"], [0, 3, "per"]]}],
    "text": [{"id": "t1", "prompt": "say it", "gold": "cafe\u0301"}],
    "pairwise": [{"id": "p1", "a": A, "b": B, "gold": "B"}],
}
GOLD = {
    "boxes": {"i1": [[1, 2, 30, 40, "car"], [50, 5, 60, 9, "car"]]},
    "spans": {"s1": [[0, 3, "per"], [8, 11, "per"]]},
    "text": {"t1": "caf\u00e9"},
    "pairwise": {"p1": "B"},
}
CLASSES = {"boxes": "car,person", "spans": "per,org"}


def create(tmp_path: Path, kind: str, *extra: str) -> tuple[int, str]:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(item) + "\n" for item in ITEMS[kind]))
    classes = ("--classes", CLASSES[kind]) if kind in CLASSES else ()
    result = run(
        "task", "create", str(items), "--kind", kind, *classes,
        "--reward-per-label", "2", "--validator-fee", "1", "--redundancy", "2",
        "--gold-field", "gold", "--commit-in", "10m", "--reveal-in", "5m", "--attest-in", "5m",
        "--data-dir", str(tmp_path / "requester-node"), "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    return int(created["task_id"]), str(created["manifest_cid"])


@pytest.mark.parametrize("kind", list(ITEMS))
def test_a_task_of_each_kind_is_posted_with_its_annotation_and_canonical_gold(
    devnet: Path, tmp_path: Path, kind: str
) -> None:
    extra = ("--annotation", '{"max_objects": 5}') if kind in CLASSES else ()
    task_id, manifest_cid = create(tmp_path, kind, *extra)
    data_dir = tmp_path / "requester-node"
    store = EmbeddedStore.in_data_dir(data_dir)
    manifest = Manifest.from_bytes(store.get(manifest_cid, max_size=1 << 20))
    assert manifest.kind.value == kind and manifest.algorithm == f"{kind}@1"
    assert manifest.annotation is not None
    assert manifest.annotation.max_objects == (5 if kind in CLASSES else 100)
    state = read_task(Network.from_devnet(devnet).contracts.market, task_id)
    secret = GoldSecrets(data_dir / "requester" / "gold").find(state.gold_commitment)
    assert secret is not None and secret[0].as_dict() == GOLD[kind]


@pytest.mark.parametrize(
    ("kind", "annotation", "reason"),
    [
        ("boxes", '{"iou": "2"}', "annotation.iou must be in"),
        ("boxes", '{"normalization": "nfc"}', "unknown annotation keys"),
        ("text", "[1]", "not an object"),
        ("categorical", "{}", "has no annotation parameters"),
    ],
)
def test_a_bad_annotation_is_one_line(
    devnet: Path, tmp_path: Path, kind: str, annotation: str, reason: str
) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "i1", "text": "x"}) + "\n")
    result = run(
        "task", "create", str(items), "--kind", kind, "--classes", "a,b",
        "--annotation", annotation, "--reward-per-label", "2", "--validator-fee", "1",
        "--redundancy", "2", "--data-dir", str(tmp_path / "requester-node"),
    )  # fmt: skip
    assert_one_line_error(result, reason)
