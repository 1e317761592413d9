// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {TaskMarket} from "../src/TaskMarket.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice TaskMarket construction, createTask, createTaskWithPermit and the task views.
contract TaskMarketCreateTest is LabelnetFixture {
    // ------------------------------------------------------------ constructor

    function test_constructor_setsImmutablesAndApprovesStaking() public view {
        vm.assertEq(address(market.token()), address(token));
        vm.assertEq(address(market.staking()), address(staking));
        vm.assertEq(uint256(market.maxCommittee()), MAX_COMMITTEE);
        vm.assertEq(uint256(market.minAttestations()), MIN_ATTESTATIONS);
        vm.assertEq(uint256(market.quorumBps()), QUORUM_BPS);
        vm.assertEq(market.taskCount(), 0);
        // Staking pulls validator rewards from the market with transferFrom.
        vm.assertEq(token.allowance(address(market), address(staking)), 0, "rewards are pushed, not pulled");
    }

    function test_constructor_revertsForZeroToken() public {
        vm.expectRevert(ITaskMarket.TaskMarketZeroAddress.selector);
        new TaskMarket(
            IERC20(address(0)), staking, MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE
        );
    }

    function test_constructor_revertsForZeroStaking() public {
        vm.expectRevert(ITaskMarket.TaskMarketZeroAddress.selector);
        new TaskMarket(
            token, IValidatorStaking(address(0)), MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE
        );
    }

    function test_constructor_revertsForZeroMaxCommittee() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidCommittee.selector, 0, 0));
        new TaskMarket(token, staking, 0, 0, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE);
    }

    function test_constructor_revertsForZeroMinAttestations() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidCommittee.selector, 3, 0));
        new TaskMarket(token, staking, 3, 0, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE);
    }

    /// @notice Committee membership is a 32-bit mask per result, so 32 seats at most.
    function test_constructor_revertsForMaxCommitteeAbove32() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidCommittee.selector, 33, 1));
        new TaskMarket(token, staking, 33, 1, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE);
    }

    function test_constructor_acceptsCommitteeOf32() public {
        TaskMarket m = new TaskMarket(token, staking, 32, 32, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE);
        vm.assertEq(uint256(m.maxCommittee()), 32);
    }

    function test_constructor_revertsForMinAttestationsAboveMaxCommittee() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidCommittee.selector, 3, 4));
        new TaskMarket(token, staking, 3, 4, QUORUM_BPS, MIN_LABEL_TIME, NO_GATE);
    }

    /// @notice A zero quorum would let any attestation decide; above 10000 nothing could.
    function test_constructor_revertsForZeroQuorum() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidQuorum.selector, 0));
        new TaskMarket(token, staking, MAX_COMMITTEE, MIN_ATTESTATIONS, 0, MIN_LABEL_TIME, NO_GATE);
    }

    function test_constructor_revertsForQuorumAboveAllStake() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidQuorum.selector, 10_001));
        new TaskMarket(token, staking, MAX_COMMITTEE, MIN_ATTESTATIONS, 10_001, MIN_LABEL_TIME, NO_GATE);
    }

    function test_constructor_acceptsQuorumBounds() public {
        vm.assertEq(
            uint256(
                new TaskMarket(token, staking, MAX_COMMITTEE, MIN_ATTESTATIONS, 1, MIN_LABEL_TIME, NO_GATE).quorumBps()
            ),
            1
        );
        TaskMarket all =
            new TaskMarket(token, staking, MAX_COMMITTEE, MIN_ATTESTATIONS, 10_000, MIN_LABEL_TIME, NO_GATE);
        vm.assertEq(uint256(all.quorumBps()), 10_000);
    }

    // ------------------------------------------------------------ createTask

    function test_createTask_escrowsBountyAndEmits() public {
        ITaskMarket.TaskParams memory p = _params();
        _approve(requester, address(market), REWARD_POOL + VALIDATOR_FEE);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.TaskCreated(1, requester, p, REWARD_POOL);
        vm.prank(requester);
        uint256 taskId = market.createTask(p);
        vm.assertEq(taskId, 1);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE);
        vm.assertEq(token.balanceOf(requester), 10_000 ether - REWARD_POOL - VALIDATOR_FEE);
    }

    function test_createTask_storesTask() public {
        ITaskMarket.TaskParams memory p = _params();
        uint256 taskId = _createTask(p);
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(t.requester, requester);
        vm.assertEq(uint256(t.status), uint256(ITaskMarket.TaskStatus.Open));
        vm.assertEq(uint256(t.commitDeadline), p.commitDeadline);
        vm.assertEq(uint256(t.revealDeadline), p.revealDeadline);
        vm.assertEq(uint256(t.attestDeadline), p.attestDeadline);
        vm.assertEq(uint256(t.rewardPool), REWARD_POOL);
        vm.assertEq(uint256(t.validatorFee), VALIDATOR_FEE);
        vm.assertEq(uint256(t.annotatorBond), BOND);
        vm.assertEq(t.goldCommitment, p.goldCommitment);
        vm.assertEq(uint256(t.commitCount) + t.revealCount + t.attestCount + t.paidOut + t.totalPayout, 0);
        vm.assertFalse(t.goldRevealed);
        vm.assertFalse(t.refunded);
    }

    function test_createTask_numbersTasksFromOne() public {
        vm.assertEq(_createTask(), 1);
        vm.assertEq(_createTask(), 2);
        vm.assertEq(market.taskCount(), 2);
    }

    function test_createTask_acceptsNoGoldAndNoFee() public {
        ITaskMarket.TaskParams memory p = _params();
        p.goldCommitment = bytes32(0);
        p.validatorFee = 0;
        p.annotatorBond = 0;
        uint256 taskId = _createTask(p);
        vm.assertEq(_task(taskId).goldCommitment, bytes32(0));
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL);
    }

    function test_createTask_revertsWithoutApproval() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, REWARD_POOL + VALIDATOR_FEE
            )
        );
        vm.prank(requester);
        market.createTask(_params());
    }

    function test_createTask_revertsBeyondBalance() public {
        ITaskMarket.TaskParams memory p = _params();
        p.rewardPerLabel = 1_000 ether; // a 30,000 LABEL pool, more than the requester holds
        _approve(requester, address(market), type(uint256).max);
        vm.expectPartialRevert(IERC20Errors.ERC20InsufficientBalance.selector);
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsForZeroItems() public {
        ITaskMarket.TaskParams memory p = _params();
        p.numItems = 0;
        _expectEmptyTask(p);
    }

    function test_createTask_revertsForZeroRedundancy() public {
        ITaskMarket.TaskParams memory p = _params();
        p.redundancy = 0;
        _expectEmptyTask(p);
    }

    function test_createTask_revertsForZeroRewardPerLabel() public {
        ITaskMarket.TaskParams memory p = _params();
        p.rewardPerLabel = 0;
        _expectEmptyTask(p);
    }

    function _expectEmptyTask(ITaskMarket.TaskParams memory p) private {
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketEmptyTask.selector, p.numItems, p.redundancy, p.rewardPerLabel)
        );
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsForEmptyCid() public {
        ITaskMarket.TaskParams memory p = _params();
        p.manifestCid = "";
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCid.selector);
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsWhenCommitDeadlineNotInFuture() public {
        ITaskMarket.TaskParams memory p = _params();
        p.commitDeadline = uint64(block.timestamp);
        _expectInvalidDeadlines(p);
    }

    function test_createTask_revertsWhenRevealNotAfterCommit() public {
        ITaskMarket.TaskParams memory p = _params();
        p.revealDeadline = p.commitDeadline;
        _expectInvalidDeadlines(p);
    }

    function test_createTask_revertsWhenAttestNotAfterReveal() public {
        ITaskMarket.TaskParams memory p = _params();
        p.attestDeadline = p.revealDeadline;
        _expectInvalidDeadlines(p);
    }

    function _expectInvalidDeadlines(ITaskMarket.TaskParams memory p) private {
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketInvalidDeadlines.selector, p.commitDeadline, p.revealDeadline, p.attestDeadline
            )
        );
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsWhenAttestDeadlineBeyondUint40() public {
        ITaskMarket.TaskParams memory p = _params();
        p.attestDeadline = uint64(type(uint40).max) + 1;
        _expectInvalidDeadlines(p);
    }

    /// @notice Escrowed amounts are stored in 96 bits (far above any real supply): a pool that
    /// does not fit is refused instead of truncated.
    function test_createTask_revertsWhenPoolExceedsUint96() public {
        ITaskMarket.TaskParams memory p = _params();
        p.rewardPerLabel = type(uint96).max;
        uint256 escrow = uint256(type(uint96).max) * NUM_ITEMS * REDUNDANCY + VALIDATOR_FEE;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketBountyTooLarge.selector, escrow));
        vm.prank(requester);
        market.createTask(p);
    }

    /// @notice The pool alone fits, but pool + fee would not: the whole escrow must fit.
    function test_createTask_revertsWhenFeePushesEscrowPastUint96() public {
        ITaskMarket.TaskParams memory p = _params();
        p.numItems = 1;
        p.redundancy = 1;
        p.rewardPerLabel = type(uint96).max;
        p.validatorFee = 1;
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketBountyTooLarge.selector, uint256(type(uint96).max) + 1)
        );
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_revertsWhenBondExceedsUint96() public {
        ITaskMarket.TaskParams memory p = _params();
        p.annotatorBond = uint128(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketBondTooLarge.selector, p.annotatorBond));
        vm.prank(requester);
        market.createTask(p);
    }

    /// @notice The escrow is exactly numItems * redundancy * rewardPerLabel + validatorFee.
    function testFuzz_createTask_escrowsPoolPlusFee(uint32 numItems, uint16 redundancy, uint128 reward, uint128 fee)
        public
    {
        numItems = uint32(bound(numItems, 1, 100_000));
        redundancy = uint16(bound(redundancy, 1, 50));
        reward = uint128(bound(reward, 1, 1 ether));
        fee = uint128(bound(fee, 0, 1_000 ether));
        ITaskMarket.TaskParams memory p = _params();
        (p.numItems, p.redundancy, p.rewardPerLabel, p.validatorFee) = (numItems, redundancy, reward, fee);
        uint256 pool = uint256(numItems) * redundancy * reward;
        _fund(requester, pool + fee);
        uint256 before = token.balanceOf(requester);
        uint256 taskId = _createTask(p);
        vm.assertEq(uint256(_task(taskId).rewardPool), pool);
        vm.assertEq(token.balanceOf(address(market)), pool + fee);
        vm.assertEq(before - token.balanceOf(requester), pool + fee);
    }

    // ------------------------------------------------------------ createTaskWithPermit

    function test_createTaskWithPermit_escrowsWithoutPriorApproval() public {
        uint256 escrow = REWARD_POOL + VALIDATOR_FEE;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), escrow, block.timestamp + 1 hours);
        vm.prank(requester);
        uint256 taskId = market.createTaskWithPermit(_params(), block.timestamp + 1 hours, v, r, s);
        vm.assertEq(taskId, 1);
        vm.assertEq(token.balanceOf(address(market)), escrow);
        vm.assertEq(token.allowance(requester, address(market)), 0);
    }

    /// @notice Someone replays the permit first (griefing the requester's call): the permit
    /// inside createTaskWithPermit then fails, but the allowance it set is used.
    function test_createTaskWithPermit_succeedsWhenPermitFrontRun() public {
        uint256 escrow = REWARD_POOL + VALIDATOR_FEE;
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), escrow, deadline);
        token.permit(requester, address(market), escrow, deadline, v, r, s);
        vm.prank(requester);
        uint256 taskId = market.createTaskWithPermit(_params(), deadline, v, r, s);
        vm.assertEq(uint256(_task(taskId).status), uint256(ITaskMarket.TaskStatus.Open));
        vm.assertEq(token.balanceOf(address(market)), escrow);
    }

    function test_createTaskWithPermit_revertsWithBadPermitAndNoAllowance() public {
        uint256 escrow = REWARD_POOL + VALIDATOR_FEE;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), escrow - 1, block.timestamp + 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, escrow)
        );
        vm.prank(requester);
        market.createTaskWithPermit(_params(), block.timestamp + 1 hours, v, r, s);
    }

    /// @notice The permit does not bypass validation: an invalid task still reverts.
    function test_createTaskWithPermit_revertsForInvalidTask() public {
        ITaskMarket.TaskParams memory p = _params();
        p.manifestCid = "";
        (uint8 v, bytes32 r, bytes32 s) =
            _signPermit(address(market), REWARD_POOL + VALIDATOR_FEE, block.timestamp + 1 hours);
        vm.expectRevert(ITaskMarket.TaskMarketEmptyCid.selector);
        vm.prank(requester);
        market.createTaskWithPermit(p, block.timestamp + 1 hours, v, r, s);
    }

    // ------------------------------------------------------------ views

    function test_getTask_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 1));
        market.getTask(1);
    }

    function test_phaseOf_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 0));
        market.phaseOf(0);
    }

    function test_roundAttestations_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 5));
        market.roundAttestations(5, 0);
    }

    /// @notice Each deadline is the last second of its phase.
    function test_phaseOf_followsDeadlines() public {
        uint256 taskId = _createTask();
        ITaskMarket.Task memory t = _task(taskId);
        _expectPhase(taskId, t.commitDeadline, ITaskMarket.Phase.Commit);
        _commit(taskId, annotatorA);
        _expectPhase(taskId, t.commitDeadline + 1, ITaskMarket.Phase.Reveal);
        _reveal(taskId, annotatorA);
        _expectPhase(taskId, t.revealDeadline, ITaskMarket.Phase.Reveal);
        _expectPhase(taskId, t.revealDeadline + 1, ITaskMarket.Phase.Attest);
        _expectPhase(taskId, t.attestDeadline, ITaskMarket.Phase.Attest);
        _expectPhase(taskId, t.attestDeadline + 1, ITaskMarket.Phase.Finalizable);
        market.finalize(taskId); // nobody attested: round 1 opens, attesting again
        vm.assertEq(uint256(market.phaseOf(taskId)), uint256(ITaskMarket.Phase.Attest));
        vm.assertEq(uint256(_task(taskId).roundDeadline), t.attestDeadline + 1 + market.APPEAL_WINDOW());
    }

    /// @notice Without a reveal there is nothing to attest: the task is finalizable (as void)
    /// as soon as the reveal window closes.
    function test_phaseOf_skipsAttestWithoutReveals() public {
        uint256 taskId = _createTask();
        _expectPhase(taskId, _task(taskId).revealDeadline + 1, ITaskMarket.Phase.Finalizable);
    }

    function _expectPhase(uint256 taskId, uint256 time, ITaskMarket.Phase phase) private {
        vm.warp(time);
        vm.assertEq(uint256(market.phaseOf(taskId)), uint256(phase));
    }
}
