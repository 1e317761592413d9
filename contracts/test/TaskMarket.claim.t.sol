// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice Merkle claims: claim and claimMany against OpenZeppelin StandardMerkleTree roots.
contract TaskMarketClaimTest is LabelnetFixture {
    uint256 internal taskId;

    function setUp() public override {
        super.setUp();
        taskId = _finalizedTask();
    }

    /// @notice Finalize a fresh task (its deadlines relative to now) on `root` / `total`.
    function _finalizeOn(bytes32 root, uint128 total) internal returns (uint256 id) {
        id = _createTask();
        _commit(id, annotatorA);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        _attest(id, validator1, root, total);
        _attest(id, validator2, root, total);
        market.finalize(id);
    }

    // ------------------------------------------------------------ claim

    function test_claim_paysLeafRecordsAndEmits() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.PayoutClaimed(taskId, annotatorA, 10 ether);
        vm.prank(annotatorA);
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
        vm.assertEq(token.balanceOf(annotatorA), 110 ether);
        vm.assertEq(market.paidOf(taskId, annotatorA), 10 ether);
        vm.assertEq(uint256(_task(taskId).paidOut), 10 ether);
    }

    /// @notice Anyone may submit a claim (a relayer, say); the tokens go to the leaf's account.
    function test_claim_paysAccountWhoeverSubmits() public {
        vm.prank(stranger);
        market.claim(taskId, annotatorB, 8 ether, _honestProof(1));
        vm.assertEq(token.balanceOf(annotatorB), 108 ether);
        vm.assertEq(token.balanceOf(stranger), 1_000 ether);
    }

    function test_claim_paysEveryLeafUpToTotal() public {
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
        market.claim(taskId, annotatorB, 8 ether, _honestProof(1));
        market.claim(taskId, annotatorC, 6 ether, _honestProof(2));
        ITaskMarket.Task memory t = _task(taskId);
        vm.assertEq(uint256(t.paidOut), uint256(t.totalPayout));
        vm.assertEq(token.balanceOf(address(market)), 0, "the refund was pushed at finalization");
    }

    function test_claim_revertsOnSecondClaim() public {
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyClaimed.selector, taskId, annotatorA));
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
    }

    function test_claim_revertsForInflatedAmount() public {
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidProof.selector, taskId, annotatorA, 11 ether)
        );
        market.claim(taskId, annotatorA, 11 ether, _honestProof(0));
    }

    /// @notice A proof is bound to its leaf's account: B cannot claim A's leaf.
    function test_claim_revertsForLeafOfAnotherAccount() public {
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidProof.selector, taskId, annotatorB, 10 ether)
        );
        market.claim(taskId, annotatorB, 10 ether, _honestProof(0));
    }

    /// @notice An inner node of the tree is not a claimable leaf (the leaves are double-hashed).
    function test_claim_revertsForInnerNodeAsLeaf() public {
        bytes32[] memory proof = new bytes32[](0);
        vm.expectPartialRevert(ITaskMarket.TaskMarketInvalidProof.selector);
        market.claim(taskId, address(uint160(uint256(honestTree.nodes[1]))), 0, proof);
    }

    function test_claim_revertsForZeroAmountLeaf() public {
        PayoutTree.Tree memory tree = _tree3(annotatorA, 5 ether, annotatorB, 0, annotatorC, 1 ether);
        uint256 id = _finalizeOn(tree.nodes[0], 6 ether);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNothingToClaim.selector, id, annotatorB));
        market.claim(id, annotatorB, 0, PayoutTree.proof(tree, 1));
    }

    /// @notice If a winning tree's leaves add up to more than its attested total, claims stop at
    /// the total: the task can never pay out more than was attested (and escrowed).
    function test_claim_revertsWhenPayoutExceeded() public {
        PayoutTree.Tree memory tree = _tree3(annotatorA, 5 ether, annotatorB, 5 ether, annotatorC, 5 ether);
        uint256 id = _finalizeOn(tree.nodes[0], 12 ether);
        market.claim(id, annotatorA, 5 ether, PayoutTree.proof(tree, 0));
        market.claim(id, annotatorB, 5 ether, PayoutTree.proof(tree, 1));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketPayoutExceeded.selector, id, 10 ether, 5 ether, 12 ether)
        );
        market.claim(id, annotatorC, 5 ether, PayoutTree.proof(tree, 2));
    }

    function test_claim_revertsOnOpenTask() public {
        uint256 id = _createTask();
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, id, ITaskMarket.TaskStatus.Open)
        );
        market.claim(id, annotatorA, 10 ether, _honestProof(0));
    }

    /// @notice A void task (nothing revealed) pays nobody from the tree: everything went back.
    function test_claim_revertsOnVoidTask() public {
        uint256 id = _createTask();
        _warpToAttest(id);
        market.finalize(id);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketWrongStatus.selector, id, ITaskMarket.TaskStatus.Void)
        );
        market.claim(id, annotatorA, 10 ether, _honestProof(0));
    }

    function test_claim_revertsForUnknownTask() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketUnknownTask.selector, 77));
        market.claim(77, annotatorA, 10 ether, _honestProof(0));
    }

    /// @notice A one-leaf tree's root is its leaf; the proof is empty.
    function test_claim_acceptsSingleLeafTree() public {
        PayoutTree.Tree memory tree = _tree1(annotatorA, 7 ether);
        uint256 id = _finalizeOn(tree.nodes[0], 7 ether);
        market.claim(id, annotatorA, 7 ether, new bytes32[](0));
        vm.assertEq(market.paidOf(id, annotatorA), 7 ether);
    }

    /// @notice Root and proof computed by the OpenZeppelin merkle-tree npm package (1.0.8) for
    /// five fixed leaves (and checked against node/consensus/merkle.py): the contract accepts
    /// the ecosystem's trees byte for byte, and our Solidity builder reproduces them.
    function test_claim_acceptsOpenZeppelinMerkleTreeProof() public {
        bytes32 root = 0x1966b938287fc0c539f3abe9f35351594db895f6dd2796a9b316d2537ce51f13;
        address account = 0x4444444444444444444444444444444444444444;
        address other = 0x5555555555555555555555555555555555555555;
        bytes32[] memory proof = new bytes32[](3);
        proof[0] = 0x52c0069c93a8515a7d1b8fe060081bf419c6c5b44ef2610c2d6c2ab84e352e50;
        proof[1] = 0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283;
        proof[2] = 0x8d00bd8d33bd92e6ade0ba2d87958d59727515200df528502b93c99dd3fa0256;
        bytes32[] memory otherProof = new bytes32[](3);
        otherProof[0] = 0x6b66955d20be1d7a26a7700e4e38f64c33d50c2bbf2fd066d72bc6e36554a695;
        (otherProof[1], otherProof[2]) = (proof[1], proof[2]);

        address[] memory accounts = new address[](5);
        uint256[] memory amounts = new uint256[](5);
        accounts[0] = 0x1111111111111111111111111111111111111111;
        accounts[1] = 0x2222222222222222222222222222222222222222;
        accounts[2] = 0x3333333333333333333333333333333333333333;
        (accounts[3], accounts[4]) = (account, other);
        (amounts[0], amounts[1], amounts[2], amounts[3], amounts[4]) = (5 ether, 2.5 ether, 1, 0, 123456789);
        PayoutTree.Tree memory tree = PayoutTree.build(accounts, amounts);
        vm.assertEq(tree.nodes[0], root);
        vm.assertEq(PayoutTree.proof(tree, 4)[0], otherProof[0]);

        uint256 id = _finalizeOn(root, 7.5 ether + 1 + 123456789);
        // The 0x4444 leaf is a zero payout: the proof verifies, and only then is it refused.
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNothingToClaim.selector, id, account));
        market.claim(id, account, 0, proof);
        market.claim(id, other, 123456789, otherProof);
        vm.assertEq(token.balanceOf(other), 123456789);
    }

    // ------------------------------------------------------------ claimMany

    function test_claimMany_paysSeveralTasksInOneTransfer() public {
        PayoutTree.Tree memory tree = _tree1(annotatorA, 4 ether);
        uint256 second = _finalizeOn(tree.nodes[0], 4 ether);
        uint256[] memory ids = new uint256[](2);
        uint256[] memory amounts = new uint256[](2);
        bytes32[][] memory proofs = new bytes32[][](2);
        (ids[0], ids[1]) = (taskId, second);
        (amounts[0], amounts[1]) = (10 ether, 4 ether);
        (proofs[0], proofs[1]) = (_honestProof(0), new bytes32[](0));
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.PayoutClaimed(taskId, annotatorA, 10 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.PayoutClaimed(second, annotatorA, 4 ether);
        market.claimMany(ids, annotatorA, amounts, proofs);
        vm.assertEq(token.balanceOf(annotatorA), 114 ether);
        vm.assertEq(market.paidOf(second, annotatorA), 4 ether);
    }

    function test_claimMany_revertsOnAmountsLengthMismatch() public {
        vm.expectRevert(ITaskMarket.TaskMarketLengthMismatch.selector);
        market.claimMany(new uint256[](2), annotatorA, new uint256[](1), new bytes32[][](2));
    }

    function test_claimMany_revertsOnProofsLengthMismatch() public {
        vm.expectRevert(ITaskMarket.TaskMarketLengthMismatch.selector);
        market.claimMany(new uint256[](1), annotatorA, new uint256[](1), new bytes32[][](0));
    }

    /// @notice Listing a task twice in one batch does not pay twice.
    function test_claimMany_revertsOnRepeatedTask() public {
        uint256[] memory ids = new uint256[](2);
        uint256[] memory amounts = new uint256[](2);
        bytes32[][] memory proofs = new bytes32[][](2);
        (ids[0], ids[1]) = (taskId, taskId);
        (amounts[0], amounts[1]) = (10 ether, 10 ether);
        (proofs[0], proofs[1]) = (_honestProof(0), _honestProof(0));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyClaimed.selector, taskId, annotatorA));
        market.claimMany(ids, annotatorA, amounts, proofs);
    }

    /// @notice One bad leaf voids the whole batch; nothing is half-paid.
    function test_claimMany_revertsWhenOneProofInvalid() public {
        uint256[] memory ids = new uint256[](2);
        uint256[] memory amounts = new uint256[](2);
        bytes32[][] memory proofs = new bytes32[][](2);
        uint256 second = _finalizeOn(keccak256("some root"), 1 ether);
        (ids[0], ids[1]) = (taskId, second);
        (amounts[0], amounts[1]) = (10 ether, 1 ether);
        (proofs[0], proofs[1]) = (_honestProof(0), new bytes32[](0));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.TaskMarketInvalidProof.selector, second, annotatorA, 1 ether)
        );
        market.claimMany(ids, annotatorA, amounts, proofs);
        vm.assertEq(market.paidOf(taskId, annotatorA), 0);
    }

    function test_claimMany_acceptsEmptyBatch() public {
        market.claimMany(new uint256[](0), annotatorA, new uint256[](0), new bytes32[][](0));
        vm.assertEq(token.balanceOf(annotatorA), 100 ether);
    }

    // ------------------------------------------------------------ fuzz

    /// @notice For a random payout list (distinct accounts, random amounts summing to at most
    /// the pool), every leaf is claimable exactly once with its proof, and the market ends up
    /// holding exactly the refund.
    function testFuzz_claim_randomLeafSets(uint256 seed, uint8 size) public {
        uint256 n = bound(size, 1, 24);
        address[] memory accounts = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            accounts[i] = address(uint160(uint256(keccak256(abi.encode(seed, "account", i)))));
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, "amount", i))), 1, REWARD_POOL / n);
            total += amounts[i];
        }
        PayoutTree.Tree memory tree = PayoutTree.build(accounts, amounts);
        // forge-lint: disable-next-line(unsafe-typecast) -- total <= REWARD_POOL.
        uint256 id = _finalizeOn(tree.nodes[0], uint128(total));
        for (uint256 i; i < n; ++i) {
            bytes32[] memory proof = PayoutTree.proof(tree, i);
            market.claim(id, accounts[i], amounts[i], proof);
            vm.assertEq(token.balanceOf(accounts[i]), amounts[i]);
            vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadyClaimed.selector, id, accounts[i]));
            market.claim(id, accounts[i], amounts[i], proof);
        }
        vm.assertEq(uint256(_task(id).paidOut), total);
        // What is left is exactly what the setUp task still owes (its payouts; refunds were pushed).
        vm.assertEq(token.balanceOf(address(market)), uint256(_task(taskId).totalPayout));
    }
}
