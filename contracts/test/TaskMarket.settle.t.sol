// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice Settling the committee at finalization: losers are slashed, the validator fee and
/// the slashed stake are shared pro rata among the winners, and rounding dust is refunded.
contract TaskMarketSettleTest is LabelnetFixture {
    bytes32 internal constant BAD_ROOT = keccak256("bad root");

    uint256 internal taskId;

    function setUp() public override {
        super.setUp();
        taskId = _revealedTask();
    }

    /// @notice validator1 (400) and validator2 (300) attest the honest root, validator3 (200)
    /// a bad one.
    function _finalizeTwoAgainstOne() internal {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attest(taskId, validator3, BAD_ROOT, 1 ether);
        market.finalize(taskId);
    }

    function test_finalize_slashesMinorityRoot() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attest(taskId, validator3, BAD_ROOT, 1 ether);
        vm.expectEmit(true, true, true, true, address(staking));
        emit IValidatorStaking.Slashed(validator3, taskId, 20 ether);
        market.finalize(taskId);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 - 20 ether);
        vm.assertEq(staking.lockedOf(validator3), 0);
    }

    function test_finalize_sharesFeeAndSlashedStakeProRata() public {
        uint256 pool = VALIDATOR_FEE + 20 ether;
        uint256 reward1 = pool * STAKE_1 / 700 ether;
        uint256 reward2 = pool * STAKE_2 / 700 ether;
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attest(taskId, validator3, BAD_ROOT, 1 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.ValidatorRewarded(taskId, validator1, reward1);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.ValidatorRewarded(taskId, validator2, reward2);
        market.finalize(taskId);
        vm.assertEq(staking.stakeOf(validator1), STAKE_1 + reward1);
        vm.assertEq(staking.stakeOf(validator2), STAKE_2 + reward2);
        // Winners' locks are lifted; their rewards are ordinary (free) stake.
        vm.assertEq(staking.lockedOf(validator1) + staking.lockedOf(validator2), 0);
    }

    /// @notice 23 LABEL split 4:3 does not divide evenly: the wei left over is refunded to the
    /// requester, not stuck in the market.
    function test_finalize_sendsRoundingDustToRefund() public {
        _finalizeTwoAgainstOne();
        uint256 pool = VALIDATOR_FEE + 20 ether;
        uint256 dust = pool - pool * STAKE_1 / 700 ether - pool * STAKE_2 / 700 ether;
        vm.assertEq(dust, 1);
        vm.assertEq(uint256(_task(taskId).refundable), REWARD_POOL - HONEST_TOTAL + dust);
        // The refund was pushed: the market keeps exactly the unclaimed payouts.
        vm.assertEq(token.balanceOf(address(market)), HONEST_TOTAL);
    }

    /// @notice Winners split the fee alone when nobody is slashed.
    function test_finalize_paysWholeFeeToUnanimousCommittee() public {
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        _attestHonest(taskId, validator4);
        _warpPastAttest(taskId);
        market.finalize(taskId);
        vm.assertEq(staking.stakeOf(validator2), STAKE_2 + 1.5 ether);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 + 1 ether);
        vm.assertEq(staking.stakeOf(validator4), STAKE_4 + 0.5 ether);
        vm.assertEq(uint256(_task(taskId).refundable), REWARD_POOL - HONEST_TOTAL);
    }

    /// @notice Slashing moves tokens between the contracts but never creates or loses any.
    function test_finalize_keepsStakingBalanceEqualToStakes() public {
        _finalizeTwoAgainstOne();
        vm.assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalUnbonding());
        // The fee and validator3's 20 LABEL moved to the winners, less 1 wei of rounding dust.
        vm.assertEq(staking.totalStaked(), 1_000 ether + VALIDATOR_FEE - 1);
    }

    /// @notice A slashed validator keeps the rest of its stake and can leave with it.
    function test_finalize_slashedValidatorCanStillUnstakeTheRest() public {
        _finalizeTwoAgainstOne();
        vm.prank(validator3);
        staking.requestUnstake(STAKE_3 - 20 ether);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.prank(validator3);
        staking.withdraw();
        vm.assertEq(token.balanceOf(validator3), 1_000 ether - 20 ether);
    }

    // ------------------------------------------------------------ fuzz

    /// @notice One fuzzed committee: three validators with random stakes, each voting honest
    /// (bit set in `votes`) or bad.
    struct Vote3 {
        address[3] vals;
        uint256[3] stakes;
        uint8 votes;
        uint256 fee;
        uint256 total;
        uint256 honestWeight;
    }

    function _isHonest(Vote3 memory c, uint256 i) internal pure returns (bool) {
        return (c.votes >> i) & 1 == 1;
    }

    /// @notice Stake, post a task with `c.fee`, reveal, and have the three validators attest.
    function _runCommittee(Vote3 memory c) internal returns (uint256 id) {
        _deploy(MIN_STAKE, SLASH_BPS, MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS);
        c.vals = [validator1, validator2, validator3];
        for (uint256 i; i < 3; ++i) {
            c.stakes[i] = bound(c.stakes[i], MIN_STAKE, 1_000 ether);
            _stake(c.vals[i], c.stakes[i]);
            c.total += c.stakes[i];
            if (_isHonest(c, i)) c.honestWeight += c.stakes[i];
        }
        ITaskMarket.TaskParams memory p = _params();
        // forge-lint: disable-next-line(unsafe-typecast) -- bounded by the caller.
        p.validatorFee = uint128(c.fee);
        _fund(requester, c.fee);
        id = _createTask(p);
        _commit(id, annotatorA);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        for (uint256 i; i < 3; ++i) {
            if (_isHonest(c, i)) _attestHonest(id, c.vals[i]);
            else _attest(id, c.vals[i], BAD_ROOT, 1 ether);
        }
    }

    /// @notice For random stakes, votes and fee (all stake in the committee): the result with
    /// more than half of all stake is final (rule M), an exact tie opens round 1 with nothing
    /// slashed; losers lose exactly their lock; each winner gets floor(pool * lock /
    /// winningLocks); rewards + dust == fee + slashed; the market keeps exactly the payout.
    function testFuzz_finalize_twoThirdsRuleAndFeeSplit(uint256[3] memory stakes, uint8 votes, uint256 fee) public {
        Vote3 memory c;
        (c.stakes, c.votes, c.fee) = (stakes, votes, bound(fee, 0, 1_000 ether));
        uint256 id = _runCommittee(c);
        uint256 best = c.honestWeight * 2 >= c.total ? c.honestWeight : c.total - c.honestWeight;
        bool honestWins = best == c.honestWeight;
        _warpPastAttest(id);
        market.finalize(id);

        if (best * 2 <= c.total) {
            vm.assertEq(uint256(_task(id).status), uint256(ITaskMarket.TaskStatus.Open));
            vm.assertEq(uint256(_task(id).round), 1);
            for (uint256 i; i < 3; ++i) {
                vm.assertEq(staking.stakeOf(c.vals[i]), c.stakes[i]);
            }
            vm.assertEq(uint256(_task(id).refundable), 0, "nothing is refunded while open");
            return;
        }
        vm.assertEq(uint256(_task(id).status), uint256(ITaskMarket.TaskStatus.Finalized));
        vm.assertEq(_task(id).payoutRoot, honestWins ? honestTree.nodes[0] : BAD_ROOT);
        uint256 slashed;
        uint256 winningLocks;
        for (uint256 i; i < 3; ++i) {
            if (_isHonest(c, i) != honestWins) slashed += c.stakes[i] * SLASH_BPS / 10_000;
            else winningLocks += c.stakes[i] * SLASH_BPS / 10_000;
        }
        uint256 rewards;
        for (uint256 i; i < 3; ++i) {
            uint256 expected;
            if (_isHonest(c, i) == honestWins) {
                uint256 reward = (c.fee + slashed) * (c.stakes[i] * SLASH_BPS / 10_000) / winningLocks;
                rewards += reward;
                expected = c.stakes[i] + reward;
            } else {
                expected = c.stakes[i] - c.stakes[i] * SLASH_BPS / 10_000;
            }
            vm.assertEq(staking.stakeOf(c.vals[i]), expected);
            vm.assertEq(staking.lockedOf(c.vals[i]), 0);
        }
        _assertSettled(id, c.fee + slashed - rewards);
    }

    function _assertSettled(uint256 id, uint256 dust) internal view {
        vm.assertLt(dust, 3); // less than one wei per winner is lost to rounding
        uint256 payout = _task(id).totalPayout;
        vm.assertEq(uint256(_task(id).refundable), REWARD_POOL - payout + dust);
        vm.assertEq(token.balanceOf(address(market)), payout, "the refund was pushed");
        vm.assertEq(token.balanceOf(address(staking)), staking.totalStaked());
    }
}
