// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {LabelToken} from "../src/LabelToken.sol";

/// @notice LabelToken: a fixed supply minted once, and EIP-2612 permits (createTaskWithPermit
/// depends on them).
contract LabelTokenTest is LabelnetFixture {
    function test_constructor_mintsWholeSupplyToHolder() public view {
        vm.assertEq(token.totalSupply(), SUPPLY);
        // The fixture handed some out; together the treasury and the actors hold everything.
        uint256 handedOut = 10_000 ether + 3 * 100 ether + 5 * 1_000 ether;
        vm.assertEq(token.balanceOf(treasury), SUPPLY - handedOut);
    }

    function test_constructor_setsMetadata() public view {
        vm.assertEq(token.name(), "labelnet Label Token");
        vm.assertEq(token.symbol(), "LABEL");
        vm.assertEq(uint256(token.decimals()), 18);
    }

    function test_constructor_revertsForZeroHolder() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        new LabelToken(address(0), 1);
    }

    function test_transfer_revertsBeyondBalance() public {
        uint256 balance = token.balanceOf(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, stranger, balance, balance + 1)
        );
        vm.prank(stranger);
        vm.assertFalse(token.transfer(annotatorA, balance + 1));
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), 42 ether, deadline);
        token.permit(requester, address(market), 42 ether, deadline, v, r, s);
        vm.assertEq(token.allowance(requester, address(market)), 42 ether);
        vm.assertEq(token.nonces(requester), 1);
    }

    function test_permit_revertsWhenExpired() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), 42 ether, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(requester, address(market), 42 ether, deadline, v, r, s);
    }

    function test_permit_revertsOnReplay() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), 42 ether, deadline);
        token.permit(requester, address(market), 42 ether, deadline, v, r, s);
        // The nonce moved on, so the same signature now recovers to some other address.
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        token.permit(requester, address(market), 42 ether, deadline, v, r, s);
        vm.assertEq(token.nonces(requester), 1);
    }

    function test_permit_revertsForAnotherValue() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), 42 ether, deadline);
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        token.permit(requester, address(market), 43 ether, deadline, v, r, s);
        vm.assertEq(token.allowance(requester, address(market)), 0);
    }
}
