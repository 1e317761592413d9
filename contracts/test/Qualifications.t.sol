// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LabelnetFixture} from "./utils/LabelnetFixture.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {Qualifications} from "../src/Qualifications.sol";
import {IQualifications} from "../src/interfaces/IQualifications.sol";
import {ITaskMarket} from "../src/interfaces/ITaskMarket.sol";

/// @notice A market that gives a new task another id than the next one: the gate must refuse
/// to leave its rule on the wrong task.
contract SkippingMarket {
    address public immutable token;

    constructor(address token_) {
        token = token_;
    }

    function taskCount() external pure returns (uint256) {
        return 4;
    }

    function createTaskFor(ITaskMarket.TaskParams calldata, address) external pure returns (uint256) {
        return 6;
    }
}

/// @notice The gate (issue #19 items 1-2): gated tasks, each admission rule and its named
/// error, and the reputation counters a gated task's claims credit. The fixture's honest tree
/// pays A, B and C 10, 8 and 6 labels at 1 LABEL each out of seats of 10 items.
contract QualificationsTest is LabelnetFixture {
    using PayoutTree for PayoutTree.Tree;

    bytes32 internal constant DOMAIN = "radiology";

    function _gate() internal pure returns (IQualifications.Gate memory g) {
        g.domain = DOMAIN;
    }

    function _createGated(IQualifications.Gate memory g) internal returns (uint256 taskId) {
        ITaskMarket.TaskParams memory p = _seatedParams();
        _approve(requester, address(market), REWARD_POOL + VALIDATOR_FEE);
        vm.prank(requester);
        taskId = gate.createGatedTask(p, g);
    }

    function _seat(uint256 taskId, address annotator, bytes32[] memory proof) internal returns (uint32 seat) {
        _approve(annotator, address(market), BOND);
        vm.prank(annotator);
        seat = gate.claimSeat(taskId, proof);
    }

    function _seat(uint256 taskId, address annotator) internal returns (uint32) {
        return _seat(taskId, annotator, new bytes32[](0));
    }

    /// @notice A gated task with A, B and C seated, finalized on the honest tree and claimed by
    /// A and B, and by C if `claimC`.
    function _runGated(IQualifications.Gate memory g, bool claimC) internal returns (uint256 taskId) {
        taskId = _createGated(g);
        _seat(taskId, annotatorA);
        _seat(taskId, annotatorB);
        _seat(taskId, annotatorC);
        _commit(taskId, annotatorA);
        _commit(taskId, annotatorB);
        _commit(taskId, annotatorC);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        _reveal(taskId, annotatorB);
        _reveal(taskId, annotatorC);
        _warpToAttest(taskId);
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        market.finalize(taskId);
        market.claim(taskId, annotatorA, 10 ether, _honestProof(0));
        market.claim(taskId, annotatorB, 8 ether, _honestProof(1));
        if (claimC) market.claim(taskId, annotatorC, 6 ether, _honestProof(2));
    }

    function _assertReputation(address account, uint256 accepted, uint256 answered, uint256 tasks) internal view {
        IQualifications.Reputation memory rep = gate.reputationOf(account, DOMAIN);
        vm.assertEq(uint256(rep.accepted), accepted, "accepted");
        vm.assertEq(uint256(rep.answered), answered, "answered");
        vm.assertEq(uint256(rep.tasks), tasks, "tasks");
    }

    // ------------------------------------------------------------ deployment

    function test_constructor_namesTheMarket() public view {
        vm.assertEq(address(gate.market()), address(market));
        vm.assertEq(market.version(), 3);
    }

    function test_constructor_revertsForZeroMarket() public {
        vm.expectRevert(IQualifications.QualificationsZeroAddress.selector);
        new Qualifications(ITaskMarket(address(0)));
    }

    // ------------------------------------------------------------ creating

    function test_createGatedTask_storesTheRuleAndTheRequester() public {
        IQualifications.Gate memory g = _gate();
        g.minAccepted = 5;
        g.minAccuracyBps = 7000;
        _approve(requester, address(market), REWARD_POOL + VALIDATOR_FEE);
        vm.expectEmit(true, true, true, true, address(gate));
        emit IQualifications.GatedTaskCreated(1, requester, g);
        vm.prank(requester);
        uint256 id = gate.createGatedTask(_seatedParams(), g);
        IQualifications.Rule memory rule = gate.ruleOf(id);
        vm.assertEq(uint256(rule.rewardPerLabel), REWARD_PER_LABEL);
        vm.assertEq(uint256(rule.batchSize), NUM_ITEMS);
        vm.assertEq(uint256(rule.minAccepted), 5);
        vm.assertEq(uint256(rule.minAccuracyBps), 7000);
        vm.assertEq(rule.domain, DOMAIN);
        vm.assertEq(_task(id).requester, requester);
        vm.assertEq(token.balanceOf(address(market)), REWARD_POOL + VALIDATOR_FEE);
    }

    function test_createGatedTaskWithPermit_escrowsInOneTransaction() public {
        uint256 escrow = REWARD_POOL + VALIDATOR_FEE;
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(address(market), escrow, deadline);
        vm.prank(requester);
        uint256 id = gate.createGatedTaskWithPermit(_seatedParams(), _gate(), deadline, v, r, s);
        vm.assertEq(_task(id).requester, requester);
        vm.assertEq(token.balanceOf(address(market)), escrow);
        vm.assertEq(gate.ruleOf(id).domain, DOMAIN);
        // The permit is spent: a replay is swallowed and the (now zero) allowance refuses.
        vm.expectPartialRevert(bytes4(keccak256("ERC20InsufficientAllowance(address,uint256,uint256)")));
        vm.prank(requester);
        gate.createGatedTaskWithPermit(_seatedParams(), _gate(), deadline, v, r, s);
    }

    function test_createGatedTask_refusesAMarketThatSkipsTheId() public {
        Qualifications skipping = new Qualifications(ITaskMarket(address(new SkippingMarket(address(token)))));
        vm.expectRevert(abi.encodeWithSelector(IQualifications.QualificationsWrongTaskId.selector, 5, 6));
        skipping.createGatedTask(_seatedParams(), _gate());
    }

    function test_createGatedTask_revertsForAnOpenTask() public {
        vm.expectRevert(IQualifications.QualificationsNotSeated.selector);
        vm.prank(requester);
        gate.createGatedTask(_params(), _gate());
    }

    function test_createGatedTask_revertsForAnInvalidGate() public {
        ITaskMarket.TaskParams memory p = _seatedParams();
        IQualifications.Gate memory g = _gate();
        g.minAccuracyBps = 10_001;
        vm.expectRevert(IQualifications.QualificationsInvalidGate.selector);
        gate.createGatedTask(p, g);
        g = _gate();
        g.qualificationAccuracyBps = 10_001;
        g.qualificationTaskId = 1;
        vm.expectRevert(IQualifications.QualificationsInvalidGate.selector);
        gate.createGatedTask(p, g);
        g.qualificationAccuracyBps = 0; // a task without an accuracy
        vm.expectRevert(IQualifications.QualificationsInvalidGate.selector);
        gate.createGatedTask(p, g);
        g.qualificationTaskId = 0;
        g.qualificationAccuracyBps = 5000; // an accuracy without a task
        vm.expectRevert(IQualifications.QualificationsInvalidGate.selector);
        gate.createGatedTask(p, g);
    }

    function test_createGatedTask_revertsForAnUnknownQualificationTask() public {
        uint256 open = _createTask(_seatedParams()); // a market task, but not a gated one
        IQualifications.Gate memory g = _gate();
        // forge-lint: disable-next-line(unsafe-typecast) -- a test task id is small.
        g.qualificationTaskId = uint32(open);
        g.qualificationAccuracyBps = 5000;
        vm.expectRevert(abi.encodeWithSelector(IQualifications.QualificationsUnknownTask.selector, open));
        gate.createGatedTask(_seatedParams(), g);
    }

    function test_market_gatedCallsOnlyFromTheGate() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotGate.selector, stranger));
        vm.prank(stranger);
        market.createTaskFor(_seatedParams(), stranger);
        uint256 id = _createGated(_gate());
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketNotGate.selector, stranger));
        vm.prank(stranger);
        market.claimSeatFor(id, stranger);
    }

    // ------------------------------------------------------------ seats

    function test_claimSeat_directSeatOnAGatedTaskReverts() public {
        uint256 id = _createGated(_gate());
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketGated.selector, id));
        vm.prank(annotatorA);
        market.claimSeat(id);
    }

    function test_claimSeat_throughTheGateSeatsAndPullsTheBond() public {
        uint256 id = _createGated(_gate());
        _approve(annotatorA, address(market), BOND);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SeatClaimed(id, annotatorA, 0);
        vm.prank(annotatorA);
        vm.assertEq(uint256(gate.claimSeat(id, new bytes32[](0))), 0);
        vm.assertTrue(market.hasSeat(id, annotatorA));
        vm.assertEq(token.balanceOf(annotatorA), 100 ether - BOND);
    }

    function test_claimSeat_revertsForAnUngatedTask() public {
        uint256 id = _createTask(_seatedParams());
        vm.expectRevert(abi.encodeWithSelector(IQualifications.QualificationsUnknownTask.selector, id));
        vm.prank(annotatorA);
        gate.claimSeat(id, new bytes32[](0));
    }

    // ------------------------------------------------------------ relayed seats and claims

    uint256 internal constant SIGNER_KEY = 0xBEEF;

    function _signed(uint256 taskId, uint256 key, uint256 deadline, bytes32[] memory proof)
        internal
        view
        returns (IQualifications.SignedSeat memory seat)
    {
        seat.annotator = vm.addr(key);
        seat.deadline = deadline;
        seat.proof = proof;
        (seat.v, seat.r, seat.s) = vm.sign(key, gate.seatClaimDigest(taskId, seat.annotator, deadline));
    }

    function test_claimSeats_seatsEverySignedClaimInOrder() public {
        uint256 id = _createGated(_gate());
        IQualifications.SignedSeat[] memory seats = new IQualifications.SignedSeat[](2);
        seats[0] = _signed(id, SIGNER_KEY, block.timestamp, new bytes32[](0));
        seats[1] = _signed(id, SIGNER_KEY + 1, block.timestamp, new bytes32[](0));
        for (uint256 i; i < 2; ++i) {
            _fund(seats[i].annotator, BOND);
            _approve(seats[i].annotator, address(market), BOND);
        }
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SeatClaimed(id, seats[0].annotator, 0);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SeatClaimed(id, seats[1].annotator, 1);
        vm.prank(stranger); // any relayer
        gate.claimSeats(id, seats);
        vm.assertTrue(market.hasSeat(id, seats[1].annotator));
        vm.assertEq(token.balanceOf(seats[0].annotator), 0, "the bond is the annotator's");
        // A replay cannot seat anyone twice.
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TaskMarketAlreadySeated.selector, id, seats[0].annotator));
        gate.claimSeats(id, seats);
    }

    function test_claimSeats_revertsForAnExpiredOrForgedClaim() public {
        uint256 id = _createGated(_gate());
        IQualifications.SignedSeat[] memory seats = new IQualifications.SignedSeat[](1);
        seats[0] = _signed(id, SIGNER_KEY, block.timestamp - 1, new bytes32[](0));
        vm.expectRevert(
            abi.encodeWithSelector(
                IQualifications.QualificationsClaimExpired.selector, seats[0].annotator, block.timestamp - 1
            )
        );
        gate.claimSeats(id, seats);
        seats[0] = _signed(id, SIGNER_KEY, block.timestamp, new bytes32[](0));
        seats[0].annotator = annotatorA; // signed by another key
        vm.expectRevert(abi.encodeWithSelector(IQualifications.QualificationsBadSignature.selector, annotatorA));
        gate.claimSeats(id, seats);
    }

    function test_claimSeats_appliesTheRules() public {
        PayoutTree.Tree memory list = _allowlist(); // A and B, not the signer
        IQualifications.Gate memory g = _gate();
        g.allowlistRoot = list.root();
        uint256 id = _createGated(g);
        IQualifications.SignedSeat[] memory seats = new IQualifications.SignedSeat[](1);
        seats[0] = _signed(id, SIGNER_KEY, block.timestamp, list.proof(0));
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotOnAllowlist.selector, id, seats[0].annotator));
        gate.claimSeats(id, seats);
    }

    function test_claimFor_paysAndCreditsEveryLeafInOneCall() public {
        _stakeAll();
        uint256 id = _createGated(_gate());
        _seat(id, annotatorA);
        _seat(id, annotatorB);
        _commit(id, annotatorA);
        _commit(id, annotatorB);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _reveal(id, annotatorB);
        _warpToAttest(id);
        _attestHonest(id, validator1);
        _attestHonest(id, validator2);
        market.finalize(id);
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        bytes32[][] memory proofs = new bytes32[][](2);
        (accounts[0], amounts[0], proofs[0]) = (annotatorA, 10 ether, _honestProof(0));
        (accounts[1], amounts[1], proofs[1]) = (annotatorB, 8 ether, _honestProof(1));
        uint256 before = token.balanceOf(annotatorB);
        vm.prank(stranger);
        gate.claimFor(id, accounts, amounts, proofs);
        vm.assertEq(token.balanceOf(annotatorB), before + 8 ether);
        _assertReputation(annotatorA, 10, 10, 1);
        _assertReputation(annotatorB, 8, 10, 1);
        vm.expectRevert(IQualifications.QualificationsLengthMismatch.selector);
        gate.claimFor(id, accounts, new uint256[](1), proofs);
        vm.expectRevert(IQualifications.QualificationsLengthMismatch.selector);
        gate.claimFor(id, accounts, amounts, new bytes32[][](1));
    }

    // ------------------------------------------------------------ rule: allowlist

    function _allowlist() internal view returns (PayoutTree.Tree memory) {
        address[] memory accounts = new address[](2);
        (accounts[0], accounts[1]) = (annotatorA, annotatorB);
        return PayoutTree.ofAccounts(accounts);
    }

    function test_allowlist_admitsListedAccountsWithTheirProof() public {
        PayoutTree.Tree memory list = _allowlist();
        IQualifications.Gate memory g = _gate();
        g.allowlistRoot = list.root();
        uint256 id = _createGated(g);
        _seat(id, annotatorA, list.proof(0));
        _seat(id, annotatorB, list.proof(1));
        vm.assertTrue(market.hasSeat(id, annotatorB));
    }

    function test_allowlist_refusesOthersNamingTheRule() public {
        PayoutTree.Tree memory list = _allowlist();
        IQualifications.Gate memory g = _gate();
        g.allowlistRoot = list.root();
        uint256 id = _createGated(g);
        bytes32[] memory borrowed = list.proof(0); // A's proof does not admit C
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotOnAllowlist.selector, id, annotatorC));
        vm.prank(annotatorC);
        gate.claimSeat(id, borrowed);
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotOnAllowlist.selector, id, annotatorC));
        gate.checkAdmission(id, annotatorC, borrowed);
        gate.checkAdmission(id, annotatorA, borrowed);
    }

    /// @notice Every member of a random allowlist is admitted with its proof; an account not
    /// on it is refused with any member's proof.
    function testFuzz_allowlist_proof(uint256 seed, uint8 size, uint8 pick, address outsider) public {
        uint256 n = bound(size, 1, 24);
        address[] memory accounts = new address[](n);
        for (uint256 i; i < n; ++i) {
            accounts[i] = address(uint160(uint256(keccak256(abi.encode(seed, i)))));
            vm.assume(accounts[i] != outsider);
        }
        PayoutTree.Tree memory list = PayoutTree.ofAccounts(accounts);
        IQualifications.Gate memory g = _gate();
        g.allowlistRoot = list.root();
        uint256 id = _createGated(g);
        uint256 k = uint256(pick) % n;
        gate.checkAdmission(id, accounts[k], list.proof(k));
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotOnAllowlist.selector, id, outsider));
        gate.checkAdmission(id, outsider, list.proof(k));
    }

    // ------------------------------------------------------------ reputation

    function test_credit_countsAcceptedAnsweredAndTasksFromTheClaims() public {
        _stakeAll();
        uint256 first = _runGated(_gate(), false);
        _assertReputation(annotatorC, 0, 0, 0);
        vm.expectEmit(true, true, true, true, address(gate));
        emit IQualifications.ReputationCredited(annotatorC, DOMAIN, first, 6, NUM_ITEMS);
        market.claim(first, annotatorC, 6 ether, _honestProof(2));
        _assertReputation(annotatorA, 10, 10, 1);
        _assertReputation(annotatorB, 8, 10, 1);
        _assertReputation(annotatorC, 6, 10, 1);
        _runGated(_gate(), false); // C does not claim the second task
        _assertReputation(annotatorA, 20, 20, 2);
        _assertReputation(annotatorB, 16, 20, 2);
        _assertReputation(annotatorC, 6, 10, 1);
    }

    function test_credit_withoutADomainCountsNowhere() public {
        _stakeAll();
        _runGated(IQualifications.Gate(0, 0, 0, 0, 0, 0), true);
        vm.assertEq(uint256(gate.reputationOf(annotatorA, bytes32(0)).tasks), 0);
        _assertReputation(annotatorA, 0, 0, 0);
    }

    function test_credit_ungatedClaimsCountNowhere() public {
        _stakeAll();
        uint256 id = _createTask(_seatedParams());
        _claimSeat(id, annotatorA);
        _commit(id, annotatorA);
        _warpToReveal(id);
        _reveal(id, annotatorA);
        _warpToAttest(id);
        _attest(id, validator1, _tree1(annotatorA, 10 ether).root(), 10 ether);
        _attest(id, validator2, _tree1(annotatorA, 10 ether).root(), 10 ether);
        market.finalize(id);
        market.claim(id, annotatorA, 10 ether, new bytes32[](0));
        _assertReputation(annotatorA, 0, 0, 0);
    }

    function test_credit_onlyFromTheMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IQualifications.QualificationsNotMarket.selector, stranger));
        vm.prank(stranger);
        gate.credit(1, stranger, 1 ether);
    }

    // ------------------------------------------------------------ rule: minimum reputation

    function test_minReputation_refusesTooFewAcceptedLabels() public {
        _stakeAll();
        _runGated(_gate(), true);
        IQualifications.Gate memory g = _gate();
        g.minAccepted = 9;
        uint256 id = _createGated(g);
        _seat(id, annotatorA); // 10 accepted
        vm.expectRevert(abi.encodeWithSelector(IQualifications.ReputationTooLow.selector, id, annotatorB, 8, 9));
        vm.prank(annotatorB);
        gate.claimSeat(id, new bytes32[](0));
    }

    function test_minReputation_refusesTooLowAccuracy() public {
        _stakeAll();
        _runGated(_gate(), true);
        IQualifications.Gate memory g = _gate();
        g.minAccuracyBps = 8001;
        uint256 id = _createGated(g);
        _seat(id, annotatorA); // 100%
        vm.expectRevert(abi.encodeWithSelector(IQualifications.AccuracyTooLow.selector, id, annotatorB, 8000, 8001));
        vm.prank(annotatorB);
        gate.claimSeat(id, new bytes32[](0));
        // An account that never answered in the domain has accuracy 0.
        vm.expectRevert(abi.encodeWithSelector(IQualifications.AccuracyTooLow.selector, id, stranger, 0, 8001));
        gate.checkAdmission(id, stranger, new bytes32[](0));
    }

    // ------------------------------------------------------------ rule: qualification task

    function test_qualification_admitsThoseAboveTheAccuracyOnly() public {
        _stakeAll();
        uint256 test = _runGated(IQualifications.Gate(0, 0, 0, 0, 0, 0), false); // C never claims
        IQualifications.Gate memory g = _gate();
        // forge-lint: disable-next-line(unsafe-typecast) -- a test task id is small.
        g.qualificationTaskId = uint32(test);
        g.qualificationAccuracyBps = 9000;
        uint256 id = _createGated(g);
        _seat(id, annotatorA); // 10 of 10
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotQualified.selector, id, annotatorB, test));
        vm.prank(annotatorB);
        gate.claimSeat(id, new bytes32[](0)); // 8 of 10
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotQualified.selector, id, annotatorC, test));
        gate.checkAdmission(id, annotatorC, new bytes32[](0)); // nothing claimed
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotQualified.selector, id, stranger, test));
        gate.checkAdmission(id, stranger, new bytes32[](0)); // never seated
    }

    function test_qualification_atExactlyTheAccuracyPasses() public {
        _stakeAll();
        uint256 test = _runGated(IQualifications.Gate(0, 0, 0, 0, 0, 0), true);
        IQualifications.Gate memory g = _gate();
        // forge-lint: disable-next-line(unsafe-typecast) -- a test task id is small.
        g.qualificationTaskId = uint32(test);
        g.qualificationAccuracyBps = 8000;
        uint256 id = _createGated(g);
        gate.checkAdmission(id, annotatorB, new bytes32[](0)); // 8 of 10 = 8000
    }

    /// @notice The rules are checked in order: the allowlist first, then reputation, then the
    /// qualification task, and an account must pass all of them.
    function test_rules_combineInOrder() public {
        _stakeAll();
        uint256 test = _runGated(_gate(), true);
        PayoutTree.Tree memory list = _allowlist(); // A and B
        IQualifications.Gate memory g = _gate();
        g.allowlistRoot = list.root();
        g.minAccepted = 7;
        // forge-lint: disable-next-line(unsafe-typecast) -- a test task id is small.
        g.qualificationTaskId = uint32(test);
        g.qualificationAccuracyBps = 9000;
        uint256 id = _createGated(g);
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotOnAllowlist.selector, id, annotatorC));
        gate.checkAdmission(id, annotatorC, list.proof(0));
        vm.expectRevert(abi.encodeWithSelector(IQualifications.NotQualified.selector, id, annotatorB, test));
        gate.checkAdmission(id, annotatorB, list.proof(1));
        _seat(id, annotatorA, list.proof(0));
    }
}
