// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title INodeRegistry
/// @notice Where labelnet nodes announce the URL of their IPFS trustless gateway, so peers
/// can fetch tasks, label batches and results from each other without a central server.
/// @dev URLs travel in events only, like CIDs; storage keeps the block of each node's latest
/// announcement so a reader can fetch exactly that log.
interface INodeRegistry {
    /// @notice Emitted when `node` announces (or replaces) its gateway URL.
    event GatewayAnnounced(address indexed node, string url);
    /// @notice Emitted when `node` withdraws its announcement.
    event GatewayWithdrawn(address indexed node);

    /// @notice The URL is empty or longer than `MAX_URL_LENGTH` bytes.
    error NodeRegistryInvalidUrl(uint256 length);
    /// @notice The caller has no announcement to withdraw.
    error NodeRegistryNotAnnounced(address node);

    /// @notice Announce the caller's gateway URL, replacing any earlier one.
    function announce(string calldata url) external;

    /// @notice Withdraw the caller's announcement.
    function withdraw() external;

    /// @notice Block of `node`'s latest announcement, or zero if it has none.
    function announcedAt(address node) external view returns (uint256);
}
