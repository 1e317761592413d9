// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "./interfaces/IValidatorStaking.sol";

/// @title TaskMarket
/// @notice Escrow, commit-reveal, attestation, finalization and Merkle claims for labeling
/// tasks. See ITaskMarket for the lifecycle.
/// @dev Solvency: for every task the market holds what it still owes — the escrow of an open
/// task (reward pool, validator fee, bonds not yet returned), or for a settled task the
/// attested payouts not yet claimed plus the requester's refund. Rounding remainders of the
/// validator reward split go to the requester's refund. The market has no owner.
contract TaskMarket is ITaskMarket, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Marks a commitment slot whose batch has been revealed.
    bytes32 public constant REVEALED = bytes32(uint256(1));

    IERC20 private immutable _token;
    IValidatorStaking private immutable _staking;
    uint8 private immutable _maxCommittee;
    uint8 private immutable _minAttestations;

    uint256 private _taskCount;
    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => mapping(uint256 index => Attestation)) private _attestations;
    mapping(uint256 taskId => mapping(address annotator => bytes32)) private _commitments;
    mapping(uint256 taskId => mapping(address account => uint256)) private _paid;
    mapping(address account => uint256) private _totalPaid;

    /// @param token_ The bounty token.
    /// @param staking_ The validator staking contract, which must name this market.
    /// @param maxCommittee_ Most attestations a task accepts (bounds the finalize loop).
    /// @param minAttestations_ Fewest attestations a winning root needs.
    constructor(IERC20 token_, IValidatorStaking staking_, uint8 maxCommittee_, uint8 minAttestations_) {
        if (address(token_) == address(0) || address(staking_) == address(0)) revert TaskMarketZeroAddress();
        if (maxCommittee_ == 0 || minAttestations_ == 0 || minAttestations_ > maxCommittee_) {
            revert TaskMarketInvalidCommittee(maxCommittee_, minAttestations_);
        }
        _token = token_;
        _staking = staking_;
        _maxCommittee = maxCommittee_;
        _minAttestations = minAttestations_;
        // Staking pulls validator rewards from the market at finalization.
        token_.forceApprove(address(staking_), type(uint256).max);
    }

    // ---------------------------------------------------------------- requester

    /// @inheritdoc ITaskMarket
    function createTask(TaskParams calldata params) external nonReentrant returns (uint256 taskId) {
        return _createTask(params);
    }

    /// @inheritdoc ITaskMarket
    function createTaskWithPermit(TaskParams calldata params, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        uint256 escrow = _rewardPool(params) + params.validatorFee;
        // A front-run permit leaves the allowance in place; transferFrom then decides.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), escrow, permitDeadline, v, r, s) {}
            catch {}
        return _createTask(params);
    }

    /// @inheritdoc ITaskMarket
    function cancel(uint256 taskId) external nonReentrant {
        Task storage task = _openTask(taskId);
        if (msg.sender != task.requester) revert TaskMarketNotRequester(taskId, msg.sender);
        if (task.commitCount != 0) revert TaskMarketHasCommits(taskId, task.commitCount);
        uint256 amount = uint256(task.rewardPool) + task.validatorFee;
        task.status = TaskStatus.Cancelled;
        task.refunded = true;
        emit TaskCancelled(taskId, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ITaskMarket
    function revealGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external {
        Task storage task = _openTask(taskId);
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
        Task storage task = _task(taskId);
        if (task.status == TaskStatus.Open) _finalize(taskId, task);
        if (task.status == TaskStatus.Cancelled) revert TaskMarketWrongStatus(taskId, task.status);
        if (task.refunded) revert TaskMarketAlreadyRefunded(taskId);
        task.refunded = true;
        uint256 amount = task.refundable;
        address requester = task.requester;
        emit RequesterRefunded(taskId, requester, amount);
        if (amount > 0) _token.safeTransfer(requester, amount);
    }

    // ---------------------------------------------------------------- annotator

    /// @inheritdoc ITaskMarket
    function commit(uint256 taskId, bytes32 commitment) external nonReentrant {
        Task storage task = _openTask(taskId);
        if (block.timestamp > task.commitDeadline) revert TaskMarketDeadlinePassed(taskId, task.commitDeadline);
        if (commitment == bytes32(0) || commitment == REVEALED) revert TaskMarketEmptyCommitment();
        bytes32 previous = _commitments[taskId][msg.sender];
        _commitments[taskId][msg.sender] = commitment;
        if (previous == bytes32(0)) {
            ++task.commitCount;
        }
        emit LabelsCommitted(taskId, msg.sender, commitment);
        uint256 bond = task.annotatorBond;
        if (previous == bytes32(0) && bond > 0) _token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc ITaskMarket
    function reveal(uint256 taskId, bytes32 labelsRoot, string calldata labelsCid, bytes32 salt)
        external
        nonReentrant
    {
        Task storage task = _openTask(taskId);
        _requireRevealWindow(taskId, task);
        bytes32 stored = _commitments[taskId][msg.sender];
        if (stored == bytes32(0)) revert TaskMarketNotCommitted(taskId, msg.sender);
        if (stored == REVEALED) revert TaskMarketAlreadyRevealed(taskId, msg.sender);
        if (keccak256(abi.encode(taskId, msg.sender, labelsRoot, salt)) != stored) {
            revert TaskMarketCommitmentMismatch(taskId, msg.sender);
        }
        _commitments[taskId][msg.sender] = REVEALED;
        ++task.revealCount;
        emit LabelsRevealed(taskId, msg.sender, labelsRoot, labelsCid);
        uint256 bond = task.annotatorBond;
        if (bond > 0) _token.safeTransfer(msg.sender, bond);
    }

    // ---------------------------------------------------------------- validator

    /// @inheritdoc ITaskMarket
    function attest(uint256 taskId, bytes32 payoutRoot, uint128 totalPayout, string calldata resultCid) external {
        Task storage task = _openTask(taskId);
        if (block.timestamp <= task.revealDeadline) revert TaskMarketTooEarly(taskId, task.revealDeadline);
        if (block.timestamp > task.attestDeadline) revert TaskMarketDeadlinePassed(taskId, task.attestDeadline);
        if (task.revealCount == 0) revert TaskMarketNoReveals(taskId);
        if (payoutRoot == bytes32(0)) revert TaskMarketEmptyRoot();
        if (totalPayout > task.rewardPool) {
            revert TaskMarketPayoutExceedsPool(taskId, totalPayout, task.rewardPool);
        }
        uint8 count = task.attestCount;
        if (count >= _maxCommittee) revert TaskMarketCommitteeFull(taskId, _maxCommittee);
        for (uint256 i; i < count; ++i) {
            if (_attestations[taskId][i].validator == msg.sender) revert TaskMarketAlreadyAttested(taskId, msg.sender);
        }
        (uint96 weight,) = _staking.lockForTask(msg.sender, taskId);
        _attestations[taskId][count] =
            Attestation({validator: msg.sender, weight: weight, payoutRoot: payoutRoot, totalPayout: totalPayout});
        // unchecked: count < _maxCommittee <= type(uint8).max.
        unchecked {
            task.attestCount = count + 1;
        }
        emit ResultAttested(taskId, msg.sender, payoutRoot, totalPayout, weight, resultCid);
    }

    /// @inheritdoc ITaskMarket
    function finalize(uint256 taskId) external nonReentrant {
        _finalize(taskId, _openTask(taskId));
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc ITaskMarket
    function claim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) external nonReentrant {
        _recordClaim(taskId, account, amount, proof);
        _totalPaid[account] += amount;
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
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _recordClaim(taskIds[i], account, amounts[i], proofs[i]);
            total += amounts[i];
        }
        _totalPaid[account] += total;
        _token.safeTransfer(account, total);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITaskMarket
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _task(taskId);
    }

    /// @inheritdoc ITaskMarket
    function phaseOf(uint256 taskId) external view returns (Phase) {
        Task storage task = _task(taskId);
        if (task.status != TaskStatus.Open) return Phase.Closed;
        if (block.timestamp <= task.commitDeadline) return Phase.Commit;
        if (block.timestamp <= task.revealDeadline) return Phase.Reveal;
        if (block.timestamp <= task.attestDeadline && task.revealCount > 0) return Phase.Attest;
        return Phase.Finalizable;
    }

    /// @inheritdoc ITaskMarket
    function attestationsOf(uint256 taskId) external view returns (Attestation[] memory attestations) {
        return _loadAttestations(taskId, _task(taskId).attestCount);
    }

    /// @inheritdoc ITaskMarket
    function commitmentOf(uint256 taskId, address annotator) external view returns (bytes32) {
        return _commitments[taskId][annotator];
    }

    /// @inheritdoc ITaskMarket
    function paidOf(uint256 taskId, address account) external view returns (uint256) {
        return _paid[taskId][account];
    }

    /// @inheritdoc ITaskMarket
    function totalPaidOf(address account) external view returns (uint256) {
        return _totalPaid[account];
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @notice The bounty token.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The validator staking contract.
    function staking() external view returns (IValidatorStaking) {
        return _staking;
    }

    /// @notice Most attestations a task accepts.
    function maxCommittee() external view returns (uint8) {
        return _maxCommittee;
    }

    /// @notice Fewest attestations a winning root needs.
    function minAttestations() external view returns (uint8) {
        return _minAttestations;
    }

    // ---------------------------------------------------------------- internals

    function _createTask(TaskParams calldata params) private returns (uint256 taskId) {
        if (params.numItems == 0 || params.redundancy == 0 || params.rewardPerLabel == 0) {
            revert TaskMarketEmptyTask(params.numItems, params.redundancy, params.rewardPerLabel);
        }
        if (bytes(params.manifestCid).length == 0) revert TaskMarketEmptyCid();
        if (
            params.commitDeadline <= block.timestamp || params.revealDeadline <= params.commitDeadline
                || params.attestDeadline <= params.revealDeadline
        ) revert TaskMarketInvalidDeadlines(params.commitDeadline, params.revealDeadline, params.attestDeadline);
        uint256 rewardPool = _rewardPool(params);
        if (rewardPool + params.validatorFee > type(uint128).max) revert TaskMarketBountyTooLarge(rewardPool);

        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.requester = msg.sender;
        task.commitDeadline = params.commitDeadline;
        task.revealDeadline = params.revealDeadline;
        task.attestDeadline = params.attestDeadline;
        task.status = TaskStatus.Open;
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against uint128 above.
        task.rewardPool = uint128(rewardPool);
        task.validatorFee = params.validatorFee;
        task.annotatorBond = params.annotatorBond;
        if (params.goldCommitment != bytes32(0)) task.goldCommitment = params.goldCommitment;
        emit TaskCreated(taskId, msg.sender, params, rewardPool);
        _token.safeTransferFrom(msg.sender, address(this), rewardPool + params.validatorFee);
    }

    /// @dev Decides the task and settles the committee. The loops run over at most
    /// `_maxCommittee` attestations; the best result is found in O(n^2) over memory.
    function _finalize(uint256 taskId, Task storage task) private {
        uint8 count = task.attestCount;
        Attestation[] memory atts = _loadAttestations(taskId, count);
        (uint256 best, uint256 bestWeight, uint256 attestingWeight) = _tally(atts);

        bool nothingRevealed = task.revealCount == 0 && block.timestamp > task.revealDeadline;
        if (!nothingRevealed && block.timestamp <= task.attestDeadline && count < _maxCommittee) {
            uint256 staked = _staking.totalStaked();
            if (count == 0 || bestWeight * 3 < staked * 2) revert TaskMarketNoEarlyQuorum(taskId, bestWeight, staked);
        }

        uint256 forfeitedBonds = uint256(task.commitCount - task.revealCount) * task.annotatorBond;
        if (count < _minAttestations || bestWeight * 3 < attestingWeight * 2) {
            task.status = TaskStatus.Disputed;
            task.refundable = (uint256(task.rewardPool) + task.validatorFee + forfeitedBonds).toUint128();
            emit TaskDisputed(taskId, bestWeight, attestingWeight);
            for (uint256 i; i < count; ++i) {
                _staking.release(atts[i].validator, taskId, atts[i].weight, 0);
            }
            return;
        }

        Attestation memory winner = atts[best];
        task.status = TaskStatus.Finalized;
        task.payoutRoot = winner.payoutRoot;
        task.totalPayout = winner.totalPayout;
        emit TaskFinalized(taskId, winner.payoutRoot, winner.totalPayout, bestWeight, attestingWeight);
        uint256 dust = _settleCommittee(taskId, atts, winner, task.validatorFee, bestWeight);
        task.refundable = (uint256(task.rewardPool) - winner.totalPayout + forfeitedBonds + dust).toUint128();
    }

    /// @dev Slashes the attesters of other results, then shares the validator fee plus the
    /// slashed stake among the winners pro rata to weight, rounding down.
    /// @return dust The rounding remainder, which goes to the requester's refund.
    function _settleCommittee(
        uint256 taskId,
        Attestation[] memory atts,
        Attestation memory winner,
        uint256 fee,
        uint256 winningWeight
    ) private returns (uint256 dust) {
        uint256 pool = fee;
        uint256 n = atts.length;
        for (uint256 i; i < n; ++i) {
            if (!_sameResult(atts[i], winner)) pool += _staking.slash(atts[i].validator, taskId, atts[i].weight);
        }
        dust = pool;
        for (uint256 i; i < n; ++i) {
            if (_sameResult(atts[i], winner)) {
                uint256 reward = pool * atts[i].weight / winningWeight;
                // unchecked: the rewards are floors of shares of pool summing to at most pool.
                unchecked {
                    dust -= reward;
                }
                emit ValidatorRewarded(taskId, atts[i].validator, reward);
                _staking.release(atts[i].validator, taskId, atts[i].weight, reward);
            }
        }
    }

    /// @dev Index of the heaviest result (earliest on ties), its weight, and the total weight.
    function _tally(Attestation[] memory atts)
        private
        pure
        returns (uint256 best, uint256 bestWeight, uint256 attestingWeight)
    {
        uint256 n = atts.length;
        for (uint256 i; i < n; ++i) {
            attestingWeight += atts[i].weight;
            uint256 weight;
            for (uint256 j; j < n; ++j) {
                if (_sameResult(atts[i], atts[j])) weight += atts[j].weight;
            }
            if (weight > bestWeight) (best, bestWeight) = (i, weight);
        }
    }

    function _recordClaim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) private {
        Task storage task = _task(taskId);
        if (task.status != TaskStatus.Finalized) revert TaskMarketWrongStatus(taskId, task.status);
        if (_paid[taskId][account] != 0) revert TaskMarketAlreadyClaimed(taskId, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        if (!MerkleProof.verifyCalldata(proof, task.payoutRoot, leaf)) {
            revert TaskMarketInvalidProof(taskId, account, amount);
        }
        if (amount == 0) revert TaskMarketNothingToClaim(taskId, account);
        uint256 paidOut = task.paidOut;
        if (paidOut + amount > task.totalPayout) {
            revert TaskMarketPayoutExceeded(taskId, paidOut, amount, task.totalPayout);
        }
        // unchecked: paidOut + amount <= totalPayout < 2**128.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- bounded by totalPayout above.
            task.paidOut = uint128(paidOut + amount);
        }
        _paid[taskId][account] = amount;
        emit PayoutClaimed(taskId, account, amount);
    }

    function _loadAttestations(uint256 taskId, uint8 count) private view returns (Attestation[] memory atts) {
        atts = new Attestation[](count);
        for (uint256 i; i < count; ++i) {
            atts[i] = _attestations[taskId][i];
        }
    }

    function _requireRevealWindow(uint256 taskId, Task storage task) private view {
        if (block.timestamp <= task.commitDeadline) revert TaskMarketTooEarly(taskId, task.commitDeadline);
        if (block.timestamp > task.revealDeadline) revert TaskMarketDeadlinePassed(taskId, task.revealDeadline);
    }

    function _task(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == TaskStatus.None) revert TaskMarketUnknownTask(taskId);
    }

    function _openTask(uint256 taskId) private view returns (Task storage task) {
        task = _task(taskId);
        if (task.status != TaskStatus.Open) revert TaskMarketWrongStatus(taskId, task.status);
    }

    function _rewardPool(TaskParams calldata params) private pure returns (uint256) {
        return uint256(params.numItems) * params.redundancy * params.rewardPerLabel;
    }

    function _sameResult(Attestation memory a, Attestation memory b) private pure returns (bool) {
        return a.payoutRoot == b.payoutRoot && a.totalPayout == b.totalPayout;
    }
}
