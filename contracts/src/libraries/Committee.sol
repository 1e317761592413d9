// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../interfaces/IValidatorStaking.sol";

/// @title Committee
/// @notice The validator committee of one task: who holds which seat with which weight, which
/// distinct results they attested, the tally, the eviction of the lightest seat, the 2/3 and
/// quorum tests, and the settlement that slashes the votes for other roots than the final one
/// and pays the votes for it. The market keeps one `State` per bounded round (0 and 1, docs/
/// settlement.md §2.2); the round's lock share (`lockBps`) and the final root are parameters.
/// @dev Internal functions over a `State`, in the manner of Uniswap v4-core's libraries: the
/// market keeps one `State` per task and the seat and result counts in its own packed task
/// slot, and passes the counts in, so attesting still reads one slot for all its checks.
/// Seats are indices below the committee size (at most 32): a result records its voters as a
/// 32-bit mask, a seat belongs to at most one result, and the weights of a result's voters sum
/// to the result's weight. The functions that take an `IValidatorStaking` call out to it (the
/// market passes its own immutable ValidatorStaking, which calls nothing else); the others
/// touch only the `State`. Events and errors are TaskMarket's (ITaskMarket), so the market's
/// ABI and logs are the same as when this code lived in it.
library Committee {
    /// @notice Basis points in a whole (quorum shares are in basis points).
    uint16 internal constant BPS = 10_000;

    /// @notice One attestation: who, with which weight. Its result is found through the bit at
    /// its seat in `Result.voters`.
    struct Vote {
        address validator;
        uint96 weight;
    }

    /// @notice A distinct attested result, stored once however many validators attest it.
    struct Result {
        bytes32 payoutRoot;
        uint96 totalPayout;
        uint128 weight;
        uint32 voters;
    }

    /// @notice A task's committee. Seats `[0, attestCount)` and result slots `[0, resultCount)`
    /// are in use; the counts live with the caller.
    struct State {
        mapping(uint256 seat => Vote) votes;
        mapping(uint256 slot => Result) results;
    }

    // ------------------------------------------------------------ seats and results

    /// @notice Whether `validator` holds one of the first `count` seats.
    function isSeated(State storage self, uint256 count, address validator) internal view returns (bool) {
        for (uint256 i; i < count; ++i) {
            if (self.votes[i].validator == validator) return true;
        }
        return false;
    }

    /// @notice The lightest of the first `count` seats (the earliest on ties) and its weight;
    /// `(0, type(uint256).max)` when `count` is 0.
    function lightest(State storage self, uint256 count) internal view returns (uint256 seat, uint256 weight) {
        weight = type(uint256).max;
        for (uint256 i; i < count; ++i) {
            uint256 w = self.votes[i].weight;
            if (w < weight) (seat, weight) = (i, w);
        }
    }

    /// @notice A full committee admits a heavier validator in place of its lightest member (the
    /// earliest on ties), whose lock is released without reward or slash. Seats go to stake,
    /// not to speed: flooding a task with minimum-stake attestations the moment its reveal
    /// window closes buys nothing once heavier validators attest.
    /// @return seat The seat freed for the caller (`msg.sender`), whose vote `add` then writes.
    function evictLightest(
        State storage self,
        IValidatorStaking staking,
        uint256 taskId,
        uint256 count,
        uint256 resultCount,
        uint96 weight,
        uint8 maxCommittee,
        uint16 lockBps
    ) internal returns (uint256 seat) {
        uint256 lightestWeight;
        (seat, lightestWeight) = lightest(self, count);
        if (weight <= lightestWeight) revert ITaskMarket.TaskMarketCommitteeFull(taskId, maxCommittee);
        Vote memory evicted = vacate(self, seat, resultCount);
        emit ITaskMarket.AttestationEvicted(taskId, evicted.validator, msg.sender);
        staking.release(evicted.validator, taskId, evicted.weight, lockBps, 0);
    }

    /// @notice Takes the vote at `seat` out of its result (one of the first `resultCount`),
    /// leaving the seat to be overwritten. A result left without voters keeps its slot, which
    /// `add` reuses.
    /// @return evicted The vote that held the seat.
    function vacate(State storage self, uint256 seat, uint256 resultCount) internal returns (Vote memory evicted) {
        evicted = self.votes[seat];
        for (uint256 r; r < resultCount; ++r) {
            Result storage result = self.results[r];
            if (voted(result.voters, seat)) {
                result.voters &= ~bit(seat);
                result.weight -= evicted.weight;
                break;
            }
        }
    }

    /// @notice Seats `validator` at `seat` with `weight` and adds the vote to its result,
    /// creating the result the first time it is attested: in an emptied slot if there is one,
    /// so at most as many results as seats ever exist.
    /// @return grew Whether the result went to a new slot (`resultCount` must then grow by one).
    function add(
        State storage self,
        uint256 resultCount,
        uint256 seat,
        address validator,
        bytes32 payoutRoot,
        uint96 totalPayout,
        uint96 weight
    ) internal returns (bool grew) {
        self.votes[seat] = Vote({validator: validator, weight: weight});
        uint256 free = resultCount;
        for (uint256 r; r < resultCount; ++r) {
            Result storage result = self.results[r];
            if (result.payoutRoot == payoutRoot && result.totalPayout == totalPayout) {
                result.weight += weight;
                result.voters |= bit(seat);
                return false;
            }
            if (result.voters == 0 && free == resultCount) free = r;
        }
        self.results[free] =
            Result({payoutRoot: payoutRoot, totalPayout: totalPayout, weight: weight, voters: bit(seat)});
        grew = free == resultCount;
    }

    // ------------------------------------------------------------ tally

    /// @notice The heaviest distinct result (the earliest slot on ties) and the total weight.
    function tally(State storage self, uint256 resultCount)
        internal
        view
        returns (Result memory best, uint256 attestingWeight)
    {
        for (uint256 r; r < resultCount; ++r) {
            Result memory result = self.results[r];
            attestingWeight += result.weight;
            if (result.weight > best.weight) best = result;
        }
    }

    /// @notice Whether `part` is at least two thirds of `whole`.
    function twoThirds(uint256 part, uint256 whole) internal pure returns (bool) {
        return part * 3 >= whole * 2;
    }

    /// @notice Whether `part` is at least `bps` basis points of `whole`.
    function atLeastBps(uint256 part, uint256 whole, uint256 bps) internal pure returns (bool) {
        return part * BPS >= whole * bps;
    }

    /// @notice The stake still backing the votes in `voters` (seats below `count`): each
    /// vote's weight capped at its attester's current stake. `totalStaked` is live, so an
    /// attester that unstakes after attesting shrinks the denominator and must not keep its
    /// full recorded weight in the numerator; one that tops up after attesting backs its vote
    /// with its attested weight only.
    function backing(State storage self, IValidatorStaking staking, uint256 count, uint32 voters)
        internal
        view
        returns (uint256 total)
    {
        for (uint256 i; i < count; ++i) {
            if (voted(voters, i)) {
                Vote memory vote = self.votes[i];
                uint256 current = staking.stakeOf(vote.validator);
                total += current < vote.weight ? current : vote.weight;
            }
        }
    }

    // ------------------------------------------------------------ settlement

    /// @notice The voters (bitmask) of the result `(payoutRoot, totalPayout)` among the first
    /// `resultCount` slots; 0 if this round never attested it.
    function votersOf(State storage self, uint256 resultCount, bytes32 payoutRoot, uint96 totalPayout)
        internal
        view
        returns (uint32 voters)
    {
        for (uint256 r; r < resultCount; ++r) {
            Result storage result = self.results[r];
            if (result.payoutRoot == payoutRoot && result.totalPayout == totalPayout) return result.voters;
        }
    }

    /// @notice The stake at risk of the votes in `winners`: each weight's lock at `lockBps`,
    /// computed as the staking contract computes it, so rewards pro rata to it add up.
    function risk(State storage self, uint256 count, uint32 winners, uint16 lockBps)
        internal
        view
        returns (uint256 total)
    {
        for (uint256 i; i < count; ++i) {
            if (voted(winners, i)) total += lockOf(self.votes[i].weight, lockBps);
        }
    }

    /// @notice Slashes every one of the first `count` votes not in `winners` (votes for another
    /// root than the final one lose their lock, docs/settlement.md §2.4).
    /// @return slashed The stake taken, now held by the caller.
    function slashLosers(
        State storage self,
        IValidatorStaking staking,
        uint256 taskId,
        uint256 count,
        uint32 winners,
        uint16 lockBps
    ) internal returns (uint256 slashed) {
        for (uint256 i; i < count; ++i) {
            if (!voted(winners, i)) {
                Vote memory vote = self.votes[i];
                slashed += staking.slash(vote.validator, taskId, vote.weight, lockBps);
            }
        }
    }

    /// @notice What the final root's voters share: `pot` (the fee and the stake slashed),
    /// pro rata to stake at risk out of `totalRisk` (every winning vote of every round).
    struct Split {
        uint256 pot;
        uint256 totalRisk;
    }

    /// @notice Releases each vote in `winners` (locked at `lockBps`) with its share of the
    /// split: `pot * lock / totalRisk` rounded down, `lock` its stake at risk (`lockOf`).
    /// @return paid The rewards paid (at most `pot * risk(winners) / totalRisk`).
    function rewardWinners(
        State storage self,
        IValidatorStaking staking,
        uint256 taskId,
        uint256 count,
        uint32 winners,
        uint16 lockBps,
        Split memory split
    ) internal returns (uint256 paid) {
        for (uint256 i; i < count; ++i) {
            if (voted(winners, i)) {
                Vote memory vote = self.votes[i];
                uint256 reward = share(split.pot, lockOf(vote.weight, lockBps), split.totalRisk);
                paid += reward;
                emit ITaskMarket.ValidatorRewarded(taskId, vote.validator, reward);
                staking.release(vote.validator, taskId, vote.weight, lockBps, reward);
            }
        }
    }

    /// @notice A winner's part of `pool`: `pool * weight / total`, rounded down; 0 when
    /// `total` is 0 (no stake at risk).
    function share(uint256 pool, uint256 weight, uint256 total) internal pure returns (uint256) {
        return total == 0 ? 0 : pool * weight / total;
    }

    /// @notice The lock of a vote of `weight` at `lockBps`, as ValidatorStaking computes it.
    function lockOf(uint96 weight, uint16 lockBps) internal pure returns (uint256) {
        return uint256(weight) * lockBps / BPS;
    }

    // ------------------------------------------------------------ views

    /// @notice The attestations of the first `count` seats in seat order, each with its result.
    function listAttestations(State storage self, uint256 count, uint256 resultCount)
        internal
        view
        returns (ITaskMarket.Attestation[] memory list)
    {
        list = new ITaskMarket.Attestation[](count);
        for (uint256 r; r < resultCount; ++r) {
            Result memory result = self.results[r];
            for (uint256 i; i < count; ++i) {
                if (!voted(result.voters, i)) continue;
                Vote memory vote = self.votes[i];
                list[i] = ITaskMarket.Attestation({
                    validator: vote.validator,
                    weight: vote.weight,
                    payoutRoot: result.payoutRoot,
                    totalPayout: result.totalPayout
                });
            }
        }
    }

    // ------------------------------------------------------------ bitmask

    /// @notice The bit of seat `index` (< 32) in a result's `voters`.
    function bit(uint256 index) internal pure returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast,incorrect-shift) -- one bit per seat; index < 32.
        return uint32(1 << index);
    }

    /// @notice Whether seat `index` (< 32) is among `voters`.
    function voted(uint32 voters, uint256 index) internal pure returns (bool) {
        return (voters >> index) & 1 == 1;
    }
}
