// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Committee} from "../../src/libraries/Committee.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../../src/interfaces/IValidatorStaking.sol";

/// @title CommitteeHarness
/// @notice One task's committee behind external functions, so the library's internal functions
/// can be called, fuzzed and inspected on their own. It keeps the seat and result counts the
/// way TaskMarket keeps them in its task slot. When it is named as a real ValidatorStaking's
/// market it can lock, release and slash, and it pays rewards from its own token balance (in
/// one transfer, as the market does).
contract CommitteeHarness {
    using Committee for Committee.State;

    /// @notice The task id the harness locks stake for.
    uint256 public constant TASK_ID = 7;

    IValidatorStaking public immutable staking;
    IERC20 public immutable token;
    uint8 public immutable maxCommittee;
    /// @notice The lock share of the harness's votes: its staking's round-0 share.
    uint16 public immutable lockBps;

    Committee.State internal _committee;
    uint256 public count;
    uint256 public resultCount;

    constructor(IERC20 token_, IValidatorStaking staking_, uint8 maxCommittee_) {
        staking = staking_;
        token = token_;
        maxCommittee = maxCommittee_;
        lockBps = address(staking_).code.length == 0 ? 1000 : staking_.slashBps();
    }

    // ------------------------------------------------------------ seating without stake

    /// @notice The committee bookkeeping of `TaskMarket.attest` without the staking calls: a
    /// full committee gives the lightest seat to a heavier vote, and a vote that is not heavier
    /// is refused (returns false) instead of reverting, so a fuzzed sequence keeps going.
    function seat(address validator, bytes32 payoutRoot, uint96 totalPayout, uint96 weight)
        external
        returns (bool seated)
    {
        uint256 n = count;
        if (_committee.isSeated(n, validator)) return false;
        uint256 at = n;
        if (n >= maxCommittee) {
            uint256 lightestWeight;
            (at, lightestWeight) = _committee.lightest(n);
            if (weight <= lightestWeight) return false;
            _committee.vacate(at, resultCount);
        } else {
            count = n + 1;
        }
        if (_committee.add(resultCount, at, validator, payoutRoot, totalPayout, weight)) ++resultCount;
        return true;
    }

    // ------------------------------------------------------------ seating with stake

    /// @notice `TaskMarket.attest`'s committee steps with the real staking: lock, evict when
    /// full, add.
    function attest(address validator, bytes32 payoutRoot, uint96 totalPayout) external returns (uint96 weight) {
        (weight,) = staking.lockForTask(validator, TASK_ID, lockBps);
        uint256 n = count;
        uint256 at = n;
        if (n >= maxCommittee) {
            at = _committee.evictLightest(staking, TASK_ID, n, resultCount, weight, maxCommittee, lockBps);
        } else {
            count = n + 1;
        }
        if (_committee.add(resultCount, at, validator, payoutRoot, totalPayout, weight)) ++resultCount;
    }

    // ------------------------------------------------------------ library calls

    function vacate(uint256 at) external returns (Committee.Vote memory) {
        return _committee.vacate(at, resultCount);
    }

    /// @notice One round's settlement as the market does it when the round is the only one:
    /// slash the votes for other results than `(root, total)`, then share `fee` plus the
    /// slashed stake among its voters pro rata to stake at risk.
    /// @return dust What the rewards leave of the pot.
    function settle(bytes32 root, uint96 total, uint256 fee) external returns (uint256 dust) {
        uint32 winners = _committee.votersOf(resultCount, root, total);
        uint256 pot = fee + _committee.slashLosers(staking, TASK_ID, count, winners, lockBps);
        uint256 atRisk = _committee.risk(count, winners, lockBps);
        uint256 paid = _committee.rewardWinners(
            staking, TASK_ID, count, winners, lockBps, Committee.Split({pot: pot, totalRisk: atRisk})
        );
        // As the market does: the rewards reach the staking contract in one transfer.
        if (paid > 0) require(token.transfer(address(staking), paid), "harness: transfer");
        return pot - paid;
    }

    function votersOf(bytes32 root, uint96 total) external view returns (uint32) {
        return _committee.votersOf(resultCount, root, total);
    }

    function risk(uint32 winners) external view returns (uint256) {
        return _committee.risk(count, winners, lockBps);
    }

    function isSeated(address validator) external view returns (bool) {
        return _committee.isSeated(count, validator);
    }

    function lightest() external view returns (uint256 at, uint256 weight) {
        return _committee.lightest(count);
    }

    function tally() external view returns (Committee.Result memory best, uint256 attestingWeight) {
        return _committee.tally(resultCount);
    }

    function backing(uint32 voters) external view returns (uint256) {
        return _committee.backing(staking, count, voters);
    }

    function listAttestations() external view returns (ITaskMarket.Attestation[] memory) {
        return _committee.listAttestations(count, resultCount);
    }

    function vote(uint256 at) external view returns (Committee.Vote memory) {
        return _committee.votes[at];
    }

    function result(uint256 slot) external view returns (Committee.Result memory) {
        return _committee.results[slot];
    }

    // ------------------------------------------------------------ pure helpers

    function twoThirds(uint256 part, uint256 whole) external pure returns (bool) {
        return Committee.twoThirds(part, whole);
    }

    function atLeastBps(uint256 part, uint256 whole, uint256 bps) external pure returns (bool) {
        return Committee.atLeastBps(part, whole, bps);
    }

    function share(uint256 pool, uint256 weight, uint256 total) external pure returns (uint256) {
        return Committee.share(pool, weight, total);
    }

    function bit(uint256 index) external pure returns (uint32) {
        return Committee.bit(index);
    }

    function voted(uint32 voters, uint256 index) external pure returns (bool) {
        return Committee.voted(voters, index);
    }
}
