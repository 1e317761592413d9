// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./LabelnetFixture.sol";
import {PayoutTree} from "./PayoutTree.sol";
import {ReviewBoard} from "../../src/ReviewBoard.sol";
import {IReviewBoard} from "../../src/interfaces/IReviewBoard.sol";

/// @title ReviewFixture
/// @notice LabelnetFixture plus a ReviewBoard and the review steps as one-line helpers.
/// @dev The default review: cap 2 contested items, 3 seats, r = 0.01, s = 0.03 LABEL (the
/// `s = 3r` of docs/review.md §7): escrow 0.06, bond 0.06. validator3 (200) and validator4
/// (100) review; validator1 and validator2 attest. Windows 6 hours apart after the task's
/// reveal deadline, the gold deadline 6 hours before its attest deadline.
abstract contract ReviewFixture is LabelnetFixture {
    using PayoutTree for PayoutTree.Tree;

    uint64 internal constant MIN_REVIEW_TIME = 1 hours;
    uint64 internal constant SETTLE_PERIOD = 30 days;
    uint96 internal constant FEE = 0.01 ether;
    uint96 internal constant SLASH = 0.03 ether;
    uint32 internal constant CAP = 2;
    uint8 internal constant SEATS = 3;
    uint256 internal constant ESCROW = 0.06 ether;
    uint256 internal constant REVIEW_BOND = 0.06 ether;
    bytes32 internal constant REVIEW_GOLD_ROOT = keccak256("review gold");
    bytes32 internal constant REVIEW_GOLD_SALT = keccak256("review gold salt");

    ReviewBoard internal board;

    function setUp() public virtual override {
        super.setUp();
        board = new ReviewBoard(token, market, staking, MIN_REVIEW_TIME, SETTLE_PERIOD);
        vm.label(address(board), "ReviewBoard");
    }

    function _terms(uint256 taskId) internal view returns (IReviewBoard.ReviewTerms memory t) {
        uint64 reveal = _task(taskId).revealDeadline;
        t.feePerVote = FEE;
        t.slashPerVote = SLASH;
        t.cap = CAP;
        t.maxReviewers = SEATS;
        t.commitDeadline = reveal + 6 hours;
        t.revealDeadline = reveal + 12 hours;
        t.goldDeadline = reveal + 18 hours;
        t.goldCommitment = keccak256(abi.encode(REVIEW_GOLD_ROOT, REVIEW_GOLD_SALT));
    }

    function _open(uint256 taskId, IReviewBoard.ReviewTerms memory t) internal {
        _approve(requester, address(board), uint256(t.cap) * t.maxReviewers * t.feePerVote);
        vm.prank(requester);
        board.openReview(taskId, t);
    }

    function _votesRoot(address reviewer) internal pure returns (bytes32) {
        return keccak256(abi.encode("votes", reviewer));
    }

    function _voteSalt(address reviewer) internal pure returns (bytes32) {
        return keccak256(abi.encode("vote salt", reviewer));
    }

    function _voteCommitment(uint256 taskId, address reviewer) internal pure returns (bytes32) {
        // casting to 'bytes32' is safe because "review@1" is 8 bytes
        // forge-lint: disable-next-line(unsafe-typecast)
        return keccak256(abi.encode(bytes32("review@1"), taskId, reviewer, _votesRoot(reviewer), _voteSalt(reviewer)));
    }

    function _commitReview(uint256 taskId, address reviewer) internal {
        _approve(reviewer, address(board), REVIEW_BOND);
        vm.prank(reviewer);
        board.commitReview(taskId, _voteCommitment(taskId, reviewer));
    }

    function _revealReview(uint256 taskId, address reviewer) internal {
        vm.prank(reviewer);
        board.revealReview(taskId, _votesRoot(reviewer), "bafkreivotes", _voteSalt(reviewer));
    }

    function _revealReviewGold(uint256 taskId) internal {
        vm.prank(requester);
        board.revealReviewGold(taskId, REVIEW_GOLD_ROOT, "bafkreireviewgold", REVIEW_GOLD_SALT);
    }

    function _warpToReviewCommit(uint256 taskId) internal {
        vm.warp(_task(taskId).revealDeadline + 1);
    }

    function _warpToReviewReveal(uint256 taskId) internal {
        vm.warp(board.reviewOf(taskId).commitDeadline + 1);
    }

    function _warpToReviewGold(uint256 taskId) internal {
        vm.warp(board.reviewOf(taskId).revealDeadline + 1);
    }

    /// @notice A task with its review open, A, B and C revealed, at the review commit window.
    function _openedTask() internal returns (uint256 taskId) {
        _stakeAll();
        taskId = _createTask();
        _open(taskId, _terms(taskId));
        _commit(taskId, annotatorA);
        _commit(taskId, annotatorB);
        _commit(taskId, annotatorC);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        _reveal(taskId, annotatorB);
        _reveal(taskId, annotatorC);
        _warpToReviewCommit(taskId);
    }

    /// @notice `_openedTask` where validator3 and validator4 committed, only validator3
    /// revealed, and the gold was revealed: the task is ready to attest.
    function _reviewedTask() internal returns (uint256 taskId) {
        taskId = _openedTask();
        _commitReview(taskId, validator3);
        _commitReview(taskId, validator4);
        _warpToReviewReveal(taskId);
        _revealReview(taskId, validator3);
        _warpToReviewGold(taskId);
        _revealReviewGold(taskId);
    }

    /// @notice The honest tree of `_reviewedTask` (docs/review.md §5 on it): A, B, C paid 10,
    /// 8, 6; validator3 coherent and eligible on both items (fee 2r, share min(pot, 2r) = 2r,
    /// pay 0.04, 2 votes bought); validator4 never revealed (slashed 2s = its bond).
    function _reviewTree() internal view returns (PayoutTree.Tree memory) {
        address[] memory accounts = new address[](5);
        uint256[] memory amounts = new uint256[](5);
        (accounts[0], accounts[1], accounts[2], accounts[3], accounts[4]) =
        (annotatorA, annotatorB, annotatorC, validator3, validator4);
        (amounts[0], amounts[1], amounts[2]) = (10 ether, 8 ether, 6 ether);
        amounts[3] = board.reviewLeafAmount(0.04 ether, 0, 2);
        amounts[4] = board.reviewLeafAmount(0, 0.06 ether, 0);
        return PayoutTree.build(accounts, amounts);
    }

    /// @notice Finalize `taskId` on `tree` (annotators' total 24) with validator1 and 2.
    function _finalizeOn(uint256 taskId, PayoutTree.Tree memory tree) internal {
        _attest(taskId, validator1, tree.root(), HONEST_TOTAL);
        _attest(taskId, validator2, tree.root(), HONEST_TOTAL);
        market.finalize(taskId);
    }
}
