// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {LabelToken} from "../src/LabelToken.sol";
import {ValidatorStaking} from "../src/ValidatorStaking.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice ValidatorStaking: construction, the one-time market, and the validator's own
/// stake / unstake / withdraw cycle. The market-only calls are in ValidatorStaking.market.t.sol.
contract ValidatorStakingTest is LabelnetFixture {
    // ------------------------------------------------------------ constructor

    function test_constructor_setsParameters() public view {
        vm.assertEq(address(staking.token()), address(token));
        vm.assertEq(staking.minStake(), MIN_STAKE);
        vm.assertEq(uint256(staking.unbondingDelay()), UNBONDING_DELAY);
        vm.assertEq(uint256(staking.slashBps()), SLASH_BPS);
        vm.assertEq(staking.owner(), address(this));
        vm.assertEq(staking.market(), address(market));
    }

    function test_constructor_revertsForZeroToken() public {
        vm.expectRevert(IValidatorStaking.ValidatorStakingZeroAddress.selector);
        new ValidatorStaking(IERC20(address(0)), MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
    }

    function test_constructor_revertsForZeroSlashBps() public {
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingInvalidSlashBps.selector, 0));
        new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, 0, address(this));
    }

    /// @notice Three rounds lock slashBps, twice and four times it: 7 * slashBps must fit 10000.
    function test_constructor_revertsForSlashBpsAboveASeventh() public {
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingInvalidSlashBps.selector, 1429));
        new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, 1429, address(this));
        new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, 1428, address(this));
    }

    function test_constructor_revertsForZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(0));
    }

    /// @notice Every slash fraction in (0, 10000 / 7] is accepted, and only those.
    function testFuzz_constructor_acceptsSlashBpsInRange(uint16 slashBps) public {
        if (slashBps == 0 || uint256(slashBps) * 7 > 10_000) {
            vm.expectRevert(
                abi.encodeWithSelector(IValidatorStaking.ValidatorStakingInvalidSlashBps.selector, slashBps)
            );
        }
        ValidatorStaking s = new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, slashBps, address(this));
        if (slashBps != 0 && uint256(slashBps) * 7 <= 10_000) vm.assertEq(uint256(s.slashBps()), slashBps);
    }

    // ------------------------------------------------------------ setMarket

    function test_setMarket_setsOnceAndEmits() public {
        ValidatorStaking s = new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
        vm.expectEmit(true, true, true, true, address(s));
        emit IValidatorStaking.MarketSet(address(market));
        s.setMarket(address(market));
        vm.assertEq(s.market(), address(market));
    }

    function test_setMarket_revertsForNonOwner() public {
        ValidatorStaking s = new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        s.setMarket(address(market));
    }

    function test_setMarket_revertsForZeroAddress() public {
        ValidatorStaking s = new ValidatorStaking(token, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
        vm.expectRevert(IValidatorStaking.ValidatorStakingZeroAddress.selector);
        s.setMarket(address(0));
    }

    /// @notice Once named, the market can never be swapped for one that slashes at will.
    function test_setMarket_revertsWhenAlreadySet() public {
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingMarketAlreadySet.selector, address(market))
        );
        staking.setMarket(stranger);
    }

    // ------------------------------------------------------------ stake

    function test_stake_pullsTokensAndEmits() public {
        _approve(validator1, address(staking), 150 ether);
        vm.expectEmit(true, true, true, true, address(staking));
        emit IValidatorStaking.Staked(validator1, 150 ether, 150 ether);
        vm.prank(validator1);
        staking.stake(150 ether);
        vm.assertEq(staking.stakeOf(validator1), 150 ether);
        vm.assertEq(staking.totalStaked(), 150 ether);
        vm.assertEq(token.balanceOf(address(staking)), 150 ether);
        vm.assertEq(token.balanceOf(validator1), 850 ether);
    }

    function test_stake_accumulates() public {
        _stake(validator1, 100 ether);
        _approve(validator1, address(staking), 50 ether);
        vm.expectEmit(true, true, true, true, address(staking));
        emit IValidatorStaking.Staked(validator1, 50 ether, 150 ether);
        vm.prank(validator1);
        staking.stake(50 ether);
        vm.assertEq(staking.stakeOf(validator1), 150 ether);
    }

    function test_stake_revertsForZeroAmount() public {
        vm.expectRevert(IValidatorStaking.ValidatorStakingZeroAmount.selector);
        vm.prank(validator1);
        staking.stake(0);
    }

    function test_stake_revertsWithoutAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 0, 100 ether)
        );
        vm.prank(validator1);
        staking.stake(100 ether);
    }

    /// @notice A stake that no longer fits the 128-bit account slot is refused, not truncated.
    function test_stake_revertsBeyondUint128() public {
        LabelToken big = new LabelToken(stranger, type(uint256).max);
        ValidatorStaking s = new ValidatorStaking(big, MIN_STAKE, UNBONDING_DELAY, SLASH_BPS, address(this));
        vm.startPrank(stranger);
        big.approve(address(s), type(uint256).max);
        s.stake(type(uint128).max);
        vm.expectRevert(
            abi.encodeWithSelector(
                SafeCast.SafeCastOverflowedUintDowncast.selector, 128, uint256(type(uint128).max) + 1
            )
        );
        s.stake(1);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ requestUnstake

    function test_requestUnstake_movesStakeToUnbondingAndEmits() public {
        _stake(validator1, 300 ether);
        uint64 releaseAt = uint64(block.timestamp) + UNBONDING_DELAY;
        vm.expectEmit(true, true, true, true, address(staking));
        emit IValidatorStaking.UnstakeRequested(validator1, 100 ether, releaseAt);
        vm.prank(validator1);
        staking.requestUnstake(100 ether);
        vm.assertEq(staking.stakeOf(validator1), 200 ether);
        vm.assertEq(staking.totalStaked(), 200 ether);
        vm.assertEq(staking.totalUnbonding(), 100 ether);
        IValidatorStaking.Unbonding memory u = staking.unbondingOf(validator1);
        vm.assertEq(uint256(u.amount), 100 ether);
        vm.assertEq(uint256(u.releaseAt), releaseAt);
    }

    /// @notice A later request restarts the delay for the whole pending balance, so staggering
    /// requests cannot shorten the wait of the earlier part.
    function test_requestUnstake_restartsDelayForWholeBalance() public {
        _stake(validator1, 300 ether);
        vm.prank(validator1);
        staking.requestUnstake(100 ether);
        vm.warp(block.timestamp + 5 days);
        vm.prank(validator1);
        staking.requestUnstake(50 ether);
        IValidatorStaking.Unbonding memory u = staking.unbondingOf(validator1);
        vm.assertEq(uint256(u.amount), 150 ether);
        vm.assertEq(uint256(u.releaseAt), block.timestamp + UNBONDING_DELAY);
    }

    function test_requestUnstake_revertsForZeroAmount() public {
        _stake(validator1, 300 ether);
        vm.expectRevert(IValidatorStaking.ValidatorStakingZeroAmount.selector);
        vm.prank(validator1);
        staking.requestUnstake(0);
    }

    function test_requestUnstake_revertsAboveActiveStake() public {
        _stake(validator1, 300 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorStaking.ValidatorStakingInsufficientFreeStake.selector, validator1, 301 ether, 300 ether
            )
        );
        vm.prank(validator1);
        staking.requestUnstake(301 ether);
    }

    /// @notice Stake locked by an attestation cannot leave before the task settles.
    function test_requestUnstake_revertsForLockedStake() public {
        uint256 taskId = _revealedTask();
        _attestHonest(taskId, validator1); // locks 10% of 400
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorStaking.ValidatorStakingInsufficientFreeStake.selector, validator1, STAKE_1, 360 ether
            )
        );
        vm.prank(validator1);
        staking.requestUnstake(STAKE_1);
        vm.prank(validator1);
        staking.requestUnstake(360 ether); // everything but the lock may go
        vm.assertEq(staking.stakeOf(validator1), 40 ether);
        vm.assertEq(staking.lockedOf(validator1), 40 ether);
    }

    // ------------------------------------------------------------ withdraw

    function test_withdraw_returnsTokensAfterDelayAndEmits() public {
        _stake(validator1, 300 ether);
        vm.prank(validator1);
        staking.requestUnstake(120 ether);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.expectEmit(true, true, true, true, address(staking));
        emit IValidatorStaking.Withdrawn(validator1, 120 ether);
        vm.prank(validator1);
        staking.withdraw();
        vm.assertEq(token.balanceOf(validator1), 820 ether);
        vm.assertEq(staking.totalUnbonding(), 0);
        vm.assertEq(uint256(staking.unbondingOf(validator1).amount), 0);
        vm.assertEq(token.balanceOf(address(staking)), 180 ether);
    }

    function test_withdraw_revertsWhenNothingUnbonding() public {
        _stake(validator1, 300 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNothingToWithdraw.selector, validator1)
        );
        vm.prank(validator1);
        staking.withdraw();
    }

    function test_withdraw_revertsBeforeDelay() public {
        _stake(validator1, 300 ether);
        vm.prank(validator1);
        staking.requestUnstake(120 ether);
        uint64 releaseAt = uint64(block.timestamp) + UNBONDING_DELAY;
        vm.warp(releaseAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingStillUnbonding.selector, validator1, releaseAt)
        );
        vm.prank(validator1);
        staking.withdraw();
    }

    function test_withdraw_revertsOnSecondCall() public {
        _stake(validator1, 300 ether);
        vm.prank(validator1);
        staking.requestUnstake(120 ether);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.prank(validator1);
        staking.withdraw();
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingNothingToWithdraw.selector, validator1)
        );
        vm.prank(validator1);
        staking.withdraw();
    }

    /// @notice Any stake / unstake / withdraw sequence returns exactly what went in, and the
    /// contract's balance always equals active plus unbonding stake.
    function testFuzz_stake_roundTripConservesTokens(uint256 amount, uint256 unstake, uint256 wait) public {
        amount = bound(amount, 1, 1_000 ether);
        unstake = bound(unstake, 1, amount);
        wait = bound(wait, 0, 2 * UNBONDING_DELAY);
        _stake(validator1, amount);
        vm.prank(validator1);
        staking.requestUnstake(unstake);
        vm.assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalUnbonding());
        vm.warp(block.timestamp + wait);
        if (wait < UNBONDING_DELAY) vm.expectPartialRevert(IValidatorStaking.ValidatorStakingStillUnbonding.selector);
        vm.prank(validator1);
        staking.withdraw();
        uint256 back = wait < UNBONDING_DELAY ? 0 : unstake;
        vm.assertEq(token.balanceOf(validator1), 1_000 ether - amount + back);
        vm.assertEq(staking.stakeOf(validator1), amount - unstake);
        vm.assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalUnbonding());
    }
}
