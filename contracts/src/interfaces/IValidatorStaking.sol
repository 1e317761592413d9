// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IValidatorStaking
/// @notice Validators bond tokens here to earn the right to attest task results. The market
/// locks a slice of a validator's stake for every task it attests, and at finalization either
/// releases it (with a reward) or slashes it. Stake leaves only through an unbonding delay,
/// and never while it is locked, so every possible slash is fully backed.
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

    /// @notice A zero amount where a positive one is required.
    error ValidatorStakingZeroAmount();
    /// @notice A zero address where a contract or account is required.
    error ValidatorStakingZeroAddress();
    /// @notice The slash fraction must be in (0, 10000] basis points.
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

    /// @notice Add `amount` tokens (pulled with `transferFrom`) to the caller's active stake.
    function stake(uint256 amount) external;

    /// @notice Move `amount` of free active stake into unbonding. The delay restarts for the
    /// whole unbonding balance, so a validator cannot stagger requests to dodge it.
    function requestUnstake(uint256 amount) external;

    /// @notice Return the caller's unbonded tokens once the delay has passed.
    function withdraw() external;

    /// @notice Market only: lock the slashable slice of `validator`'s stake for `taskId`.
    /// @return weight The validator's active stake, its voting weight on the task.
    /// @return locked The amount locked, `weight * slashBps / 10000`.
    function lockForTask(address validator, uint256 taskId) external returns (uint96 weight, uint256 locked);

    /// @notice Market only: lift the lock taken for `weight` on `taskId` and add `reward`
    /// (pulled from the market) to the validator's stake.
    function release(address validator, uint256 taskId, uint96 weight, uint256 reward) external;

    /// @notice Market only: take the lock taken for `weight` on `taskId` and send it to the market.
    /// @return slashed The amount taken.
    function slash(address validator, uint256 taskId, uint96 weight) external returns (uint256 slashed);

    /// @notice The amount locked for a given weight: `weight * slashBps / 10000`, rounded down.
    function lockAmount(uint96 weight) external view returns (uint256);

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
