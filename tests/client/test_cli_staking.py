"""stake, unstake and withdraw through the CLI on the devnet, across the unbonding delay."""

from __future__ import annotations

import json
from pathlib import Path

from node.chain.engines import attach
from tests.client.conftest import assert_one_line_error, chain, run

TOKEN = 10**18


def test_stake_unstake_withdraw_across_the_unbonding_delay(devnet: Path) -> None:
    before = json.loads(run("stake", "5", "--account", "validator-2", "--json").stdout)
    staked = int(before["staked"])
    balance = int(before["balance"])

    unstaked = run("unstake", "2.5", "--account", "validator-2", "--json")
    assert unstaked.exit_code == 0, unstaked.stderr
    status = json.loads(unstaked.stdout)
    assert int(status["staked"]) == staked - 25 * TOKEN // 10
    assert int(status["unbonding"]) == 25 * TOKEN // 10

    early = run("withdraw", "--account", "validator-2")
    assert_one_line_error(early, "unbonding for")

    dev = attach(chain(devnet))
    dev.increase_time(status["unbonding_delay"] + 1)
    dev.mine()
    withdrawn = run("withdraw", "--account", "validator-2", "--json")
    assert withdrawn.exit_code == 0, withdrawn.stderr
    final = json.loads(withdrawn.stdout)
    assert int(final["unbonding"]) == 0
    assert int(final["balance"]) == balance + 25 * TOKEN // 10


def test_stake_accepts_wei_amounts_and_prints_a_status_line(devnet: Path) -> None:
    first = json.loads(run("stake", "1wei", "--account", "validator-1", "--json").stdout)
    result = run("stake", "7wei", "--account", "validator-1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(first["validator"] + ": staked")
    after = json.loads(run("unstake", "1wei", "--account", "validator-1", "--json").stdout)
    assert int(after["staked"]) == int(first["staked"]) + 7 - 1


def test_withdraw_with_nothing_unbonding_names_the_fix(devnet: Path) -> None:
    assert_one_line_error(run("withdraw", "--account", "validator-1"), "nothing is unbonding")


def test_unstake_more_than_the_free_stake_is_refused_before_sending(devnet: Path) -> None:
    assert_one_line_error(run("unstake", "1000000000", "--account", "validator-1"), "free")
