// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Committee} from "./libraries/Committee.sol";
import {Rounds} from "./libraries/Rounds.sol";
import {TaskMarketConfig} from "./TaskMarketConfig.sol";

/// @title TaskMarketSettlement
/// @notice The task storage and the settlement of market v2 (docs/settlement.md §2): the
/// attestation rounds, the decision rules, the appeals, round 2's aggregate tally, and the
/// terminal states `Finalized` and `Void` with the requester's refund pushed when they are
/// reached.
/// @dev A base of TaskMarket only, which adds the requester's, annotators' and claimants' calls
/// and the views: the settlement and the escrow would not fit one readable file (issue #14).
/// Round 0 keeps v1's committee in the task's slot 0; round 1 is a second bounded committee
/// whose counts and the current deadline live in slot 6, written only once a task leaves round
/// 0's window undecided; round 2 is `Rounds.Tally`. The staking contract is this market's own
/// immutable ValidatorStaking, which calls nothing but the token back: the state every call
/// checks is written before it, and the token moves last.
abstract contract TaskMarketSettlement is TaskMarketConfig, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Committee for Committee.State;
    using Rounds for Rounds.Tally;

    /// @dev Storage form of a task, packed so each step touches as few slots as possible:
    /// slot 0 holds everything claimSeat, commit, reveal and attest check. Amounts are capped
    /// at 96 bits (7.9e28 base units, far above the supply). `seatLimit` and `seatLead` are 0
    /// for an open task; a seated task's seat deadline is `commitDeadline - seatLead`, kept as
    /// a 32-bit lead so that it fits slot 0 next to the counts (claimSeat then reads one slot).
    /// `joinCount` counts the annotators holding a bond until their reveal: who committed to
    /// an open task, who claimed a seat on a seated one (24 bits: a seated task has fewer than
    /// 2**24 seats, and an open task refuses its 2**24-th committer). `revealCount` counts
    /// reveals; the settlement needs only whether it is zero. `flags` holds `BOND` (the task
    /// has an annotator bond) and `GATED` (seats only through the gate); slot 4's `gated`
    /// repeats the latter where a claim reads it, so an ungated claim reads no more slots.
    struct TaskRecord {
        // slot 0
        TaskStatus status;
        uint8 flags;
        uint8 attestCount;
        uint8 resultCount;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint40 attestDeadline;
        uint24 joinCount;
        uint24 revealCount;
        uint24 seatLimit;
        uint32 seatLead;
        // slot 1
        address requester;
        uint96 annotatorBond;
        // slot 2
        uint96 rewardPool;
        uint96 validatorFee;
        bool goldRevealed;
        uint8 round;
        bool provisional;
        // slot 3: the final root, zero until the task is finalized (a claim checks only this;
        // a provisional result is the round's best, read from its committee)
        bytes32 payoutRoot;
        // slot 4
        uint96 totalPayout;
        uint96 paidOut;
        uint56 feeDust;
        bool gated;
        // slot 5
        bytes32 goldCommitment;
        // slot 6: the current round's deadline (or challenge end) once past round 0's window
        uint40 roundDeadline;
        uint8 appealCount;
        uint8 appealResultCount;
    }

    /// @dev `TaskRecord.flags`: the task has an annotator bond.
    uint8 internal constant BOND = 1;
    /// @dev `TaskRecord.flags`: the task is gated (seats only through the gate).
    uint8 internal constant GATED = 2;

    mapping(uint256 taskId => TaskRecord) internal _tasks;
    mapping(uint256 taskId => mapping(uint256 round => Committee.State)) internal _committees;
    mapping(uint256 taskId => Rounds.Tally) internal _finals;

    // ---------------------------------------------------------------- attest

    /// @dev The checks of `attest`, the appeal that opens the next round, then the vote.
    function _attest(uint256 taskId, bytes32 payoutRoot, uint128 totalPayout) internal returns (uint96 weight) {
        TaskRecord storage task = _openTask(taskId);
        if (block.timestamp <= task.revealDeadline) revert TaskMarketTooEarly(taskId, task.revealDeadline);
        if (task.revealCount == 0) revert TaskMarketNoReveals(taskId);
        if (payoutRoot == bytes32(0)) revert TaskMarketEmptyRoot();
        if (totalPayout > task.rewardPool) revert TaskMarketPayoutExceedsPool(taskId, totalPayout, task.rewardPool);
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against rewardPool above.
        uint96 total = uint96(totalPayout);
        uint8 round = task.round;
        if (task.provisional) {
            uint64 ends = task.roundDeadline;
            if (block.timestamp > ends) revert TaskMarketDeadlinePassed(taskId, ends);
            // unchecked: a provisional result exists only in rounds 0 and 1.
            unchecked {
                ++round;
            }
            task.provisional = false;
            _openRound(taskId, task, round);
            emit Appealed(taskId, round, msg.sender, payoutRoot, totalPayout);
        } else if (round < Rounds.FINAL_ROUND) {
            uint64 deadline = round == 0 ? task.attestDeadline : task.roundDeadline;
            if (block.timestamp > deadline) revert TaskMarketDeadlinePassed(taskId, deadline);
        }
        uint16 lockBps = Rounds.lockBps(_slashBps, round);
        if (round == Rounds.FINAL_ROUND) {
            Rounds.Tally storage tally = _finals[taskId];
            tally.requireNew(taskId, msg.sender);
            uint256 locked;
            (weight, locked) = _staking.lockForTask(msg.sender, taskId, lockBps);
            tally.vote(msg.sender, payoutRoot, total, weight, locked);
            _staking.freeze(msg.sender);
        } else {
            weight = _voteBounded(taskId, task, round, lockBps, payoutRoot, total);
        }
    }

    /// @dev A vote in a bounded round (0: `maxCommittee` seats, counts in slot 0; 1: 32 seats,
    /// counts in slot 6); a full committee evicts its lightest seat for a heavier caller.
    function _voteBounded(
        uint256 taskId,
        TaskRecord storage task,
        uint8 round,
        uint16 lockBps,
        bytes32 payoutRoot,
        uint96 total
    ) private returns (uint96 weight) {
        (uint8 count, uint8 resultCount) = _counts(task, round);
        Committee.State storage committee = _committees[taskId][round];
        if (committee.isSeated(count, msg.sender)) {
            if (round == 0) revert TaskMarketAlreadyAttested(taskId, msg.sender);
            revert TaskMarketAlreadyVoted(taskId, round, msg.sender);
        }
        // The locked amount is not kept: release and slash recompute it from weight and share.
        // slither-disable-next-line unused-return
        (weight,) = _staking.lockForTask(msg.sender, taskId, lockBps);
        uint8 seats = round == 0 ? _maxCommittee : APPEAL_SEATS;
        uint256 seat = count;
        if (count >= seats) {
            seat = committee.evictLightest(_staking, taskId, count, resultCount, weight, seats, lockBps);
        } else {
            // unchecked: count < seats <= 32.
            unchecked {
                ++count;
            }
        }
        // unchecked: a new result slot only while fewer results than votes exist, and votes <= 32.
        unchecked {
            if (committee.add(resultCount, seat, msg.sender, payoutRoot, total, weight)) ++resultCount;
        }
        if (round == 0) {
            (task.attestCount, task.resultCount) = (count, resultCount);
        } else {
            (task.appealCount, task.appealResultCount) = (count, resultCount);
        }
    }

    // ---------------------------------------------------------------- finalize

    /// @dev Applies §2.3 and §2.5 once: ends the task (`Void` or `Finalized`), or makes a result
    /// provisional, or opens the next round; reverts when none is due.
    function _finalize(uint256 taskId, TaskRecord storage task) internal {
        if (block.timestamp <= task.revealDeadline) revert TaskMarketTooEarly(taskId, task.revealDeadline);
        if (task.revealCount == 0) return _void(taskId, task);
        uint256 staked = _staking.totalStaked();
        uint8 round = task.round;
        if (round == Rounds.FINAL_ROUND) return _finalizeFinalRound(taskId, task, staked);

        (uint8 count, uint8 resultCount) = _counts(task, round);
        Committee.State storage committee = _committees[taskId][round];
        (Committee.Result memory best, uint256 attesting) = committee.tally(resultCount);
        uint256 backed = best.weight == 0 ? 0 : committee.backing(_staking, count, best.voters);
        // Rule M: no coalition below half of all stake can build a competing majority.
        if (backed * 2 > staked) return _settle(taskId, task, best.payoutRoot, best.totalPayout, backed, attesting);
        bool provisional = task.provisional;
        uint64 deadline = round == 0 && !provisional ? task.attestDeadline : task.roundDeadline;
        if (block.timestamp <= deadline) {
            if (provisional) revert TaskMarketChallengeOpen(taskId, deadline);
            revert TaskMarketNotFinal(taskId, backed, staked);
        }
        // A provisional result is the round's best: the round's tally cannot change while it is
        // challenged (an appeal votes in the next round).
        if (provisional) return _settle(taskId, task, best.payoutRoot, best.totalPayout, backed, attesting);
        if (
            count >= _minAttestations && Committee.twoThirds(best.weight, attesting)
                && Committee.atLeastBps(backed, staked, _quorumBps)
        ) {
            // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit 40 bits.
            uint40 ends = uint40(block.timestamp + CHALLENGE_PERIOD);
            task.provisional = true;
            task.roundDeadline = ends;
            emit ResultProvisional(taskId, round, best.payoutRoot, best.totalPayout, backed, ends);
            return;
        }
        // unchecked: round < FINAL_ROUND here.
        unchecked {
            _openRound(taskId, task, round + 1);
        }
    }

    /// @dev Round 2: M at any time; after its window, the heaviest root with the quorum and
    /// strictly more than any other, else the one that has led alone for `CHALLENGE_PERIOD`.
    function _finalizeFinalRound(uint256 taskId, TaskRecord storage task, uint256 staked) private {
        (bytes32 root, uint96 total, uint256 weight, bool tied, uint64 since) = _finals[taskId].leader();
        if (weight * 2 > staked) return _settle(taskId, task, root, total, weight, weight);
        if (block.timestamp <= task.roundDeadline || weight == 0 || tied) {
            revert TaskMarketNotFinal(taskId, weight, staked);
        }
        if (!Committee.atLeastBps(weight, staked, _quorumBps)) {
            uint64 ends = since + CHALLENGE_PERIOD;
            if (block.timestamp < ends) revert TaskMarketChallengeOpen(taskId, ends);
        }
        _settle(taskId, task, root, total, weight, weight);
    }

    /// @dev Opens round `round` (1 or 2) for its window from now.
    function _openRound(uint256 taskId, TaskRecord storage task, uint8 round) private {
        // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit 40 bits.
        uint40 deadline = uint40(block.timestamp + Rounds.window(round, APPEAL_WINDOW));
        task.round = round;
        task.roundDeadline = deadline;
        emit RoundOpened(taskId, round, deadline);
    }

    /// @dev Makes `(root, total)` final, settles rounds 0 and 1 (§2.4), leaves round 2's
    /// rewards to `settleVote`, and pushes the refund. The pot (fee and rounds 0–1's slashings)
    /// is shared pro rata to stake at risk among the final root's votes of every round; round
    /// 2's share of it stays reserved in the market for `settleVote`; rounding dust of rounds
    /// 0–1 goes to the requester.
    function _settle(
        uint256 taskId,
        TaskRecord storage task,
        bytes32 root,
        uint96 total,
        uint256 backed,
        uint256 attesting
    ) private {
        task.status = TaskStatus.Finalized;
        task.payoutRoot = root;
        task.totalPayout = total;
        if (task.provisional) task.provisional = false;
        emit TaskFinalized(taskId, root, total, backed, attesting);

        uint8 round = task.round;
        (uint256 pot, uint256 winningRisk, uint32[2] memory winners) = _slashBounded(taskId, task, round, root, total);
        // Solidity zero-initialises locals: nothing is reserved without round 2.
        // slither-disable-next-line uninitialized-local
        uint256 reserved;
        if (round == Rounds.FINAL_ROUND) {
            (winningRisk, reserved) = _reserveFinal(taskId, root, total, pot, winningRisk);
        }
        uint256 paid = _rewardBounded(taskId, task, winners, Committee.Split({pot: pot, totalRisk: winningRisk}));
        // The winners' rewards reach the staking contract in one transfer (release credited them).
        if (paid > 0) _token.safeTransfer(address(_staking), paid);
        // The dust is below the number of winners of rounds 0-1 plus one (at most 65): 56 bits
        // hold it. unchecked: paid + reserved are floors of shares of pot summing to at most pot.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            task.feeDust = uint56(pot - paid - reserved);
        }
        _pushRefund(taskId, task);
    }

    /// @dev Slashes the votes of rounds 0..min(round, 1) for other results than `(root, total)`.
    /// @return pot The fee plus the stake slashed.
    /// @return winningRisk The stake at risk of the winning votes of those rounds.
    /// @return winners Each bounded round's winning voters.
    function _slashBounded(uint256 taskId, TaskRecord storage task, uint8 round, bytes32 root, uint96 total)
        private
        returns (uint256 pot, uint256 winningRisk, uint32[2] memory winners)
    {
        pot = task.validatorFee;
        uint8 last = round == 0 ? 0 : 1;
        for (uint8 r; r <= last; ++r) {
            (uint8 count, uint8 resultCount) = _counts(task, r);
            Committee.State storage committee = _committees[taskId][r];
            uint16 lockBps = Rounds.lockBps(_slashBps, r);
            winners[r] = committee.votersOf(resultCount, root, total);
            pot += committee.slashLosers(_staking, taskId, count, winners[r], lockBps);
            winningRisk += committee.risk(count, winners[r], lockBps);
        }
    }

    /// @dev Round 2's part of the pot, reserved for `settleVote`: the final root's round-2
    /// stake at risk joins `winningRisk`, and both totals are stored for each vote's share.
    function _reserveFinal(uint256 taskId, bytes32 root, uint96 total, uint256 pot, uint256 boundedRisk)
        private
        returns (uint256 winningRisk, uint256 reserved)
    {
        Rounds.Tally storage tally = _finals[taskId];
        uint256 finalRisk = tally.results[Rounds.key(root, total)].risk;
        winningRisk = boundedRisk + finalRisk;
        // Casts: the pot and the risks are token amounts below the supply (< 2**96).
        // forge-lint: disable-next-line(unsafe-typecast)
        tally.rewardPot = uint128(pot);
        // forge-lint: disable-next-line(unsafe-typecast)
        tally.winningRisk = uint128(winningRisk);
        reserved = Committee.share(pot, finalRisk, winningRisk);
    }

    /// @dev Releases the winning votes of rounds 0..min(round, 1) with their shares of the split.
    /// @return paid The rewards paid.
    function _rewardBounded(
        uint256 taskId,
        TaskRecord storage task,
        uint32[2] memory winners,
        Committee.Split memory split
    ) private returns (uint256 paid) {
        paid = _committees[taskId][0].rewardWinners(_staking, taskId, task.attestCount, winners[0], _slashBps, split);
        if (task.round != 0) {
            paid += _committees[taskId][1].rewardWinners(
                _staking, taskId, task.appealCount, winners[1], Rounds.lockBps(_slashBps, 1), split
            );
        }
    }

    /// @dev Nothing was revealed: the task is `Void` and the requester gets the escrow and every
    /// bond back (no reveal returned one). Nothing is owed, so nothing is kept.
    function _void(uint256 taskId, TaskRecord storage task) private {
        task.status = TaskStatus.Void;
        uint256 amount = _refundOf(task);
        emit TaskVoided(taskId, amount);
        _refund(taskId, task, amount);
    }

    /// @dev A finalized task's refund, pushed as it ends.
    function _pushRefund(uint256 taskId, TaskRecord storage task) private {
        _refund(taskId, task, _refundOf(task));
    }

    /// @dev The requester's refund of an ended task (§2.6), computed from what is stored:
    /// finalized, the pool not attested as payouts, the rounding dust of rounds 0–1 and the
    /// bonds of annotators who never revealed; void, the escrow and every bond (nothing
    /// revealed, nothing owed); cancelled, the escrow (nobody joined). Zero while open.
    function _refundOf(TaskRecord storage task) internal view returns (uint256) {
        TaskStatus status = task.status;
        uint256 escrow = uint256(task.rewardPool) + task.validatorFee;
        uint256 bond = task.annotatorBond;
        if (status == TaskStatus.Finalized) {
            uint256 forfeited = uint256(task.joinCount - task.revealCount) * bond;
            return uint256(task.rewardPool) - task.totalPayout + forfeited + task.feeDust;
        }
        if (status == TaskStatus.Void) return escrow + uint256(task.joinCount) * bond;
        if (status == TaskStatus.Cancelled) return escrow;
        return 0;
    }

    function _refund(uint256 taskId, TaskRecord storage task, uint256 amount) private {
        address requester = task.requester;
        emit RequesterRefunded(taskId, requester, amount);
        if (amount > 0) _token.safeTransfer(requester, amount);
    }

    // ---------------------------------------------------------------- round 2 votes

    /// @dev Settles one round-2 vote of a final task (§2.4): slashed if it lost, else released
    /// with its share of the pot; unfrozen either way. A round-2 slash stays in the market: the
    /// pot was shared at finalization, and a winner may settle before any loser pays in.
    function _settleVote(uint256 taskId, address validator) internal {
        TaskRecord storage task = _task(taskId);
        if (task.status != TaskStatus.Finalized) revert TaskMarketNotSettleable(taskId);
        Rounds.Tally storage tally = _finals[taskId];
        Rounds.Vote memory vote = tally.take(taskId, validator);
        uint16 lockBps = Rounds.lockBps(_slashBps, Rounds.FINAL_ROUND);
        uint256 risk = Committee.lockOf(vote.weight, lockBps);
        if (vote.key == Rounds.key(task.payoutRoot, task.totalPayout)) {
            uint256 reward = Committee.share(tally.rewardPot, risk, tally.winningRisk);
            emit VoteSettled(taskId, validator, Rounds.FINAL_ROUND, 0, reward);
            _staking.release(validator, taskId, vote.weight, lockBps, reward);
            if (reward > 0) _token.safeTransfer(address(_staking), reward);
        } else {
            emit VoteSettled(taskId, validator, Rounds.FINAL_ROUND, risk, 0);
            // The amount is the `risk` just emitted.
            // slither-disable-next-line unused-return
            _staking.slash(validator, taskId, vote.weight, lockBps);
        }
        _staking.unfreeze(validator);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Seats and result slots used in bounded round `round`.
    function _counts(TaskRecord storage task, uint256 round) internal view returns (uint8 count, uint8 resultCount) {
        return round == 0 ? (task.attestCount, task.resultCount) : (task.appealCount, task.appealResultCount);
    }

    function _task(uint256 taskId) internal view returns (TaskRecord storage task) {
        task = _tasks[taskId];
        if (task.status == TaskStatus.None) revert TaskMarketUnknownTask(taskId);
    }

    function _openTask(uint256 taskId) internal view returns (TaskRecord storage task) {
        task = _task(taskId);
        if (task.status != TaskStatus.Open) revert TaskMarketWrongStatus(taskId, task.status);
    }
}
