// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {Deal} from "./utils/Deal.sol";

/// @notice The promises of the `deal@1` rule (docs/settlement.md §1.4), fuzzed over task shapes
/// and seeds: a seat never gets an item twice, every dealt batch is full, and no item reaches
/// more than k seats, exactly k when every seat is claimed.
contract DealFuzzTest is TestBase {
    function testFuzz_dealGivesEachItemAtMostKSeatsAndNoSeatAnItemTwice(
        bytes32 seed,
        uint256 numItems,
        uint256 k,
        uint256 batchDivisor,
        uint256 claimed
    ) public pure {
        numItems = bound(numItems, 1, 60);
        k = bound(k, 1, 5);
        // A batch size that divides numItems·k and is at most numItems.
        uint256 batch = numItems;
        for (uint256 d = bound(batchDivisor, 1, numItems); d <= numItems; ++d) {
            if ((numItems * k) % d == 0) {
                batch = d;
                break;
            }
        }
        uint256 seats = numItems * k / batch;
        claimed = bound(claimed, 0, seats);
        uint256[] memory seatsPerItem = new uint256[](numItems);
        for (uint256 s; s < claimed; ++s) {
            uint256[] memory items = Deal.itemsOf(seed, numItems, k, batch, s);
            vm.assertEq(items.length, batch);
            for (uint256 i; i < batch; ++i) {
                vm.assertLt(items[i], numItems);
                ++seatsPerItem[items[i]];
                for (uint256 j; j < i; ++j) {
                    vm.assertTrue(items[i] != items[j], "no seat gets an item twice");
                }
            }
        }
        uint256 dealt;
        for (uint256 item; item < numItems; ++item) {
            vm.assertLe(seatsPerItem[item], k, "no item reaches more than k seats");
            if (claimed == seats) vm.assertEq(seatsPerItem[item], k, "every seat claimed: exactly k");
            dealt += seatsPerItem[item];
        }
        vm.assertEq(dealt, claimed * batch);
    }

    function testFuzz_shuffleIsAPermutation(bytes32 seed, uint256 n) public pure {
        n = bound(n, 1, 300);
        uint256[] memory a = Deal.shuffle(seed, "items", n);
        bool[] memory seen = new bool[](n);
        for (uint256 i; i < n; ++i) {
            vm.assertFalse(seen[a[i]], "each index once");
            seen[a[i]] = true;
        }
    }
}
