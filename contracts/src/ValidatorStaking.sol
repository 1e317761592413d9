// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IValidatorStaking} from "./interfaces/IValidatorStaking.sol";

/// @title ValidatorStaking
/// @notice Holds validators' stake. Invariant: the token balance of this contract equals
/// `totalStaked() + totalUnbonding()`; locked stake is part of the active stake and is always
/// backed, because locks never exceed the active stake. Version 2: lock share per vote and
/// the round-2 freeze (IValidatorStaking).
/// @dev The owner's only power is naming the market, once. After that the rules are fixed.
contract ValidatorStaking is IValidatorStaking, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    struct Account {
        uint128 active;
        uint128 locked;
    }

    uint16 private constant _BPS = 10_000;

    IERC20 private immutable _token;
    uint256 private immutable _minStake;
    uint64 private immutable _unbondingDelay;
    uint16 private immutable _slashBps;

    address private _market;
    uint256 private _totalStaked;
    uint256 private _totalUnbonding;
    mapping(address validator => Account) private _accounts;
    mapping(address validator => Unbonding) private _unbonding;
    mapping(address validator => uint256) private _frozen;

    modifier onlyMarket() {
        if (msg.sender != _market) revert ValidatorStakingNotMarket(msg.sender);
        _;
    }

    /// @param token_ The staked token.
    /// @param minStake_ Minimum active stake needed to attest.
    /// @param unbondingDelay_ Seconds between an unstake request and the withdrawal.
    /// @param slashBps_ Share of a validator's stake locked by a round-0 vote, and lost when
    /// its root loses, in basis points; rounds 1 and 2 lock twice and four times that, so
    /// `7 * slashBps_ <= 10000`.
    /// @param owner_ May name the market once.
    constructor(IERC20 token_, uint256 minStake_, uint64 unbondingDelay_, uint16 slashBps_, address owner_)
        Ownable(owner_)
    {
        if (address(token_) == address(0)) revert ValidatorStakingZeroAddress();
        if (slashBps_ == 0 || uint256(slashBps_) * 7 > _BPS) revert ValidatorStakingInvalidSlashBps(slashBps_);
        _token = token_;
        _minStake = minStake_;
        _unbondingDelay = unbondingDelay_;
        _slashBps = slashBps_;
    }

    /// @notice Owner only, once: the market allowed to lock, release and slash stake.
    function setMarket(address market_) external onlyOwner {
        if (market_ == address(0)) revert ValidatorStakingZeroAddress();
        if (_market != address(0)) revert ValidatorStakingMarketAlreadySet(_market);
        _market = market_;
        emit MarketSet(market_);
    }

    /// @inheritdoc IValidatorStaking
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ValidatorStakingZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 newStake = account.active + amount;
        account.active = newStake.toUint128();
        _totalStaked += amount;
        emit Staked(msg.sender, amount, newStake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IValidatorStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ValidatorStakingZeroAmount();
        if (_frozen[msg.sender] != 0) revert ValidatorStakingFrozen(msg.sender);
        Account storage account = _accounts[msg.sender];
        uint256 free = account.active - account.locked;
        if (amount > free) revert ValidatorStakingInsufficientFreeStake(msg.sender, amount, free);
        // unchecked: amount <= free <= active, and active is part of _totalStaked.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- amount <= free < 2**128.
            account.active -= uint128(amount);
            _totalStaked -= amount;
        }
        Unbonding storage pending = _unbonding[msg.sender];
        uint64 releaseAt = uint64(block.timestamp) + _unbondingDelay;
        // SafeCast called directly: slither cannot build its IR for `(a + b).toUint128()`, and a
        // function it cannot read also hides this contract's storage writes from its analysis.
        pending.amount = SafeCast.toUint128(pending.amount + amount);
        pending.releaseAt = releaseAt;
        _totalUnbonding += amount;
        emit UnstakeRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IValidatorStaking
    function withdraw() external nonReentrant {
        Unbonding memory pending = _unbonding[msg.sender];
        if (pending.amount == 0) revert ValidatorStakingNothingToWithdraw(msg.sender);
        if (block.timestamp < pending.releaseAt) {
            revert ValidatorStakingStillUnbonding(msg.sender, pending.releaseAt);
        }
        delete _unbonding[msg.sender];
        _totalUnbonding -= pending.amount;
        emit Withdrawn(msg.sender, pending.amount);
        _token.safeTransfer(msg.sender, pending.amount);
    }

    /// @inheritdoc IValidatorStaking
    function lockForTask(address validator, uint256 taskId, uint16 lockBps)
        external
        onlyMarket
        returns (uint96 weight, uint256 locked)
    {
        if (lockBps > _BPS) revert ValidatorStakingInvalidLockBps(lockBps);
        Account storage account = _accounts[validator];
        uint256 active = account.active;
        if (active < _minStake || active == 0) revert ValidatorStakingBelowMinimum(validator, active, _minStake);
        if (active > type(uint96).max) revert ValidatorStakingStakeTooLarge(active);
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against uint96 above.
        weight = uint96(active);
        locked = _lockAmount(weight, lockBps);
        uint256 free = active - account.locked;
        if (locked > free) revert ValidatorStakingInsufficientFreeStake(validator, locked, free);
        // unchecked: locked <= free, so account.locked + locked <= active < 2**128.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- locked <= free < 2**128.
            account.locked += uint128(locked);
        }
        emit StakeLocked(validator, taskId, locked, weight);
    }

    /// @inheritdoc IValidatorStaking
    function release(address validator, uint256 taskId, uint96 weight, uint16 lockBps, uint256 reward)
        external
        onlyMarket
    {
        Account storage account = _accounts[validator];
        uint256 locked = _lockAmount(weight, lockBps);
        // forge-lint: disable-next-line(unsafe-typecast) -- a lock amount is at most a uint96 weight.
        account.locked -= uint128(locked);
        if (reward > 0) {
            account.active = SafeCast.toUint128(account.active + reward);
            _totalStaked += reward;
        }
        emit StakeReleased(validator, taskId, locked, reward);
    }

    /// @inheritdoc IValidatorStaking
    function slash(address validator, uint256 taskId, uint96 weight, uint16 lockBps)
        external
        onlyMarket
        nonReentrant
        returns (uint256 slashed)
    {
        Account storage account = _accounts[validator];
        slashed = _lockAmount(weight, lockBps);
        // forge-lint: disable-next-line(unsafe-typecast) -- a lock amount is at most a uint96 weight.
        account.locked -= uint128(slashed);
        // unchecked: the lock was part of the active stake and the active stake of _totalStaked.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- a lock amount is at most a uint96 weight.
            account.active -= uint128(slashed);
            _totalStaked -= slashed;
        }
        emit Slashed(validator, taskId, slashed);
        if (slashed > 0) _token.safeTransfer(msg.sender, slashed);
    }

    /// @inheritdoc IValidatorStaking
    function freeze(address validator) external onlyMarket {
        uint256 count = _frozen[validator] + 1;
        _frozen[validator] = count;
        emit FreezeChanged(validator, count);
    }

    /// @inheritdoc IValidatorStaking
    function unfreeze(address validator) external onlyMarket {
        uint256 count = _frozen[validator];
        if (count == 0) revert ValidatorStakingNotFrozen(validator);
        // unchecked: count > 0, checked above.
        unchecked {
            --count;
        }
        _frozen[validator] = count;
        emit FreezeChanged(validator, count);
    }

    /// @inheritdoc IValidatorStaking
    function lockAmount(uint96 weight, uint16 lockBps) external pure returns (uint256) {
        return _lockAmount(weight, lockBps);
    }

    /// @inheritdoc IValidatorStaking
    function frozenOf(address validator) external view returns (uint256) {
        return _frozen[validator];
    }

    /// @inheritdoc IValidatorStaking
    function version() external pure returns (uint256) {
        return 2;
    }

    /// @inheritdoc IValidatorStaking
    function stakeOf(address validator) external view returns (uint256) {
        return _accounts[validator].active;
    }

    /// @inheritdoc IValidatorStaking
    function lockedOf(address validator) external view returns (uint256) {
        return _accounts[validator].locked;
    }

    /// @inheritdoc IValidatorStaking
    function unbondingOf(address validator) external view returns (Unbonding memory) {
        return _unbonding[validator];
    }

    /// @inheritdoc IValidatorStaking
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IValidatorStaking
    function totalUnbonding() external view returns (uint256) {
        return _totalUnbonding;
    }

    /// @notice The staked token.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The market allowed to lock, release and slash (zero until set).
    function market() external view returns (address) {
        return _market;
    }

    /// @notice Minimum active stake needed to attest.
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IValidatorStaking
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    /// @inheritdoc IValidatorStaking
    function slashBps() external view returns (uint16) {
        return _slashBps;
    }

    function _lockAmount(uint96 weight, uint16 lockBps) private pure returns (uint256) {
        return uint256(weight) * lockBps / _BPS;
    }
}
