// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "./Vm.sol";

/// @title TestBase
/// @notice The minimal stand-in for forge-std's Test that this suite needs: the cheatcode
/// handle, `bound`, named addresses, and the invariant-targeting getters forge calls on a
/// test contract before an invariant campaign.
abstract contract TestBase {
    /// @notice What forge expects from `targetSelectors()`: which functions of `addr` to fuzz.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;

    /// @notice Map `x` into [min, max], leaving values already inside untouched so that the
    /// fuzzer's edge values (0, 1, max) still reach the bounds of the range.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: max < min");
        if (x >= min && x <= max) return x;
        // min == 0 && max == type(uint256).max was caught by the range check above.
        return min + x % (max - min + 1);
    }

    /// @notice A deterministic address for `name`, labelled in traces.
    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }

    // ------------------------------------------------------------ invariant targeting

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    /// @notice Read by forge: the only contracts the invariant fuzzer may call.
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Read by forge: the functions of each target the fuzzer may call.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @notice Read by forge: the senders the fuzzer uses (random ones when empty).
    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }
}
