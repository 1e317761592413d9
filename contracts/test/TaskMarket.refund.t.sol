// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Getting the requester's money back: cancel before any commit, and refund of what a
/// settled task did not spend.
contract TaskMarketRefundTest is LabelnetFixture {
    uint256 internal constant REQUESTER_START = 10_000 ether;

    // ------------------------------------------------------------ cancel

    function test_cancel_returnsEscrowAndEmits() public {
        uint256 taskId = _createTask();
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskCancelled(taskId, REWARD_POOL + VALIDATOR_FEE);
        vm.prank(requester);
        market.cancel(taskId);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Cancelled));
        vm.assertTrue(t.refunded);
        vm.assertEq(token.balanceOf(requester), REQUESTER_START);
        vm.assertEq(token.balanceOf(address(market)), 0);
    }

    /// @notice A task nobody took can be cancelled at any time, even after its deadlines.
    function test_cancel_allowedAfterDeadlinesWithoutCommits() public {
        uint256 taskId = _createTask();
        _warpPastAttest(taskId);
        vm.prank(requester);
        market.cancel(taskId);
        vm.assertEq(token.balanceOf(requester), REQUESTER_START);
    }

    function test_cancel_revertsForNonRequester() public {
        uint256 taskId = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotRequester.selector, taskId, stranger));
        vm.prank(stranger);
        market.cancel(taskId);
    }

    /// @notice Once an annotator has committed work, the requester cannot pull the bounty.
    function test_cancel_revertsAfterCommit() public {
        uint256 taskId = _createTask();
        _commit(taskId, annotatorA);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketHasCommits.selector, taskId, 1));
        vm.prank(requester);
        market.cancel(taskId);
    }

    function test_cancel_revertsWhenAlreadyCancelled() public {
        uint256 taskId = _createTask();
        vm.prank(requester);
        market.cancel(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Cancelled)
        );
        vm.prank(requester);
        market.cancel(taskId);
    }

    function test_cancel_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 3));
        vm.prank(requester);
        market.cancel(3);
    }

    // ------------------------------------------------------------ refund

    /// @notice finalize pushes the refund: the unspent pool plus the fee split's dust.
    function test_finalize_pushesUnspentPoolAndEmits() public {
        uint256 taskId = _revealedTask();
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        // 30 pool - 24 attested payout + 1 wei of dust from splitting the 3 LABEL fee 4:3.
        uint256 amount = REWARD_POOL - HONEST_TOTAL + 1;
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.RequesterRefunded(taskId, requester, amount);
        vm.prank(stranger); // anyone may trigger it; the requester is paid
        market.finalize(taskId);
        vm.assertTrue(_task(taskId).refunded);
        vm.assertEq(uint256(_task(taskId).refundable), amount, "the view reports the refund paid");
        vm.assertEq(token.balanceOf(requester), REQUESTER_START - REWARD_POOL - VALIDATOR_FEE + amount);
    }

    /// @notice Nothing revealed: the task is void and the requester gets the escrow and the
    /// committed annotator's bond; refund does it in one call.
    function test_refund_voidsTaskWithoutReveals() public {
        uint256 taskId = _createTask();
        _commit(taskId, annotatorA);
        _warpToAttest(taskId);
        uint256 escrow = REWARD_POOL + VALIDATOR_FEE + BOND;
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskVoided(taskId, escrow);
        market.refund(taskId);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Void));
        vm.assertTrue(t.refunded);
        vm.assertEq(uint256(t.refundable), escrow);
        vm.assertEq(token.balanceOf(requester), REQUESTER_START + BOND);
        vm.assertEq(token.balanceOf(address(market)), 0);
    }

    /// @notice Once anything is revealed, nothing is refunded while the task is open, even when
    /// nobody attested: the deadline opens round 1 instead of refunding.
    function test_refund_revertsWhileOpenAfterAReveal() public {
        uint256 taskId = _revealedTask();
        _warpPastAttest(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Open)
        );
        market.refund(taskId);
        vm.assertEq(token.balanceOf(requester), REQUESTER_START - REWARD_POOL - VALIDATOR_FEE);
    }

    function test_refund_revertsBeforeFinalizationIsDue() public {
        uint256 taskId = _revealedTask();
        _attestHonest(taskId, validator1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotFinal.selector, taskId, 400 ether, 1_000 ether));
        market.refund(taskId);
    }

    function test_refund_revertsWhenAlreadyRefunded() public {
        uint256 taskId = _finalizedTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyRefunded.selector, taskId));
        market.refund(taskId);
    }

    /// @notice cancel already returned everything; a refund would pay it twice.
    function test_refund_revertsForCancelledTask() public {
        uint256 taskId = _createTask();
        vm.prank(requester);
        market.cancel(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyRefunded.selector, taskId));
        market.refund(taskId);
        vm.assertEq(uint256(_task(taskId).refundable), REWARD_POOL + VALIDATOR_FEE);
    }

    function test_refund_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 1));
        market.refund(1);
    }

    /// @notice When the payout takes the whole pool and the fee is zero, the refund is zero:
    /// it is recorded, emitted, and moves no tokens.
    function test_finalize_refundOfNothingMovesNoTokens() public {
        _stakeAll();
        ITaskMarket.TaskParams memory p = _params();
        p.validatorFee = 0;
        p.annotatorBond = 0;
        uint256 taskId = _createTask(p);
        vm.prank(annotatorA);
        market.commit(taskId, _commitment(taskId, annotatorA, _labelsRoot(annotatorA), _salt(annotatorA)));
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        _warpToAttest(taskId);
        _attest(taskId, validator1, keccak256("all to A"), REWARD_POOL);
        _attest(taskId, validator2, keccak256("all to A"), REWARD_POOL);
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.RequesterRefunded(taskId, requester, 0);
        market.finalize(taskId);
        vm.assertEq(token.balanceOf(requester), before);
        vm.assertTrue(_task(taskId).refunded);
    }

    /// @notice Refunding never touches the money still owed to annotators.
    function test_finalize_leavesUnclaimedPayoutsInMarket() public {
        uint256 taskId = _finalizedTask();
        vm.assertEq(token.balanceOf(address(market)), HONEST_TOTAL);
        vm.prank(annotatorC);
        market.claim(taskId, annotatorC, 6 ether, _honestProof(2));
        vm.assertEq(token.balanceOf(annotatorC), 106 ether);
    }
}
