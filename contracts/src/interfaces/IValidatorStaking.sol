// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IValidatorStaking
/// @notice Validators bond tokens here to earn the right to attest task results. The market
/// locks a slice of a validator's stake for every task it attests, and at finalization either
/// releases it (with a reward) or slashes it. Stake leaves only through an unbonding delay,
/// and never while it is locked, so every possible slash is fully backed.
/// Version 2 (`version() == 2`, docs/settlement.md §2.2): the market chooses the locked share
/// per vote (`lockBps`, `slashBps << round` for a task's settlement round), and may freeze a
/// validator's whole stake against unstaking while a round-2 vote of it is unsettled, so a
/// round-2 tally is a plain sum of weights that nobody can shrink under their own vote.
interface IValidatorStaking {
    /// @notice Stake waiting out its unbonding delay; no longer counts as weight, cannot be slashed.
    struct Unbonding {
        uint128 amount;
        uint64 releaseAt;
    }

    /// @notice Emitted when `validator` adds `amount` to its active stake.
    event Staked(address indexed validator, uint256 amount, uint256 newStake);
    /// @notice Emitted when `amount` of active stake starts unbonding until `releaseAt`.
    event UnstakeRequested(address indexed validator, uint256 amount, uint64 releaseAt);
    /// @notice Emitted when unbonded tokens are returned to `validator`.
    event Withdrawn(address indexed validator, uint256 amount);
    /// @notice Emitted when the market locks `amount` of `validator`'s stake for `taskId`.
    event StakeLocked(address indexed validator, uint256 indexed taskId, uint256 amount, uint256 weight);
    /// @notice Emitted when a task's lock is lifted and `reward` is added to the validator's stake.
    event StakeReleased(address indexed validator, uint256 indexed taskId, uint256 amount, uint256 reward);
    /// @notice Emitted when `amount` of `validator`'s locked stake is taken for attesting a losing root.
    event Slashed(address indexed validator, uint256 indexed taskId, uint256 amount);
    /// @notice Emitted once, when the owner names the market allowed to lock and slash.
    event MarketSet(address indexed market);
    /// @notice Emitted when the market freezes (`frozen` true) or unfreezes a validator's stake;
    /// `count` is the number of its unsettled round-2 votes after the change.
    event FreezeChanged(address indexed validator, uint256 count);

    /// @notice A zero amount where a positive one is required.
    error ValidatorStakingZeroAmount();
    /// @notice A zero address where a contract or account is required.
    error ValidatorStakingZeroAddress();
    /// @notice The slash fraction must be positive and `7 * slashBps <= 10000`: a vote in each of
    /// the three rounds of one task locks `slashBps`, twice and four times that.
    error ValidatorStakingInvalidSlashBps(uint16 slashBps);
    /// @notice The caller is not the market.
    error ValidatorStakingNotMarket(address caller);
    /// @notice The market can be set only once.
    error ValidatorStakingMarketAlreadySet(address market);
    /// @notice `requested` exceeds the stake that is neither locked nor unbonding.
    error ValidatorStakingInsufficientFreeStake(address validator, uint256 requested, uint256 free);
    /// @notice The validator's active stake is below the minimum needed to attest.
    error ValidatorStakingBelowMinimum(address validator, uint256 stake, uint256 minimum);
    /// @notice Nothing is unbonding for this validator.
    error ValidatorStakingNothingToWithdraw(address validator);
    /// @notice The unbonding delay has not passed yet.
    error ValidatorStakingStillUnbonding(address validator, uint64 releaseAt);
    /// @notice A stake amount does not fit the 96-bit weight the market records.
    error ValidatorStakingStakeTooLarge(uint256 stake);
    /// @notice The validator has unsettled round-2 votes: it cannot unstake until they settle.
    error ValidatorStakingFrozen(address validator);
    /// @notice A lock share above 10000 basis points.
    error ValidatorStakingInvalidLockBps(uint16 lockBps);
    /// @notice `unfreeze` of a validator that is not frozen.
    error ValidatorStakingNotFrozen(address validator);

    /// @notice Add `amount` tokens (pulled with `transferFrom`) to the caller's active stake.
    function stake(uint256 amount) external;

    /// @notice Move `amount` of free active stake into unbonding. The delay restarts for the
    /// whole unbonding balance, so a validator cannot stagger requests to dodge it. Reverts
    /// `ValidatorStakingFrozen` while a round-2 vote of the caller is unsettled.
    function requestUnstake(uint256 amount) external;

    /// @notice Return the caller's unbonded tokens once the delay has passed.
    function withdraw() external;

    /// @notice Market only: lock `lockBps` of `validator`'s stake for a vote on `taskId`.
    /// @return weight The validator's active stake, its voting weight on the task.
    /// @return locked The amount locked, `weight * lockBps / 10000`.
    function lockForTask(address validator, uint256 taskId, uint16 lockBps)
        external
        returns (uint96 weight, uint256 locked);

    /// @notice Market only: lift the lock taken for `weight` at `lockBps` on `taskId` and add
    /// `reward` to the validator's stake. The market transfers the rewards of a settlement to
    /// this contract in one transfer, in the same transaction (one token transfer instead of
    /// one per winner); `balance == totalStaked + totalUnbonding` holds again once it has.
    function release(address validator, uint256 taskId, uint96 weight, uint16 lockBps, uint256 reward) external;

    /// @notice Market only: take the lock taken for `weight` at `lockBps` on `taskId` and send it
    /// to the market.
    /// @return slashed The amount taken.
    function slash(address validator, uint256 taskId, uint96 weight, uint16 lockBps) external returns (uint256 slashed);

    /// @notice Market only: one more unsettled round-2 vote of `validator` (no unstaking).
    function freeze(address validator) external;

    /// @notice Market only: one round-2 vote of `validator` settled.
    function unfreeze(address validator) external;

    /// @notice The amount locked for a weight at a share: `weight * lockBps / 10000`, rounded down.
    function lockAmount(uint96 weight, uint16 lockBps) external pure returns (uint256);

    /// @notice Unsettled round-2 votes of `validator` (it may unstake only at zero).
    function frozenOf(address validator) external view returns (uint256);

    /// @notice Share of a validator's weight locked by a round-0 vote, in basis points.
    function slashBps() external view returns (uint16);

    /// @notice The staking rules version: 2 (lock share per vote, freeze).
    function version() external pure returns (uint256);

    /// @notice Active stake of `validator` (locked stake included).
    function stakeOf(address validator) external view returns (uint256);

    /// @notice Stake of `validator` currently locked by open tasks.
    function lockedOf(address validator) external view returns (uint256);

    /// @notice Stake of `validator` waiting out the unbonding delay.
    function unbondingOf(address validator) external view returns (Unbonding memory);

    /// @notice Sum of every validator's active stake.
    function totalStaked() external view returns (uint256);

    /// @notice Sum of every validator's unbonding stake.
    function totalUnbonding() external view returns (uint256);

    /// @notice Seconds between an unstake request and its withdrawal.
    function unbondingDelay() external view returns (uint64);
}
