// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Seats} from "../../src/libraries/Seats.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @title SeatsHarness
/// @notice One task's annotator slots behind external functions, so the Seats library can be
/// called, fuzzed and inspected on its own. It keeps the seat count, limit and deadline the way
/// TaskMarket keeps them in its task slot.
contract SeatsHarness {
    using Seats for Seats.Book;

    /// @notice The task id passed to the library (it only appears in errors and commitments).
    uint256 public constant TASK_ID = 7;

    Seats.Book internal _book;
    uint256 public count;
    uint256 public limit;
    uint64 public deadline;

    /// @notice A seated task with `limit_` seats until `deadline_`; `limit_ == 0` is open.
    constructor(uint256 limit_, uint64 deadline_) {
        limit = limit_;
        deadline = deadline_;
    }

    function seatLimit(ITaskMarket.TaskParams calldata params, uint64 minLabelTime) external view returns (uint24) {
        return Seats.seatLimit(params, minLabelTime);
    }

    /// @notice `claimSeat` without the bond: the caller stores `count + 1` as the market does.
    function claim(address annotator) external returns (uint32 seat) {
        seat = _book.claim(TASK_ID, annotator, count, limit, deadline);
        ++count;
    }

    function commit(address annotator, bytes32 commitment) external returns (bool first) {
        return _book.commit(TASK_ID, annotator, commitment, limit != 0);
    }

    function reveal(address annotator, bytes32 labelsRoot, bytes32 salt) external {
        _book.reveal(TASK_ID, annotator, labelsRoot, salt);
    }

    function pay(address account, uint256 amount) external {
        _book.pay(account, amount);
    }

    function paidOf(address account) external view returns (uint256) {
        return _book.paidOf(account);
    }

    function commitmentOf(address annotator) external view returns (bytes32) {
        return _book.commitmentOf(annotator);
    }

    function hasSeat(address annotator) external view returns (bool) {
        return _book.hasSeat(annotator, limit != 0);
    }

    /// @notice The raw slot, to check the state encoding.
    function slotOf(address annotator) external view returns (bytes32) {
        return _book.slots[annotator];
    }
}
