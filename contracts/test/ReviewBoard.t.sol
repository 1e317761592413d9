// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReviewFixture} from "./utils/ReviewFixture.sol";
import {ReviewBoard} from "../src/ReviewBoard.sol";
import {IReviewBoard} from "../src/interfaces/IReviewBoard.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {ValidatorStaking} from "../src/ValidatorStaking.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice ReviewBoard's round: openReview, commitReview, revealReview, revealReviewGold, views.
contract ReviewBoardTest is ReviewFixture {
    // ------------------------------------------------------------ constructor and views

    function test_constructor_rejectsZeroConfig() public {
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(IERC20(address(0)), market, staking, MIN_REVIEW_TIME, SETTLE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, ITaskMarket(address(0)), staking, MIN_REVIEW_TIME, SETTLE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, market, ValidatorStaking(address(0)), MIN_REVIEW_TIME, SETTLE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, market, staking, 0, SETTLE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, market, staking, MIN_REVIEW_TIME, 0);
        uint64 tooLong = uint64(type(uint32).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, market, staking, tooLong, SETTLE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewBoardInvalidConfig.selector));
        new ReviewBoard(token, market, staking, MIN_REVIEW_TIME, tooLong);
        ReviewBoard longest = new ReviewBoard(token, market, staking, type(uint32).max, type(uint32).max);
        vm.assertEq(longest.settlePeriod(), type(uint32).max);
    }

    function test_views_constructorParameters() public view {
        vm.assertEq(address(board.market()), address(market));
        vm.assertEq(board.minReviewTime(), MIN_REVIEW_TIME);
        vm.assertEq(board.settlePeriod(), SETTLE_PERIOD);
    }

    /// @notice The commitment's bytes are node/protocol/review.review_commitment's: the inputs
    /// of tests/protocol/test_review.py give its PINNED_COMMITMENT.
    function test_reviewCommitment_matchesPythonPin() public view {
        address reviewer = 0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB;
        bytes32 root = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f;
        bytes32 salt = 0x1111111111111111111111111111111111111111111111111111111111111111;
        vm.assertEq(
            board.reviewCommitment(7, reviewer, root, salt),
            0x4f9b41a465b958bdb36a9be57b95de6837c8151d9dc8ce33c5650e358d8bc836
        );
    }

    function test_reviewLeafAmount_layout() public view {
        uint256 amount = board.reviewLeafAmount(type(uint96).max, 1, 3);
        vm.assertEq(amount, (1 << 255) | (3 << 192) | (1 << 96) | type(uint96).max);
        vm.assertEq(board.reviewLeafAmount(0, 0, 0), 1 << 255);
    }

    // ------------------------------------------------------------ openReview

    function test_openReview_storesTermsEscrowsAndEmits() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        _approve(requester, address(board), ESCROW);
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewOpened(taskId, requester, t, ESCROW);
        vm.prank(requester);
        board.openReview(taskId, t);
        vm.assertEq(token.balanceOf(requester), before - ESCROW);
        vm.assertEq(token.balanceOf(address(board)), ESCROW);
        IReviewBoard.Review memory r = board.reviewOf(taskId);
        vm.assertEq(r.requester, requester);
        vm.assertEq(r.feePerVote, FEE);
        vm.assertEq(r.slashPerVote, SLASH);
        vm.assertEq(r.cap, CAP);
        vm.assertEq(r.maxReviewers, SEATS);
        vm.assertEq(r.commitDeadline, t.commitDeadline);
        vm.assertEq(r.revealDeadline, t.revealDeadline);
        vm.assertEq(r.goldDeadline, t.goldDeadline);
        vm.assertEq(r.goldCommitment, t.goldCommitment);
        vm.assertEq(r.held, ESCROW);
    }

    function test_openReview_withoutGoldStoresNoCommitment() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.goldCommitment = bytes32(0);
        _open(taskId, t);
        vm.assertEq(board.reviewOf(taskId).goldCommitment, bytes32(0));
    }

    function test_openReview_revertsForNonRequester() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotRequester.selector, taskId, stranger));
        vm.prank(stranger);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsWhenAlreadyOpen() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        _open(taskId, t);
        _approve(requester, address(board), ESCROW);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewAlreadyOpen.selector, taskId));
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsAfterRevealDeadline() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        uint64 deadline = _task(taskId).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewClosed.selector, taskId, deadline));
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsForCancelledTask() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        vm.prank(requester);
        market.cancel(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewTaskStatus.selector, taskId, ITaskMarket.TaskStatus.Cancelled)
        );
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsForUnknownTask() public {
        IReviewBoard.ReviewTerms memory t;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 99));
        vm.prank(requester);
        board.openReview(99, t);
    }

    function test_openReview_revertsOnInvalidTerms() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.feePerVote = 0;
        _expectInvalidTerms(taskId, t);
        t = _terms(taskId);
        t.slashPerVote = 0;
        _expectInvalidTerms(taskId, t);
        t = _terms(taskId);
        t.cap = 0;
        _expectInvalidTerms(taskId, t);
        t = _terms(taskId);
        t.maxReviewers = 0;
        _expectInvalidTerms(taskId, t);
        t = _terms(taskId);
        t.maxReviewers = 33;
        _expectInvalidTerms(taskId, t);
    }

    function _expectInvalidTerms(uint256 taskId, IReviewBoard.ReviewTerms memory t) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                IReviewBoard.ReviewInvalidTerms.selector, t.feePerVote, t.slashPerVote, t.cap, t.maxReviewers
            )
        );
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsOnInvalidWindows() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        uint64 reveal = _task(taskId).revealDeadline;
        t.commitDeadline = reveal + MIN_REVIEW_TIME - 1;
        _expectInvalidWindows(taskId, t);
        t = _terms(taskId);
        t.revealDeadline = t.commitDeadline + MIN_REVIEW_TIME - 1;
        _expectInvalidWindows(taskId, t);
        t = _terms(taskId);
        t.goldDeadline = t.revealDeadline + MIN_REVIEW_TIME - 1;
        _expectInvalidWindows(taskId, t);
        t = _terms(taskId);
        t.goldDeadline = _task(taskId).attestDeadline + 1;
        _expectInvalidWindows(taskId, t);
    }

    function test_openReview_acceptsTightestWindows() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.commitDeadline = _task(taskId).revealDeadline + MIN_REVIEW_TIME;
        t.revealDeadline = t.commitDeadline + MIN_REVIEW_TIME;
        t.goldDeadline = _task(taskId).attestDeadline;
        _open(taskId, t);
        vm.assertEq(board.reviewOf(taskId).goldDeadline, _task(taskId).attestDeadline);
    }

    function _expectInvalidWindows(uint256 taskId, IReviewBoard.ReviewTerms memory t) internal {
        ITaskMarket.Task memory task = _task(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReviewBoard.ReviewInvalidWindows.selector,
                task.revealDeadline,
                t.commitDeadline,
                t.revealDeadline,
                t.goldDeadline,
                task.attestDeadline
            )
        );
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function test_openReview_revertsOnAmountsOver96Bits() public {
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.feePerVote = type(uint96).max;
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewAmountTooLarge.selector, uint256(CAP) * SEATS * type(uint96).max)
        );
        vm.prank(requester);
        board.openReview(taskId, t);
        t = _terms(taskId);
        t.slashPerVote = type(uint96).max;
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewAmountTooLarge.selector, uint256(CAP) * type(uint96).max)
        );
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    // ------------------------------------------------------------ commitReview

    function test_commitReview_seatsPullsBondAndEmits() public {
        uint256 taskId = _openedTask();
        bytes32 commitment = _voteCommitment(taskId, validator3);
        _approve(validator3, address(board), REVIEW_BOND);
        uint256 before = token.balanceOf(validator3);
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewCommitted(taskId, validator3, commitment, STAKE_3);
        vm.prank(validator3);
        board.commitReview(taskId, commitment);
        vm.assertEq(token.balanceOf(validator3), before - REVIEW_BOND);
        IReviewBoard.Seat memory seat = board.seatOf(taskId, validator3);
        vm.assertEq(seat.commitment, commitment);
        vm.assertEq(seat.weight, STAKE_3);
        vm.assertFalse(seat.revealed);
        IReviewBoard.Review memory r = board.reviewOf(taskId);
        vm.assertEq(r.reviewerCount, 1);
        vm.assertEq(r.held, ESCROW + REVIEW_BOND);
        address[] memory reviewers = board.reviewersOf(taskId);
        vm.assertEq(reviewers.length, 1);
        vm.assertEq(reviewers[0], validator3);
    }

    function test_commitReview_replacesWithoutSecondBond() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        uint256 before = token.balanceOf(validator3);
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("another"));
        vm.assertEq(token.balanceOf(validator3), before);
        vm.assertEq(board.seatOf(taskId, validator3).commitment, keccak256("another"));
        vm.assertEq(board.reviewOf(taskId).reviewerCount, 1);
    }

    function test_commitReview_revertsWithoutReview() public {
        uint256 taskId = _revealedTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotOpen.selector, taskId));
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsOnEmptyCommitment() public {
        uint256 taskId = _openedTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewEmptyCommitment.selector));
        vm.prank(validator3);
        board.commitReview(taskId, bytes32(0));
    }

    function test_commitReview_revertsBeforeTaskRevealDeadline() public {
        _stakeAll();
        uint256 taskId = _createTask();
        _open(taskId, _terms(taskId));
        uint64 reveal = _task(taskId).revealDeadline;
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewTooEarly.selector, taskId, reveal));
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsInTaskRevealWindow() public {
        _stakeAll();
        uint256 taskId = _createTask();
        _open(taskId, _terms(taskId));
        _warpToReveal(taskId);
        uint64 reveal = _task(taskId).revealDeadline;
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewTooEarly.selector, taskId, reveal));
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsAfterCommitDeadline() public {
        uint256 taskId = _openedTask();
        uint64 deadline = board.reviewOf(taskId).commitDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewClosed.selector, taskId, deadline));
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsOnVoidTask() public {
        _stakeAll();
        uint256 taskId = _createTask();
        _open(taskId, _terms(taskId));
        _commit(taskId, annotatorA);
        _warpToReviewCommit(taskId);
        market.finalize(taskId); // nothing revealed: Void
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewTaskStatus.selector, taskId, ITaskMarket.TaskStatus.Void)
        );
        vm.prank(validator3);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsForRequester() public {
        uint256 taskId = _openedTask();
        _stake(requester, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewerIsParty.selector, taskId, requester));
        vm.prank(requester);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsForCommittedAnnotator() public {
        uint256 taskId = _openedTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewerIsParty.selector, taskId, annotatorA));
        vm.prank(annotatorA);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsForSeatedAnnotatorThatNeverCommitted() public {
        _stakeAll();
        uint256 taskId = _createTask(_seatedParams());
        _open(taskId, _terms(taskId));
        _claimSeat(taskId, annotatorA);
        _claimSeat(taskId, annotatorB);
        _commit(taskId, annotatorB);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorB);
        _warpToReviewCommit(taskId);
        vm.assertEq(market.commitmentOf(taskId, annotatorA), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewerIsParty.selector, taskId, annotatorA));
        vm.prank(annotatorA);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsBelowMinimumStake() public {
        uint256 taskId = _openedTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewerBelowMinimum.selector, stranger, 0, MIN_STAKE));
        vm.prank(stranger);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsOnZeroStakeWithZeroMinimum() public {
        _deploy(0, SLASH_BPS, MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS);
        board = new ReviewBoard(token, market, staking, MIN_REVIEW_TIME, SETTLE_PERIOD);
        uint256 taskId = _openedTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewerBelowMinimum.selector, stranger, 0, 0));
        vm.prank(stranger);
        board.commitReview(taskId, keccak256("c"));
    }

    function test_commitReview_revertsWhenSeatsFull() public {
        _stakeAll();
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.maxReviewers = 1;
        _open(taskId, t);
        _commit(taskId, annotatorA);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        _warpToReviewCommit(taskId);
        _commitReview(taskId, validator3);
        _approve(validator4, address(board), REVIEW_BOND);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewSeatsFull.selector, taskId, 1));
        vm.prank(validator4);
        board.commitReview(taskId, keccak256("c"));
    }

    // ------------------------------------------------------------ revealReview

    function test_revealReview_marksAndEmits() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        _warpToReviewReveal(taskId);
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewRevealed(taskId, validator3, _votesRoot(validator3), "bafkreivotes");
        _revealReview(taskId, validator3);
        vm.assertTrue(board.seatOf(taskId, validator3).revealed);
    }

    function test_revealReview_revertsForNonReviewer() public {
        uint256 taskId = _openedTask();
        _warpToReviewReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotReviewer.selector, taskId, validator3));
        _revealReview(taskId, validator3);
    }

    function test_revealReview_revertsWhenAlreadyRevealed() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        _warpToReviewReveal(taskId);
        _revealReview(taskId, validator3);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewAlreadyRevealed.selector, taskId, validator3));
        _revealReview(taskId, validator3);
    }

    function test_revealReview_revertsBeforeCommitDeadline() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        uint64 opens = board.reviewOf(taskId).commitDeadline;
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewTooEarly.selector, taskId, opens));
        _revealReview(taskId, validator3);
    }

    function test_revealReview_revertsAfterRevealDeadline() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        uint64 deadline = board.reviewOf(taskId).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewClosed.selector, taskId, deadline));
        _revealReview(taskId, validator3);
    }

    function test_revealReview_revertsOnMismatch() public {
        uint256 taskId = _openedTask();
        _commitReview(taskId, validator3);
        _warpToReviewReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.CommitmentMismatch.selector, taskId, validator3));
        vm.prank(validator3);
        board.revealReview(taskId, keccak256("other votes"), "bafkreivotes", _voteSalt(validator3));
    }

    // ------------------------------------------------------------ revealReviewGold

    function test_revealReviewGold_marksAndEmits() public {
        uint256 taskId = _openedTask();
        _warpToReviewGold(taskId);
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewGoldRevealed(taskId, REVIEW_GOLD_ROOT, "bafkreireviewgold");
        _revealReviewGold(taskId);
        vm.assertTrue(board.reviewOf(taskId).goldRevealed);
    }

    function test_revealReviewGold_revertsForNonRequester() public {
        uint256 taskId = _openedTask();
        _warpToReviewGold(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotRequester.selector, taskId, stranger));
        vm.prank(stranger);
        board.revealReviewGold(taskId, REVIEW_GOLD_ROOT, "", REVIEW_GOLD_SALT);
    }

    function test_revealReviewGold_revertsWithoutGold() public {
        _stakeAll();
        uint256 taskId = _createTask();
        IReviewBoard.ReviewTerms memory t = _terms(taskId);
        t.goldCommitment = bytes32(0);
        _open(taskId, t);
        _warpToReviewGold(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNoGold.selector, taskId));
        _revealReviewGold(taskId);
    }

    function test_revealReviewGold_revertsWhenAlreadyRevealed() public {
        uint256 taskId = _openedTask();
        _warpToReviewGold(taskId);
        _revealReviewGold(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewGoldAlreadyRevealed.selector, taskId));
        _revealReviewGold(taskId);
    }

    function test_revealReviewGold_revertsOutsideItsWindow() public {
        uint256 taskId = _openedTask();
        IReviewBoard.Review memory r = board.reviewOf(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewTooEarly.selector, taskId, r.revealDeadline));
        _revealReviewGold(taskId);
        vm.warp(r.goldDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewClosed.selector, taskId, r.goldDeadline));
        _revealReviewGold(taskId);
    }

    function test_revealReviewGold_revertsOnMismatch() public {
        uint256 taskId = _openedTask();
        _warpToReviewGold(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.CommitmentMismatch.selector, taskId, requester));
        vm.prank(requester);
        board.revealReviewGold(taskId, keccak256("other gold"), "", REVIEW_GOLD_SALT);
    }

    function test_revealReviewGold_revertsWithoutReview() public {
        uint256 taskId = _createTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotOpen.selector, taskId));
        _revealReviewGold(taskId);
    }
}
