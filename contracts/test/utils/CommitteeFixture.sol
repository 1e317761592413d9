// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./TestBase.sol";
import {CommitteeHarness} from "./CommitteeHarness.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";

/// @title CommitteeFixture
/// @notice A real token and ValidatorStaking whose market is a CommitteeHarness, so the
/// Committee library's staking steps (lock, evict, settle, release) run against the contract
/// they run against in production. 10% of a vote's weight is locked, as in LabelnetFixture.
abstract contract CommitteeFixture is TestBase {
    uint256 internal constant SUPPLY = 1e9 ether;
    uint256 internal constant MIN_STAKE = 100 ether;
    uint16 internal constant SLASH_BPS = 1000;

    LabelToken internal token;
    ValidatorStaking internal staking;
    CommitteeHarness internal harness;
    address internal treasury;

    /// @notice (Re)deploys token, staking and a harness whose committee has `maxCommittee` seats.
    function _deploy(uint8 maxCommittee) internal {
        treasury = makeAddr("treasury");
        token = new LabelToken(treasury, SUPPLY);
        staking = new ValidatorStaking(token, MIN_STAKE, 7 days, SLASH_BPS, address(this));
        harness = new CommitteeHarness(token, staking, maxCommittee);
        staking.setMarket(address(harness));
    }

    /// @notice A validator holding `amount` of active stake.
    function _staked(string memory name, uint256 amount) internal returns (address validator) {
        validator = makeAddr(name);
        _fund(validator, amount);
        vm.prank(validator);
        token.approve(address(staking), amount);
        vm.prank(validator);
        staking.stake(amount);
    }

    function _fund(address account, uint256 amount) internal {
        vm.prank(treasury);
        vm.assertTrue(token.transfer(account, amount));
    }
}
