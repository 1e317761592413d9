// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../src/interfaces/IValidatorStaking.sol";

/// @notice Validator attestations: the window, the checks on the result, the bounded
/// committee, and the stake lock each attestation takes.
contract TaskMarketAttestTest is LabelnetFixture {
    uint256 internal taskId;
    bytes32 internal root;

    function setUp() public override {
        super.setUp();
        taskId = _revealedTask();
        root = honestTree.nodes[0];
    }

    function test_attest_locksStakeRecordsAndEmits() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.ResultAttested(taskId, validator1, root, HONEST_TOTAL, STAKE_1, "bafkreiresult");
        _attestHonest(taskId, validator1);
        vm.assertEq(staking.lockedOf(validator1), STAKE_1 / 10);
        vm.assertEq(uint256(_task(taskId).attestCount), 1);
        ITaskMarket.Attestation[] memory atts = market.roundAttestations(taskId, 0);
        vm.assertEq(atts.length, 1);
        vm.assertEq(atts[0].validator, validator1);
        vm.assertEq(uint256(atts[0].weight), STAKE_1);
        vm.assertEq(atts[0].payoutRoot, root);
        vm.assertEq(uint256(atts[0].totalPayout), HONEST_TOTAL);
    }

    /// @notice roundAttestations returns every attestation in order with its own result, also
    /// when several validators share a result.
    function test_roundAttestations_listsAttestationsInOrder() public {
        bytes32 other = keccak256("other root");
        _attestHonest(taskId, validator1);
        _attest(taskId, validator3, other, 1 ether);
        _attestHonest(taskId, validator2);
        ITaskMarket.Attestation[] memory atts = market.roundAttestations(taskId, 0);
        vm.assertEq(atts.length, 3);
        vm.assertEq(atts[0].validator, validator1);
        vm.assertEq(atts[1].validator, validator3);
        vm.assertEq(atts[2].validator, validator2);
        vm.assertEq(atts[1].payoutRoot, other);
        vm.assertEq(uint256(atts[1].totalPayout), 1 ether);
        vm.assertEq(uint256(atts[1].weight), STAKE_3);
        vm.assertEq(atts[2].payoutRoot, root);
        vm.assertEq(uint256(atts[2].totalPayout), HONEST_TOTAL);
    }

    function test_attest_acceptedAtAttestDeadline() public {
        vm.warp(_task(taskId).attestDeadline);
        _attestHonest(taskId, validator1);
        vm.assertEq(uint256(_task(taskId).attestCount), 1);
    }

    /// @notice Attesting before the reveal window closes would miss late reveals.
    function test_attest_revertsBeforeRevealDeadlinePassed() public {
        uint64 deadline = _task(taskId).revealDeadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketTooEarly.selector, taskId, deadline));
        _attestHonest(taskId, validator1);
    }

    function test_attest_revertsAfterAttestDeadline() public {
        uint64 deadline = _task(taskId).attestDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketDeadlinePassed.selector, taskId, deadline));
        _attestHonest(taskId, validator1);
    }

    function test_attest_revertsWithoutReveals() public {
        uint256 id = _createTask();
        _commit(id, annotatorA);
        _warpToAttest(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNoReveals.selector, id));
        _attestHonest(id, validator1);
    }

    function test_attest_revertsForEmptyRoot() public {
        vm.expectRevert(ITaskMarket.TaskMarketEmptyRoot.selector);
        _attest(taskId, validator1, bytes32(0), HONEST_TOTAL);
    }

    /// @notice A result can never promise more than the escrowed reward pool.
    function test_attest_revertsWhenPayoutExceedsPool() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketPayoutExceedsPool.selector, taskId, REWARD_POOL + 1, REWARD_POOL
            )
        );
        _attest(taskId, validator1, root, REWARD_POOL + 1);
    }

    function test_attest_acceptsPayoutOfWholePool() public {
        _attest(taskId, validator1, root, REWARD_POOL);
        vm.assertEq(uint256(market.roundAttestations(taskId, 0)[0].totalPayout), REWARD_POOL);
    }

    function test_attest_revertsWhenCommitteeFull() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitteeFull.selector, taskId, MAX_COMMITTEE));
        _attestHonest(taskId, validator4);
    }

    /// @notice One validator, one vote per task, even with another result.
    function test_attest_revertsWhenAlreadyAttested() public {
        _attestHonest(taskId, validator1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyAttested.selector, taskId, validator1));
        _attest(taskId, validator1, keccak256("other"), 1);
    }

    function test_attest_revertsForUnstakedValidator() public {
        vm.expectRevert(
            abi.encodeWithSelector(IValidatorStaking.ValidatorStakingBelowMinimum.selector, stranger, 0, MIN_STAKE)
        );
        _attestHonest(taskId, stranger);
    }

    /// @notice Stake that has started unbonding no longer counts as weight.
    function test_attest_revertsWhenStakeUnbondedBelowMinimum() public {
        vm.prank(validator4);
        staking.requestUnstake(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IValidatorStaking.ValidatorStakingBelowMinimum.selector, validator4, STAKE_4 - 1, MIN_STAKE
            )
        );
        _attestHonest(taskId, validator4);
    }

    /// @notice A validator can only attest as many concurrent tasks as its free stake can back:
    /// with a 100% slash fraction, its whole stake is locked by the first one.
    function test_attest_revertsOnFinalizedTask() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        market.finalize(taskId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, taskId, ITaskMarket.TaskStatus.Finalized)
        );
        _attestHonest(taskId, validator3);
    }

    function test_attest_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 42));
        _attestHonest(42, validator1);
    }

    /// @notice The weight recorded is the validator's whole active stake at attest time; later
    /// stake changes do not rewrite it.
    function testFuzz_attest_recordsStakeAsWeight(uint256 extra) public {
        extra = bound(extra, 0, 600 ether);
        if (extra > 0) _stake(validator1, extra);
        _attestHonest(taskId, validator1);
        uint256 weight = STAKE_1 + extra;
        vm.assertEq(uint256(market.roundAttestations(taskId, 0)[0].weight), weight);
        vm.assertEq(staking.lockedOf(validator1), weight * SLASH_BPS / 10_000);
        uint256 free = weight - staking.lockedOf(validator1);
        vm.prank(validator1);
        staking.requestUnstake(free);
        vm.assertEq(uint256(market.roundAttestations(taskId, 0)[0].weight), weight);
    }
}
