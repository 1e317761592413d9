// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReviewFixture} from "./utils/ReviewFixture.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {IReviewBoard} from "../src/interfaces/IReviewBoard.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice ReviewBoard's settlement: review leaves of the final payout root, finishReview,
/// and the market refusing to pay a review leaf.
contract ReviewBoardSettleTest is ReviewFixture {
    using PayoutTree for PayoutTree.Tree;

    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;

    uint256 internal taskId;
    PayoutTree.Tree internal tree;

    function setUp() public override {
        super.setUp();
        taskId = _reviewedTask();
        tree = _reviewTree();
    }

    function _settle3() internal {
        board.settle(taskId, validator3, 0.04 ether, 0, 2, tree.proof(3));
    }

    function _settle4() internal {
        board.settle(taskId, validator4, 0, 0.06 ether, 0, tree.proof(4));
    }

    // ------------------------------------------------------------ settle

    function test_settle_paysCoherentReviewerFeeShareAndBond() public {
        _finalizeOn(taskId, tree);
        uint256 before = token.balanceOf(validator3);
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewSettled(taskId, validator3, 0.04 ether, 0, 2);
        vm.prank(stranger); // anyone may settle; the reviewer is paid
        _settle3();
        vm.assertEq(token.balanceOf(validator3), before + 0.04 ether + REVIEW_BOND);
        IReviewBoard.Review memory r = board.reviewOf(taskId);
        vm.assertEq(r.settledCount, 1);
        vm.assertEq(r.charged, 2 * FEE);
        vm.assertEq(r.held, ESCROW + 2 * REVIEW_BOND - 0.04 ether - REVIEW_BOND);
        vm.assertEq(r.finalSeenAt, block.timestamp);
        vm.assertTrue(board.seatOf(taskId, validator3).settled);
    }

    function test_settle_slashesSilentReviewerWholeBond() public {
        _finalizeOn(taskId, tree);
        uint256 before = token.balanceOf(validator4);
        _settle4();
        vm.assertEq(token.balanceOf(validator4), before);
        vm.assertEq(board.reviewOf(taskId).charged, 0);
    }

    function test_settle_revertsBeforeFinalization() public {
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewTaskStatus.selector, taskId, ITaskMarket.TaskStatus.Open)
        );
        _settle3();
    }

    function test_settle_revertsOnWrongLeaf() public {
        _finalizeOn(taskId, tree);
        uint256 amount = board.reviewLeafAmount(0.05 ether, 0, 2);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewInvalidProof.selector, taskId, validator3, amount));
        board.settle(taskId, validator3, 0.05 ether, 0, 2, tree.proof(3));
    }

    function test_settle_revertsWhenSettledTwice() public {
        _finalizeOn(taskId, tree);
        _settle3();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewAlreadySettled.selector, taskId, validator3));
        _settle3();
    }

    function test_settle_revertsForNonReviewer() public {
        _finalizeOn(taskId, tree);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotReviewer.selector, taskId, annotatorA));
        board.settle(taskId, annotatorA, 10 ether, 0, 0, tree.proof(0));
    }

    function test_settle_revertsWithoutReview() public {
        uint256 other = _createTask();
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotOpen.selector, other));
        board.settle(other, validator3, 0, 0, 0, new bytes32[](0));
    }

    /// @notice A (wrong) final root can state leaves the board refuses to pay: a slash above the
    /// bond, votes above the cap, or more than the review holds.
    function test_settle_revertsOnUnpayableLeaves() public {
        address[] memory accounts = new address[](4);
        uint256[] memory amounts = new uint256[](4);
        (accounts[0], accounts[1], accounts[2], accounts[3]) = (annotatorA, validator3, validator3, validator4);
        // casting to 'uint96' is safe because REVIEW_BOND + 1 is a few ether, far below 2**96
        // forge-lint: disable-next-line(unsafe-typecast)
        uint96 overBond = uint96(REVIEW_BOND + 1);
        amounts[0] = 24 ether;
        amounts[1] = board.reviewLeafAmount(0, overBond, 0);
        amounts[2] = board.reviewLeafAmount(0, 0, CAP + 1);
        amounts[3] = board.reviewLeafAmount(1 ether, 0, 0);
        PayoutTree.Tree memory bad = PayoutTree.build(accounts, amounts);
        _finalizeOn(taskId, bad);
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewInvalidSettlement.selector, taskId, validator3, 0, overBond, 0)
        );
        board.settle(taskId, validator3, 0, overBond, 0, bad.proof(1));
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewInvalidSettlement.selector, taskId, validator3, 0, 0, CAP + 1)
        );
        board.settle(taskId, validator3, 0, 0, CAP + 1, bad.proof(2));
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewInvalidSettlement.selector, taskId, validator4, 1 ether, 0, 0)
        );
        board.settle(taskId, validator4, 1 ether, 0, 0, bad.proof(3));
    }

    function test_settle_revertsAfterFinish() public {
        _finalizeOn(taskId, tree);
        _settle4(); // the first settlement starts the settlement period
        vm.warp(block.timestamp + SETTLE_PERIOD + 1);
        board.finishReview(taskId);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewAlreadyFinished.selector, taskId));
        _settle3();
    }

    // ------------------------------------------------------------ finishReview

    /// @notice docs/review.md §5 on `_reviewTree`: 2 votes bought (0.02 charged), pot = v4's
    /// 0.06 slash, v3's share min(0.06, 2r) = 0.02; refund 0.04, burned 0.04, conserved.
    function test_finishReview_refundsUnspentFeesAndBurnsTheRest() public {
        _finalizeOn(taskId, tree);
        uint256 requesterBefore = token.balanceOf(requester);
        _settle3();
        _settle4();
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewFinished(taskId, 0.04 ether, 0.04 ether);
        board.finishReview(taskId);
        vm.assertEq(token.balanceOf(requester), requesterBefore + 0.04 ether);
        vm.assertEq(token.balanceOf(BURN), 0.04 ether);
        vm.assertEq(token.balanceOf(address(board)), 0);
        IReviewBoard.Review memory r = board.reviewOf(taskId);
        vm.assertTrue(r.finished);
        vm.assertEq(r.held, 0);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewAlreadyFinished.selector, taskId));
        board.finishReview(taskId);
    }

    function test_finishReview_startsThenWaitsThenBurnsUnsettledBonds() public {
        _finalizeOn(taskId, tree);
        uint64 endsAt = uint64(block.timestamp) + SETTLE_PERIOD;
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewSettlementStarted(taskId, endsAt);
        board.finishReview(taskId);
        vm.assertEq(board.reviewOf(taskId).finalSeenAt, block.timestamp);
        vm.warp(endsAt);
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewSettling.selector, taskId, endsAt));
        board.finishReview(taskId);
        _settle3(); // still possible within the period
        vm.warp(endsAt + 1);
        uint256 requesterBefore = token.balanceOf(requester);
        board.finishReview(taskId);
        // v4 never settled: its whole bond burns with the pot's remainder (as its leaf says).
        vm.assertEq(token.balanceOf(requester), requesterBefore + 0.04 ether);
        vm.assertEq(token.balanceOf(BURN), 0.04 ether);
        vm.assertEq(token.balanceOf(address(board)), 0);
    }

    function test_finishReview_revertsWhileTaskOpen() public {
        vm.expectRevert(
            abi.encodeWithSelector(IReviewBoard.ReviewTaskStatus.selector, taskId, ITaskMarket.TaskStatus.Open)
        );
        board.finishReview(taskId);
    }

    function test_finishReview_revertsWithoutReview() public {
        vm.expectRevert(abi.encodeWithSelector(IReviewBoard.ReviewNotOpen.selector, 99));
        board.finishReview(99);
    }

    function test_finishReview_voidTaskReturnsEscrowAndBonds() public {
        _stakeAll();
        uint256 id = _createTask();
        _open(id, _terms(id));
        _commit(id, annotatorA);
        _warpToReviewCommit(id);
        _commitReview(id, validator3);
        _commitReview(id, validator4);
        market.finalize(id); // nothing revealed: Void
        uint256 r = token.balanceOf(requester);
        uint256 b3 = token.balanceOf(validator3);
        uint256 b4 = token.balanceOf(validator4);
        uint256 held = token.balanceOf(address(board));
        vm.expectEmit(true, true, true, true, address(board));
        emit IReviewBoard.ReviewFinished(id, ESCROW, 0);
        board.finishReview(id);
        vm.assertEq(token.balanceOf(requester), r + ESCROW);
        vm.assertEq(token.balanceOf(validator3), b3 + REVIEW_BOND);
        vm.assertEq(token.balanceOf(validator4), b4 + REVIEW_BOND);
        vm.assertEq(token.balanceOf(address(board)), held - ESCROW - 2 * REVIEW_BOND);
    }

    function test_finishReview_cancelledTaskRefundsEscrow() public {
        uint256 id = _createTask();
        _open(id, _terms(id));
        vm.prank(requester);
        market.cancel(id);
        uint256 before = token.balanceOf(requester);
        board.finishReview(id);
        vm.assertEq(token.balanceOf(requester), before + ESCROW);
    }

    function test_finishReview_finalizedWithoutReviewersRefundsAll() public {
        uint256 id = _createTask();
        _open(id, _terms(id));
        _commit(id, annotatorA);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        _finalizeOn(id, honestTree);
        uint256 before = token.balanceOf(requester);
        board.finishReview(id);
        vm.assertEq(token.balanceOf(requester), before + ESCROW);
    }

    // ------------------------------------------------------------ the market refuses review leaves

    /// @notice A review leaf is a valid leaf of the final root, but its amount (with bit 255)
    /// exceeds any total the market attests, so the market's claim reverts: only the board
    /// pays it. The annotators' leaves of the same tree are claimed as usual.
    function test_marketClaimOfReviewLeafReverts() public {
        _finalizeOn(taskId, tree);
        uint256 amount = board.reviewLeafAmount(0.04 ether, 0, 2);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketPayoutExceeded.selector, taskId, 0, amount, HONEST_TOTAL)
        );
        market.claim(taskId, validator3, amount, tree.proof(3));
        market.claim(taskId, annotatorA, 10 ether, tree.proof(0));
        vm.assertEq(market.paidOf(taskId, annotatorA), 10 ether);
    }
}
