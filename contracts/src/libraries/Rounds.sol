// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "../interfaces/ITaskMarket.sol";

/// @title Rounds
/// @notice The settlement rounds of one task (docs/settlement.md §2.2–§2.5): the lock share and
/// window of each round, and round 2's aggregate tally with its leader.
/// @dev Round 2 has no seat limit, so a cartel that fills the bounded rounds' seats with heavy
/// stake cannot keep honest stake out of it. It therefore keeps no list of votes: each result
/// key (`keccak256(abi.encode(payoutRoot, totalPayout))`) sums its voters' weights and stakes at
/// risk, each vote is stored on its own and settled on its own (`settleVote`), and the heaviest
/// result is tracked as votes arrive. Weights only grow in round 2 (the market freezes every
/// voter's stake), so a `tied` flag is enough to know whether the leader is strictly heaviest.
/// Errors are TaskMarket's (ITaskMarket).
library Rounds {
    /// @notice The last round, unbounded and open-ended.
    uint8 internal constant FINAL_ROUND = 2;

    /// @notice A round-2 result: the weight and the stake at risk of its voters.
    struct Result {
        uint128 weight;
        uint128 risk;
    }

    /// @notice A round-2 vote: its result key, weight, and whether `settleVote` settled it.
    struct Vote {
        bytes32 key;
        uint96 weight;
        bool settled;
    }

    /// @notice Round 2 of one task. `rewardPot` and `winningRisk` are written at finalization:
    /// the fee and rounds 0–1's slashings, and the stake at risk of every vote for the final
    /// root (all rounds), from which each round-2 winner's reward follows on its own.
    struct Tally {
        mapping(bytes32 key => Result) results;
        mapping(address validator => Vote) votes;
        bytes32 leaderRoot;
        uint96 leaderTotal;
        uint40 leaderSince;
        bool tied;
        uint128 rewardPot;
        uint128 winningRisk;
    }

    /// @notice The key of a result in round 2's tally and votes.
    function key(bytes32 payoutRoot, uint96 totalPayout) internal pure returns (bytes32) {
        return keccak256(abi.encode(payoutRoot, totalPayout));
    }

    /// @notice The share of a voter's weight locked by a vote in `round`: `slashBps`, twice it
    /// in the appeal round and four times it in the final round (stake at risk grows with
    /// each round, §2.2). ValidatorStaking caps `slashBps` at 10000 / 7, so this fits 16 bits.
    function lockBps(uint16 slashBps, uint8 round) internal pure returns (uint16) {
        return slashBps << round;
    }

    /// @notice How long round `round` (1 or 2) stays open once opened: `appealWindow`, and
    /// twice that for the final round.
    function window(uint8 round, uint64 appealWindow) internal pure returns (uint64) {
        return round == FINAL_ROUND ? 2 * appealWindow : appealWindow;
    }

    /// @notice Reverts unless `validator` has not voted in round 2 of the task yet.
    function requireNew(Tally storage self, uint256 taskId, address validator) internal view {
        if (self.votes[validator].key != 0) {
            revert ITaskMarket.TaskMarketAlreadyVoted(taskId, FINAL_ROUND, validator);
        }
    }

    /// @notice Records `validator`'s vote for `(payoutRoot, totalPayout)` with `weight` and
    /// stake at risk `risk`, and moves the leader: a result heavier than the leader takes its
    /// place (from now), one as heavy ties it, and the leader growing breaks a tie (from now).
    function vote(
        Tally storage self,
        address validator,
        bytes32 payoutRoot,
        uint96 totalPayout,
        uint96 weight,
        uint256 risk
    ) internal {
        bytes32 k = key(payoutRoot, totalPayout);
        self.votes[validator] = Vote({key: k, weight: weight, settled: false});
        Result storage result = self.results[k];
        uint256 w = result.weight + uint256(weight);
        // Casts: weights and risks are stakes, below the token supply (< 2**96 each).
        // forge-lint: disable-next-line(unsafe-typecast)
        result.weight = uint128(w);
        // forge-lint: disable-next-line(unsafe-typecast)
        result.risk += uint128(risk);
        bytes32 leaderRoot = self.leaderRoot;
        if (leaderRoot == bytes32(0)) {
            _lead(self, payoutRoot, totalPayout);
            return;
        }
        bytes32 leaderKey = key(leaderRoot, self.leaderTotal);
        if (k == leaderKey) {
            if (self.tied) _lead(self, payoutRoot, totalPayout);
            return;
        }
        uint256 leaderWeight = self.results[leaderKey].weight;
        if (w > leaderWeight) _lead(self, payoutRoot, totalPayout);
        else if (w == leaderWeight) self.tied = true;
    }

    /// @notice The heaviest result, its weight, whether another result is as heavy, and since
    /// when it has led alone (`weight` 0: no vote yet).
    function leader(Tally storage self)
        internal
        view
        returns (bytes32 payoutRoot, uint96 totalPayout, uint256 weight, bool tied, uint64 since)
    {
        payoutRoot = self.leaderRoot;
        totalPayout = self.leaderTotal;
        if (payoutRoot != bytes32(0)) weight = self.results[key(payoutRoot, totalPayout)].weight;
        tied = self.tied;
        since = self.leaderSince;
    }

    /// @notice Marks `validator`'s vote settled and returns it; reverts if it does not exist or
    /// was settled already.
    function take(Tally storage self, uint256 taskId, address validator) internal returns (Vote memory taken) {
        taken = self.votes[validator];
        if (taken.key == 0 || taken.settled) revert ITaskMarket.TaskMarketVoteSettled(taskId, validator);
        self.votes[validator].settled = true;
    }

    function _lead(Tally storage self, bytes32 payoutRoot, uint96 totalPayout) private {
        self.leaderRoot = payoutRoot;
        self.leaderTotal = totalPayout;
        // forge-lint: disable-next-line(unsafe-typecast) -- timestamps fit 40 bits for 34,000 years.
        self.leaderSince = uint40(block.timestamp);
        self.tied = false;
    }
}
