// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";

/// @notice Gateway announcements: events carry the URL, storage the announcement block.
contract NodeRegistryTest is TestBase {
    NodeRegistry internal registry;
    address internal annotator;
    address internal validator;

    function setUp() public {
        registry = new NodeRegistry();
        annotator = makeAddr("annotator");
        validator = makeAddr("validator");
    }

    function test_announce_recordsBlockAndEmitsUrl() public {
        vm.roll(42);
        vm.expectEmit(true, false, false, true, address(registry));
        emit INodeRegistry.GatewayAnnounced(annotator, "http://127.0.0.1:7420");
        vm.prank(annotator);
        registry.announce("http://127.0.0.1:7420");
        vm.assertEq(registry.announcedAt(annotator), 42);
        vm.assertEq(registry.announcedAt(validator), 0);
    }

    function test_announce_replacesEarlierAnnouncement() public {
        vm.roll(10);
        vm.prank(annotator);
        registry.announce("http://a.example:1");
        vm.roll(11);
        vm.prank(annotator);
        registry.announce("http://a.example:2");
        vm.assertEq(registry.announcedAt(annotator), 11);
    }

    function test_announce_revertsOnEmptyUrl() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidUrl.selector, 0));
        vm.prank(annotator);
        registry.announce("");
    }

    function test_announce_revertsOnOverlongUrl() public {
        bytes memory url = new bytes(registry.MAX_URL_LENGTH() + 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidUrl.selector, url.length));
        vm.prank(annotator);
        registry.announce(string(url));
    }

    function test_announce_acceptsMaximumLength() public {
        bytes memory url = new bytes(registry.MAX_URL_LENGTH());
        vm.roll(7);
        vm.prank(annotator);
        registry.announce(string(url));
        vm.assertEq(registry.announcedAt(annotator), 7);
    }

    function test_withdraw_clearsAndEmits() public {
        vm.roll(5);
        vm.prank(validator);
        registry.announce("http://v.example");
        vm.expectEmit(true, false, false, true, address(registry));
        emit INodeRegistry.GatewayWithdrawn(validator);
        vm.prank(validator);
        registry.withdraw();
        vm.assertEq(registry.announcedAt(validator), 0);
    }

    function test_withdraw_revertsWithoutAnnouncement() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryNotAnnounced.selector, annotator));
        vm.prank(annotator);
        registry.withdraw();
    }

    function testFuzz_announce_anyValidLength(uint256 length, uint256 height) public {
        length = bound(length, 1, registry.MAX_URL_LENGTH());
        height = bound(height, 1, type(uint64).max);
        vm.roll(height);
        vm.prank(annotator);
        registry.announce(string(new bytes(length)));
        vm.assertEq(registry.announcedAt(annotator), height);
    }

    function test_announceKey_storesAndEmits() public {
        bytes32 key = keccak256("annotator x25519");
        vm.expectEmit(true, false, false, true, address(registry));
        emit INodeRegistry.EncryptionKeyAnnounced(annotator, key);
        vm.prank(annotator);
        registry.announceKey(key);
        vm.assertEq(registry.encryptionKey(annotator), key);
        vm.assertEq(registry.encryptionKey(validator), bytes32(0));
    }

    function test_announceKey_rotates() public {
        vm.prank(annotator);
        registry.announceKey(bytes32(uint256(1)));
        vm.prank(annotator);
        registry.announceKey(bytes32(uint256(2)));
        vm.assertEq(registry.encryptionKey(annotator), bytes32(uint256(2)));
    }

    function test_announceKey_revertsOnZeroKey() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidKey.selector, annotator));
        vm.prank(annotator);
        registry.announceKey(bytes32(0));
    }

    function test_announceKey_independentOfGateway() public {
        vm.roll(3);
        vm.prank(validator);
        registry.announce("http://v.example");
        vm.prank(validator);
        registry.announceKey(bytes32(uint256(9)));
        vm.prank(validator);
        registry.withdraw();
        vm.assertEq(registry.announcedAt(validator), 0);
        vm.assertEq(registry.encryptionKey(validator), bytes32(uint256(9)));
    }
}
