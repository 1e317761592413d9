// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Deal
/// @notice Reference of the `deal@1` dealing rule designed in docs/settlement.md (§1.4), for
/// tests: which items each seat of an assigned task gets. Nothing on chain uses it yet; it is
/// here so the rule's promises (no seat gets an item twice, no item reaches more than k
/// seats) are checked by fuzzing before any node or market depends on them.
library Deal {
    /// @dev The words of `keccak256(seed ‖ domain ‖ uint64_be(i))`, i = 0, 1, …, four
    /// big-endian uint64 words per hash.
    struct Stream {
        bytes32 seed;
        bytes32 domain;
        uint64 counter;
        uint256 block_;
        uint256 left;
    }

    function _next(Stream memory s) private pure returns (uint64 word) {
        if (s.left == 0) {
            s.block_ = uint256(keccak256(abi.encodePacked(s.seed, s.domain, s.counter)));
            ++s.counter;
            s.left = 4;
        }
        --s.left;
        // forge-lint: disable-next-line(unsafe-typecast) -- takes the top 64 bits on purpose.
        word = uint64(s.block_ >> 192);
        s.block_ <<= 64;
    }

    /// @dev Exactly uniform in [0, n): rejects the top `2^64 mod n` words.
    function _uniform(Stream memory s, uint256 n) private pure returns (uint256) {
        uint256 limit = 2 ** 64 - (2 ** 64 % n);
        while (true) {
            uint256 w = _next(s);
            if (w < limit) return w % n;
        }
        return 0; // unreachable
    }

    /// @notice Fisher–Yates shuffle of [0, n) driven by the stream of `domain`.
    function shuffle(bytes32 seed, bytes32 domain, uint256 n) internal pure returns (uint256[] memory a) {
        a = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = i;
        }
        Stream memory s = Stream({seed: seed, domain: domain, counter: 0, block_: 0, left: 0});
        for (uint256 i = n; i > 1; --i) {
            uint256 j = _uniform(s, i);
            (a[i - 1], a[j]) = (a[j], a[i - 1]);
        }
    }

    /// @notice The seed of §1.3: `keccak256(abi.encode("labelnet/deal@1", chainId, market,
    /// taskId, R))`, `R` the seal block's mixHash (or its hash where the mix is zero). The same
    /// preimage as `node/protocol/deal.deal_seed`, so the invariant handler deals a task's seats
    /// as the nodes do.
    function sealSeed(uint256 chainId, address market, uint256 taskId, bytes32 randomness)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode("labelnet/deal@1", chainId, market, taskId, randomness));
    }

    /// @notice How many of the first `claimed` seats each item is dealt to: `itemsOf` for every
    /// claimed seat, with both shuffles drawn once.
    function seatsPerItem(bytes32 seed, uint256 numItems, uint256 k, uint256 batch, uint256 claimed)
        internal
        pure
        returns (uint256[] memory counts)
    {
        uint256[] memory pi = shuffle(seed, "items", numItems);
        uint256[] memory sigma = shuffle(seed, "seats", numItems * k / batch);
        counts = new uint256[](numItems);
        for (uint256 s; s < claimed; ++s) {
            uint256 start = sigma[s] * batch;
            for (uint256 i; i < batch; ++i) {
                ++counts[pi[(start + i) % numItems]];
            }
        }
    }

    /// @notice The items of claimed seat `seat` (< seats claimed) of a task of `numItems` items,
    /// redundancy `k` and batch size `batch` (dividing numItems·k, at most numItems).
    function itemsOf(bytes32 seed, uint256 numItems, uint256 k, uint256 batch, uint256 seat)
        internal
        pure
        returns (uint256[] memory items)
    {
        uint256[] memory pi = shuffle(seed, "items", numItems);
        uint256[] memory sigma = shuffle(seed, "seats", numItems * k / batch);
        items = new uint256[](batch);
        uint256 start = sigma[seat] * batch;
        for (uint256 i; i < batch; ++i) {
            items[i] = pi[(start + i) % numItems];
        }
    }
}
