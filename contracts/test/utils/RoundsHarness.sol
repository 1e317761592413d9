// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Rounds} from "../../src/libraries/Rounds.sol";

/// @title RoundsHarness
/// @notice One task's round-2 tally behind external functions, so the library can be tested
/// on its own.
contract RoundsHarness {
    using Rounds for Rounds.Tally;

    uint256 public constant TASK_ID = 9;
    Rounds.Tally internal _tally;

    function vote(address validator, bytes32 root, uint96 total, uint96 weight, uint256 risk) external {
        _tally.requireNew(TASK_ID, validator);
        _tally.vote(validator, root, total, weight, risk);
    }

    function leader() external view returns (bytes32, uint96, uint256, bool, uint64) {
        return _tally.leader();
    }

    function take(address validator) external returns (Rounds.Vote memory) {
        return _tally.take(TASK_ID, validator);
    }

    function result(bytes32 root, uint96 total) external view returns (Rounds.Result memory) {
        return _tally.results[Rounds.key(root, total)];
    }

    function lockBps(uint16 slashBps, uint8 round) external pure returns (uint16) {
        return Rounds.lockBps(slashBps, round);
    }

    function window(uint8 round, uint64 appealWindow) external pure returns (uint64) {
        return Rounds.window(round, appealWindow);
    }
}
