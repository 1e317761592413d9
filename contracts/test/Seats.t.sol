// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {SeatsHarness} from "./utils/SeatsHarness.sol";
import {Seats} from "../src/libraries/Seats.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice The Seats library on its own: the task shapes it allows, and each transition of an
/// annotator's slot (seat, commitment, reveal) with the errors of the ones it refuses.
contract SeatsTest is TestBase {
    uint256 internal constant TASK_ID = 7;
    uint64 internal constant MIN_LABEL_TIME = 1 hours;
    bytes32 internal constant ROOT = keccak256("labels");
    bytes32 internal constant SALT = keccak256("salt");

    SeatsHarness internal seated;
    SeatsHarness internal open;
    address internal alice;
    address internal bob;
    address internal carol;

    function setUp() public {
        vm.warp(1_000_000);
        seated = new SeatsHarness(2, uint64(block.timestamp + 1 days));
        open = new SeatsHarness(0, 0);
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = makeAddr("carol");
    }

    function _commitment(address annotator) internal pure returns (bytes32) {
        return keccak256(abi.encode(TASK_ID, annotator, ROOT, SALT));
    }

    /// @notice 10 items, 3 labels each, batches of 5 (6 seats), seats close an hour before commits.
    function _params() internal view returns (ITaskMarket.TaskParams memory p) {
        p.commitDeadline = uint64(block.timestamp + 2 days);
        p.seatDeadline = p.commitDeadline - MIN_LABEL_TIME;
        p.numItems = 10;
        p.redundancy = 3;
        p.batchSize = 5;
    }

    // ------------------------------------------------------------ task shape

    function test_seatLimit_isItemsTimesRedundancyOverBatch() public view {
        vm.assertEq(uint256(seated.seatLimit(_params(), MIN_LABEL_TIME)), 6);
        ITaskMarket.TaskParams memory p = _params();
        p.batchSize = 10; // a batch may hold every item once
        vm.assertEq(uint256(seated.seatLimit(p, MIN_LABEL_TIME)), 3);
        p.batchSize = 1;
        vm.assertEq(uint256(seated.seatLimit(p, MIN_LABEL_TIME)), 30);
    }

    function test_seatLimit_isZeroForAnOpenTask() public view {
        ITaskMarket.TaskParams memory p = _params();
        p.batchSize = 0;
        p.seatDeadline = 0;
        vm.assertEq(uint256(seated.seatLimit(p, MIN_LABEL_TIME)), 0);
    }

    function test_seatLimit_revertsForSeatDeadlineOnAnOpenTask() public {
        ITaskMarket.TaskParams memory p = _params();
        p.batchSize = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, MIN_LABEL_TIME
            )
        );
        seated.seatLimit(p, MIN_LABEL_TIME);
    }

    function test_seatLimit_revertsForBatchLargerThanTheItems() public {
        ITaskMarket.TaskParams memory p = _params();
        p.batchSize = 15; // divides 30, but a batch of 15 out of 10 items repeats one
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidBatchSize.selector, 15, 10, 3));
        seated.seatLimit(p, MIN_LABEL_TIME);
    }

    function test_seatLimit_revertsForBatchNotDividingThePositions() public {
        ITaskMarket.TaskParams memory p = _params();
        p.batchSize = 4; // 30 positions: the last seat would hold half a batch
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidBatchSize.selector, 4, 10, 3));
        seated.seatLimit(p, MIN_LABEL_TIME);
    }

    function test_seatLimit_revertsForTooManySeats() public {
        ITaskMarket.TaskParams memory p = _params();
        p.numItems = 1 << 24;
        p.redundancy = 1;
        p.batchSize = 1; // 2**24 seats, one more than fits
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidBatchSize.selector, 1, 1 << 24, 1));
        seated.seatLimit(p, MIN_LABEL_TIME);
        p.redundancy = 1;
        p.numItems = (1 << 24) - 1; // exactly the most seats
        vm.assertEq(uint256(seated.seatLimit(p, MIN_LABEL_TIME)), Seats.MAX_SEATS);
    }

    function test_seatLimit_revertsForSeatDeadlineNotInTheFuture() public {
        ITaskMarket.TaskParams memory p = _params();
        p.seatDeadline = uint64(block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, MIN_LABEL_TIME
            )
        );
        seated.seatLimit(p, MIN_LABEL_TIME);
    }

    function test_seatLimit_revertsForLessThanTheLabelTime() public {
        ITaskMarket.TaskParams memory p = _params();
        p.seatDeadline = p.commitDeadline - MIN_LABEL_TIME + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, MIN_LABEL_TIME
            )
        );
        seated.seatLimit(p, MIN_LABEL_TIME);
        p.seatDeadline = p.commitDeadline + 1; // after the commit deadline
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, MIN_LABEL_TIME
            )
        );
        seated.seatLimit(p, MIN_LABEL_TIME);
    }

    // ------------------------------------------------------------ claim

    function test_claim_numbersSeatsInClaimOrderAndEncodesTheSlot() public {
        vm.assertEq(uint256(seated.claim(alice)), 0);
        vm.assertEq(uint256(seated.claim(bob)), 1);
        vm.assertEq(seated.slotOf(alice), bytes32(Seats.SEATED));
        vm.assertEq(seated.slotOf(bob), bytes32(Seats.SEATED | (1 << 8)));
        vm.assertTrue(seated.hasSeat(alice));
        vm.assertFalse(seated.hasSeat(carol));
        vm.assertEq(seated.commitmentOf(bob), bytes32(0), "a seat is not a commitment");
    }

    function test_claim_acceptedAtTheDeadline() public {
        vm.warp(seated.deadline());
        vm.assertEq(uint256(seated.claim(alice)), 0);
    }

    function test_claim_revertsAfterTheDeadline() public {
        vm.warp(uint256(seated.deadline()) + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketSeatsClosed.selector, TASK_ID, seated.deadline()));
        seated.claim(alice);
    }

    function test_claim_revertsOnAnOpenTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketSeatsClosed.selector, TASK_ID, 0));
        open.claim(alice);
    }

    function test_claim_revertsForASecondSeat() public {
        seated.claim(alice);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadySeated.selector, TASK_ID, alice));
        seated.claim(alice);
        // Also once the seat holds a commitment or a reveal: one seat per address, ever.
        seated.commit(alice, _commitment(alice));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadySeated.selector, TASK_ID, alice));
        seated.claim(alice);
        seated.reveal(alice, ROOT, SALT);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadySeated.selector, TASK_ID, alice));
        seated.claim(alice);
    }

    function test_claim_revertsWhenTheSeatsAreTaken() public {
        seated.claim(alice);
        seated.claim(bob);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoSeatsLeft.selector, TASK_ID, 2));
        seated.claim(carol);
    }

    // ------------------------------------------------------------ commit

    function test_commit_seatedNeedsASeat() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoSeat.selector, TASK_ID, alice));
        seated.commit(alice, _commitment(alice));
    }

    function test_commit_seatedIsNeverAFirstCommit() public {
        seated.claim(alice);
        vm.assertFalse(seated.commit(alice, _commitment(alice)), "the seat took the bond and the count");
        vm.assertEq(seated.commitmentOf(alice), _commitment(alice));
        vm.assertFalse(seated.commit(alice, _commitment(bob)), "a replacement");
        vm.assertEq(seated.commitmentOf(alice), _commitment(bob));
        vm.assertTrue(seated.hasSeat(alice), "a commitment keeps the seat");
    }

    function test_commit_openIsFirstOnlyOnce() public {
        vm.assertTrue(open.commit(alice, _commitment(alice)));
        vm.assertFalse(open.commit(alice, _commitment(bob)));
        vm.assertEq(open.commitmentOf(alice), _commitment(bob));
        vm.assertFalse(open.hasSeat(alice), "an open task has no seats");
    }

    function test_commit_revertsBelowTheSmallestCommitment() public {
        seated.claim(alice);
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        seated.commit(alice, bytes32(0));
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        seated.commit(alice, Seats.REVEALED);
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        seated.commit(alice, bytes32(Seats.SEATED | (5 << 8))); // another seat's state
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        open.commit(alice, bytes32(Seats.MIN_COMMITMENT - 1));
        vm.assertTrue(open.commit(alice, bytes32(Seats.MIN_COMMITMENT)));
    }

    // ------------------------------------------------------------ reveal

    function test_reveal_marksRevealed() public {
        seated.claim(alice);
        seated.commit(alice, _commitment(alice));
        seated.reveal(alice, ROOT, SALT);
        vm.assertEq(seated.slotOf(alice), Seats.REVEALED);
        vm.assertEq(seated.commitmentOf(alice), Seats.REVEALED);
        vm.assertTrue(seated.hasSeat(alice));
    }

    function test_reveal_revertsWithoutACommitment() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotCommitted.selector, TASK_ID, alice));
        seated.reveal(alice, ROOT, SALT);
        seated.claim(alice); // a seat alone is not a commitment
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotCommitted.selector, TASK_ID, alice));
        seated.reveal(alice, ROOT, SALT);
    }

    function test_reveal_revertsForAnotherRootOrSalt() public {
        open.commit(alice, _commitment(alice));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, TASK_ID, alice));
        open.reveal(alice, ROOT, keccak256("other salt"));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, TASK_ID, alice));
        open.reveal(alice, keccak256("other root"), SALT);
    }

    function test_reveal_revertsTwice() public {
        open.commit(alice, _commitment(alice));
        open.reveal(alice, ROOT, SALT);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyRevealed.selector, TASK_ID, alice));
        open.reveal(alice, ROOT, SALT);
    }

    // ------------------------------------------------------------ payment

    function test_pay_recordsTheAmountOverAnyState() public {
        seated.claim(alice);
        seated.commit(alice, _commitment(alice));
        seated.reveal(alice, ROOT, SALT);
        seated.pay(alice, 7 ether);
        vm.assertEq(seated.paidOf(alice), 7 ether);
        vm.assertEq(seated.slotOf(alice), bytes32(Seats.CLAIMED | (uint256(7 ether) << 8)));
        vm.assertEq(seated.commitmentOf(alice), bytes32(0), "a payment is not a commitment");
        // An account paid without a slot of its own, and one whose commitment was never revealed.
        open.pay(bob, type(uint96).max);
        vm.assertEq(open.paidOf(bob), type(uint96).max);
        open.commit(carol, _commitment(carol));
        open.pay(carol, 1);
        vm.assertEq(open.paidOf(carol), 1);
    }

    function test_paidOf_isZeroForEveryOtherState() public {
        vm.assertEq(seated.paidOf(alice), 0, "nothing");
        seated.claim(alice);
        vm.assertEq(seated.paidOf(alice), 0, "a seat");
        // A commitment whose low byte looks like a payment is still a commitment.
        bytes32 lookalike = bytes32(Seats.MIN_COMMITMENT | Seats.CLAIMED | (5 << 8));
        seated.commit(alice, lookalike);
        vm.assertEq(seated.paidOf(alice), 0, "a commitment");
        open.commit(bob, _commitment(bob));
        open.reveal(bob, ROOT, SALT);
        vm.assertEq(open.paidOf(bob), 0, "a reveal");
    }
}
