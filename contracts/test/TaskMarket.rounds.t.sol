// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice The settlement rounds of market v2 (docs/settlement.md §2): rule M, rule P and the
/// challenge, appeals, round 2's tally and liveness rule, `settleVote`, and the scenarios of
/// §6 (requester_third_stake, no_validator, cartel_two_thirds). Stakes are the fixture's:
/// validator1..4 hold 400/300/200/100 of 1000 LABEL, the committee has 3 seats and a winner
/// needs 2 attestations and a third of all stake (3334 bps).
contract TaskMarketRoundsTest is LabelnetFixture {
    using PayoutTree for PayoutTree.Tree;

    bytes32 internal constant BAD_ROOT = keccak256("bad root");
    uint128 internal constant BAD_TOTAL = 1 ether;

    uint256 internal taskId;
    bytes32 internal honestRoot;

    function setUp() public override {
        super.setUp();
        taskId = _revealedTask();
        honestRoot = honestTree.root();
    }

    function _attestBad(address validator) internal {
        _attest(taskId, validator, BAD_ROOT, BAD_TOTAL);
    }

    function _round() internal view returns (uint256) {
        return _task(taskId).round;
    }

    function _status() internal view returns (ITaskMarket.TaskStatus) {
        return _task(taskId).status;
    }

    function _assertFinalHonest() internal view {
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Finalized));
        vm.assertEq(t.payoutRoot, honestRoot);
        vm.assertEq(uint256(t.totalPayout), HONEST_TOTAL);
    }

    /// @notice The requester gets `pool - owed` (plus the dust of the fee split) and nothing of
    /// what the honest root owes the annotators.
    function _assertRefundIsPoolMinusOwed() internal view {
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertTrue(t.refunded);
        vm.assertGe(uint256(t.refundable), REWARD_POOL - HONEST_TOTAL, "the unspent pool comes back");
        vm.assertLt(uint256(t.refundable), REWARD_POOL - HONEST_TOTAL + 8); // only rounding dust on top
        vm.assertEq(token.balanceOf(requester), 10_000 ether - REWARD_POOL - VALIDATOR_FEE + t.refundable);
    }

    function _claimAll() internal {
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
        market.claim(taskId, annotatorB, 8 ether, _honestProof(1));
        market.claim(taskId, annotatorC, 6 ether, _honestProof(2));
        vm.assertEq(uint256(_task(taskId).paidOut), HONEST_TOTAL, "annotators are paid exactly what is owed");
    }

    // ------------------------------------------------------------ rule M

    function test_M_needsMoreThanHalfOfAllStake() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator4); // 500 of 1000: exactly half is not a majority
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotFinal.selector, taskId, 500 ether, 1000 ether));
        market.finalize(taskId);
        _attestHonest(taskId, validator3); // 700
        market.finalize(taskId);
        _assertFinalHonest();
        _assertRefundIsPoolMinusOwed();
    }

    // ------------------------------------------------------------ rule P and the challenge

    /// @notice 400 of 600 attesting for the honest root, 400 >= the quorum but not a majority of
    /// all stake: provisional at the deadline, final after an unappealed challenge period, and
    /// the minority is slashed only then.
    function test_P_provisionalThenFinalAfterChallenge() public {
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator4);
        _attestBad(validator3);
        _warpPastAttest(taskId);
        uint64 ends = uint64(block.timestamp + market.CHALLENGE_PERIOD());
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.ResultProvisional(taskId, 0, honestRoot, HONEST_TOTAL, 400 ether, ends);
        market.finalize(taskId);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertTrue(t.provisional);
        vm.assertEq(t.payoutRoot, honestRoot, "the view shows the provisional root");
        vm.assertEq(uint256(t.roundDeadline), ends);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3, "nothing is slashed while provisional");
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketChallengeOpen.selector, taskId, ends));
        market.finalize(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketChallengeOpen.selector, taskId, ends));
        market.refund(taskId);

        vm.warp(ends + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, ends));
        _attestHonest(taskId, validator1); // too late to appeal
        market.finalize(taskId);
        _assertFinalHonest();
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 - 20 ether, "the minority is slashed at the end");
        _assertRefundIsPoolMinusOwed();
        _claimAll();
    }

    /// @notice Without 2/3 of the round's attesting weight, the deadline opens round 1.
    function test_noTwoThirds_opensRoundOne() public {
        _attestHonest(taskId, validator3);
        _attestBad(validator2);
        _warpPastAttest(taskId);
        uint64 deadline = uint64(block.timestamp + market.APPEAL_WINDOW());
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.RoundOpened(taskId, 1, deadline);
        market.finalize(taskId);
        vm.assertEq(_round(), 1);
        vm.assertEq(uint256(_task(taskId).roundDeadline), deadline);
        vm.assertEq(uint256(market.phaseOf(taskId)), uint256(ITaskMarket.Phase.Attest));
        // Round 1 locks twice the share: 20% of validator1's 400.
        _attestHonest(taskId, validator1);
        vm.assertEq(staking.lockedOf(validator1), 80 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyVoted.selector, taskId, 1, validator1));
        _attestHonest(taskId, validator1);
        vm.assertEq(market.roundAttestations(taskId, 1).length, 1);
        vm.assertEq(market.roundAttestations(taskId, 0).length, 2, "round 0 keeps its votes");
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, deadline));
        _attestHonest(taskId, validator4);
    }

    // ------------------------------------------------------------ §6 scenarios

    /// @notice requester_third_stake: the requester's validator (validator1, 400 of the 700
    /// attesting in round 0) attests a root paying less. Round 0 has no 2/3 winner; honest stake
    /// attests in round 1 and decides by M. The requester's vote is slashed 10%, its refund is
    /// `pool - owed`, and the honest round-0 voters are paid.
    function test_scenario_requesterThirdStake() public {
        _attestBad(validator1);
        _attestHonest(taskId, validator3);
        _attestHonest(taskId, validator4);
        _warpPastAttest(taskId);
        market.finalize(taskId); // round 1
        vm.assertEq(_round(), 1);
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        _attestHonest(taskId, validator4); // 600 > 500: M
        market.finalize(taskId);
        _assertFinalHonest();
        vm.assertEq(staking.stakeOf(validator1), STAKE_1 - 40 ether, "the requester's validator loses 10%");
        // pot = fee 3 + slashed 40, shared by stake at risk: round 0 v3 20 + v4 10, round 1
        // v2 60 + v3 40 + v4 20 (150 in all).
        uint256 pot = VALIDATOR_FEE + 40 ether;
        vm.assertEq(staking.stakeOf(validator2), STAKE_2 + pot * 60 / 150);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 + pot * 20 / 150 + pot * 40 / 150);
        vm.assertEq(staking.lockedOf(validator3) + staking.lockedOf(validator4), 0, "every lock released");
        _assertRefundIsPoolMinusOwed();
        _claimAll();
    }

    /// @notice no_validator: nobody attests. Rounds 0 and 1 end empty, round 2 opens and ends
    /// empty; the task stays open with nothing refunded. A small staker (the annotators' liveness
    /// duty, validator4's 100 LABEL, below the quorum) attests the honest root in round 2, which
    /// is final once it has led for the challenge period.
    function test_scenario_noValidator() public {
        _warpPastAttest(taskId);
        market.finalize(taskId);
        vm.assertEq(_round(), 1);
        vm.warp(_task(taskId).roundDeadline + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.RoundOpened(taskId, 2, uint64(block.timestamp + 2 * market.APPEAL_WINDOW()));
        market.finalize(taskId);
        vm.assertEq(_round(), 2);
        vm.warp(_task(taskId).roundDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotFinal.selector, taskId, 0, 1000 ether));
        market.finalize(taskId);
        vm.assertEq(uint256(_status()), uint256(ITaskMarket.TaskStatus.Open), "never void after a reveal");
        vm.assertEq(uint256(_task(taskId).refundable), 0);

        _attestHonest(taskId, validator4);
        vm.assertEq(staking.frozenOf(validator4), 1);
        vm.assertEq(staking.lockedOf(validator4), 40 ether, "round 2 locks 40%");
        vm.prank(validator4);
        vm.expectRevert(abi.encodeWithSelector(IValidatorStaking.ValidatorStakingFrozen.selector, validator4));
        staking.requestUnstake(1 ether);
        uint64 ends = uint64(block.timestamp + market.CHALLENGE_PERIOD());
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketChallengeOpen.selector, taskId, ends));
        market.finalize(taskId);
        vm.warp(ends);
        market.finalize(taskId);
        _assertFinalHonest();
        _assertRefundIsPoolMinusOwed();
        _claimAll();

        // The round-2 vote is settled on its own: the whole fee (the only stake at risk).
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.VoteSettled(taskId, validator4, 2, 0, VALIDATOR_FEE);
        market.settleVote(taskId, validator4);
        vm.assertEq(staking.stakeOf(validator4), STAKE_4 + VALIDATOR_FEE);
        vm.assertEq(staking.frozenOf(validator4) + staking.lockedOf(validator4), 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketVoteSettled.selector, taskId, validator4));
        market.settleVote(taskId, validator4);
        vm.assertEq(token.balanceOf(address(market)), 0, "the market owes nothing");
    }

    /// @notice cartel_two_thirds: validator2 and validator4 (400, below half of all stake) hold
    /// 2/3 of round 0's committee and attest a wrong root, which becomes provisional. Honest
    /// stake outside the committee (validator1) appeals in round 1; with validator3 it holds a
    /// majority and the honest root is final. The cartel's round-0 votes are slashed and the
    /// honest round-0 vote (validator3's) is paid.
    function test_scenario_cartelTwoThirds() public {
        _attestBad(validator2);
        _attestBad(validator4);
        _attestHonest(taskId, validator3);
        _warpPastAttest(taskId);
        market.finalize(taskId);
        vm.assertTrue(_task(taskId).provisional);
        vm.assertEq(_task(taskId).payoutRoot, BAD_ROOT);

        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.Appealed(taskId, 1, validator1, honestRoot, HONEST_TOTAL);
        _attestHonest(taskId, validator1);
        vm.assertEq(_round(), 1);
        vm.assertFalse(_task(taskId).provisional);
        vm.assertEq(staking.lockedOf(validator1), 80 ether, "the appeal risks 20%");
        _attestHonest(taskId, validator3); // 600 > 500: M in round 1
        market.finalize(taskId);
        _assertFinalHonest();
        vm.assertEq(staking.stakeOf(validator2), STAKE_2 - 30 ether);
        vm.assertEq(staking.stakeOf(validator4), STAKE_4 - 10 ether);
        // pot = 3 + 40; stake at risk: v3 round 0 20 + round 1 40, v1 round 1 80 (140).
        uint256 pot = VALIDATOR_FEE + 40 ether;
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 + pot * 20 / 140 + pot * 40 / 140);
        vm.assertEq(staking.stakeOf(validator1), STAKE_1 + pot * 80 / 140);
        _assertRefundIsPoolMinusOwed();
        _claimAll();
    }

    // ------------------------------------------------------------ round 2

    /// @notice Reaching round 2 with validator2 and validator4 (400) for the honest root and
    /// validator3 (200) for another: at the deadline the heaviest root with the quorum and
    /// strictly more than any other is final; each round-2 vote is settled on its own.
    function test_round2_pluralityWithQuorumAndSettleVote() public {
        _toRound2();
        _attestHonest(taskId, validator2);
        _attestBad(validator3);
        _attestHonest(taskId, validator4);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyVoted.selector, taskId, 2, validator4));
        _attestHonest(taskId, validator4);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotSettleable.selector, taskId));
        market.settleVote(taskId, validator2);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotFinal.selector, taskId, 400 ether, 1000 ether));
        market.finalize(taskId);
        vm.warp(_task(taskId).roundDeadline + 1);
        market.finalize(taskId);
        _assertFinalHonest();
        _assertRefundIsPoolMinusOwed();

        (bytes32 key, uint96 weight, bool settled) = market.finalVoteOf(taskId, validator3);
        // forge-lint: disable-next-line(unsafe-typecast) -- 1 ether fits 96 bits.
        vm.assertEq(key, keccak256(abi.encode(BAD_ROOT, uint96(BAD_TOTAL))));
        vm.assertEq(uint256(weight), STAKE_3);
        vm.assertFalse(settled);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.VoteSettled(taskId, validator3, 2, 80 ether, 0);
        market.settleVote(taskId, validator3);
        vm.assertEq(staking.stakeOf(validator3), STAKE_3 - 80 ether, "a losing round-2 vote loses 40%");
        market.settleVote(taskId, validator2);
        market.settleVote(taskId, validator4);
        // Only the fee is shared (round 2's slashings stay in the market): 3 by risk 120:40.
        vm.assertEq(staking.stakeOf(validator2), STAKE_2 + VALIDATOR_FEE * 120 / 160);
        vm.assertEq(staking.stakeOf(validator4), STAKE_4 + VALIDATOR_FEE * 40 / 160);
        vm.assertEq(staking.frozenOf(validator2) + staking.frozenOf(validator3) + staking.frozenOf(validator4), 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketVoteSettled.selector, taskId, validator1));
        market.settleVote(taskId, validator1);
    }

    /// @notice A tie in round 2 decides nothing, even after the deadline; the next vote does.
    function test_round2_tieIsNotFinal() public {
        _toRound2();
        _attestHonest(taskId, validator3);
        _attestBad(validator2); // 300 for the bad root
        _attestHonest(taskId, validator4); // 300 each: tied
        vm.warp(_task(taskId).roundDeadline + 2 days);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotFinal.selector, taskId, 300 ether, 1000 ether));
        market.finalize(taskId);
        _attestHonest(taskId, validator1); // 700 > 500: M at once
        market.finalize(taskId);
        _assertFinalHonest();
    }

    /// @notice Below the quorum after round 2's deadline, the leader is final only once it has
    /// led alone for the challenge period: another root overtaking it resets the clock.
    function test_round2_leaderMustLeadForTheChallengePeriod() public {
        _toRound2();
        _attestBad(validator4); // 100
        vm.warp(_task(taskId).roundDeadline + 1);
        _attestHonest(taskId, validator3); // 200: the new leader, from now
        uint64 ends = uint64(block.timestamp + market.CHALLENGE_PERIOD());
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketChallengeOpen.selector, taskId, ends));
        market.finalize(taskId);
        vm.warp(ends);
        market.finalize(taskId);
        _assertFinalHonest();
    }

    function _toRound2() internal {
        _warpPastAttest(taskId);
        market.finalize(taskId);
        vm.warp(_task(taskId).roundDeadline + 1);
        market.finalize(taskId);
        vm.assertEq(_round(), 2);
    }
}
