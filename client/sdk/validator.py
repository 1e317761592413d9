"""A validator's stake: bond, unbond, withdraw, and where it stands.

Stake moves in three states (``IValidatorStaking``): active (the voting weight; part of it
may be locked by tasks the validator attested), unbonding (waiting out the delay, neither
weight nor slashable), and withdrawn. ``request_unstake`` restarts the delay for the whole
unbonding balance, which is why :class:`StakeStatus` reports one release time.
"""

from __future__ import annotations

from dataclasses import dataclass

from hexbytes import HexBytes

from client.sdk.errors import SdkError
from client.sdk.network import Network


class StakeAmountError(SdkError, ValueError):
    """A stake amount the contract would refuse, caught before sending."""


@dataclass(frozen=True)
class StakeStatus:
    """One validator's stake, in token base units; times are unix seconds."""

    validator: str
    staked: int
    locked: int
    unbonding: int
    release_at: int
    unbonding_delay: int
    min_stake: int
    balance: int

    @property
    def free(self) -> int:
        """Active stake that may be unstaked now (not locked by a task)."""
        return self.staked - self.locked

    def withdrawable(self, now: int) -> bool:
        return self.unbonding > 0 and now >= self.release_at


class ValidatorClient:
    """Staking operations of the network's account."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._staking = network.contracts.staking

    def status(self, validator: str | None = None) -> StakeStatus:
        """The stake of ``validator`` (default: the network's account)."""
        address = self.network.w3.to_checksum_address(validator or self.network.address)
        calls = self._staking.functions
        unbonding_amount, release_at = calls.unbondingOf(address).call()
        return StakeStatus(
            validator=address,
            staked=int(calls.stakeOf(address).call()),
            locked=int(calls.lockedOf(address).call()),
            unbonding=int(unbonding_amount),
            release_at=int(release_at),
            unbonding_delay=int(calls.unbondingDelay().call()),
            min_stake=int(calls.minStake().call()),
            balance=self.network.token_balance(address),
        )

    def stake(self, amount: int) -> HexBytes:
        """Approve (if the allowance is short) and stake ``amount``; returns the stake tx hash."""
        if amount <= 0:
            raise StakeAmountError("the amount to stake must be positive")
        balance = self.network.token_balance()
        if amount > balance:
            raise StakeAmountError(f"cannot stake {amount}: the account holds only {balance}")
        sender = self.network.sender()
        token = self.network.contracts.token
        allowance = int(token.functions.allowance(sender.address, self._staking.address).call())
        if allowance < amount:
            sender.transact(token.functions.approve(self._staking.address, amount))
        return HexBytes(sender.transact(self._staking.functions.stake(amount))["transactionHash"])

    def request_unstake(self, amount: int) -> HexBytes:
        """Start unbonding ``amount`` of free active stake."""
        if amount <= 0:
            raise StakeAmountError("the amount to unstake must be positive")
        status = self.status()
        if amount > status.free:
            raise StakeAmountError(
                f"cannot unstake {amount}: only {status.free} of the stake is free "
                f"({status.locked} locked by open tasks)"
            )
        receipt = self.network.sender().transact(self._staking.functions.requestUnstake(amount))
        return HexBytes(receipt["transactionHash"])

    def withdraw(self) -> HexBytes:
        """Return the unbonded stake once the delay has passed (checked first, on chain time)."""
        status = self.status()
        if status.unbonding == 0:
            raise StakeAmountError("nothing is unbonding: request an unstake first")
        now = self.network.now()
        if now < status.release_at:
            raise StakeAmountError(
                f"the stake is unbonding for {status.release_at - now}s more "
                f"(until unix time {status.release_at})"
            )
        receipt = self.network.sender().transact(self._staking.functions.withdraw())
        return HexBytes(receipt["transactionHash"])
