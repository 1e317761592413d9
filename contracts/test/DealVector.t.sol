// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {Deal} from "./utils/Deal.sol";

/// @notice The `deal@1` test vector (docs/settlement.md §1.4). The numbers come from one run of
/// the Solidity reference and are asserted, unchanged, by tests/protocol/test_deal.py against the
/// Python rule in node/protocol/deal.py: both implementations are pinned to the same assignment.
contract DealVectorTest is TestBase {
    bytes32 internal constant SEED = keccak256("labelnet/deal@1 test vector");

    function _assertArray(uint256[] memory got, uint256[10] memory want, uint256 len) private pure {
        vm.assertEq(got.length, len);
        for (uint256 i; i < len; ++i) {
            vm.assertEq(got[i], want[i]);
        }
    }

    /// @notice N = 10, k = 3, B = 6 (S = 5), seats 0 … 3 claimed.
    function test_vectorSmall() public pure {
        vm.assertEq(SEED, 0xafb00fbe47eca5d1e790d312a53c597a303a1d7f956fd6e1771f1a38b1b4cfac);
        _assertArray(Deal.shuffle(SEED, "items", 10), [uint256(1), 9, 0, 3, 8, 7, 5, 2, 6, 4], 10);
        _assertArray(Deal.shuffle(SEED, "seats", 5), [uint256(4), 0, 2, 3, 1, 0, 0, 0, 0, 0], 5);
        _assertArray(Deal.itemsOf(SEED, 10, 3, 6, 0), [uint256(8), 7, 5, 2, 6, 4, 0, 0, 0, 0], 6);
        _assertArray(Deal.itemsOf(SEED, 10, 3, 6, 1), [uint256(1), 9, 0, 3, 8, 7, 0, 0, 0, 0], 6);
        _assertArray(Deal.itemsOf(SEED, 10, 3, 6, 2), [uint256(0), 3, 8, 7, 5, 2, 0, 0, 0, 0], 6);
        _assertArray(Deal.itemsOf(SEED, 10, 3, 6, 3), [uint256(6), 4, 1, 9, 0, 3, 0, 0, 0, 0], 6);
    }

    /// @notice N = 1,000, k = 3, B = 100, all 30 seats: the digest of every seat's items, in
    /// seat order, each item as a uint256.
    function test_vectorThousandItems() public pure {
        bytes memory all;
        for (uint256 s; s < 30; ++s) {
            all = bytes.concat(all, abi.encodePacked(Deal.itemsOf(SEED, 1000, 3, 100, s)));
        }
        vm.assertEq(keccak256(all), 0xb1a154e842a8cbecd1bf6423843ce499b9513ce6d261dc79e81b1a28a1753fbc);
    }
}
