// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IQualifications} from "./interfaces/IQualifications.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";

/// @title Qualifications
/// @notice The gate of one TaskMarket: gated tasks, their admission rules, and the reputation
/// counters their claims build (docs/qualification.md).
/// @dev A contract of its own because TaskMarket is a few hundred bytes under EIP-170: the
/// market only refuses a direct seat on a gated task, takes seats and gated tasks from here,
/// and calls `credit` from a gated task's claim. The market is immutable and trusted: it is
/// the only contract this one calls, and it calls back nothing but `credit`.
contract Qualifications is IQualifications, EIP712 {
    /// @notice Basis points in one (100%).
    uint256 internal constant BPS = 10_000;
    /// @notice The EIP-712 type of a relayed seat claim. No nonce: a claim names its task, and
    /// an annotator holds at most one seat per task, so a replay reverts in the market.
    bytes32 public constant SEAT_CLAIM_TYPEHASH =
        keccak256("SeatClaim(uint256 taskId,address annotator,uint256 deadline)");

    ITaskMarket internal immutable _market;
    /// @dev The market's token, whose permits `createGatedTaskWithPermit` passes on.
    IERC20Permit internal immutable _token;

    mapping(uint256 taskId => Rule) private _rules;
    mapping(address account => mapping(bytes32 domain => Reputation)) private _reputation;

    /// @param market_ The market this contract gates; it must name this contract as its gate.
    constructor(ITaskMarket market_) EIP712("labelnet Qualifications", "1") {
        if (address(market_) == address(0)) revert QualificationsZeroAddress();
        _market = market_;
        _token = IERC20Permit(address(market_.token()));
    }

    /// @inheritdoc IQualifications
    function createGatedTask(ITaskMarket.TaskParams calldata params, Gate calldata gate)
        external
        returns (uint256 taskId)
    {
        return _createGatedTask(params, gate);
    }

    /// @inheritdoc IQualifications
    function createGatedTaskWithPermit(
        ITaskMarket.TaskParams calldata params,
        Gate calldata gate,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 taskId) {
        uint256 escrow = uint256(params.numItems) * params.redundancy * params.rewardPerLabel + params.validatorFee;
        // A front-run permit leaves the allowance in place; the market's transferFrom decides.
        try _token.permit(msg.sender, address(_market), escrow, permitDeadline, v, r, s) {} catch {}
        return _createGatedTask(params, gate);
    }

    /// @dev The checks of a gate, the market's task, then the rule under the market's id.
    function _createGatedTask(ITaskMarket.TaskParams calldata params, Gate calldata gate)
        private
        returns (uint256 taskId)
    {
        if (params.batchSize == 0) revert QualificationsNotSeated();
        bool hasTask = gate.qualificationTaskId != 0;
        if (
            gate.minAccuracyBps > BPS || gate.qualificationAccuracyBps > BPS
                || hasTask != (gate.qualificationAccuracyBps != 0)
        ) revert QualificationsInvalidGate();
        if (hasTask && _rules[gate.qualificationTaskId].batchSize == 0) {
            revert QualificationsUnknownTask(gate.qualificationTaskId);
        }
        // Checks-effects-interactions: the rule is stored under the id the market will give the
        // task (it numbers tasks one by one), then the market creates it and must confirm it.
        taskId = _market.taskCount() + 1;
        _rules[taskId] = Rule({
            rewardPerLabel: params.rewardPerLabel,
            batchSize: params.batchSize,
            minAccepted: gate.minAccepted,
            minAccuracyBps: gate.minAccuracyBps,
            qualificationTaskId: gate.qualificationTaskId,
            qualificationAccuracyBps: gate.qualificationAccuracyBps,
            domain: gate.domain,
            allowlistRoot: gate.allowlistRoot
        });
        emit GatedTaskCreated(taskId, msg.sender, gate);
        uint256 created = _market.createTaskFor(params, msg.sender);
        if (created != taskId) revert QualificationsWrongTaskId(taskId, created);
    }

    /// @inheritdoc IQualifications
    function claimSeat(uint256 taskId, bytes32[] calldata proof) external returns (uint32 seat) {
        _admit(taskId, msg.sender, proof);
        return _market.claimSeatFor(taskId, msg.sender);
    }

    /// @inheritdoc IQualifications
    function claimSeats(uint256 taskId, SignedSeat[] calldata seats) external {
        uint256 n = seats.length;
        for (uint256 i; i < n; ++i) {
            SignedSeat calldata seat = seats[i];
            address annotator = seat.annotator;
            if (block.timestamp > seat.deadline) revert QualificationsClaimExpired(annotator, seat.deadline);
            bytes32 digest = _seatDigest(taskId, annotator, seat.deadline);
            if (ECDSA.recover(digest, seat.v, seat.r, seat.s) != annotator) {
                revert QualificationsBadSignature(annotator);
            }
            _admit(taskId, annotator, seat.proof);
            // The seat number is in the market's SeatClaimed event.
            // slither-disable-next-line unused-return
            _market.claimSeatFor(taskId, annotator);
        }
    }

    /// @inheritdoc IQualifications
    function claimFor(
        uint256 taskId,
        address[] calldata accounts,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external {
        uint256 n = accounts.length;
        if (amounts.length != n || proofs.length != n) revert QualificationsLengthMismatch();
        for (uint256 i; i < n; ++i) {
            _market.claim(taskId, accounts[i], amounts[i], proofs[i]);
        }
    }

    /// @inheritdoc IQualifications
    function seatClaimDigest(uint256 taskId, address annotator, uint256 deadline) external view returns (bytes32) {
        return _seatDigest(taskId, annotator, deadline);
    }

    /// @inheritdoc IQualifications
    /// @dev Only gated tasks' claims call it, so a task without a rule is not expected here;
    /// one without a domain counts nowhere and returns at once.
    function credit(uint256 taskId, address account, uint256 amount) external {
        if (msg.sender != address(_market)) revert QualificationsNotMarket(msg.sender);
        Rule storage rule = _rules[taskId];
        bytes32 domain = rule.domain;
        if (domain == bytes32(0)) return;
        uint256 accepted = amount / rule.rewardPerLabel;
        uint256 answered = rule.batchSize;
        Reputation storage rep = _reputation[account][domain];
        // unchecked: accepted <= answered <= 2**32 per claim (assigned@1 pays at most the
        // batch), one claim per task and account, and task ids are below 2**64: 96 bits hold
        // 2**64 claims of 2**32 labels. A claim of a gated task has an `amount` the market
        // checked against the attested total, itself at most the pool.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            rep.accepted += uint96(accepted);
            // forge-lint: disable-next-line(unsafe-typecast)
            rep.answered += uint96(answered);
            rep.tasks += 1;
        }
        emit ReputationCredited(account, domain, taskId, accepted, answered);
    }

    /// @inheritdoc IQualifications
    function checkAdmission(uint256 taskId, address account, bytes32[] calldata proof) external view {
        _admit(taskId, account, proof);
    }

    /// @inheritdoc IQualifications
    function market() external view returns (ITaskMarket) {
        return _market;
    }

    /// @inheritdoc IQualifications
    function ruleOf(uint256 taskId) external view returns (Rule memory) {
        return _rules[taskId];
    }

    /// @inheritdoc IQualifications
    function reputationOf(address account, bytes32 domain) external view returns (Reputation memory) {
        return _reputation[account][domain];
    }

    /// @dev The EIP-712 digest of a relayed seat claim.
    function _seatDigest(uint256 taskId, address annotator, uint256 deadline) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SEAT_CLAIM_TYPEHASH, taskId, annotator, deadline)));
    }

    /// @dev The admission rules, written once for the seat and for `checkAdmission`: reverts
    /// with the error of the first rule that refuses `account`.
    function _admit(uint256 taskId, address account, bytes32[] calldata proof) private view {
        Rule storage rule = _rules[taskId];
        if (rule.batchSize == 0) revert QualificationsUnknownTask(taskId);
        bytes32 root = rule.allowlistRoot;
        if (root != bytes32(0)) {
            bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account))));
            if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert NotOnAllowlist(taskId, account);
        }
        uint256 minAccepted = rule.minAccepted;
        uint256 minAccuracy = rule.minAccuracyBps;
        if (minAccepted != 0 || minAccuracy != 0) {
            Reputation memory rep = _reputation[account][rule.domain];
            if (rep.accepted < minAccepted) revert ReputationTooLow(taskId, account, rep.accepted, minAccepted);
            uint256 accuracy = rep.answered == 0 ? 0 : uint256(rep.accepted) * BPS / rep.answered;
            if (accuracy < minAccuracy) revert AccuracyTooLow(taskId, account, accuracy, minAccuracy);
        }
        uint256 qualification = rule.qualificationTaskId;
        if (qualification != 0) {
            Rule storage test = _rules[qualification];
            // Paid for `paid / rate` accepted labels of the `batchSize` dealt: compare
            // `paid / (rate * batch) >= bps / BPS` without division.
            uint256 paid = _market.paidOf(qualification, account);
            if (paid * BPS < uint256(rule.qualificationAccuracyBps) * test.rewardPerLabel * test.batchSize) {
                revert NotQualified(taskId, account, qualification);
            }
        }
    }
}
