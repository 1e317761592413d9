// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";

/// @notice Who sits on a task's committee: seats go to stake, not to speed, and a vote's stake
/// stays bonded for the whole attest window.
contract TaskMarketCommitteeTest is LabelnetFixture {
    using PayoutTree for PayoutTree.Tree;

    uint256 internal taskId;
    bytes32 internal badRoot = keccak256("pay the attackers");

    function setUp() public override {
        super.setUp();
        taskId = _revealedTask();
    }

    function _sybil(uint256 n) internal returns (address sybil) {
        // casting to 'uint8' is safe because callers pass n < 40 (a committee is at most 32).
        // forge-lint: disable-next-line(unsafe-typecast)
        sybil = makeAddr(string(abi.encodePacked("sybil", bytes1(uint8(48 + n)))));
        _fund(sybil, MIN_STAKE);
        _stake(sybil, MIN_STAKE);
    }

    function _assertStatus(uint256 id, ITaskMarket.TaskStatus status) internal view {
        vm.assertEq(uint256(_task(id).status), uint256(status));
    }

    function test_attest_heavierValidatorEvictsLightest() public {
        _attestHonest(taskId, validator2); // 300
        _attestHonest(taskId, validator3); // 200
        _attest(taskId, validator4, badRoot, 1); // 100: the lightest, another result
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.AttestationEvicted(taskId, validator4, validator1);
        _attestHonest(taskId, validator1); // 400 takes validator4's seat
        vm.assertEq(staking.lockedOf(validator4), 0, "the evicted lock is released");
        vm.assertEq(staking.stakeOf(validator4), STAKE_4, "eviction is not a slash");
        ITaskMarket.Attestation[] memory atts = market.roundAttestations(taskId, 0);
        vm.assertEq(atts.length, 3);
        vm.assertEq(atts[2].validator, validator1);
        vm.assertEq(atts[2].payoutRoot, honestTree.root());
        _warpPastAttest(taskId);
        market.finalize(taskId);
        // 900 of 900 attesting weight: the evicted bad vote counts for nothing.
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
        vm.assertEq(staking.stakeOf(validator4), STAKE_4);
    }

    function test_attest_revertsWhenNotHeavierThanLightest() public {
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator4); // 100 is the lightest
        address twin = _sybil(1); // also 100: equal weight does not evict
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketCommitteeFull.selector, taskId, MAX_COMMITTEE));
        _attestHonest(taskId, twin);
    }

    /// @notice The attack: minimum-stake sybils fill every seat with a root paying themselves
    /// the moment the reveal window closes. They can neither finalize early nor keep the
    /// seats: heavier honest validators evict them, and the honest root wins.
    function test_attest_sybilsWithMinimumStakeCannotCaptureCommittee() public {
        for (uint256 n; n < MAX_COMMITTEE; ++n) {
            _attest(taskId, _sybil(n), badRoot, uint128(REWARD_POOL));
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketNotFinal.selector, taskId, 3 * MIN_STAKE, 1000 ether + 3 * MIN_STAKE
            )
        );
        market.finalize(taskId);

        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        _warpPastAttest(taskId);
        market.finalize(taskId);
        _assertStatus(taskId, ITaskMarket.TaskStatus.Finalized);
        vm.assertEq(_task(taskId).payoutRoot, honestTree.root());
        vm.assertEq(uint256(_task(taskId).totalPayout), HONEST_TOTAL);
    }

    function test_attest_emptiedResultSlotIsReused() public {
        _attestHonest(taskId, validator2);
        _attestHonest(taskId, validator3);
        _attest(taskId, validator4, badRoot, 1); // the only vote for badRoot
        _attest(taskId, validator1, keccak256("third result"), 2); // evicts it
        ITaskMarket.Attestation[] memory atts = market.roundAttestations(taskId, 0);
        vm.assertEq(atts[2].validator, validator1);
        vm.assertEq(atts[2].payoutRoot, keccak256("third result"));
        _warpPastAttest(taskId);
        market.finalize(taskId); // 500 of 900 for the honest root: no 2/3, round 1 opens
        _assertStatus(taskId, ITaskMarket.TaskStatus.Open);
        vm.assertEq(uint256(_task(taskId).round), 1);
        vm.assertEq(staking.stakeOf(validator1), STAKE_1, "nothing is slashed before a root is final");
    }

    function test_createTask_revertsWhenAttestWindowExceedsUnbondingDelay() public {
        ITaskMarket.TaskParams memory p = _params();
        p.attestDeadline = p.revealDeadline + UNBONDING_DELAY + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskMarket.TaskMarketAttestWindowTooLong.selector, UNBONDING_DELAY + 1, UNBONDING_DELAY
            )
        );
        vm.prank(requester);
        market.createTask(p);
    }

    function test_createTask_acceptsAttestWindowOfExactlyTheUnbondingDelay() public {
        ITaskMarket.TaskParams memory p = _params();
        p.attestDeadline = p.revealDeadline + UNBONDING_DELAY;
        uint256 id = _createTask(p);
        vm.assertEq(uint256(_task(id).attestDeadline), uint256(p.attestDeadline));
    }
}
