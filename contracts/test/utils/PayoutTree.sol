// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title PayoutTree
/// @notice A Solidity builder for OpenZeppelin StandardMerkleTree payout trees over
/// `(address account, uint256 amount)`, laid out exactly like node/consensus/merkle.py and the
/// OpenZeppelin merkle-tree npm package: leaves sorted ascending by hash, stored at the end of
/// a flat array of `2n - 1` nodes in reverse order, each parent the hash of its sorted children.
/// @dev Test helper only: O(n^2) sort, fine for the few dozen leaves a test builds.
library PayoutTree {
    struct Tree {
        bytes32[] nodes;
        /// @notice `positions[i]` is the node index of the i-th input leaf.
        uint256[] positions;
    }

    /// @notice The standard leaf: a double hash, so a 64-byte leaf preimage never doubles as
    /// an inner node.
    function leaf(address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function build(address[] memory accounts, uint256[] memory amounts) internal pure returns (Tree memory tree) {
        uint256 n = accounts.length;
        require(n > 0 && amounts.length == n, "PayoutTree: bad leaves");
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = leaf(accounts[i], amounts[i]);
        }
        return fromLeaves(hashes);
    }

    /// @notice The allowlist leaf of IQualifications: `account` alone, double hashed.
    function accountLeaf(address account) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account))));
    }

    /// @notice The tree of `accountLeaf`s (an allowlist).
    function ofAccounts(address[] memory accounts) internal pure returns (Tree memory) {
        bytes32[] memory hashes = new bytes32[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            hashes[i] = accountLeaf(accounts[i]);
        }
        return fromLeaves(hashes);
    }

    /// @notice The standard tree over leaf hashes given in input order.
    function fromLeaves(bytes32[] memory hashes) internal pure returns (Tree memory tree) {
        uint256 n = hashes.length;
        require(n > 0, "PayoutTree: no leaves");
        uint256[] memory order = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            order[i] = i;
        }
        // Insertion sort of the input indices by leaf hash.
        for (uint256 i = 1; i < n; ++i) {
            uint256 current = order[i];
            uint256 j = i;
            while (j > 0 && hashes[order[j - 1]] > hashes[current]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = current;
        }
        tree.nodes = new bytes32[](2 * n - 1);
        tree.positions = new uint256[](n);
        for (uint256 rank; rank < n; ++rank) {
            uint256 position = tree.nodes.length - 1 - rank;
            tree.nodes[position] = hashes[order[rank]];
            tree.positions[order[rank]] = position;
        }
        for (uint256 k = n - 1; k > 0; --k) {
            uint256 i = k - 1;
            tree.nodes[i] = hashPair(tree.nodes[2 * i + 1], tree.nodes[2 * i + 2]);
        }
    }

    function root(Tree memory tree) internal pure returns (bytes32) {
        return tree.nodes[0];
    }

    /// @notice Sibling hashes from the i-th input leaf up to (not including) the root.
    function proof(Tree memory tree, uint256 i) internal pure returns (bytes32[] memory path) {
        uint256 index = tree.positions[i];
        uint256 depth;
        for (uint256 k = index; k > 0; k = (k - 1) / 2) {
            ++depth;
        }
        path = new bytes32[](depth);
        for (uint256 d; d < depth; ++d) {
            path[d] = tree.nodes[index % 2 == 0 ? index - 1 : index + 1];
            index = (index - 1) / 2;
        }
    }

    /// @notice Root of a tree given as parallel arrays (a convenience for one-shot roots).
    function rootOf(address[] memory accounts, uint256[] memory amounts) internal pure returns (bytes32) {
        return root(build(accounts, amounts));
    }
}
