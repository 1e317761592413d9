// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deal} from "../utils/Deal.sol";
import {HandlerState} from "./HandlerState.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @title HandlerClock
/// @notice The invariant handler's time: every move of the clock mines a block, records the
/// seal block of every seated task it passes (docs/settlement.md §1.3), and lets assumption H's
/// honest parties act on the way: the honest validators vote the honest root in every round a
/// task reaches, and anyone calls `finalize` in the first second after each round's or
/// challenge's deadline (validator nodes keep calling it, node/roles/validator.py). From these
/// follow §5 invariants 6 (the deal over the seal's seed) and 8 (the bounded delay).
abstract contract HandlerClock is HandlerState {
    /// @notice `node/protocol/deal.SEAL_DELAY`: the seal block is the first whose timestamp is
    /// greater than `seatDeadline + SEAL_DELAY`.
    uint256 public constant SEAL_DELAY = 64;
    /// @notice Rounds open and challenges start when `finalize` runs, which is at the earliest
    /// one second after the deadline before them: two such steps lie between the attest
    /// deadline and round 2 on the slowest path (round 0 provisional, appealed; round 1
    /// provisional, appealed), so the delay bound allows two seconds beyond the design's sum.
    uint256 public constant FINALIZE_LAG = 2;

    /// @notice `attestDeadline + delayAfterAttest` bounds round 2's deadline (§5 invariant 8).
    uint256 public immutable delayAfterAttest;

    /// @notice The seal block of a seated task (0 while the clock has not passed its seal time),
    /// its randomness once known, and the seats claimed when it was mined (no claim can follow).
    mapping(uint256 taskId => uint256) public sealBlockOf;
    mapping(uint256 taskId => bytes32) public sealRandomnessOf;
    mapping(uint256 taskId => uint256) public seatsAtSeal;
    /// @notice Revealed tasks not `Finalized` past their delay bound, or whose round 2 ends
    /// after it (must stay zero under H).
    uint256 public ghostDelayFailures;
    /// @notice Tasks seen in round 2 (each checked once: round 2's deadline never moves).
    mapping(uint256 taskId => bool) public round2Seen;

    constructor(
        LabelToken token_,
        ValidatorStaking staking_,
        TaskMarket market_,
        address[] memory requesters_,
        address[] memory annotators_,
        address[] memory validators_
    ) HandlerState(token_, staking_, market_, requesters_, annotators_, validators_) {
        // C + W1 + C + W2, W1 = APPEAL_WINDOW and W2 = 2·APPEAL_WINDOW (§2.2, §2.8).
        delayAfterAttest = 2 * market_.CHALLENGE_PERIOD() + 3 * market_.APPEAL_WINDOW() + FINALIZE_LAG;
    }

    /// @notice finalize (or refund) `id` and check the settlement: MarketHandler's.
    function _settle(uint256 id, bool viaRefund) internal virtual returns (bool settled);

    /// @notice The latest a revealed task with attest deadline `attestDeadline` may still be
    /// open under H: past it, round 2's window has ended with the honest majority's votes in.
    function delayBound(uint64 attestDeadline) public view returns (uint256) {
        return uint256(attestDeadline) + delayAfterAttest;
    }

    /// @notice Records a failure of §5 invariant 8 the first time task `id` is seen open in
    /// round 2 with a deadline past its bound; called after every vote and finalize, so the
    /// end-of-run check (CI's `check_interval = 0`) still sees a round 2 that ended since.
    function _checkRound2(uint256 id) internal {
        if (round2Seen[id]) return;
        ITaskMarket.Task memory t = market.getTask(id);
        if (t.status != ITaskMarket.TaskStatus.Open || t.round != 2) return;
        round2Seen[id] = true;
        ++ghostCalls["round2"];
        if (t.roundDeadline > delayBound(t.attestDeadline)) ++ghostDelayFailures;
    }

    /// @notice The `deal@1` seed of a seated task from its seal block (false while the block is
    /// not mined, or is the current one, whose hash the EVM cannot read yet).
    function sealSeedOf(uint256 id) public view returns (bool known, bytes32 seed) {
        bytes32 randomness = sealRandomnessOf[id];
        uint256 x = sealBlockOf[id];
        if (randomness == 0 && x != 0 && x < block.number) randomness = blockhash(x);
        if (randomness == 0) return (false, 0);
        return (true, Deal.sealSeed(block.chainid, address(market), id, randomness));
    }

    /// @notice §5 invariant 6 for task `id`: the most seats any item is dealt to by `deal@1`
    /// over the task's claimed seats and its seal's seed (`known` false: no seed yet).
    function mostSeatsPerItem(uint256 id) external view returns (bool known, uint256 most) {
        bytes32 seed;
        (known, seed) = sealSeedOf(id);
        if (!known) return (false, 0);
        Shape memory shape = shapeOf[id];
        uint256[] memory counts =
            Deal.seatsPerItem(seed, shape.numItems, shape.redundancy, shape.batchSize, market.getTask(id).seatCount);
        for (uint256 i; i < counts.length; ++i) {
            if (counts[i] > most) most = counts[i];
        }
    }

    // ================================================================ the clock

    /// @notice Moves time to `target`. On the way, in time order, for every open task with a
    /// reveal: the honest validators vote once its reveal deadline has passed, and again (or
    /// appeal a provisional result that is not honest) before each of its round and challenge
    /// deadlines, and `finalize` runs one second after each. Tasks whose steps fall in the same
    /// second are served together, duty first. Round 2's open end has no such step: its honest
    /// votes are cast on the way, and rule M finalizes it at the next call.
    function _warpTo(uint256 target) internal {
        uint256 count = market.taskCount();
        // Each task has at most five steps: its reveal deadline, rounds 0 and 1, two challenges.
        for (uint256 n; n < 5 * MAX_TASKS; ++n) {
            uint256 at = type(uint256).max;
            uint256[] memory steps = new uint256[](count + 1);
            bool[] memory revealEnd = new bool[](count + 1);
            for (uint256 id = 1; id <= count; ++id) {
                (steps[id], revealEnd[id]) = _stepOf(id);
                if (steps[id] < at) at = steps[id];
            }
            if (at > target) break;
            for (uint256 id = 1; id <= count; ++id) {
                if (steps[id] == at && !revealEnd[id]) _honestDuty(id);
            }
            _advance(at);
            for (uint256 id = 1; id <= count; ++id) {
                if (steps[id] != at) continue;
                // The honest validators vote as soon as a round opens (asleep: round 2 only).
                if (!revealEnd[id]) _settle(id, false);
                if (market.getTask(id).status == ITaskMarket.TaskStatus.Open) _honestDuty(id);
            }
        }
        for (uint256 id = 1; id <= count; ++id) {
            ITaskMarket.Phase phase = market.phaseOf(id);
            if (phase == ITaskMarket.Phase.Attest) _honestDuty(id);
            else if (phase == ITaskMarket.Phase.Finalizable && market.getTask(id).revealCount > 0) _honestDuty(id);
        }
        _advance(target);
    }

    /// @notice Task `id`'s next step, strictly after now (max: none): `revealEnd` for the end of
    /// its reveal phase (`revealDeadline + 1`), else one second past its current round's or
    /// challenge's deadline (`roundDeadline` of the view). Round 2 has none.
    function _stepOf(uint256 id) internal view returns (uint256 step, bool revealEnd) {
        step = type(uint256).max;
        // phaseOf first: far cheaper than getTask, and closed tasks and tasks still taking
        // commits (nothing revealed yet) have no step.
        ITaskMarket.Phase phase = market.phaseOf(id);
        if (phase == ITaskMarket.Phase.Closed || phase == ITaskMarket.Phase.Commit) return (step, false);
        ITaskMarket.Task memory t = market.getTask(id);
        if (t.status != ITaskMarket.TaskStatus.Open || t.revealCount == 0) return (step, false);
        if (block.timestamp <= t.revealDeadline) return (uint256(t.revealDeadline) + 1, true);
        if (t.round == 2 && !t.provisional) return (step, false);
        if (t.roundDeadline >= block.timestamp) step = uint256(t.roundDeadline) + 1;
    }

    /// @notice The honest validators' duty on task `id` now: vote the honest root in the round
    /// taking votes, or appeal a provisional result that is not the honest one.
    function _honestDuty(uint256 id) internal {
        Payout storage honest = _payout(id, 0);
        for (uint256 i = 1; i < _validators.length; ++i) {
            address validator = _validators[i];
            if (!_canAttest(id, validator)) continue;
            ITaskMarket.Task memory t = market.getTask(id);
            if (t.provisional && t.payoutRoot == honest.root && t.totalPayout == honest.total) return;
            vm.prank(validator);
            try market.attest(id, honest.root, honest.total, "bafkreiresult") {} catch {}
        }
        _checkRound2(id);
    }

    /// @notice Sets the clock to `time` and mines a block there. The first block past a seated
    /// task's `seatDeadline + SEAL_DELAY` is its seal block: its mixHash (`prevrandao`, zero in
    /// forge as on anvil) or else its hash, read once the next block exists, seeds the deal.
    /// forge has no real block hashes: BLOCKHASH returns a hash of the block number, the only
    /// one a test can read, so the seed differs with the seal block, the market and the task.
    function _advance(uint256 time) internal {
        vm.warp(time);
        vm.roll(block.number + 1);
        uint256 count = market.taskCount();
        for (uint256 id = 1; id <= count; ++id) {
            Shape memory shape = shapeOf[id];
            if (shape.batchSize == 0) continue;
            uint256 x = sealBlockOf[id];
            if (x == 0 && time > uint256(shape.seatDeadline) + SEAL_DELAY) {
                sealBlockOf[id] = block.number;
                seatsAtSeal[id] = market.getTask(id).seatCount;
                if (block.prevrandao != 0) sealRandomnessOf[id] = bytes32(block.prevrandao);
            } else if (x != 0 && x < block.number && sealRandomnessOf[id] == 0) {
                sealRandomnessOf[id] = blockhash(x);
            }
        }
    }

    function _revealedOpen(uint256 id) internal view returns (bool) {
        if (market.phaseOf(id) == ITaskMarket.Phase.Closed) return false;
        return market.getTask(id).revealCount > 0;
    }
}
