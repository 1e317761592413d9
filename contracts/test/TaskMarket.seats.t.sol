// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Seated tasks (market v2, docs/settlement.md §1.2): creation checks, claimSeat, commits
/// only by seat holders, the bond taken by the seat, and the whole lifecycle to the last claim.
/// Open tasks (batchSize 0) keep v1's rules; the other TaskMarket suites test them.
contract TaskMarketSeatsTest is LabelnetFixture {
    function test_version_isThree() public view {
        vm.assertEq(market.version(), 3);
        vm.assertEq(uint256(market.minLabelTime()), MIN_LABEL_TIME);
    }

    // ------------------------------------------------------------ create

    function test_createTask_storesTheSeats() public {
        ITaskMarket.TaskParams memory p = _seatedParams();
        p.batchSize = 5; // 30 positions in batches of 5
        uint256 id = _createTask(p);
        ITaskMarket.Task memory t = _task(id);
        vm.assertEq(uint256(t.seatLimit), 6);
        vm.assertEq(uint256(t.seatCount), 0);
        vm.assertEq(uint256(t.seatDeadline), p.seatDeadline);
    }

    function test_createTask_openTaskHasNoSeats() public {
        ITaskMarket.Task memory t = _task(_createTask());
        vm.assertEq(uint256(t.seatLimit), 0);
        vm.assertEq(uint256(t.seatDeadline), 0);
    }

    function test_createTask_revertsForAnInvalidBatch() public {
        ITaskMarket.TaskParams memory p = _seatedParams();
        p.batchSize = 7; // does not divide 30
        _approve(requester, address(market), REWARD_POOL + VALIDATOR_FEE);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidBatchSize.selector, 7, NUM_ITEMS, REDUNDANCY)
        );
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsForTooLittleLabelTime() public {
        ITaskMarket.TaskParams memory p = _seatedParams();
        p.seatDeadline += 1;
        _approve(requester, address(market), REWARD_POOL + VALIDATOR_FEE);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidSeatDeadline.selector, p.seatDeadline, p.commitDeadline, MIN_LABEL_TIME
            )
        );
        vm.prank(requester);
        market.createTask(p);
    }

    // ------------------------------------------------------------ claimSeat

    function test_claimSeat_numbersSeatsPullsTheBondAndEmits() public {
        uint256 id = _createTask(_seatedParams());
        _approve(annotatorA, address(market), BOND);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SeatClaimed(id, annotatorA, 0);
        vm.prank(annotatorA);
        vm.assertEq(uint256(market.claimSeat(id)), 0);
        vm.assertEq(uint256(_claimSeat(id, annotatorB)), 1);
        ITaskMarket.Task memory t = _task(id);
        vm.assertEq(uint256(t.seatCount), 2);
        vm.assertEq(uint256(t.commitCount), 0, "a seat is not a commit");
        vm.assertTrue(market.hasSeat(id, annotatorA));
        vm.assertFalse(market.hasSeat(id, annotatorC));
        vm.assertEq(market.commitmentOf(id, annotatorA), bytes32(0));
        vm.assertEq(token.balanceOf(annotatorA), 100 ether - BOND);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE + 2 * BOND);
    }

    function test_claimSeat_withoutBondNeedsNoAllowance() public {
        ITaskMarket.TaskParams memory p = _seatedParams();
        p.annotatorBond = 0;
        uint256 id = _createTask(p);
        vm.prank(annotatorA);
        market.claimSeat(id);
        vm.assertEq(token.balanceOf(annotatorA), 100 ether);
    }

    function test_claimSeat_revertsForASecondSeat() public {
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadySeated.selector, id, annotatorA));
        vm.prank(annotatorA);
        market.claimSeat(id);
    }

    function test_claimSeat_revertsAfterTheSeatDeadline() public {
        uint256 id = _createTask(_seatedParams());
        uint64 deadline = _task(id).seatDeadline;
        vm.warp(deadline);
        _claimSeat(id, annotatorA); // the deadline itself still takes seats
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketSeatsClosed.selector, id, deadline));
        vm.prank(annotatorB);
        market.claimSeat(id);
    }

    function test_claimSeat_revertsWhenTheSeatsAreTaken() public {
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        _claimSeat(id, annotatorB);
        _claimSeat(id, annotatorC);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoSeatsLeft.selector, id, 3));
        vm.prank(stranger);
        market.claimSeat(id);
    }

    function test_claimSeat_revertsOnAnOpenTask() public {
        uint256 id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketSeatsClosed.selector, id, 0));
        vm.prank(annotatorA);
        market.claimSeat(id);
        vm.assertFalse(market.hasSeat(id, annotatorA));
    }

    function test_claimSeat_revertsOnACancelledTask() public {
        uint256 id = _createTask(_seatedParams());
        vm.prank(requester);
        market.cancel(id);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, id, ITaskMarket.TaskStatus.Cancelled)
        );
        vm.prank(annotatorA);
        market.claimSeat(id);
    }

    // ------------------------------------------------------------ commit, cancel

    function test_commit_revertsWithoutASeat() public {
        uint256 id = _createTask(_seatedParams());
        bytes32 c = _commitment(id, annotatorA, _labelsRoot(annotatorA), _salt(annotatorA));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoSeat.selector, id, annotatorA));
        vm.prank(annotatorA);
        market.commit(id, c);
    }

    function test_commit_bySeatHolderTakesNoBondAndCountsNothing() public {
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        uint256 balance = token.balanceOf(annotatorA);
        bytes32 c = _commitment(id, annotatorA, _labelsRoot(annotatorA), _salt(annotatorA));
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.LabelsCommitted(id, annotatorA, c);
        vm.prank(annotatorA);
        market.commit(id, c);
        vm.assertEq(market.commitmentOf(id, annotatorA), c);
        vm.assertEq(token.balanceOf(annotatorA), balance, "the seat already took the bond");
        ITaskMarket.Task memory t = _task(id);
        vm.assertEq(uint256(t.seatCount), 1);
        vm.assertEq(uint256(t.commitCount), 0);
    }

    function test_cancel_revertsOnceASeatIsTaken() public {
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketHasCommits.selector, id, 1));
        vm.prank(requester);
        market.cancel(id);
    }

    // ------------------------------------------------------------ lifecycle

    /// @notice Three seats; A and B commit and reveal, C holds a seat and never commits. The
    /// reveals return the bonds, the claims pay the honest tree, and the requester's refund
    /// holds the unpaid pool, the fee's dust and C's forfeited bond; the market ends empty.
    function test_seatedLifecycle_paysTheTreeAndForfeitsALapsedSeat() public {
        _stakeAll();
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        _claimSeat(id, annotatorB);
        _claimSeat(id, annotatorC);
        vm.warp(_task(id).seatDeadline + 1);
        _commit(id, annotatorA);
        _commit(id, annotatorB);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _reveal(id, annotatorB);
        vm.assertEq(token.balanceOf(annotatorA), 100 ether, "the reveal returned the seat's bond");
        vm.assertEq(market.commitmentOf(id, annotatorA), market.REVEALED());
        _warpToAttest(id);
        _attestHonest(id, validator1);
        _attestHonest(id, validator2);
        market.finalize(id);
        vm.prank(annotatorA);
        market.claim(id, annotatorA, 10 ether, _honestProof(0));
        vm.assertEq(market.paidOf(id, annotatorA), 10 ether);
        vm.assertEq(market.commitmentOf(id, annotatorA), bytes32(0), "the slot now holds the payment");
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyClaimed.selector, id, annotatorA));
        market.claim(id, annotatorA, 10 ether, _honestProof(0));
        market.claim(id, annotatorB, 8 ether, _honestProof(1));
        market.claim(id, annotatorC, 6 ether, _honestProof(2));
        ITaskMarket.Task memory t = _task(id);
        // The fee's dust is 1 wei: 3 LABEL split 4:3 between validator1 and validator2 rounds down.
        vm.assertEq(uint256(t.refundable), REWARD_POOL - HONEST_TOTAL + BOND + 1, "C's lapsed seat forfeits its bond");
        vm.assertTrue(t.refunded, "finalize pushed the refund");
        vm.assertEq(token.balanceOf(address(market)), 0, "the market owes nothing");
    }
}
