// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title NaiveLabelStore
/// @notice Benchmark baseline only, never deployed by labelnet: the design we avoid, where
/// every label is its own transaction that stores the label on chain. scripts/bench_gas.py
/// compares its gas per label with the commit-reveal market, whose gas does not grow with
/// the number of labels.
contract NaiveLabelStore {
    mapping(uint256 taskId => mapping(uint256 item => mapping(address annotator => bytes32))) private _labels;

    event LabelSubmitted(uint256 indexed taskId, uint256 indexed item, address indexed annotator, bytes32 value);

    function submitLabel(uint256 taskId, uint256 item, bytes32 value) external {
        _labels[taskId][item][msg.sender] = value;
        emit LabelSubmitted(taskId, item, msg.sender, value);
    }
}
