// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "./TestBase.sol";
import {PayoutTree} from "./PayoutTree.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {Qualifications} from "../../src/Qualifications.sol";
import {IQualifications} from "../../src/interfaces/IQualifications.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @title LabelnetFixture
/// @notice Deploys token, staking and market with named actors, and offers the lifecycle
/// steps as one-line helpers so each test states only the rule it checks.
/// @dev Stakes are chosen so the 2/3 thresholds are easy to reason about: 1000 LABEL staked in
/// total; validator1 + validator2 (700) hold 2/3 of all stake, validator1 alone (400) does not.
/// The quorum of a third (333.4) is met by validator1 alone or validator2 + validator4, and
/// not by validator3 + validator4 (300).
abstract contract LabelnetFixture is TestBase {
    using PayoutTree for PayoutTree.Tree;

    uint256 internal constant SUPPLY = 1e9 ether;
    uint256 internal constant MIN_STAKE = 100 ether;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant SLASH_BPS = 1000; // 10% of the weight is locked per attested task
    uint8 internal constant MAX_COMMITTEE = 3;
    uint8 internal constant MIN_ATTESTATIONS = 2;
    uint16 internal constant QUORUM_BPS = 3334; // just over one third of all stake, the default
    uint64 internal constant MIN_LABEL_TIME = 1 hours; // the default

    uint256 internal constant STAKE_1 = 400 ether;
    uint256 internal constant STAKE_2 = 300 ether;
    uint256 internal constant STAKE_3 = 200 ether;
    uint256 internal constant STAKE_4 = 100 ether;

    uint32 internal constant NUM_ITEMS = 10;
    uint16 internal constant REDUNDANCY = 3;
    uint128 internal constant REWARD_PER_LABEL = 1 ether;
    uint128 internal constant REWARD_POOL = 30 ether;
    uint128 internal constant VALIDATOR_FEE = 3 ether;
    uint128 internal constant BOND = 0.5 ether;
    bytes32 internal constant ALGORITHM = "ds-gold@1";
    bytes32 internal constant GOLD_ROOT = keccak256("gold answers");
    bytes32 internal constant GOLD_SALT = keccak256("gold salt");
    string internal constant MANIFEST_CID = "bafkreimanifest";

    uint256 internal constant REQUESTER_KEY = 0xA11CE;

    LabelToken internal token;
    ValidatorStaking internal staking;
    TaskMarket internal market;
    Qualifications internal gate;
    /// @notice A market deployed without a gate (constructor tests).
    IQualifications internal constant NO_GATE = IQualifications(address(0));

    address internal treasury;
    address internal requester;
    address internal annotatorA;
    address internal annotatorB;
    address internal annotatorC;
    address internal validator1;
    address internal validator2;
    address internal validator3;
    address internal validator4;
    address internal stranger;

    /// @notice The honest payout tree of a default task: A, B and C paid 10, 8 and 6 LABEL.
    PayoutTree.Tree internal honestTree;
    uint128 internal constant HONEST_TOTAL = 24 ether;

    function setUp() public virtual {
        treasury = makeAddr("treasury");
        requester = vm.addr(REQUESTER_KEY);
        vm.label(requester, "requester");
        annotatorA = makeAddr("annotatorA");
        annotatorB = makeAddr("annotatorB");
        annotatorC = makeAddr("annotatorC");
        validator1 = makeAddr("validator1");
        validator2 = makeAddr("validator2");
        validator3 = makeAddr("validator3");
        validator4 = makeAddr("validator4");
        stranger = makeAddr("stranger");

        honestTree = _tree3(annotatorA, 10 ether, annotatorB, 8 ether, annotatorC, 6 ether);
        _deploy(MIN_STAKE, SLASH_BPS, MAX_COMMITTEE, MIN_ATTESTATIONS, QUORUM_BPS);
    }

    /// @notice (Re)deploy token, staking and market with the given rules and fund the actors,
    /// so a test can change a parameter and still use every helper.
    function _deploy(uint256 minStake, uint16 slashBps, uint8 maxCommittee, uint8 minAttestations, uint16 quorumBps)
        internal
    {
        token = new LabelToken(treasury, SUPPLY);
        staking = new ValidatorStaking(token, minStake, UNBONDING_DELAY, slashBps, address(this));
        // The market names its gate and the gate its market: the gate's address is the next
        // CREATE address after the market's.
        address nextGate = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        market = new TaskMarket(
            token, staking, maxCommittee, minAttestations, quorumBps, MIN_LABEL_TIME, IQualifications(nextGate)
        );
        gate = new Qualifications(market);
        vm.assertEq(address(gate), nextGate);
        staking.setMarket(address(market));
        vm.label(address(token), "LabelToken");
        vm.label(address(staking), "ValidatorStaking");
        vm.label(address(market), "TaskMarket");
        vm.label(address(gate), "Qualifications");

        _fund(requester, 10_000 ether);
        _fund(annotatorA, 100 ether);
        _fund(annotatorB, 100 ether);
        _fund(annotatorC, 100 ether);
        _fund(validator1, 1_000 ether);
        _fund(validator2, 1_000 ether);
        _fund(validator3, 1_000 ether);
        _fund(validator4, 1_000 ether);
        _fund(stranger, 1_000 ether);
    }

    // ------------------------------------------------------------ money

    function _fund(address account, uint256 amount) internal {
        vm.prank(treasury);
        vm.assertTrue(token.transfer(account, amount));
    }

    function _approve(address owner, address spender, uint256 amount) internal {
        vm.prank(owner);
        token.approve(spender, amount);
    }

    /// @notice An EIP-2612 permit signed by the requester's key.
    function _signPermit(address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                requester,
                spender,
                value,
                token.nonces(requester),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(REQUESTER_KEY, digest);
    }

    function _stake(address validator, uint256 amount) internal {
        _approve(validator, address(staking), amount);
        vm.prank(validator);
        staking.stake(amount);
    }

    /// @notice validator1..3 stake 400/300/200 and validator4 100: 1000 in total.
    function _stakeAll() internal {
        _stake(validator1, STAKE_1);
        _stake(validator2, STAKE_2);
        _stake(validator3, STAKE_3);
        _stake(validator4, STAKE_4);
    }

    // ------------------------------------------------------------ tasks

    function _params() internal view returns (ITaskMarket.TaskParams memory p) {
        p.manifestCid = MANIFEST_CID;
        p.algorithm = ALGORITHM;
        p.goldCommitment = keccak256(abi.encode(GOLD_ROOT, GOLD_SALT));
        p.rewardPerLabel = REWARD_PER_LABEL;
        p.validatorFee = VALIDATOR_FEE;
        p.annotatorBond = BOND;
        p.commitDeadline = uint64(block.timestamp + 1 days);
        p.revealDeadline = uint64(block.timestamp + 2 days);
        p.attestDeadline = uint64(block.timestamp + 3 days);
        p.numItems = NUM_ITEMS;
        p.redundancy = REDUNDANCY;
    }

    /// @notice `_params` as a seated task: batches of all 10 items, so 3 seats (A, B and C
    /// fill them), closing `MIN_LABEL_TIME` before the commit deadline.
    function _seatedParams() internal view returns (ITaskMarket.TaskParams memory p) {
        p = _params();
        p.batchSize = NUM_ITEMS;
        p.seatDeadline = p.commitDeadline - MIN_LABEL_TIME;
    }

    function _createTask(ITaskMarket.TaskParams memory p) internal returns (uint256 taskId) {
        uint256 escrow = uint256(p.numItems) * p.redundancy * p.rewardPerLabel + p.validatorFee;
        _approve(requester, address(market), escrow);
        vm.prank(requester);
        taskId = market.createTask(p);
    }

    function _createTask() internal returns (uint256) {
        return _createTask(_params());
    }

    function _task(uint256 taskId) internal view returns (ITaskMarket.Task memory) {
        return market.getTask(taskId);
    }

    // ------------------------------------------------------------ annotators

    function _labelsRoot(address annotator) internal pure returns (bytes32) {
        return keccak256(abi.encode("labels", annotator));
    }

    function _salt(address annotator) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", annotator));
    }

    function _commitment(uint256 taskId, address annotator, bytes32 root, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, annotator, root, salt));
    }

    function _commit(uint256 taskId, address annotator) internal {
        _approve(annotator, address(market), _task(taskId).annotatorBond);
        vm.prank(annotator);
        market.commit(taskId, _commitment(taskId, annotator, _labelsRoot(annotator), _salt(annotator)));
    }

    function _claimSeat(uint256 taskId, address annotator) internal returns (uint32 seat) {
        _approve(annotator, address(market), _task(taskId).annotatorBond);
        vm.prank(annotator);
        seat = market.claimSeat(taskId);
    }

    function _reveal(uint256 taskId, address annotator) internal {
        vm.prank(annotator);
        market.reveal(taskId, _labelsRoot(annotator), "bafkreilabels", _salt(annotator));
    }

    // ------------------------------------------------------------ time

    function _warpToReveal(uint256 taskId) internal {
        vm.warp(_task(taskId).commitDeadline + 1);
    }

    function _warpToAttest(uint256 taskId) internal {
        vm.warp(_task(taskId).revealDeadline + 1);
    }

    function _warpPastAttest(uint256 taskId) internal {
        vm.warp(_task(taskId).attestDeadline + 1);
    }

    // ------------------------------------------------------------ validators

    function _attest(uint256 taskId, address validator, bytes32 root, uint128 total) internal {
        vm.prank(validator);
        market.attest(taskId, root, total, "bafkreiresult");
    }

    function _attestHonest(uint256 taskId, address validator) internal {
        _attest(taskId, validator, honestTree.root(), HONEST_TOTAL);
    }

    // ------------------------------------------------------------ scenarios

    /// @notice A default task where A, B and C committed and revealed, warped into the attest
    /// window, with all four validators staked.
    function _revealedTask() internal returns (uint256 taskId) {
        _stakeAll();
        taskId = _createTask();
        _commit(taskId, annotatorA);
        _commit(taskId, annotatorB);
        _commit(taskId, annotatorC);
        _warpToReveal(taskId);
        _reveal(taskId, annotatorA);
        _reveal(taskId, annotatorB);
        _reveal(taskId, annotatorC);
        _warpToAttest(taskId);
    }

    /// @notice `_revealedTask`, with validator1 and validator2 attesting the honest root and the
    /// task finalized early on their 2/3 of all stake.
    function _finalizedTask() internal returns (uint256 taskId) {
        taskId = _revealedTask();
        _attestHonest(taskId, validator1);
        _attestHonest(taskId, validator2);
        market.finalize(taskId);
    }

    // ------------------------------------------------------------ trees

    function _tree3(address a, uint256 x, address b, uint256 y, address c, uint256 z)
        internal
        pure
        returns (PayoutTree.Tree memory)
    {
        address[] memory accounts = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        (accounts[0], accounts[1], accounts[2]) = (a, b, c);
        (amounts[0], amounts[1], amounts[2]) = (x, y, z);
        return PayoutTree.build(accounts, amounts);
    }

    function _tree1(address a, uint256 x) internal pure returns (PayoutTree.Tree memory) {
        address[] memory accounts = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        accounts[0] = a;
        amounts[0] = x;
        return PayoutTree.build(accounts, amounts);
    }

    function _honestProof(uint256 i) internal view returns (bytes32[] memory) {
        return PayoutTree.proof(honestTree, i);
    }
}
