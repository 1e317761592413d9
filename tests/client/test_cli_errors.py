"""Every failure the user can cause is one line, `error: what — fix`, and a nonzero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.cli.common import CliError, format_amount, parse_amount, parse_duration
from client.devnet import DevnetInfo
from node.chain.anvil import free_port
from tests.client.conftest import assert_one_line_error, run


@pytest.mark.parametrize(
    ("text", "wei"),
    [("10", 10 * 10**18), ("2.5", 25 * 10**17), ("5000wei", 5000), ("0.000000000000000001", 1)],
)
def test_amounts_are_tokens_unless_suffixed_wei(text: str, wei: int) -> None:
    assert parse_amount(text) == wei


@pytest.mark.parametrize("text", ["abc", "-1", "0", "1.5wei", "0.0000000000000000001", "1e3"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(CliError):
        parse_amount(text)


def test_amounts_print_as_tokens() -> None:
    assert format_amount(1_500_000 * 10**18 + 25 * 10**16) == "1,500,000.25"
    assert format_amount(7) == "0.000000000000000007"


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "10m", "1h", "2d")] == [
        90, 90, 600, 3600, 172800,
    ]  # fmt: skip
    with pytest.raises(CliError):
        parse_duration("soon")


def test_a_text_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    """error: a file given is not UTF-8 text (invalid start byte at byte 0) — ... for the
    password and instructions files (each was a UnicodeDecodeError traceback); nothing is
    written and no chain is needed to say so."""
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\n")
    (tmp_path / "deployment.json").write_text("{}")
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "q1", "text": "a cat"}\n')
    chain = ["--rpc-url", "http://127.0.0.1:9", "--deployment", str(tmp_path / "deployment.json")]
    commands = [
        ["wallet", "new", "--out", str(tmp_path / "new.json"), "--password-file", str(binary)],
        ["stake", "1", *chain, "--keystore", str(items), "--password-file", str(binary)],
        [
            "task", "create", str(items), "--data-dir", str(tmp_path / "requester"),
            "--reward-per-label", "1", "--validator-fee", "1", "--instructions-file", str(binary),
            *chain,
        ],
    ]  # fmt: skip
    for command in commands:
        result = run(*command)
        assert_one_line_error(result)
        assert result.stderr.strip() == (
            "error: a file given is not UTF-8 text (invalid start byte at byte 0) — save it "
            "as UTF-8, or check that the option names the right file"
        )
    assert not (tmp_path / "new.json").exists()


def test_missing_devnet(tmp_path: Path) -> None:
    assert_one_line_error(run("stake", "1", "--devnet", str(tmp_path / "none")), "no devnet")


def test_bad_amount_on_the_command_line(devnet: Path) -> None:
    assert_one_line_error(run("stake", "1.2.3"), "bad amount")


def test_unreachable_rpc_url(devnet: Path) -> None:
    info = DevnetInfo.load(devnet)
    result = run(
        "task", "list", "--rpc-url", f"http://127.0.0.1:{free_port()}",
        "--deployment", str(info.deployment_file),
    )  # fmt: skip
    assert_one_line_error(result, "cannot reach the chain", "--rpc-url")


def test_wrong_password(devnet: Path, tmp_path: Path) -> None:
    info = DevnetInfo.load(devnet)
    wrong = tmp_path / "pw"
    wrong.write_text("not the password")
    result = run(
        "stake", "1", "--keystore", str(info.account("validator-1").keystore),
        "--password-file", str(wrong),
    )  # fmt: skip
    assert_one_line_error(result, "wrong password")


def test_unknown_devnet_account(devnet: Path) -> None:
    assert_one_line_error(run("stake", "1", "--account", "nobody"), "no account 'nobody'")


def test_claim_without_a_node(devnet: Path) -> None:
    result = run(
        "claim", "--account", "annotator-1", "--node-url", f"http://127.0.0.1:{free_port()}"
    )
    assert_one_line_error(result, "cannot reach the node", "labelnet node start")


def test_demo_command_is_registered() -> None:
    result = run("demo", "--help")
    assert result.exit_code == 0
    for option in ("--dataset", "--items", "--annotators", "--out", "--json"):
        assert option in result.stdout


def test_json_output_parses(devnet: Path) -> None:
    assert json.loads(run("task", "list", "--json").stdout) == []
