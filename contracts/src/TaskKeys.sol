// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "./interfaces/ITaskMarket.sol";

/// @title TaskKeys
/// @notice The public, ordered record of a confidential task's key documents
/// (the `sealed-keys` format, version 1, docs/confidential.md §4): the task's requester publishes the
/// CID of each document that wraps the task key to newly seated annotators and to the
/// validators it names. Readers take documents only from this record, so a key document
/// stored by anyone else is never looked at; the key inside is checked against the
/// manifest's commitment as well.
/// @dev A contract of its own rather than a TaskMarket function: the market is at the EIP-170
/// size limit. The requester is read through the market's `getTask` view, so this contract
/// holds no copy of task state and one deployment serves one market.
contract TaskKeys {
    /// @notice Longest CID accepted, in bytes (a base32 CIDv1 of a sha2-256 block is 59).
    uint256 public constant MAX_CID_LENGTH = 128;

    /// @notice The market whose tasks' requesters may publish here.
    ITaskMarket public immutable market;

    /// @notice How many key documents each task's requester has published.
    mapping(uint256 taskId => uint256 count) public publications;

    /// @notice The requester of `taskId` published its `index`-th key document, `keysCid`.
    event KeysPublished(uint256 indexed taskId, address indexed requester, uint256 index, string keysCid);

    /// @notice The market address given to the constructor is zero.
    error TaskKeysZeroMarket();
    /// @notice `caller` is not `requester`, the requester of `taskId`.
    error TaskKeysNotRequester(uint256 taskId, address caller, address requester);
    /// @notice A CID of `length` bytes: empty or longer than `MAX_CID_LENGTH`.
    error TaskKeysInvalidCid(uint256 length);

    /// @param market_ The market whose task requesters publish here.
    constructor(ITaskMarket market_) {
        if (address(market_) == address(0)) revert TaskKeysZeroMarket();
        market = market_;
    }

    /// @notice Publish the CID of a key document of `taskId`; only its requester may.
    /// @dev Reverts with the market's `TaskMarketUnknownTask` for an unknown task. The market
    /// call is a view (a STATICCALL), so no state is read from a contract that could re-enter.
    /// @param taskId The task.
    /// @param keysCid The key document's CID (base32 CIDv1).
    function publishKeys(uint256 taskId, string calldata keysCid) external {
        uint256 length = bytes(keysCid).length;
        if (length == 0 || length > MAX_CID_LENGTH) revert TaskKeysInvalidCid(length);
        address requester = market.getTask(taskId).requester;
        if (msg.sender != requester) revert TaskKeysNotRequester(taskId, msg.sender, requester);
        uint256 index = publications[taskId]++;
        emit KeysPublished(taskId, requester, index, keysCid);
    }
}
