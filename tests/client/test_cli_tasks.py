"""task create/list/show/cancel/results on the devnet, from a small JSONL file with gold."""

from __future__ import annotations

import json
from pathlib import Path

from client.sdk import Network
from node.chain.market import read_task
from node.roles.requester.gold import GoldSecrets
from node.store.embedded import EmbeddedStore
from tests.client.conftest import assert_one_line_error, run

ITEMS = [
    {"id": "a", "text": "great product", "gold": "pos"},
    {"id": "b", "text": "broke in a day"},
    {"id": "c", "text": "it is fine", "gold": "neg"},
]


def _items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    return path


def _create(tmp_path: Path, *extra: str) -> dict[str, object]:
    result = run(
        "task", "create", str(_items(tmp_path)), "--classes", "pos,neg",
        "--reward-per-label", "2", "--validator-fee", "1", "--redundancy", "2",
        "--gold-field", "gold", "--commit-in", "10m", "--reveal-in", "5m", "--attest-in", "5m",
        "--data-dir", str(tmp_path / "requester-node"), "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_create_escrows_publishes_content_and_keeps_the_gold_secret(
    devnet: Path, tmp_path: Path
) -> None:
    created = _create(tmp_path)
    task_id = int(str(created["task_id"]))
    assert int(str(created["escrow"])) == 3 * 2 * 2 * 10**18 + 10**18

    network = Network.from_devnet(devnet)
    state = read_task(network.contracts.market, task_id)
    assert state.gold_commitment != bytes(32)
    data_dir = tmp_path / "requester-node"
    assert EmbeddedStore.in_data_dir(data_dir).has(str(created["manifest_cid"]))
    secret = GoldSecrets(data_dir / "requester" / "gold").find(state.gold_commitment)
    assert secret is not None
    assert secret[0].as_dict() == {"a": "pos", "c": "neg"}
    assert created["gold_items"] == 2


def run_create_stderr(tmp_path: Path, *extra: str) -> str:
    result = run(
        "task", "create", str(_items(tmp_path)), "--classes", "pos,neg",
        "--reward-per-label", "2", "--validator-fee", "1", "--redundancy", "2",
        "--data-dir", str(tmp_path / "requester-node"), *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_create_without_gold_warns_about_colluders(devnet: Path, tmp_path: Path) -> None:
    stderr = run_create_stderr(tmp_path)
    assert stderr.startswith("warning: the task has no gold answers")
    assert "--gold-file" in stderr
    with_gold = run_create_stderr(tmp_path, "--gold-field", "gold")
    assert "no gold" not in with_gold


def test_list_and_show_follow_the_task_until_it_is_cancelled(devnet: Path, tmp_path: Path) -> None:
    task_id = int(str(_create(tmp_path)["task_id"]))
    listed = json.loads(run("task", "list", "--json").stdout)
    assert [(t["task_id"], t["num_items"], t["redundancy"], t["status"]) for t in listed] == [
        (task_id, 3, 2, "open")
    ]
    shown = json.loads(run("task", "show", str(task_id), "--json").stdout)
    assert (shown["status"], shown["phase"], shown["commits"]) == ("open", "commit", 0)
    assert shown["gold_committed"] and not shown["gold_revealed"]
    human = run("task", "show", str(task_id))
    assert human.stdout.startswith(f"task {task_id}: open, phase commit")

    results = run("task", "results", str(task_id), "--data-dir", str(tmp_path / "r"))
    assert_one_line_error(results, "not finalized", "task show")

    cancelled = run("task", "cancel", str(task_id))
    assert cancelled.exit_code == 0, cancelled.stderr
    assert json.loads(run("task", "show", str(task_id), "--json").stdout)["status"] == "cancelled"
    assert_one_line_error(run("task", "cancel", str(task_id)))


def test_create_errors_are_one_line(devnet: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"id": "x", "text": "t"}\n')
    data_dir = str(tmp_path / "d")
    no_classes = run(
        "task", "create", str(plain), "--reward-per-label", "1", "--validator-fee", "0",
        "--data-dir", data_dir,
    )  # fmt: skip
    assert_one_line_error(no_classes, "classes")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "text": "t"}\n{not json\n')
    bad_file = run(
        "task", "create", str(broken), "--classes", "a,b", "--reward-per-label", "1",
        "--validator-fee", "0", "--data-dir", data_dir,
    )  # fmt: skip
    assert_one_line_error(bad_file, "broken.jsonl:2")
    bad_window = run(
        "task", "create", str(plain), "--classes", "a,b", "--reward-per-label", "1",
        "--validator-fee", "0", "--data-dir", data_dir, "--attest-in", "30d",
    )  # fmt: skip
    assert_one_line_error(bad_window, "attest window")
    assert json.loads(run("task", "list", "--json").stdout) == []


def test_show_unknown_task(devnet: Path) -> None:
    assert_one_line_error(run("task", "show", "99"), "TaskMarketUnknownTask", "task list")


def _many_items(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": f"i{n}", "text": "x"}) + "\n" for n in range(count)))
    return path


def test_create_posts_a_seated_task_and_refuses_a_batch_too_small_to_pass(
    devnet: Path, tmp_path: Path
) -> None:
    common = (
        "--classes", "pos,neg", "--reward-per-label", "2", "--validator-fee", "1",
        "--redundancy", "2", "--commit-in", "20m", "--seat-in", "10m",
        "--data-dir", str(tmp_path / "requester-node"),
    )  # fmt: skip
    small = run("task", "create", str(_items(tmp_path)), "--batch-size", "3", *common)
    # Two classes: an annotator of accuracy 0.8 needs 38 answers to pass the evidence test.
    assert_one_line_error(small, "batch_size 3 is below 38")
    no_window = [a for a in common if a not in ("--seat-in", "10m")]
    missing = run("task", "create", str(_items(tmp_path)), "--batch-size", "3", *no_window)
    assert_one_line_error(missing, "--seat-in")

    result = run(
        "task", "create", str(_many_items(tmp_path, 40)), "--batch-size", "40", *common
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "seated: 2 seats of 40 items (the least batch for this task is 38" in result.stdout
    network = Network.from_devnet(devnet)
    last = int(network.contracts.market.functions.taskCount().call())
    state = read_task(network.contracts.market, last)
    assert state.seated and state.seat_limit == 2 and state.seat_count == 0
    assert state.seat_deadline + 600 <= state.commit_deadline
    shown = run("task", "show", str(last))
    assert shown.exit_code == 0, shown.stderr
    assert "seated: 0 of 2 seats claimed" in shown.stdout
