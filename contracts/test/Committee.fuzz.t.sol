// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommitteeFixture} from "./utils/CommitteeFixture.sol";
import {Committee} from "../src/libraries/Committee.sol";

/// @notice Fuzzed properties of the Committee library. The bookkeeping ones replay a random
/// sequence of votes (few roots, so results are shared; committees of 1 to 32 seats, so seats
/// are evicted) and check after every vote what the market relies on: every seat belongs to
/// exactly one result, a result's weight is the sum of its voters' weights, live results are
/// distinct, and the tally is the heaviest result and the whole committee's weight.
contract CommitteeFuzzTest is CommitteeFixture {
    uint256 internal constant VOTES = 40;

    function setUp() public {
        _deploy(3);
    }

    /// @dev A deterministic stream of words from the fuzzed seed.
    function _word(uint256 seed, uint256 i, uint256 salt) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i, salt)));
    }

    function testFuzz_bitAndVoted(uint256 i, uint256 j, uint32 voters) public view {
        i = bound(i, 0, 31);
        j = bound(j, 0, 31);
        vm.assertTrue(harness.voted(harness.bit(i), j) == (i == j));
        vm.assertTrue(harness.voted(voters | harness.bit(i), i));
        vm.assertFalse(harness.voted(voters & ~harness.bit(i), i));
    }

    function testFuzz_seatingKeepsTheBookkeeping(uint256 seed, uint8 maxCommittee) public {
        maxCommittee = uint8(bound(maxCommittee, 1, 32));
        _deploy(maxCommittee);
        for (uint256 i; i < VOTES; ++i) {
            address validator = address(uint160(1 + _word(seed, i, 0) % 40));
            bytes32 root = bytes32(uint256(1 + _word(seed, i, 1) % 4));
            // forge-lint: disable-next-line(unsafe-typecast) -- a total out of two.
            uint96 total = uint96(_word(seed, i, 2) % 2);
            // forge-lint: disable-next-line(unsafe-typecast) -- bounded below 2**80.
            uint96 weight = uint96(1 + _word(seed, i, 3) % 2 ** 80);
            uint256 countBefore = harness.count();
            (, uint256 lightestBefore) = harness.lightest();
            bool wasSeated = harness.isSeated(validator);
            bool seated = harness.seat(validator, root, total, weight);
            vm.assertTrue(
                seated == (!wasSeated && (countBefore < maxCommittee || weight > lightestBefore)),
                "a vote is seated iff its validator is new and there is a free or lighter seat"
            );
            _assertBookkeeping(maxCommittee);
        }
    }

    function _assertBookkeeping(uint256 maxCommittee) internal view {
        uint256 count = harness.count();
        uint256 resultCount = harness.resultCount();
        vm.assertLe(count, maxCommittee);
        vm.assertLe(resultCount, count, "never more result slots than seats");
        uint256 allSeats = count == 32 ? type(uint32).max : (uint256(1) << count) - 1;
        uint256 union;
        uint256 committeeWeight;
        uint256 heaviest;
        for (uint256 r; r < resultCount; ++r) {
            Committee.Result memory result = harness.result(r);
            vm.assertEq(union & result.voters, 0, "a seat is in one result only");
            union |= result.voters;
            vm.assertEq(result.voters & ~allSeats, 0, "no voter beyond the seats in use");
            uint256 sum;
            for (uint256 i; i < count; ++i) {
                if (harness.voted(result.voters, i)) sum += harness.vote(i).weight;
            }
            vm.assertEq(result.weight, sum, "a result weighs what its voters weigh");
            committeeWeight += sum;
            if (sum > heaviest) heaviest = sum;
            for (uint256 q; q < r && result.voters != 0; ++q) {
                Committee.Result memory other = harness.result(q);
                vm.assertTrue(
                    other.voters == 0 || other.payoutRoot != result.payoutRoot
                        || other.totalPayout != result.totalPayout,
                    "live results are distinct"
                );
            }
        }
        vm.assertEq(union, allSeats, "every seat is in a result");
        (Committee.Result memory best, uint256 attesting) = harness.tally();
        vm.assertEq(attesting, committeeWeight);
        vm.assertEq(best.weight, heaviest);
        for (uint256 i; i < count; ++i) {
            for (uint256 j; j < i; ++j) {
                vm.assertTrue(harness.vote(i).validator != harness.vote(j).validator, "one seat per validator");
            }
        }
    }

    function testFuzz_shareSplitsThePoolUpToLessThanOneWeiPerWinner(uint256 seed, uint256 pool, uint256 n) public view {
        pool = bound(pool, 0, 2 ** 128);
        n = bound(n, 1, 32);
        uint256[] memory weights = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            weights[i] = 1 + _word(seed, i, 0) % (2 ** 96 - 1);
            total += weights[i];
        }
        uint256 paid;
        for (uint256 i; i < n; ++i) {
            paid += harness.share(pool, weights[i], total);
        }
        vm.assertLe(paid, pool);
        vm.assertLt(pool - paid, n);
    }

    function testFuzz_thresholdsMatchTheirCeilings(uint256 part, uint256 whole, uint256 bps) public view {
        part = bound(part, 0, 2 ** 128);
        whole = bound(whole, 0, 2 ** 128);
        bps = bound(bps, 1, 10_000);
        // ceil(2·whole / 3) and ceil(whole·bps / 10000), written the other way round.
        vm.assertTrue(harness.twoThirds(part, whole) == (part >= (2 * whole + 2) / 3));
        vm.assertTrue(harness.atLeastBps(part, whole, bps) == (part >= (whole * bps + 9999) / 10_000));
    }

    /// @notice Settlement moves only tokens it accounts for: the winners' rewards plus the dust
    /// are the fee plus what the losers lose, every lock is released, and the dust is below
    /// the number of winners.
    function testFuzz_settleConservesTokens(uint256 seed, uint256 n, uint256 fee) public {
        n = bound(n, 1, 6);
        fee = bound(fee, 0, 1_000_000 ether);
        // forge-lint: disable-next-line(unsafe-typecast) -- n <= 6.
        _deploy(uint8(n));
        address[] memory validators = new address[](n);
        uint256[] memory stakes = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            stakes[i] = MIN_STAKE + _word(seed, i, 0) % (10_000 ether);
            validators[i] = _staked(string(abi.encode("v", i)), stakes[i]);
            harness.attest(validators[i], bytes32(1 + _word(seed, i, 1) % 2), 1);
        }
        _fund(address(harness), fee);
        uint256 heldBefore = token.balanceOf(address(staking)) + token.balanceOf(address(harness));
        (Committee.Result memory best,) = harness.tally();

        uint256 dust = harness.settle(best.payoutRoot, best.totalPayout, fee);

        uint256 winners;
        uint256 rewards;
        uint256 slashed;
        for (uint256 i; i < n; ++i) {
            vm.assertEq(staking.lockedOf(validators[i]), 0, "every lock is released");
            if (harness.voted(best.voters, i)) {
                ++winners;
                rewards += staking.stakeOf(validators[i]) - stakes[i];
            } else {
                vm.assertLt(staking.stakeOf(validators[i]), stakes[i]);
                slashed += stakes[i] - staking.stakeOf(validators[i]);
            }
        }
        vm.assertEq(rewards + dust, fee + slashed, "fee and slashes are shared, up to the dust");
        vm.assertLt(dust, winners);
        vm.assertEq(token.balanceOf(address(harness)), dust, "only the dust stays with the caller");
        vm.assertEq(token.balanceOf(address(staking)) + dust, heldBefore, "no token appears or vanishes");
    }
}
