// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {TaskKeys} from "../src/TaskKeys.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Key document publication for confidential tasks: requester only, ordered, checked.
contract TaskKeysTest is LabelnetFixture {
    string internal constant CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    TaskKeys internal keys;

    function setUp() public override {
        super.setUp();
        keys = new TaskKeys(market);
    }

    function test_constructor_revertsForZeroMarket() public {
        vm.expectRevert(TaskKeys.TaskKeysZeroMarket.selector);
        new TaskKeys(ITaskMarket(address(0)));
    }

    function test_publishKeys_requesterPublishesInOrder() public {
        uint256 taskId = _createTask(_seatedParams());
        vm.expectEmit(true, true, false, true, address(keys));
        emit TaskKeys.KeysPublished(taskId, requester, 0, CID);
        vm.prank(requester);
        keys.publishKeys(taskId, CID);
        vm.expectEmit(true, true, false, true, address(keys));
        emit TaskKeys.KeysPublished(taskId, requester, 1, "bafkrei2");
        vm.prank(requester);
        keys.publishKeys(taskId, "bafkrei2");
        vm.assertEq(keys.publications(taskId), 2);
        vm.assertEq(keys.publications(taskId + 1), 0);
        vm.assertEq(address(keys.market()), address(market));
    }

    function test_publishKeys_revertsForAnyoneButTheRequester() public {
        uint256 taskId = _createTask();
        address annotator = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(TaskKeys.TaskKeysNotRequester.selector, taskId, annotator, requester));
        vm.prank(annotator);
        keys.publishKeys(taskId, CID);
    }

    function test_publishKeys_revertsForAnUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 99));
        vm.prank(requester);
        keys.publishKeys(99, CID);
    }

    function test_publishKeys_revertsForEmptyOrLongCid() public {
        uint256 taskId = _createTask();
        vm.expectRevert(abi.encodeWithSelector(TaskKeys.TaskKeysInvalidCid.selector, 0));
        vm.prank(requester);
        keys.publishKeys(taskId, "");
        bytes memory long = new bytes(129);
        vm.expectRevert(abi.encodeWithSelector(TaskKeys.TaskKeysInvalidCid.selector, 129));
        vm.prank(requester);
        keys.publishKeys(taskId, string(long));
    }
}
