// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title INodeRegistry
/// @notice Where labelnet nodes announce the URL of their IPFS trustless gateway, so peers
/// can fetch tasks, label batches and results from each other without a central server, and
/// (v2) the X25519 public key that confidential tasks wrap their content keys to.
/// @dev URLs travel in events only, like CIDs; storage keeps the block of each node's latest
/// announcement so a reader can fetch exactly that log.
interface INodeRegistry {
    /// @notice Emitted when `node` announces (or replaces) its gateway URL.
    event GatewayAnnounced(address indexed node, string url);
    /// @notice Emitted when `node` withdraws its announcement.
    event GatewayWithdrawn(address indexed node);
    /// @notice Emitted when `node` announces (or rotates) its X25519 encryption public key.
    event EncryptionKeyAnnounced(address indexed node, bytes32 publicKey);

    /// @notice The URL is empty or longer than `MAX_URL_LENGTH` bytes.
    error NodeRegistryInvalidUrl(uint256 length);
    /// @notice The caller has no announcement to withdraw.
    error NodeRegistryNotAnnounced(address node);
    /// @notice The all-zero public key is no key (and is what an unset key reads as).
    error NodeRegistryInvalidKey(address node);

    /// @notice Announce the caller's gateway URL, replacing any earlier one.
    function announce(string calldata url) external;

    /// @notice Withdraw the caller's announcement.
    function withdraw() external;

    /// @notice Block of `node`'s latest announcement, or zero if it has none.
    function announcedAt(address node) external view returns (uint256);

    /// @notice Announce the caller's X25519 encryption public key, replacing any earlier one.
    /// @dev Content keys wrapped to the old key stay readable only with the old secret key:
    /// rotation protects what is wrapped after it, never before.
    function announceKey(bytes32 publicKey) external;

    /// @notice `node`'s announced X25519 public key, or zero if it has announced none.
    function encryptionKey(address node) external view returns (bytes32);
}
