// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice When finalize may run and which outcome it picks: the 2/3 rule, minAttestations,
/// disputes, and the early-finalization conditions. Slashing and the reward split are in
/// TaskMarket.settle.t.sol.
contract TaskMarketFinalizeTest is LabelnetFixture {
    bytes32 internal constant BAD_ROOT = keccak256("bad root");
    uint128 internal constant BAD_TOTAL = 30 ether;

    uint256 internal taskId;

    function setUp() public override {
        super.setUp();
        taskId = _revealedTask();
    }

    function _attestBad(uint256 id, address validator) internal {
        _attest(id, validator, BAD_ROOT, BAD_TOTAL);
    }

    function _assertStatus(uint256 id, ITaskMarket.TaskStatus status) internal view {
        vm.assertEq(uint256(_task(id).status), uint256(status));
    }

    // ------------------------------------------------------------ outcome

    function test_finalize_picksRootWithTwoThirdsOfAttestingStake() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attestBad(taskId, validator3);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskFinalized(taskId, honestTree.nodes[0], HONEST_TOTAL, 700 ether, 900 ether);
        market.finalize(taskId);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Finalized));
        vm.assertEq(t.payoutRoot, honestTree.nodes[0]);
        vm.assertEq(uint256(t.totalPayout), HONEST_TOTAL);
    }

    /// @notice Exactly 2/3 of the attesting stake is enough (the rule is "at least").
    function test_finalize_acceptsExactlyTwoThirds() public {
        _attestHonest(taskId, validator1); // 400
        _attest(taskId, validator2, honestTree.nodes[0], HONEST_TOTAL + 1); // 300, another result
        _attestHonest(taskId, validator3); // 200: 600 of 900
        _warpPastAttest(taskId);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
        // The same root with another total is a different result and loses.
        vm.assertEq(uint256(_task(taskId).totalPayout), HONEST_TOTAL);
    }

    function test_finalize_disputesWithoutTwoThirds() public {
        _attestHonest(taskId, validator1); // 400
        _attestBad(taskId, validator2); // 300
        _attestBad(taskId, validator3); // 200: best 500 of 900
        _warpPastAttest(taskId);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskDisputed(taskId, 500 ether, 900 ether);
        market.finalize(taskId);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Disputed));
        vm.assertEq(t.payoutRoot, bytes32(0));
        vm.assertEq(uint256(t.refundable), REWARD_POOL + VALIDATOR_FEE);
    }

    /// @notice A dispute slashes nobody: no result was proven wrong.
    function test_finalize_disputeReleasesEveryLockWithoutSlashing() public {
        _attestHonest(taskId, validator1);
        _attestBad(taskId, validator2);
        _attestBad(taskId, validator3);
        _warpPastAttest(taskId);
        market.finalize(taskId);
        vm.assertEq(staking.stakeOf(validator1), STAKE_1);
        vm.assertEq(staking.stakeOf(validator2), STAKE_2);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3);
        vm.assertEq(staking.lockedOf(validator1) + staking.lockedOf(validator2) + staking.lockedOf(validator3), 0);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE);
    }

    function test_finalize_disputesTie() public {
        _attestHonest(taskId, validator2); // 300
        _attestBad(taskId, validator3); // 200
        _attestBad(taskId, validator4); // 100
        _warpPastAttest(taskId);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Disputed);
    }

    /// @notice A unanimous result from fewer than minAttestations validators does not win.
    function test_finalize_disputesBelowMinAttestations() public {
        _attestHonest(taskId, validator1);
        _warpPastAttest(taskId);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskDisputed(taskId, STAKE_1, STAKE_1);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Disputed);
        vm.assertEq(staking.lockedOf(validator1), 0);
    }

    /// @notice Nobody attested before the deadline: the task does not hang, it is disputed.
    function test_finalize_disputesWithoutAttestations() public {
        _warpPastAttest(taskId);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Disputed);
        vm.assertEq(uint256(_task(taskId).refundable), REWARD_POOL + VALIDATOR_FEE);
    }

    /// @notice Committed but nobody revealed: disputed as soon as the reveal window closes,
    /// and the unrevealed bonds go to the requester with the escrow.
    function test_finalize_disputesWhenNobodyRevealed() public {
        uint256 id = _createTask();
        _commit(id, annotatorA);
        _commit(id, annotatorB);
        _warpToAttest(id);
        market.finalize(id);
        _assertStatus(id, ITaskMarket.TaskStatus.Disputed);
        vm.assertEq(uint256(_task(id).refundable), REWARD_POOL + VALIDATOR_FEE + 2 * BOND);
    }

    function test_finalize_revertsBeforeRevealDeadlineWithoutReveals() public {
        uint256 id = _createTask();
        vm.warp(_task(id).revealDeadline);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, id, 0, 1_000 ether));
        market.finalize(id);
    }

    /// @notice Bonds of annotators who committed but never revealed are forfeited to the requester.
    function test_finalize_forfeitsUnrevealedBondsToRefund() public {
        uint256 id = _createTask();
        _commit(id, annotatorA);
        _commit(id, annotatorB);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        _attestHonest(id, validator1);
        _attestHonest(id, validator2);
        market.finalize(id);
        // 30 pool - 24 attested + 0.5 forfeited bond (B never revealed) + the rounding dust of
        // splitting the 3 LABEL fee 4:3.
        uint256 fee1 = uint256(VALIDATOR_FEE) * STAKE_1 / 700 ether;
        uint256 fee2 = uint256(VALIDATOR_FEE) * STAKE_2 / 700 ether;
        uint256 dust = VALIDATOR_FEE - fee1 - fee2;
        vm.assertEq(uint256(_task(id).refundable), REWARD_POOL - HONEST_TOTAL + BOND + dust);
    }

    // ------------------------------------------------------------ early finalization

    /// @notice A full committee is no longer a reason to finalize early: whoever fills the
    /// seats first must not decide the task before heavier validators could take them.
    function test_finalize_fullCommitteeAloneIsNotAnEarlyQuorum() public {
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        _attestHonest(taskId, validator4); // 600 of 1000 staked, every seat taken
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 600 ether, 1000 ether)
        );
        market.finalize(taskId);
        _warpPastAttest(taskId);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
    }

    function test_finalize_earlyWithTwoThirdsOfAllStake() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2); // 700 of 1000
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
    }

    function test_finalize_revertsEarlyWithoutTwoThirdsOfAllStake() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator3); // 600 of 1000
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 600 ether, 1_000 ether)
        );
        market.finalize(taskId);
    }

    function test_finalize_revertsEarlyWithoutAttestations() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 0, 1_000 ether));
        market.finalize(taskId);
    }

    /// @notice The attest deadline is the last second of the attest window, so finalizing at
    /// that second still needs an early quorum.
    function test_finalize_revertsEarlyAtAttestDeadline() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator3);
        vm.warp(_task(taskId).attestDeadline);
        vm.expectPartialRevert(ITaskMarket.TaskMarketNoEarlyQuorum.selector);
        market.finalize(taskId);
        vm.warp(_task(taskId).attestDeadline + 1);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
    }

    /// @notice Regression: a lone validator holding 2/3 of all stake used to be finalizable
    /// at once, and with fewer than minAttestations that meant anyone (the requester, say)
    /// could turn a task into a full-refund dispute right after the first attestation.
    function test_finalize_revertsEarlyBelowMinAttestations() public {
        _deploy(MIN_STAKE, SLASH_BPS, MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS);
        _stake(validator1, STAKE_1);
        _stake(validator4, STAKE_4); // validator1 holds 80% of all stake
        uint256 id = _createTask();
        _commit(id, annotatorA);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        _attestHonest(id, validator1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, id, 0, 500 ether));
        market.finalize(id);
        _attestHonest(id, validator4);
        market.finalize(id);
        _assertStatus(id, ITaskMarket.TaskStatus.Finalized);
    }

    /// @notice Regression: recorded weights were compared with the live total stake, so
    /// attesters of a bad root holding half the stake could unstake their free stake right
    /// after attesting, shrink the total, and finalize their root before honest validators
    /// attested. Only stake still held counts now.
    function test_finalize_revertsEarlyWhenAttestersUnstaked() public {
        _attestBad(taskId, validator1); // 400
        _attestBad(taskId, validator4); // 100: half of all stake
        vm.startPrank(validator1);
        staking.requestUnstake(STAKE_1 - STAKE_1 / 10);
        vm.stopPrank();
        vm.prank(validator4);
        staking.requestUnstake(STAKE_4 - STAKE_4 / 10);
        // Live total 550; recorded bad weight 500 would pass 2/3, its backing of 50 does not.
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 50 ether, 550 ether)
        );
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Open);
    }

    /// @notice An early finalize must not turn a task into a dispute: if the best result does
    /// not hold 2/3 of the attesting weight yet, finalize waits for the deadline.
    function test_finalize_revertsEarlyWhenBestLacksTwoThirdsOfAttesting() public {
        _deploy(MIN_STAKE, SLASH_BPS, 4, MIN_ATTESTATIONS, QUORUM_BPS);
        taskId = _revealedTask();
        _attestBad(taskId, validator1); // 400, then unstakes all it can
        vm.prank(validator1);
        staking.requestUnstake(STAKE_1 - STAKE_1 / 10);
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3); // 500 of 640 live stake, but only 500 of 900 attesting
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 0, 640 ether));
        market.finalize(taskId);
    }

    /// @notice A validator that topped up its stake after attesting backs its vote with its
    /// attested weight only.
    function test_finalize_capsBackingAtAttestedWeight() public {
        _attestHonest(taskId, validator1); // 400
        _attestHonest(taskId, validator3); // 200
        _stake(validator1, 600 ether); // total 1600: 600 backing < 2/3
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketNoEarlyQuorum.selector, taskId, 600 ether, 1_600 ether)
        );
        market.finalize(taskId);
    }

    // ------------------------------------------------------------ status

    function test_finalize_revertsWhenAlreadyFinalized() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        market.finalize(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Finalized)
        );
        market.finalize(taskId);
    }

    function test_finalize_revertsOnCancelledTask() public {
        uint256 id = _createTask();
        vm.prank(requester);
        market.cancel(id);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, id, ITaskMarket.TaskStatus.Cancelled)
        );
        market.finalize(id);
    }

    function test_finalize_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 9));
        market.finalize(9);
    }
}
