// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IQualifications} from "./interfaces/IQualifications.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "./interfaces/IValidatorStaking.sol";
import {Committee} from "./libraries/Committee.sol";
import {Rounds} from "./libraries/Rounds.sol";
import {Seats} from "./libraries/Seats.sol";
import {TaskMarketConfig} from "./TaskMarketConfig.sol";
import {TaskMarketSettlement} from "./TaskMarketSettlement.sol";

/// @title TaskMarket
/// @notice Escrow, seats, commit-reveal, attestation rounds, finalization and Merkle claims for
/// labeling tasks (market v2). See ITaskMarket for the lifecycle.
/// @dev The settlement (rounds, decision, appeals, refunds pushed at the end) is the base
/// TaskMarketSettlement, over the Committee (bounded rounds) and Rounds (round 2) libraries;
/// the annotators' slots (seat, commitment, reveal, payment) are the Seats library; this
/// contract holds the requester's, annotators' and claimants' calls and the views. Gated tasks
/// (market v3) are created and seated through the immutable gate (Qualifications), which
/// holds their rules and the reputation their claims credit.
/// Solvency: for every task the market holds what it still owes — the escrow of an open
/// task (reward pool, validator fee, bonds not yet returned), or for a finalized task the
/// attested payouts not yet claimed and round 2's reserved rewards. Rounding remainders of
/// rounds 0–1's reward split go to the requester's refund. The market has no owner; its fixed
/// parameters are TaskMarketConfig's.
contract TaskMarket is TaskMarketSettlement {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using Committee for Committee.State;
    using Rounds for Rounds.Tally;
    using Seats for Seats.Book;

    /// @notice Marks a commitment slot whose batch has been revealed.
    bytes32 public constant REVEALED = Seats.REVEALED;

    uint256 private _taskCount;
    mapping(uint256 taskId => Seats.Book) private _annotators;

    /// @param token_ The bounty token.
    /// @param staking_ The validator staking contract, which must name this market.
    /// @param maxCommittee_ Most attestations a task accepts (bounds the finalize loop).
    /// @param minAttestations_ Fewest attestations a winning root needs.
    /// @param quorumBps_ Least share of all active stake, in basis points, that must still back
    /// a winning root (3334, just over one third, in the default deployment).
    /// @param minLabelTime_ Least seconds from a seated task's seat deadline to its commit
    /// deadline (1 hour by default).
    /// @param gate_ The Qualifications contract of gated tasks, or zero for none.
    constructor(
        IERC20 token_,
        IValidatorStaking staking_,
        uint8 maxCommittee_,
        uint8 minAttestations_,
        uint16 quorumBps_,
        uint64 minLabelTime_,
        IQualifications gate_
    ) TaskMarketConfig(token_, staking_, maxCommittee_, minAttestations_, quorumBps_, minLabelTime_, gate_) {}

    // ---------------------------------------------------------------- requester

    /// @inheritdoc ITaskMarket
    function createTask(TaskParams calldata params) external nonReentrant returns (uint256 taskId) {
        return _createTask(params, msg.sender, false);
    }

    /// @inheritdoc ITaskMarket
    function createTaskFor(TaskParams calldata params, address requester)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        _requireGate();
        return _createTask(params, requester, true);
    }

    /// @inheritdoc ITaskMarket
    function createTaskWithPermit(TaskParams calldata params, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        uint256 escrow = _rewardPool(params) + params.validatorFee;
        // A front-run permit leaves the allowance in place; transferFrom then decides.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), escrow, permitDeadline, v, r, s) {} catch {}
        return _createTask(params, msg.sender, false);
    }

    /// @inheritdoc ITaskMarket
    function cancel(uint256 taskId) external nonReentrant {
        TaskRecord storage task = _openTask(taskId);
        if (msg.sender != task.requester) revert TaskMarketNotRequester(taskId, msg.sender);
        if (task.joinCount != 0) revert TaskMarketHasCommits(taskId, task.joinCount);
        uint256 amount = uint256(task.rewardPool) + task.validatorFee;
        task.status = TaskStatus.Cancelled;
        emit TaskCancelled(taskId, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ITaskMarket
    function revealGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external {
        TaskRecord storage task = _openTask(taskId);
        if (msg.sender != task.requester) revert TaskMarketNotRequester(taskId, msg.sender);
        if (task.goldCommitment == bytes32(0)) revert TaskMarketNoGold(taskId);
        if (task.goldRevealed) revert TaskMarketGoldAlreadyRevealed(taskId);
        _requireRevealWindow(taskId, task);
        if (keccak256(abi.encode(goldRoot, salt)) != task.goldCommitment) {
            revert TaskMarketCommitmentMismatch(taskId, msg.sender);
        }
        task.goldRevealed = true;
        emit GoldRevealed(taskId, goldRoot, goldCid);
    }

    /// @inheritdoc ITaskMarket
    function refund(uint256 taskId) external nonReentrant {
        TaskRecord storage task = _task(taskId);
        if (task.status != TaskStatus.Open) revert TaskMarketAlreadyRefunded(taskId);
        _finalize(taskId, task);
        // Finalize opened a round or made a result provisional: nothing is refunded while Open.
        if (task.status == TaskStatus.Open) revert TaskMarketWrongStatus(taskId, TaskStatus.Open);
    }

    // ---------------------------------------------------------------- annotator

    /// @inheritdoc ITaskMarket
    function claimSeat(uint256 taskId) external nonReentrant returns (uint32 seat) {
        return _claimSeat(taskId, msg.sender, false);
    }

    /// @inheritdoc ITaskMarket
    function claimSeatFor(uint256 taskId, address annotator) external nonReentrant returns (uint32 seat) {
        _requireGate();
        return _claimSeat(taskId, annotator, true);
    }

    /// @inheritdoc ITaskMarket
    function commit(uint256 taskId, bytes32 commitment) external nonReentrant {
        TaskRecord storage task = _openTask(taskId);
        if (block.timestamp > task.commitDeadline) revert TaskMarketDeadlinePassed(taskId, task.commitDeadline);
        bool first = _annotators[taskId].commit(taskId, msg.sender, commitment, task.seatLimit != 0);
        if (first) ++task.joinCount;
        emit LabelsCommitted(taskId, msg.sender, commitment);
        if (first && task.flags & BOND != 0) _token.safeTransferFrom(msg.sender, address(this), task.annotatorBond);
    }

    /// @inheritdoc ITaskMarket
    function reveal(uint256 taskId, bytes32 labelsRoot, string calldata labelsCid, bytes32 salt) external nonReentrant {
        TaskRecord storage task = _openTask(taskId);
        _requireRevealWindow(taskId, task);
        _annotators[taskId].reveal(taskId, msg.sender, labelsRoot, salt);
        // unchecked: an annotator reveals once per commitment slot, so revealCount <= joinCount,
        // which is below 2**24.
        unchecked {
            ++task.revealCount;
        }
        emit LabelsRevealed(taskId, msg.sender, labelsRoot, labelsCid);
        if (task.flags & BOND != 0) _token.safeTransfer(msg.sender, task.annotatorBond);
    }

    // ---------------------------------------------------------------- validator

    /// @inheritdoc ITaskMarket
    /// @dev No reentrancy guard: attest calls only this market's own ValidatorStaking, which
    /// calls nothing back, and the token is not touched.
    function attest(uint256 taskId, bytes32 payoutRoot, uint128 totalPayout, string calldata resultCid) external {
        uint96 weight = _attest(taskId, payoutRoot, totalPayout);
        emit ResultAttested(taskId, msg.sender, payoutRoot, totalPayout, weight, resultCid);
    }

    /// @inheritdoc ITaskMarket
    function finalize(uint256 taskId) external nonReentrant {
        _finalize(taskId, _openTask(taskId));
    }

    /// @inheritdoc ITaskMarket
    function settleVote(uint256 taskId, address validator) external nonReentrant {
        _settleVote(taskId, validator);
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc ITaskMarket
    function claim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) external nonReentrant {
        _recordClaim(taskId, account, amount, proof);
        _token.safeTransfer(account, amount);
    }

    /// @inheritdoc ITaskMarket
    function claimMany(
        uint256[] calldata taskIds,
        address account,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external nonReentrant {
        uint256 n = taskIds.length;
        if (amounts.length != n || proofs.length != n) revert TaskMarketLengthMismatch();
        // Solidity zero-initialises locals; the sum starts at 0 by design.
        // slither-disable-next-line uninitialized-local
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _recordClaim(taskIds[i], account, amounts[i], proofs[i]);
            total += amounts[i];
        }
        _token.safeTransfer(account, total);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITaskMarket
    function getTask(uint256 taskId) external view returns (Task memory view_) {
        TaskRecord storage task = _task(taskId);
        bool seated = task.seatLimit != 0;
        // A provisional result is not stored: it is the round's best (zero when not provisional).
        // Solidity zero-initialises locals; the empty result is the value when not provisional.
        // slither-disable-next-line uninitialized-local
        Committee.Result memory best;
        if (task.provisional) {
            (, uint8 resultCount) = _counts(task, task.round);
            // The attesting weight is not part of the view.
            // slither-disable-next-line unused-return
            (best,) = _committees[taskId][task.round].tally(resultCount);
        }
        view_ = Task({
            requester: task.requester,
            commitDeadline: task.commitDeadline,
            commitCount: seated ? 0 : task.joinCount,
            revealDeadline: task.revealDeadline,
            attestDeadline: task.attestDeadline,
            revealCount: task.revealCount,
            attestCount: task.attestCount,
            status: task.status,
            goldRevealed: task.goldRevealed,
            // Every ended task was refunded as it ended (cancel, void, finalize push it).
            refunded: task.status != TaskStatus.Open,
            rewardPool: task.rewardPool,
            validatorFee: task.validatorFee,
            annotatorBond: task.annotatorBond,
            paidOut: task.paidOut,
            goldCommitment: task.goldCommitment,
            payoutRoot: task.provisional ? best.payoutRoot : task.payoutRoot,
            totalPayout: task.provisional ? best.totalPayout : task.totalPayout,
            refundable: _refundOf(task).toUint128(),
            seatDeadline: _seatDeadline(task),
            seatCount: seated ? task.joinCount : 0,
            seatLimit: task.seatLimit,
            round: task.round,
            provisional: task.provisional,
            roundDeadline: _roundDeadline(task)
        });
    }

    /// @inheritdoc ITaskMarket
    function phaseOf(uint256 taskId) external view returns (Phase) {
        TaskRecord storage task = _task(taskId);
        if (task.status != TaskStatus.Open) return Phase.Closed;
        if (block.timestamp <= task.commitDeadline) return Phase.Commit;
        if (block.timestamp <= task.revealDeadline) return Phase.Reveal;
        if (task.revealCount != 0 && block.timestamp <= _roundDeadline(task)) return Phase.Attest;
        return Phase.Finalizable;
    }

    /// @inheritdoc ITaskMarket
    function roundAttestations(uint256 taskId, uint8 round) external view returns (Attestation[] memory) {
        (uint8 count, uint8 resultCount) = _counts(_task(taskId), round);
        return _committees[taskId][round].listAttestations(count, resultCount);
    }

    /// @inheritdoc ITaskMarket
    function finalVoteOf(uint256 taskId, address validator)
        external
        view
        returns (bytes32 resultKey, uint96 weight, bool settled)
    {
        Rounds.Vote memory vote = _finals[taskId].votes[validator];
        return (vote.key, vote.weight, vote.settled);
    }

    /// @inheritdoc ITaskMarket
    function commitmentOf(uint256 taskId, address annotator) external view returns (bytes32) {
        return _annotators[taskId].commitmentOf(annotator);
    }

    /// @inheritdoc ITaskMarket
    function hasSeat(uint256 taskId, address annotator) external view returns (bool) {
        return _annotators[taskId].hasSeat(annotator, _tasks[taskId].seatLimit != 0);
    }

    /// @inheritdoc ITaskMarket
    function version() external pure returns (uint256) {
        return 3;
    }

    /// @inheritdoc ITaskMarket
    function paidOf(uint256 taskId, address account) external view returns (uint256) {
        return _annotators[taskId].paidOf(account);
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    // ---------------------------------------------------------------- internals

    /// @dev `requester` is the caller, or for a gated task the gate's caller.
    function _createTask(TaskParams calldata params, address requester, bool gated) private returns (uint256 taskId) {
        if (params.numItems == 0 || params.redundancy == 0 || params.rewardPerLabel == 0) {
            revert TaskMarketEmptyTask(params.numItems, params.redundancy, params.rewardPerLabel);
        }
        if (bytes(params.manifestCid).length == 0) revert TaskMarketEmptyCid();
        if (
            params.commitDeadline <= block.timestamp || params.revealDeadline <= params.commitDeadline
                || params.attestDeadline <= params.revealDeadline || params.attestDeadline > type(uint40).max
        ) revert TaskMarketInvalidDeadlines(params.commitDeadline, params.revealDeadline, params.attestDeadline);
        uint64 window = params.attestDeadline - params.revealDeadline;
        if (window > _maxAttestWindow) revert TaskMarketAttestWindowTooLong(window, _maxAttestWindow);
        uint256 rewardPool = _rewardPool(params);
        uint256 escrow = rewardPool + params.validatorFee;
        if (escrow > type(uint96).max) revert TaskMarketBountyTooLarge(escrow);
        if (params.annotatorBond > type(uint96).max) revert TaskMarketBondTooLarge(params.annotatorBond);
        uint24 seatLimit = Seats.seatLimit(params, _minLabelTime);

        taskId = ++_taskCount;
        TaskRecord storage task = _tasks[taskId];
        // Casts: deadlines are ordered and the last fits 40 bits; amounts fit 96 bits (checked above).
        task.status = TaskStatus.Open;
        // The gate refuses an open task, so only seated tasks are gated.
        task.flags = (params.annotatorBond != 0 ? BOND : 0) | (gated ? GATED : 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        task.commitDeadline = uint40(params.commitDeadline);
        // forge-lint: disable-next-line(unsafe-typecast)
        task.revealDeadline = uint40(params.revealDeadline);
        // forge-lint: disable-next-line(unsafe-typecast)
        task.attestDeadline = uint40(params.attestDeadline);
        task.requester = requester;
        // forge-lint: disable-next-line(unsafe-typecast)
        if (params.annotatorBond != 0) task.annotatorBond = uint96(params.annotatorBond);
        // forge-lint: disable-next-line(unsafe-typecast)
        task.rewardPool = uint96(rewardPool);
        // forge-lint: disable-next-line(unsafe-typecast)
        task.validatorFee = uint96(params.validatorFee);
        if (seatLimit != 0) {
            task.seatLimit = seatLimit;
            // forge-lint: disable-next-line(unsafe-typecast) -- below 2**32 (Seats.seatLimit checks it).
            task.seatLead = uint32(params.commitDeadline - params.seatDeadline);
        }
        if (params.goldCommitment != bytes32(0)) task.goldCommitment = params.goldCommitment;
        if (gated) task.gated = true;
        emit TaskCreated(taskId, requester, params, rewardPool);
        _token.safeTransferFrom(requester, address(this), escrow);
    }

    function _recordClaim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) private {
        TaskRecord storage task = _tasks[taskId];
        // Only a finalized task has a payout root, so the claim need not read the status slot.
        bytes32 root = task.payoutRoot;
        if (root == bytes32(0)) revert TaskMarketWrongStatus(taskId, _task(taskId).status);
        Seats.Book storage book = _annotators[taskId];
        if (book.paidOf(account) != 0) revert TaskMarketAlreadyClaimed(taskId, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) {
            revert TaskMarketInvalidProof(taskId, account, amount);
        }
        if (amount == 0) revert TaskMarketNothingToClaim(taskId, account);
        uint256 paidOut = task.paidOut;
        if (paidOut + amount > task.totalPayout) {
            revert TaskMarketPayoutExceeded(taskId, paidOut, amount, task.totalPayout);
        }
        // unchecked: paidOut + amount <= totalPayout < 2**96.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- bounded by totalPayout above.
            task.paidOut = uint96(paidOut + amount);
        }
        book.pay(account, amount);
        emit PayoutClaimed(taskId, account, amount);
        // The gate is this market's own immutable Qualifications, which calls nothing back.
        if (task.gated) _gate.credit(taskId, account, amount);
    }

    /// @dev A seat for `annotator`; a gated task's only through the gate (`viaGate`).
    function _claimSeat(uint256 taskId, address annotator, bool viaGate) private returns (uint32 seat) {
        TaskRecord storage task = _openTask(taskId);
        uint8 flags = task.flags;
        if (flags & GATED != 0 && !viaGate) revert TaskMarketGated(taskId);
        uint24 count = task.joinCount;
        seat = _annotators[taskId].claim(taskId, annotator, count, task.seatLimit, _seatDeadline(task));
        // unchecked: count < seatLimit < 2**24 (claim checked it).
        unchecked {
            task.joinCount = count + 1;
        }
        emit SeatClaimed(taskId, annotator, seat);
        if (flags & BOND != 0) _token.safeTransferFrom(annotator, address(this), task.annotatorBond);
    }

    function _requireGate() private view {
        if (msg.sender != address(_gate)) revert TaskMarketNotGate(msg.sender);
    }

    function _requireRevealWindow(uint256 taskId, TaskRecord storage task) private view {
        if (block.timestamp <= task.commitDeadline) revert TaskMarketTooEarly(taskId, task.commitDeadline);
        if (block.timestamp > task.revealDeadline) revert TaskMarketDeadlinePassed(taskId, task.revealDeadline);
    }

    /// @dev A seated task's seat deadline (0 for an open task, whose claims are then refused).
    function _seatDeadline(TaskRecord storage task) private view returns (uint64) {
        return task.seatLimit == 0 ? 0 : task.commitDeadline - task.seatLead;
    }

    /// @dev The current round's deadline, or the challenge end while a result is provisional.
    function _roundDeadline(TaskRecord storage task) private view returns (uint64) {
        return task.round == 0 && !task.provisional ? task.attestDeadline : task.roundDeadline;
    }

    function _rewardPool(TaskParams calldata params) private pure returns (uint256) {
        return uint256(params.numItems) * params.redundancy * params.rewardPerLabel;
    }
}
