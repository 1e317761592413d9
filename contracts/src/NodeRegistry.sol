// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";

/// @title NodeRegistry
/// @notice Gateway discovery for labelnet nodes. Anyone may announce: a gateway only serves
/// content-addressed blocks, which readers verify against their CIDs, so a lying or dead
/// gateway costs a reader a failed request, never wrong data.
/// @notice v2 adds encryption keys (docs/confidential.md): `msg.sender` binds the key to the
/// account with no signature format, and any node reads it with one view at the block it
/// wraps a task key. A wrong key announced by its own account harms only that account: it
/// cannot open what is wrapped to it.
contract NodeRegistry is INodeRegistry {
    /// @notice Longest URL accepted, in bytes.
    uint256 public constant MAX_URL_LENGTH = 256;

    mapping(address node => uint256 blockNumber) private _announcedAt;
    mapping(address node => bytes32 publicKey) private _encryptionKey;

    /// @inheritdoc INodeRegistry
    function announce(string calldata url) external {
        uint256 length = bytes(url).length;
        if (length == 0 || length > MAX_URL_LENGTH) revert NodeRegistryInvalidUrl(length);
        _announcedAt[msg.sender] = block.number;
        emit GatewayAnnounced(msg.sender, url);
    }

    /// @inheritdoc INodeRegistry
    function withdraw() external {
        // announce stores block.number, never 0 inside a transaction (the genesis block has
        // none), so 0 means exactly "never announced" and no caller can make it so otherwise.
        // slither-disable-next-line incorrect-equality
        if (_announcedAt[msg.sender] == 0) revert NodeRegistryNotAnnounced(msg.sender);
        delete _announcedAt[msg.sender];
        emit GatewayWithdrawn(msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function announceKey(bytes32 publicKey) external {
        if (publicKey == bytes32(0)) revert NodeRegistryInvalidKey(msg.sender);
        _encryptionKey[msg.sender] = publicKey;
        emit EncryptionKeyAnnounced(msg.sender, publicKey);
    }

    /// @inheritdoc INodeRegistry
    function encryptionKey(address node) external view returns (bytes32) {
        return _encryptionKey[node];
    }

    /// @inheritdoc INodeRegistry
    function announcedAt(address node) external view returns (uint256) {
        return _announcedAt[node];
    }
}
