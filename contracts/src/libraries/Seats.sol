// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "../interfaces/ITaskMarket.sol";

/// @title Seats
/// @notice The annotators of one task, one storage slot each for the task's whole life, and the
/// rules that move that slot from state to state (docs/settlement.md §1.2, §3.1): the seat
/// shape a task may have, claiming a seat, committing, revealing, being paid.
/// @dev The slot of an annotator holds one of:
/// - `0`: nothing (no seat, no commitment);
/// - `SEATED | seat << 8`: a seat on a seated task, nothing committed yet;
/// - a commitment, a keccak256 value of at least 2**128 (commit refuses smaller ones, so a
///   commitment is never mistaken for a state);
/// - `REVEALED`: the committed batch was revealed;
/// - `CLAIMED | amount << 8`: the account was paid `amount` (below 2**96) from the payout tree.
/// Values below 2**128 are states and values above are commitments. Payment rewrites the slot
/// the account already has (2,900 gas) instead of creating one (22,100): a claim comes after
/// the task is final, when no commitment or seat is read again. An open task (v1's rules)
/// never has the seat state, so its slots are v1's commitment slots. The seat counts and
/// deadlines live in the market's packed task slot and are passed in, as for `Committee`.
/// Errors are TaskMarket's (ITaskMarket), so the market's ABI is the one its interface states.
library Seats {
    /// @notice The slot value of a revealed batch.
    bytes32 internal constant REVEALED = bytes32(uint256(1));
    /// @notice The low byte of a seat held with nothing committed; the seat number is above it.
    uint256 internal constant SEATED = 2;
    /// @notice The low byte of a paid account; the amount is above it.
    uint256 internal constant CLAIMED = 3;
    /// @notice The smallest commitment `commit` accepts; every state is below it.
    uint256 internal constant MIN_COMMITMENT = 1 << 128;
    /// @notice Most seats a task may have: seat numbers are 24 bits in the market's task slot.
    uint256 internal constant MAX_SEATS = (1 << 24) - 1;

    /// @notice One task's annotator slots.
    struct Book {
        mapping(address annotator => bytes32) slots;
    }

    // ------------------------------------------------------------ task shape

    /// @notice The seat limit `S = numItems * redundancy / batchSize` of a task being created,
    /// or 0 for an open task; reverts on a shape or seat deadline the design does not allow.
    /// @dev Divisibility makes every seat a full batch, so the pool pays exactly `S` batches
    /// (`S * batchSize * rewardPerLabel == rewardPool`); `batchSize <= numItems` keeps a batch
    /// from holding an item twice (docs/settlement.md §1.4). The seat deadline leaves
    /// `minLabelTime` for labelling the items dealt once the seats are taken. Assumes
    /// `now < commitDeadline`, which the market checks first.
    function seatLimit(ITaskMarket.TaskParams calldata params, uint64 minLabelTime)
        internal
        view
        returns (uint24 limit)
    {
        uint32 batchSize = params.batchSize;
        uint64 seatDeadline = params.seatDeadline;
        if (batchSize == 0) {
            if (seatDeadline != 0) {
                revert ITaskMarket.TaskMarketInvalidSeatDeadline(seatDeadline, params.commitDeadline, minLabelTime);
            }
            return 0;
        }
        uint256 positions = uint256(params.numItems) * params.redundancy;
        if (batchSize > params.numItems || positions % batchSize != 0 || positions / batchSize > MAX_SEATS) {
            revert ITaskMarket.TaskMarketInvalidBatchSize(batchSize, params.numItems, params.redundancy);
        }
        // The market stores the seat deadline as a 32-bit lead before the commit deadline.
        if (
            seatDeadline <= block.timestamp || uint256(seatDeadline) + minLabelTime > params.commitDeadline
                || params.commitDeadline - seatDeadline > type(uint32).max
        ) {
            revert ITaskMarket.TaskMarketInvalidSeatDeadline(seatDeadline, params.commitDeadline, minLabelTime);
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- at most MAX_SEATS, checked above.
        return uint24(positions / batchSize);
    }

    // ------------------------------------------------------------ transitions

    /// @notice Give `annotator` the next seat, numbered `count` in claim order: `0 -> SEATED`.
    /// @param count Seats claimed so far; the caller stores `count + 1`.
    /// @param limit The task's seat limit (0 for an open task, whose deadline is 0 too).
    /// @param deadline The task's seat deadline.
    function claim(Book storage self, uint256 taskId, address annotator, uint256 count, uint256 limit, uint64 deadline)
        internal
        returns (uint32 seat)
    {
        if (block.timestamp > deadline) revert ITaskMarket.TaskMarketSeatsClosed(taskId, deadline);
        if (self.slots[annotator] != 0) revert ITaskMarket.TaskMarketAlreadySeated(taskId, annotator);
        // forge-lint: disable-next-line(unsafe-typecast) -- a limit is at most MAX_SEATS.
        if (count >= limit) revert ITaskMarket.TaskMarketNoSeatsLeft(taskId, uint32(limit));
        // forge-lint: disable-next-line(unsafe-typecast) -- count < limit <= MAX_SEATS.
        seat = uint32(count);
        self.slots[annotator] = bytes32(SEATED | (count << 8));
    }

    /// @notice Record `commitment`, replacing an earlier one. On a seated task only a seat
    /// holder may commit (`SEATED -> commitment`); on an open task anyone (`0 -> commitment`).
    /// @return first Whether this is the annotator's first commit to an open task: the market
    /// counts it and pulls the bond, which on a seated task the seat did.
    function commit(Book storage self, uint256 taskId, address annotator, bytes32 commitment, bool seated)
        internal
        returns (bool first)
    {
        if (uint256(commitment) < MIN_COMMITMENT) revert ITaskMarket.TaskMarketEmptyCommitment();
        bytes32 previous = self.slots[annotator];
        if (seated && previous == 0) revert ITaskMarket.TaskMarketNoSeat(taskId, annotator);
        self.slots[annotator] = commitment;
        return !seated && previous == 0;
    }

    /// @notice Open the annotator's commitment with `labelsRoot` and `salt`: `commitment ->
    /// REVEALED`. The commitment is `keccak256(abi.encode(taskId, annotator, labelsRoot, salt))`.
    function reveal(Book storage self, uint256 taskId, address annotator, bytes32 labelsRoot, bytes32 salt) internal {
        bytes32 stored = self.slots[annotator];
        if (stored == REVEALED) revert ITaskMarket.TaskMarketAlreadyRevealed(taskId, annotator);
        if (uint256(stored) < MIN_COMMITMENT) revert ITaskMarket.TaskMarketNotCommitted(taskId, annotator);
        if (keccak256(abi.encode(taskId, annotator, labelsRoot, salt)) != stored) {
            revert ITaskMarket.TaskMarketCommitmentMismatch(taskId, annotator);
        }
        self.slots[annotator] = REVEALED;
    }

    /// @notice Record that `account` was paid `amount` (not zero, below 2**96): `any -> CLAIMED`.
    /// The market checks `paidOf` is zero first.
    function pay(Book storage self, address account, uint256 amount) internal {
        self.slots[account] = bytes32(CLAIMED | (amount << 8));
    }

    // ------------------------------------------------------------ views

    /// @notice What `account` was paid from the task's payout tree (0 if not paid).
    function paidOf(Book storage self, address account) internal view returns (uint256) {
        uint256 value = uint256(self.slots[account]);
        return value < MIN_COMMITMENT && (value & 0xff) == CLAIMED ? value >> 8 : 0;
    }

    /// @notice The annotator's commitment, `REVEALED`, or 0 (no commitment, a seat only, or paid).
    function commitmentOf(Book storage self, address annotator) internal view returns (bytes32 value) {
        value = self.slots[annotator];
        if (uint256(value) < MIN_COMMITMENT && value != REVEALED) value = 0;
    }

    /// @notice Whether the annotator holds a seat: on a seated task, every non-zero slot does
    /// (seat, commitment or reveal all start from a seat).
    function hasSeat(Book storage self, address annotator, bool seated) internal view returns (bool) {
        return seated && self.slots[annotator] != 0;
    }
}
