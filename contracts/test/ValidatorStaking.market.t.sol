// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {LabelToken} from "../src/LabelToken.sol";
import {ValidatorStaking} from "../src/ValidatorStaking.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice The market-only calls of ValidatorStaking (lockForTask, release, slash), driven
/// directly: this test contract is named the market of its own staking instance `direct`.
contract ValidatorStakingMarketTest is LabelnetFixture {
    ValidatorStaking internal direct;

    function setUp() public override {
        super.setUp();
        direct = _directStaking(MIN_STAKE, SLASH_BPS);
    }

    function _directStaking(uint256 minStake, uint16 slashBps) internal returns (ValidatorStaking s) {
        s = new ValidatorStaking(token, minStake, UNBONDING_DELAY, slashBps, address(this));
        s.setMarket(address(this));
        // release() pulls rewards from the market, i.e. from this contract.
        _fund(address(this), 1_000 ether);
        token.approve(address(s), type(uint256).max);
    }

    function _stakeDirect(address validator, uint256 amount) internal {
        _approve(validator, address(direct), amount);
        vm.prank(validator);
        direct.stake(amount);
    }

    // ------------------------------------------------------------ access

    function test_lockForTask_revertsForNonMarket() public {
        _stake(validator1, STAKE_1);
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNotMarket.selector, stranger));
        vm.prank(stranger);
        staking.lockForTask(validator1, 1, SLASH_BPS);
    }

    function test_release_revertsForNonMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNotMarket.selector, stranger));
        vm.prank(stranger);
        staking.release(validator1, 1, 100 ether, SLASH_BPS, 0);
    }

    /// @notice Nobody but the market can take a validator's stake, the owner included.
    function test_slash_revertsForNonMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNotMarket.selector, address(this)));
        staking.slash(validator1, 1, 100 ether, SLASH_BPS);
    }

    // ------------------------------------------------------------ lockForTask

    function test_lockForTask_locksSlashBpsOfStakeAndEmits() public {
        _stakeDirect(validator1, 400 ether);
        vm.expectEmit(true, true, true, true, address(direct));
        emit IValidatorStaking.StakeLocked(validator1, 7, 40 ether, 400 ether);
        (uint96 weight, uint256 locked) = direct.lockForTask(validator1, 7, SLASH_BPS);
        vm.assertEq(uint256(weight), 400 ether);
        vm.assertEq(locked, 40 ether);
        vm.assertEq(direct.lockedOf(validator1), 40 ether);
        vm.assertEq(direct.stakeOf(validator1), 400 ether); // a lock does not remove stake
    }

    function test_lockForTask_revertsBelowMinimum() public {
        _stakeDirect(validator1, MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorStaking.ValidatorStakingBelowMinimum.selector, validator1, MIN_STAKE - 1, MIN_STAKE
            )
        );
        direct.lockForTask(validator1, 1, SLASH_BPS);
    }

    /// @notice Even with no minimum configured, a validator without stake has no weight to lock.
    function test_lockForTask_revertsForZeroStakeWithZeroMinimum() public {
        direct = _directStaking(0, SLASH_BPS);
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingBelowMinimum.selector, validator1, 0, 0)
        );
        direct.lockForTask(validator1, 1, SLASH_BPS);
    }

    /// @notice Weights are recorded as uint96 by the market; a larger stake is refused rather
    /// than truncated into a smaller vote.
    function test_lockForTask_revertsAboveUint96() public {
        LabelToken big = new LabelToken(stranger, type(uint128).max);
        ValidatorStaking s = new ValidatorStaking(big, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
        s.setMarket(address(this));
        uint256 amount = uint256(type(uint96).max) + 1;
        vm.startPrank(stranger);
        big.approve(address(s), amount);
        s.stake(amount);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingStakeTooLarge.selector, amount));
        s.lockForTask(stranger, 1, SLASH_BPS);
    }

    /// @notice Locks across tasks add up to at most the active stake: with a 100% slash
    /// fraction, a second concurrent task finds no free stake.
    function test_lockForTask_revertsWhenFreeStakeTooSmall() public {
        _stakeDirect(validator1, 400 ether);
        direct.lockForTask(validator1, 1, 10_000); // the market may lock a whole stake
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorStaking.ValidatorStakingInsufficientFreeStake.selector, validator1, 40 ether, 0
            )
        );
        direct.lockForTask(validator1, 2, SLASH_BPS);
    }

    // ------------------------------------------------------------ release

    function test_release_unlocksAddsRewardAndEmits() public {
        _stakeDirect(validator1, 400 ether);
        (uint96 weight,) = direct.lockForTask(validator1, 7, SLASH_BPS);
        vm.expectEmit(true, true, true, true, address(direct));
        emit IValidatorStaking.StakeReleased(validator1, 7, 40 ether, 5 ether);
        direct.release(validator1, 7, weight, SLASH_BPS, 5 ether);
        vm.assertEq(direct.lockedOf(validator1), 0);
        vm.assertEq(direct.stakeOf(validator1), 405 ether);
        vm.assertEq(direct.totalStaked(), 405 ether);
        // The market sends the settlement's rewards in one transfer; then the balance backs
        // every stake again.
        vm.assertEq(token.balanceOf(address(direct)), 400 ether);
        vm.assertTrue(token.transfer(address(direct), 5 ether));
        vm.assertEq(token.balanceOf(address(direct)), direct.totalStaked() + direct.totalUnbonding());
    }

    function test_release_withoutRewardMovesNoTokens() public {
        _stakeDirect(validator1, 400 ether);
        (uint96 weight,) = direct.lockForTask(validator1, 7, SLASH_BPS);
        uint256 before = token.balanceOf(address(this));
        direct.release(validator1, 7, weight, SLASH_BPS, 0);
        vm.assertEq(token.balanceOf(address(this)), before);
        vm.assertEq(direct.lockedOf(validator1), 0);
        vm.assertEq(direct.stakeOf(validator1), 400 ether);
    }

    // ------------------------------------------------------------ slash

    function test_slash_takesLockSendsItToMarketAndEmits() public {
        _stakeDirect(validator1, 400 ether);
        (uint96 weight,) = direct.lockForTask(validator1, 7, SLASH_BPS);
        uint256 before = token.balanceOf(address(this));
        vm.expectEmit(true, true, true, true, address(direct));
        emit IValidatorStaking.Slashed(validator1, 7, 40 ether);
        uint256 slashed = direct.slash(validator1, 7, weight, SLASH_BPS);
        vm.assertEq(slashed, 40 ether);
        vm.assertEq(token.balanceOf(address(this)), before + 40 ether);
        vm.assertEq(direct.stakeOf(validator1), 360 ether);
        vm.assertEq(direct.lockedOf(validator1), 0);
        vm.assertEq(direct.totalStaked(), 360 ether);
        vm.assertEq(token.balanceOf(address(direct)), 360 ether);
    }

    /// @notice A slash only takes the slice locked for that task: other tasks' locks stay
    /// backed and the free stake is untouched.
    function test_slash_leavesOtherLocksAndFreeStake() public {
        _stakeDirect(validator1, 400 ether);
        (uint96 weight,) = direct.lockForTask(validator1, 1, SLASH_BPS);
        direct.lockForTask(validator1, 2, SLASH_BPS);
        direct.slash(validator1, 1, weight, SLASH_BPS);
        vm.assertEq(direct.lockedOf(validator1), 40 ether);
        vm.assertEq(direct.stakeOf(validator1) - direct.lockedOf(validator1), 320 ether);
    }

    /// @notice A weight too small for the slash fraction locks and slashes nothing, and moves no tokens.
    function test_slash_ofZeroLockTransfersNothing() public {
        direct = _directStaking(0, 1);
        _stakeDirect(validator1, 9_999);
        (uint96 weight, uint256 locked) = direct.lockForTask(validator1, 1, 1);
        vm.assertEq(locked, 0);
        uint256 before = token.balanceOf(address(this));
        vm.assertEq(direct.slash(validator1, 1, weight, 1), 0);
        vm.assertEq(token.balanceOf(address(this)), before);
        vm.assertEq(direct.stakeOf(validator1), 9_999);
    }

    // ------------------------------------------------------------ lockAmount

    function test_lockAmount_roundsDown() public view {
        vm.assertEq(direct.lockAmount(19, SLASH_BPS), 1); // 19 * 1000 / 10000 = 1.9
        vm.assertEq(direct.lockAmount(9, SLASH_BPS), 0);
    }

    function testFuzz_lockAmount_matchesFormula(uint96 weight, uint16 slashBps) public {
        slashBps = uint16(bound(slashBps, 0, 10_000));
        ValidatorStaking s = new ValidatorStaking(token, 0, UNBONDING_DELAY, SLASH_BPS, address(this));
        vm.assertEq(s.lockAmount(weight, slashBps), uint256(weight) * slashBps / 10_000);
        vm.assertLe(s.lockAmount(weight, slashBps), weight);
    }

    /// @notice However many tasks lock a validator, its locks never exceed its active stake,
    /// and it can always unstake exactly what is free.
    function testFuzz_lockForTask_lockNeverExceedsActiveStake(uint256 amount, uint16 slashBps, uint8 tasks) public {
        amount = bound(amount, MIN_STAKE, 1_000 ether);
        slashBps = uint16(bound(slashBps, 1, 1428));
        tasks = uint8(bound(tasks, 1, 40));
        direct = _directStaking(MIN_STAKE, slashBps);
        _stakeDirect(validator1, amount);
        // forge-lint: disable-next-line(unsafe-typecast) -- amount <= 1000 ether.
        uint256 lock = direct.lockAmount(uint96(amount), slashBps);
        for (uint256 t = 1; t <= tasks; ++t) {
            if (direct.lockedOf(validator1) + lock > amount) {
                vm.expectPartialRevert(IValidatorStaking.ValidatorStakingInsufficientFreeStake.selector);
            }
            direct.lockForTask(validator1, t, slashBps);
            vm.assertLe(direct.lockedOf(validator1), direct.stakeOf(validator1));
        }
        uint256 free = amount - direct.lockedOf(validator1);
        if (free > 0) {
            vm.prank(validator1);
            direct.requestUnstake(free);
        }
        vm.assertEq(direct.stakeOf(validator1), direct.lockedOf(validator1));
    }

    // ------------------------------------------------------------ v2: lock share, freeze

    function test_lockForTask_revertsForALockShareAboveTheWhole() public {
        _stakeDirect(validator1, 400 ether);
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingInvalidLockBps.selector, 10_001));
        direct.lockForTask(validator1, 1, 10_001);
    }

    /// @notice Each round-2 vote freezes the voter's stake once; it may unstake again only when
    /// every such vote is settled, and an unfreeze without a freeze is refused.
    function test_freeze_blocksUnstakingUntilEveryVoteIsSettled() public {
        _stakeDirect(validator1, 400 ether);
        vm.assertEq(direct.version(), 2);
        vm.expectEmit(true, true, true, true, address(direct));
        emit IValidatorStaking.FreezeChanged(validator1, 1);
        direct.freeze(validator1);
        direct.freeze(validator1);
        vm.prank(validator1);
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingFrozen.selector, validator1));
        direct.requestUnstake(1 ether);
        direct.unfreeze(validator1);
        vm.assertEq(direct.frozenOf(validator1), 1);
        direct.unfreeze(validator1);
        vm.prank(validator1);
        direct.requestUnstake(1 ether);
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNotFrozen.selector, validator1));
        direct.unfreeze(validator1);
    }

    function test_freeze_revertsForNonMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNotMarket.selector, stranger));
        vm.prank(stranger);
        staking.freeze(validator1);
    }
}
