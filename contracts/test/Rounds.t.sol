// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {RoundsHarness} from "./utils/RoundsHarness.sol";
import {Rounds} from "../src/libraries/Rounds.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice The Rounds library on its own: lock shares and windows per round, round 2's tally,
/// its leader (with ties and the time it took the lead) and the settlement of one vote.
contract RoundsTest is TestBase {
    bytes32 internal constant A = keccak256("root A");
    bytes32 internal constant B = keccak256("root B");

    RoundsHarness internal harness;
    address internal v1 = address(0x1001);
    address internal v2 = address(0x1002);
    address internal v3 = address(0x1003);

    function setUp() public {
        harness = new RoundsHarness();
    }

    function test_lockBpsDoublesEachRound_windowDoublesInTheFinalRound() public view {
        vm.assertEq(uint256(harness.lockBps(1000, 0)), 1000);
        vm.assertEq(uint256(harness.lockBps(1000, 1)), 2000);
        vm.assertEq(uint256(harness.lockBps(1000, 2)), 4000);
        vm.assertEq(uint256(harness.window(1, 2 days)), 2 days);
        vm.assertEq(uint256(harness.window(2, 2 days)), 4 days);
    }

    function test_vote_sumsWeightAndRiskPerResult() public {
        harness.vote(v1, A, 5, 300, 120);
        harness.vote(v2, A, 5, 100, 40);
        harness.vote(v3, A, 6, 50, 20); // another total is another result
        Rounds.Result memory a = harness.result(A, 5);
        vm.assertEq(uint256(a.weight), 400);
        vm.assertEq(uint256(a.risk), 160);
        vm.assertEq(uint256(harness.result(A, 6).weight), 50);
    }

    function test_vote_refusesASecondVote() public {
        harness.vote(v1, A, 5, 300, 120);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyVoted.selector, 9, uint8(2), v1));
        harness.vote(v1, B, 5, 300, 120);
    }

    /// @notice The first vote leads; an equal weight ties (the leader is kept, `tied` set); a
    /// heavier result takes the lead from now; the leader growing breaks a tie from now.
    function test_leader_tiesAndLeadTime() public {
        (,, uint256 weight,,) = harness.leader();
        vm.assertEq(weight, 0, "no vote, no leader");
        vm.warp(100);
        harness.vote(v1, A, 5, 200, 80);
        (bytes32 root, uint96 total, uint256 w, bool tied, uint64 since) = harness.leader();
        vm.assertEq(root, A);
        vm.assertEq(uint256(total), 5);
        vm.assertEq(w, 200);
        vm.assertFalse(tied);
        vm.assertEq(uint256(since), 100);

        vm.warp(200);
        harness.vote(v2, B, 5, 200, 80);
        (root,, w, tied, since) = harness.leader();
        vm.assertEq(root, A, "a tie keeps the leader");
        vm.assertTrue(tied);
        vm.assertEq(uint256(since), 100);

        vm.warp(300);
        harness.vote(v3, A, 5, 10, 4);
        (root,, w, tied, since) = harness.leader();
        vm.assertEq(root, A);
        vm.assertEq(w, 210);
        vm.assertFalse(tied, "the leader growing breaks the tie");
        vm.assertEq(uint256(since), 300, "from now");
    }

    function test_leader_heavierResultTakesTheLead() public {
        vm.warp(100);
        harness.vote(v1, A, 5, 100, 40);
        vm.warp(200);
        harness.vote(v2, B, 5, 150, 60);
        (bytes32 root,, uint256 w, bool tied, uint64 since) = harness.leader();
        vm.assertEq(root, B);
        vm.assertEq(w, 150);
        vm.assertFalse(tied);
        vm.assertEq(uint256(since), 200);
        harness.vote(v3, A, 5, 10, 4); // 110 < 150: nothing changes
        (root,,,, since) = harness.leader();
        vm.assertEq(root, B);
        vm.assertEq(uint256(since), 200);
    }

    function test_take_settlesOnce() public {
        harness.vote(v1, A, 5, 300, 120);
        Rounds.Vote memory taken = harness.take(v1);
        vm.assertEq(taken.key, keccak256(abi.encode(A, uint96(5))));
        vm.assertEq(uint256(taken.weight), 300);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketVoteSettled.selector, 9, v1));
        harness.take(v1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketVoteSettled.selector, 9, v2));
        harness.take(v2);
    }
}
