"""Bad input on the ``labelnet`` command line: every one is a single ``error: what — fix``
line on stderr, exit code 1, nothing on stdout, and no task posted (the market's task count
is read back). Amounts and durations are refused before any connection is made.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result
from web3 import Web3

from node.chain.anvil import Anvil
from node.chain.contracts import Contracts, Deployment
from tests.api.conftest import PASSWORD, write_deployment, write_keystore
from tests.client.conftest import assert_one_line_error, run
from tests.conftest import Actors

ITEMS = '{"id": "q1", "text": "a cat"}\n{"id": "q2", "text": "a dog"}\n'


@pytest.fixture
def items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text(ITEMS)
    return path


def create(tmp_path: Path, items: Path, *options: str) -> Result:
    return run(
        "task", "create", str(items), "--data-dir", str(tmp_path / "requester"),
        "--classes", "cat,dog", *options,
    )  # fmt: skip


def on_chain(
    tmp_path: Path, anvil: Anvil, deployment: Deployment, account: LocalAccount
) -> list[str]:
    """Options naming the session anvil, its deployment and ``account``'s keystore."""
    (tmp_path / "password").write_text(PASSWORD + "\n")
    keystore = write_keystore(tmp_path / "keystore.json", key="0x" + account.key.hex())
    return [
        "--rpc-url", anvil.url,
        "--deployment", str(write_deployment(tmp_path / "deployment.json", deployment)),
        "--keystore", str(keystore),
        "--password-file", str(tmp_path / "password"),
    ]  # fmt: skip


def test_cli_bad_amount_is_one_line(tmp_path: Path, items: Path) -> None:
    """error: bad amount '1.2.3' — write tokens like `10` or `2.5`, or `5000wei`"""
    result = create(tmp_path, items, "--reward-per-label", "1.2.3", "--validator-fee", "1")
    assert_one_line_error(result)
    assert result.stderr.strip() == (
        "error: bad amount '1.2.3' — write tokens like `10` or `2.5`, or `5000wei`"
    )


def test_cli_amount_finer_than_the_token_is_one_line(tmp_path: Path, items: Path) -> None:
    """error: amount '0.0000000000000000001' has more precision than the token's 18
    decimals — ..."""
    tiny = "0.0000000000000000001"
    result = create(tmp_path, items, "--reward-per-label", tiny, "--validator-fee", "1")
    assert_one_line_error(
        result, f"amount '{tiny}' has more precision than the token's 18 decimals"
    )


def test_cli_negative_amount_is_one_line(tmp_path: Path, items: Path) -> None:
    """error: bad amount '-5' — ... (a sign is not part of an amount)."""
    result = create(tmp_path, items, "--reward-per-label", "1", "--validator-fee", "-5")
    assert_one_line_error(result, "bad amount '-5'")


def test_cli_bad_duration_is_one_line(tmp_path: Path, items: Path) -> None:
    """error: bad duration 'soon' — write a positive duration like 90s, 10m, 1h, 2d"""
    result = create(
        tmp_path, items, "--reward-per-label", "1", "--validator-fee", "1", "--commit-in", "soon"
    )
    assert_one_line_error(result)
    assert result.stderr.strip() == (
        "error: bad duration 'soon' — write a positive duration like 90s, 10m, 1h, 2d"
    )


def test_cli_missing_items_file_posts_nothing(
    tmp_path: Path, anvil: Anvil, deployment: Deployment, contracts: Contracts, actors: Actors
) -> None:
    """error: <file>: cannot read: No such file or directory — fix the items file or pass
    --format; the market's task count is unchanged."""
    count = contracts.market.functions.taskCount().call()
    chain = on_chain(tmp_path, anvil, deployment, actors.requester)
    result = create(
        tmp_path, tmp_path / "no-such.jsonl", "--reward-per-label", "1", "--validator-fee", "1",
        *chain,
    )  # fmt: skip
    assert_one_line_error(result)
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'no-such.jsonl'}: cannot read: No such file or directory — "
        "fix the items file or pass --format"
    )
    assert contracts.market.functions.taskCount().call() == count


def test_cli_malformed_items_file_posts_nothing(
    tmp_path: Path, anvil: Anvil, deployment: Deployment, contracts: Contracts, actors: Actors
) -> None:
    """error: <file>:2: invalid JSON: Expecting value at column 22 — fix the items file or
    pass --format (a JSONL file with one broken line is refused whole)."""
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "q1", "text": "a cat"}\n{"id": "q2", "text": \n')
    count = contracts.market.functions.taskCount().call()
    chain = on_chain(tmp_path, anvil, deployment, actors.requester)
    result = create(tmp_path, broken, "--reward-per-label", "1", "--validator-fee", "1", *chain)
    assert_one_line_error(result)
    assert result.stderr.strip() == (
        f"error: {broken}:2: invalid JSON: Expecting value at column 22 — "
        "fix the items file or pass --format"
    )
    assert contracts.market.functions.taskCount().call() == count


def test_cli_task_create_without_the_tokens_posts_nothing(
    tmp_path: Path,
    items: Path,
    anvil: Anvil,
    deployment: Deployment,
    contracts: Contracts,
    actors: Actors,
    w3: Web3,
) -> None:
    """error: <account> holds 0 tokens; the task escrows 7000000000000000000 — ..."""
    poor = actors.outsider
    nonce = w3.eth.get_transaction_count(poor.address)
    chain = on_chain(tmp_path, anvil, deployment, poor)
    result = create(tmp_path, items, "--reward-per-label", "1", "--validator-fee", "1", *chain)
    assert_one_line_error(result, f"{poor.address} holds 0 tokens; the task escrows {7 * 10**18}")
    assert w3.eth.get_transaction_count(poor.address) == nonce
