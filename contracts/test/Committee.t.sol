// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommitteeFixture} from "./utils/CommitteeFixture.sol";
import {Committee} from "../src/libraries/Committee.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice The Committee library on its own: the voter bitmask, results stored once, the
/// eviction of the lightest seat, the tally and thresholds, and settlement against a real
/// ValidatorStaking.
contract CommitteeTest is CommitteeFixture {
    bytes32 internal constant ROOT_A = keccak256("root A");
    bytes32 internal constant ROOT_B = keccak256("root B");
    bytes32 internal constant ROOT_C = keccak256("root C");
    uint96 internal constant TOTAL = 24 ether;
    uint256 internal constant TASK_ID = 7;

    address internal v1;
    address internal v2;
    address internal v3;
    address internal v4;

    function setUp() public {
        _deploy(3);
        v1 = _staked("v1", 400 ether);
        v2 = _staked("v2", 300 ether);
        v3 = _staked("v3", 200 ether);
        v4 = _staked("v4", 100 ether);
    }

    function _seat(address validator, bytes32 root, uint96 weight) internal {
        vm.assertTrue(harness.seat(validator, root, TOTAL, weight));
    }

    // ------------------------------------------------------------ bitmask

    function test_bit_isOneBitPerSeat() public view {
        vm.assertEq(harness.bit(0), 1);
        vm.assertEq(harness.bit(5), 32);
        vm.assertEq(harness.bit(31), 2 ** 31);
        vm.assertTrue(harness.voted(0x21, 0));
        vm.assertTrue(harness.voted(0x21, 5));
        vm.assertFalse(harness.voted(0x21, 4));
        vm.assertTrue(harness.voted(type(uint32).max, 31));
    }

    // ------------------------------------------------------------ seats and results

    function test_add_firstVoteCreatesResult() public {
        _seat(v1, ROOT_A, 400);
        vm.assertEq(harness.count(), 1);
        vm.assertEq(harness.resultCount(), 1);
        Committee.Result memory result = harness.result(0);
        vm.assertEq(result.payoutRoot, ROOT_A);
        vm.assertEq(result.totalPayout, TOTAL);
        vm.assertEq(result.weight, 400);
        vm.assertEq(result.voters, 1);
        vm.assertEq(harness.vote(0).validator, v1);
        vm.assertEq(harness.vote(0).weight, 400);
    }

    function test_add_sameResultIsStoredOnce() public {
        _seat(v1, ROOT_A, 400);
        _seat(v2, ROOT_A, 300);
        vm.assertEq(harness.resultCount(), 1);
        vm.assertEq(harness.result(0).weight, 700);
        vm.assertEq(harness.result(0).voters, 3);
    }

    function test_add_sameRootWithAnotherTotalIsAnotherResult() public {
        _seat(v1, ROOT_A, 400);
        vm.assertTrue(harness.seat(v2, ROOT_A, TOTAL + 1, 300));
        vm.assertEq(harness.resultCount(), 2);
        vm.assertEq(harness.result(1).totalPayout, TOTAL + 1);
        vm.assertEq(harness.result(1).voters, 2);
    }

    function test_vacate_takesVoteOutOfItsResultOnly() public {
        _seat(v1, ROOT_A, 400);
        _seat(v2, ROOT_B, 300);
        _seat(v3, ROOT_A, 200);
        Committee.Vote memory evicted = harness.vacate(2);
        vm.assertEq(evicted.validator, v3);
        vm.assertEq(evicted.weight, 200);
        vm.assertEq(harness.result(0).weight, 400);
        vm.assertEq(harness.result(0).voters, 1);
        vm.assertEq(harness.result(1).weight, 300, "the other result is untouched");
        vm.assertEq(harness.result(1).voters, 2);
    }

    function test_add_reusesAnEmptiedResultSlot() public {
        _seat(v1, ROOT_A, 400);
        _seat(v2, ROOT_A, 300);
        _seat(v3, ROOT_B, 100); // the lightest, alone on ROOT_B
        _seat(v4, ROOT_C, 200); // evicts v3 and takes ROOT_B's emptied slot
        vm.assertEq(harness.resultCount(), 2);
        vm.assertEq(harness.result(1).payoutRoot, ROOT_C);
        vm.assertEq(harness.result(1).voters, 4);
        vm.assertEq(harness.vote(2).validator, v4);
    }

    function test_seat_refusesAVoteNoHeavierThanTheLightest() public {
        _seat(v1, ROOT_A, 400);
        _seat(v2, ROOT_A, 300);
        _seat(v3, ROOT_A, 100);
        vm.assertFalse(harness.seat(v4, ROOT_A, TOTAL, 100));
        vm.assertFalse(harness.seat(v1, ROOT_B, TOTAL, 999), "a seated validator cannot vote again");
    }

    function test_lightest_isTheEarliestOnTies() public {
        (uint256 at, uint256 weight) = harness.lightest();
        vm.assertEq(at, 0);
        vm.assertEq(weight, type(uint256).max, "an empty committee has no lightest seat");
        _seat(v1, ROOT_A, 300);
        _seat(v2, ROOT_A, 200);
        _seat(v3, ROOT_B, 200);
        (at, weight) = harness.lightest();
        vm.assertEq(at, 1);
        vm.assertEq(weight, 200);
    }

    function test_isSeated_onlyForSeatedValidators() public {
        _seat(v1, ROOT_A, 300);
        vm.assertTrue(harness.isSeated(v1));
        vm.assertFalse(harness.isSeated(v2));
    }

    function test_listAttestations_inSeatOrderWithTheirResults() public {
        _seat(v1, ROOT_A, 300);
        _seat(v2, ROOT_B, 200);
        _seat(v3, ROOT_A, 100);
        ITaskMarket.Attestation[] memory list = harness.listAttestations();
        vm.assertEq(list.length, 3);
        vm.assertEq(list[0].validator, v1);
        vm.assertEq(list[1].payoutRoot, ROOT_B);
        vm.assertEq(list[2].validator, v3);
        vm.assertEq(list[2].payoutRoot, ROOT_A);
        vm.assertEq(list[2].weight, 100);
        vm.assertEq(list[2].totalPayout, TOTAL);
    }

    // ------------------------------------------------------------ tally and thresholds

    function test_tally_picksHeaviestAndEarliestOnTies() public {
        _seat(v1, ROOT_A, 200);
        _seat(v2, ROOT_B, 200);
        (Committee.Result memory best, uint256 attesting) = harness.tally();
        vm.assertEq(best.payoutRoot, ROOT_A);
        vm.assertEq(attesting, 400);
        _seat(v3, ROOT_B, 1);
        (best, attesting) = harness.tally();
        vm.assertEq(best.payoutRoot, ROOT_B);
        vm.assertEq(best.weight, 201);
        vm.assertEq(attesting, 401);
    }

    function test_twoThirds_atTheBoundary() public view {
        vm.assertTrue(harness.twoThirds(200, 300));
        vm.assertFalse(harness.twoThirds(199, 300));
        vm.assertTrue(harness.twoThirds(2, 3));
        vm.assertFalse(harness.twoThirds(1, 2));
        vm.assertTrue(harness.twoThirds(0, 0));
    }

    function test_atLeastBps_atTheBoundary() public view {
        vm.assertTrue(harness.atLeastBps(3334, 10_000, 3334));
        vm.assertFalse(harness.atLeastBps(3333, 10_000, 3334));
        vm.assertTrue(harness.atLeastBps(1, 1, 10_000));
    }

    function test_share_roundsDown() public view {
        vm.assertEq(harness.share(10, 1, 3), 3);
        vm.assertEq(harness.share(10, 2, 3), 6);
        vm.assertEq(harness.share(10, 3, 3), 10);
    }

    // ------------------------------------------------------------ with stake

    function test_evictLightest_releasesTheLockAndEmits() public {
        harness.attest(v2, ROOT_A, TOTAL);
        harness.attest(v3, ROOT_A, TOTAL);
        harness.attest(v4, ROOT_B, TOTAL);
        vm.assertEq(staking.lockedOf(v4), 10 ether);
        vm.expectEmit(true, true, true, true, address(harness));
        emit ITaskMarket.AttestationEvicted(TASK_ID, v4, address(this));
        harness.attest(v1, ROOT_A, TOTAL);
        vm.assertEq(staking.lockedOf(v4), 0, "released");
        vm.assertEq(staking.stakeOf(v4), 100 ether, "not slashed");
        vm.assertEq(harness.vote(2).validator, v1);
        vm.assertEq(harness.result(1).voters, 0, "ROOT_B lost its only voter");
        vm.assertEq(harness.result(0).weight, 900 ether);
    }

    function test_evictLightest_revertsWhenNotHeavier() public {
        harness.attest(v1, ROOT_A, TOTAL);
        harness.attest(v2, ROOT_A, TOTAL);
        harness.attest(v4, ROOT_A, TOTAL);
        address twin = _staked("twin", 100 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitteeFull.selector, TASK_ID, uint8(3)));
        harness.attest(twin, ROOT_A, TOTAL);
    }

    function test_settle_slashesLosersAndSharesFeeAndSlashesProRata() public {
        harness.attest(v1, ROOT_A, TOTAL); // 400
        harness.attest(v2, ROOT_A, TOTAL); // 300
        harness.attest(v3, ROOT_B, TOTAL); // 200: loses 10% of its weight
        _fund(address(harness), 10 ether);
        vm.expectEmit(true, true, true, true, address(harness));
        emit ITaskMarket.ValidatorRewarded(TASK_ID, v1, 17_142_857_142_857_142_857);
        uint256 dust = harness.settle(ROOT_A, TOTAL, 10 ether);
        // pool = 10 fee + 20 slashed; 30 * 4/7 and 30 * 3/7 rounded down leave 1 wei.
        vm.assertEq(dust, 1);
        vm.assertEq(staking.stakeOf(v1), 400 ether + 17_142_857_142_857_142_857);
        vm.assertEq(staking.stakeOf(v2), 300 ether + 12_857_142_857_142_857_142);
        vm.assertEq(staking.stakeOf(v3), 180 ether);
        vm.assertEq(staking.lockedOf(v1) + staking.lockedOf(v2) + staking.lockedOf(v3), 0);
        vm.assertEq(token.balanceOf(address(harness)), 1, "the dust stays with the caller");
    }

    function test_settle_followsTheFinalRootNotTheMajority() public {
        harness.attest(v1, ROOT_A, TOTAL); // 400: the majority, but not the final root
        harness.attest(v3, ROOT_B, TOTAL); // 200
        _fund(address(harness), 10 ether);
        uint256 dust = harness.settle(ROOT_B, TOTAL, 10 ether);
        vm.assertEq(dust, 0);
        vm.assertEq(staking.stakeOf(v1), 360 ether, "the majority's vote for another root is slashed");
        vm.assertEq(staking.stakeOf(v3), 250 ether, "fee 10 + slashed 40 to the final root's voter");
    }

    function test_votersOfAndRisk_ofTheFinalRoot() public {
        harness.attest(v1, ROOT_A, TOTAL);
        harness.attest(v2, ROOT_B, TOTAL);
        harness.attest(v3, ROOT_A, TOTAL);
        vm.assertEq(harness.votersOf(ROOT_A, TOTAL), 5);
        vm.assertEq(harness.votersOf(ROOT_B, TOTAL), 2);
        vm.assertEq(harness.votersOf(ROOT_B, TOTAL + 1), 0, "another total is another result");
        vm.assertEq(harness.risk(5), 60 ether, "10% of 400 and of 200");
        vm.assertEq(harness.share(1 ether, 1, 0), 0, "no stake at risk, no share");
    }

    function test_backing_capsEachVoteAtItsCurrentStake() public {
        harness.attest(v1, ROOT_A, TOTAL);
        harness.attest(v2, ROOT_A, TOTAL);
        vm.prank(v1);
        staking.requestUnstake(360 ether); // everything but the 40 locked
        vm.assertEq(harness.backing(3), 340 ether);
        vm.assertEq(harness.backing(2), 300 ether);
        vm.assertEq(harness.backing(0), 0);
    }
}
