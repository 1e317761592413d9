// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Annotator commit / reveal and the requester's gold reveal.
contract TaskMarketCommitRevealTest is LabelnetFixture {
    uint256 internal taskId;

    function setUp() public override {
        super.setUp();
        taskId = _createTask();
    }

    // ------------------------------------------------------------ commit

    function test_commit_pullsBondCountsAndEmits() public {
        bytes32 c = _commitment(taskId, annotatorA, _labelsRoot(annotatorA), _salt(annotatorA));
        _approve(annotatorA, address(market), BOND);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.LabelsCommitted(taskId, annotatorA, c);
        vm.prank(annotatorA);
        market.commit(taskId, c);
        vm.assertEq(market.commitmentOf(taskId, annotatorA), c);
        vm.assertEq(uint256(_task(taskId).commitCount), 1);
        vm.assertEq(token.balanceOf(annotatorA), 100 ether - BOND);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE + BOND);
    }

    /// @notice A second commit replaces the first without a second bond or a second count, so
    /// an annotator can fix its batch before the deadline.
    function test_commit_replacementKeepsOneBondAndOneCount() public {
        _commit(taskId, annotatorA);
        bytes32 replacement = keccak256("replacement");
        vm.prank(annotatorA);
        market.commit(taskId, replacement);
        vm.assertEq(market.commitmentOf(taskId, annotatorA), replacement);
        vm.assertEq(uint256(_task(taskId).commitCount), 1);
        vm.assertEq(token.balanceOf(annotatorA), 100 ether - BOND);
    }

    function test_commit_withoutBondNeedsNoAllowance() public {
        ITaskMarket.TaskParams memory p = _params();
        p.annotatorBond = 0;
        uint256 id = _createTask(p);
        vm.prank(annotatorA);
        market.commit(id, keccak256("c"));
        vm.assertEq(token.balanceOf(annotatorA), 100 ether);
        vm.assertEq(uint256(_task(id).commitCount), 1);
    }

    function test_commit_acceptedAtDeadline() public {
        vm.warp(_task(taskId).commitDeadline);
        _commit(taskId, annotatorA);
        vm.assertEq(uint256(_task(taskId).commitCount), 1);
    }

    function test_commit_revertsAfterDeadline() public {
        uint64 deadline = _task(taskId).commitDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, deadline));
        vm.prank(annotatorA);
        market.commit(taskId, keccak256("c"));
    }

    function test_commit_revertsForZeroCommitment() public {
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        vm.prank(annotatorA);
        market.commit(taskId, bytes32(0));
    }

    /// @notice The REVEALED marker cannot be committed, or it would read as already revealed.
    function test_commit_revertsForRevealedMarker() public {
        bytes32 marker = market.REVEALED();
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCommitment.selector);
        vm.prank(annotatorA);
        market.commit(taskId, marker);
    }

    function test_commit_revertsWithoutBondAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, BOND)
        );
        vm.prank(annotatorA);
        market.commit(taskId, keccak256("c"));
    }

    function test_commit_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 99));
        vm.prank(annotatorA);
        market.commit(99, keccak256("c"));
    }

    function test_commit_revertsOnCancelledTask() public {
        vm.prank(requester);
        market.cancel(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Cancelled)
        );
        vm.prank(annotatorA);
        market.commit(taskId, keccak256("c"));
    }

    // ------------------------------------------------------------ reveal

    function test_reveal_returnsBondMarksRevealedAndEmits() public {
        _commit(taskId, annotatorA);
        _warpToReveal(taskId);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.LabelsRevealed(taskId, annotatorA, _labelsRoot(annotatorA), "bafkreilabels");
        _reveal(taskId, annotatorA);
        vm.assertEq(market.commitmentOf(taskId, annotatorA), market.REVEALED());
        vm.assertEq(uint256(_task(taskId).revealCount), 1);
        vm.assertEq(token.balanceOf(annotatorA), 100 ether);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE);
    }

    function test_reveal_acceptedAtDeadline() public {
        _commit(taskId, annotatorA);
        vm.warp(_task(taskId).revealDeadline);
        _reveal(taskId, annotatorA);
        vm.assertEq(uint256(_task(taskId).revealCount), 1);
    }

    /// @notice Nothing is revealed while others can still commit, so nobody can copy labels.
    function test_reveal_revertsBeforeCommitDeadline() public {
        _commit(taskId, annotatorA);
        uint64 deadline = _task(taskId).commitDeadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketTooEarly.selector, taskId, deadline));
        _reveal(taskId, annotatorA);
    }

    function test_reveal_revertsAfterRevealDeadline() public {
        _commit(taskId, annotatorA);
        uint64 deadline = _task(taskId).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, deadline));
        _reveal(taskId, annotatorA);
    }

    function test_reveal_revertsWithoutCommitment() public {
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotCommitted.selector, taskId, annotatorA));
        _reveal(taskId, annotatorA);
    }

    /// @notice A second reveal would return the bond twice.
    function test_reveal_revertsWhenAlreadyRevealed() public {
        _commit(taskId, annotatorA);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyRevealed.selector, taskId, annotatorA));
        _reveal(taskId, annotatorA);
    }

    function test_reveal_revertsOnWrongSalt() public {
        _commit(taskId, annotatorA);
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, taskId, annotatorA));
        vm.prank(annotatorA);
        market.reveal(taskId, _labelsRoot(annotatorA), "bafkreilabels", keccak256("wrong salt"));
    }

    /// @notice Copying another annotator's commitment is useless: the commitment binds the
    /// committer's address, so the copier can never reveal it.
    function test_reveal_revertsForCopiedCommitment() public {
        _commit(taskId, annotatorA);
        bytes32 copied = market.commitmentOf(taskId, annotatorA);
        _approve(annotatorB, address(market), BOND);
        vm.prank(annotatorB);
        market.commit(taskId, copied);
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, taskId, annotatorB));
        vm.prank(annotatorB);
        market.reveal(taskId, _labelsRoot(annotatorA), "bafkreilabels", _salt(annotatorA));
    }

    /// @notice Only the latest commitment counts.
    function test_reveal_revertsForReplacedCommitment() public {
        _commit(taskId, annotatorA);
        vm.prank(annotatorA);
        market.commit(taskId, _commitment(taskId, annotatorA, keccak256("v2"), _salt(annotatorA)));
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, taskId, annotatorA));
        _reveal(taskId, annotatorA);
        vm.prank(annotatorA);
        market.reveal(taskId, keccak256("v2"), "bafkreilabels", _salt(annotatorA));
        vm.assertEq(uint256(_task(taskId).revealCount), 1);
    }

    /// @notice A commitment is bound to its task: it cannot be revealed on another one.
    function test_reveal_revertsForCommitmentOfAnotherTask() public {
        uint256 other = _createTask();
        _approve(annotatorA, address(market), BOND);
        vm.prank(annotatorA);
        market.commit(other, _commitment(taskId, annotatorA, _labelsRoot(annotatorA), _salt(annotatorA)));
        _warpToReveal(other);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, other, annotatorA));
        _reveal(other, annotatorA);
    }

    // ------------------------------------------------------------ revealGold

    function test_revealGold_marksRevealedAndEmits() public {
        _warpToReveal(taskId);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.GoldRevealed(taskId, GOLD_ROOT, "bafkreigold");
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
        vm.assertTrue(_task(taskId).goldRevealed);
    }

    function test_revealGold_revertsForNonRequester() public {
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotRequester.selector, taskId, stranger));
        vm.prank(stranger);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    function test_revealGold_revertsWithoutGold() public {
        ITaskMarket.TaskParams memory p = _params();
        p.goldCommitment = bytes32(0);
        uint256 id = _createTask(p);
        _warpToReveal(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoGold.selector, id));
        vm.prank(requester);
        market.revealGold(id, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    function test_revealGold_revertsWhenAlreadyRevealed() public {
        _warpToReveal(taskId);
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketGoldAlreadyRevealed.selector, taskId));
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    /// @notice Gold revealed during the commit phase would let annotators copy the answers.
    function test_revealGold_revertsBeforeCommitDeadline() public {
        uint64 deadline = _task(taskId).commitDeadline;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketTooEarly.selector, taskId, deadline));
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    function test_revealGold_revertsAfterRevealDeadline() public {
        uint64 deadline = _task(taskId).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, deadline));
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    /// @notice The requester cannot swap in other gold answers after seeing the labels.
    function test_revealGold_revertsForOtherGoldRoot() public {
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, taskId, requester));
        vm.prank(requester);
        market.revealGold(taskId, keccak256("other gold"), "bafkreigold", GOLD_SALT);
    }

    function test_revealGold_revertsOnCancelledTask() public {
        vm.prank(requester);
        market.cancel(taskId);
        _warpToReveal(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Cancelled)
        );
        vm.prank(requester);
        market.revealGold(taskId, GOLD_ROOT, "bafkreigold", GOLD_SALT);
    }

    /// @notice Any committed (root, salt) pair reveals, and only that pair.
    function testFuzz_reveal_acceptsOnlyCommittedPair(bytes32 root, bytes32 salt, bytes32 otherSalt) public {
        vm.assume(salt != otherSalt);
        _approve(annotatorA, address(market), BOND);
        vm.prank(annotatorA);
        market.commit(taskId, _commitment(taskId, annotatorA, root, salt));
        _warpToReveal(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitmentMismatch.selector, taskId, annotatorA));
        vm.prank(annotatorA);
        market.reveal(taskId, root, "cid", otherSalt);
        vm.prank(annotatorA);
        market.reveal(taskId, root, "cid", salt);
        vm.assertEq(uint256(_task(taskId).revealCount), 1);
    }
}
