// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReviewFixture} from "./utils/ReviewFixture.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {IReviewBoard} from "../src/interfaces/IReviewBoard.sol";

/// @notice Conservation of a review's money whatever the final root's review leaves say:
/// every token the board took for a review (escrow and bonds) leaves it exactly once, to a
/// reviewer (pay plus bond minus slash), to the requester (fees it did not buy) or to the
/// burn address, and the requester never gets more than its unbought fees.
contract ReviewBoardFuzzTest is ReviewFixture {
    using PayoutTree for PayoutTree.Tree;

    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;

    struct Leaf {
        uint96 pay;
        uint96 slashed;
        uint32 votes;
    }

    uint256 internal paidToReviewers;
    uint256 internal charged;

    function _leaf(uint256 pay, uint256 slashed, uint256 votes) internal pure returns (Leaf memory) {
        // forge-lint: disable-next-line(unsafe-typecast) -- bounded by the caller.
        return Leaf(uint96(pay), uint96(slashed), uint32(votes));
    }

    function testFuzz_reviewMoneyIsConserved(
        uint256 pay3,
        uint256 slashed3,
        uint256 votes3,
        uint256 pay4,
        uint256 slashed4,
        uint256 votes4,
        bool fourFirst,
        bool settleFour
    ) public {
        uint256 taskId = _reviewedTask();
        Leaf[2] memory leaves = [
            _leaf(bound(pay3, 0, 0.2 ether), bound(slashed3, 0, REVIEW_BOND), bound(votes3, 0, CAP)),
            _leaf(bound(pay4, 0, 0.2 ether), bound(slashed4, 0, REVIEW_BOND), bound(votes4, 0, CAP))
        ];
        address[2] memory reviewers = [validator3, validator4];
        PayoutTree.Tree memory tree;
        {
            address[] memory accounts = new address[](3);
            uint256[] memory amounts = new uint256[](3);
            (accounts[0], accounts[1], accounts[2]) = (annotatorA, validator3, validator4);
            amounts[0] = HONEST_TOTAL;
            amounts[1] = board.reviewLeafAmount(leaves[0].pay, leaves[0].slashed, leaves[0].votes);
            amounts[2] = board.reviewLeafAmount(leaves[1].pay, leaves[1].slashed, leaves[1].votes);
            tree = PayoutTree.build(accounts, amounts);
        }
        _finalizeOn(taskId, tree);

        uint256 taken = token.balanceOf(address(board));
        vm.assertEq(taken, ESCROW + 2 * REVIEW_BOND);
        for (uint256 k; k < 2; ++k) {
            uint256 i = fourFirst ? 1 - k : k;
            if (i == 1 && !settleFour) continue;
            _settleOne(taskId, reviewers[i], leaves[i], tree.proof(i + 1), taken);
        }
        uint256 requesterBefore = token.balanceOf(requester);
        uint256 burnBefore = token.balanceOf(BURN);
        // Past the period a settle started; a first finish with no settle only starts it.
        vm.warp(block.timestamp + SETTLE_PERIOD + 1);
        board.finishReview(taskId);
        if (!board.reviewOf(taskId).finished) {
            vm.warp(block.timestamp + SETTLE_PERIOD + 1);
            board.finishReview(taskId);
        }
        uint256 refund = token.balanceOf(requester) - requesterBefore;
        uint256 burned = token.balanceOf(BURN) - burnBefore;
        vm.assertEq(token.balanceOf(address(board)), 0, "nothing stuck");
        vm.assertEq(paidToReviewers + refund + burned, taken, "conserved");
        vm.assertLe(refund, ESCROW - charged, "refund at most the unbought fees");
    }

    /// @dev Settle one leaf: the reviewer gets exactly `pay + bond - slashed`, or the board
    /// refuses it because the review no longer holds that much.
    function _settleOne(uint256 taskId, address reviewer, Leaf memory leaf, bytes32[] memory proof, uint256 taken)
        internal
    {
        uint256 before = token.balanceOf(reviewer);
        uint256 out = uint256(leaf.pay) + REVIEW_BOND - leaf.slashed;
        try board.settle(taskId, reviewer, leaf.pay, leaf.slashed, leaf.votes, proof) {
            vm.assertEq(token.balanceOf(reviewer), before + out, "reviewer paid its leaf");
            paidToReviewers += out;
            charged += uint256(leaf.votes) * FEE;
        } catch (bytes memory reason) {
            // casting to 'bytes4' keeps the selector, the part compared; widening to bytes32 is lossless
            // forge-lint: disable-next-line(unsafe-typecast)
            vm.assertEq(bytes32(bytes4(reason)), bytes32(IReviewBoard.ReviewInvalidSettlement.selector));
            vm.assertLt(taken - paidToReviewers, out);
        }
    }
}
