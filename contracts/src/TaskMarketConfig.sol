// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IQualifications} from "./interfaces/IQualifications.sol";
import {IValidatorStaking} from "./interfaces/IValidatorStaking.sol";
import {Committee} from "./libraries/Committee.sol";

/// @title TaskMarketConfig
/// @notice The parameters a TaskMarket deployment fixes for every task, checked once at
/// deployment, and their views.
/// @dev A base of TaskMarket only, so the market's rules stay in one file under 500 lines
/// (issue #14); nothing here changes after the constructor.
abstract contract TaskMarketConfig is ITaskMarket {
    using SafeERC20 for IERC20;

    IERC20 internal immutable _token;
    IValidatorStaking internal immutable _staking;
    uint8 internal immutable _maxCommittee;
    uint8 internal immutable _minAttestations;
    uint16 internal immutable _quorumBps;
    uint64 internal immutable _maxAttestWindow;
    uint64 internal immutable _minLabelTime;
    uint16 internal immutable _slashBps;
    /// @dev The gate of gated tasks (zero: this deployment has none, and gated calls revert).
    IQualifications internal immutable _gate;

    /// @notice How long a provisional result can be appealed, and how long round 2's leader
    /// must lead once round 2's window is over (docs/settlement.md §2.3, §2.5).
    uint64 public constant CHALLENGE_PERIOD = 1 days;
    /// @notice Round 1's window; round 2's is twice it (§2.2).
    uint64 public constant APPEAL_WINDOW = 2 days;
    /// @notice Seats of round 1's bounded committee (a result's voters are a 32-bit mask).
    uint8 public constant APPEAL_SEATS = 32;

    /// @param token_ The bounty token.
    /// @param staking_ The validator staking contract, which must name this market.
    /// @param maxCommittee_ Most attestations a task accepts (bounds the finalize loop).
    /// @param minAttestations_ Fewest attestations a winning root needs.
    /// @param quorumBps_ Least share of all active stake, in basis points, that must still back
    /// a winning root (3334, just over one third, in the default deployment).
    /// @param minLabelTime_ Least seconds a seated task leaves from its seat deadline to its
    /// commit deadline, to label the items dealt once the seats are taken (1 hour by default).
    /// @param gate_ The Qualifications contract that gates this market's gated tasks (it names
    /// this market; deployers compute one address from the other), or zero for none.
    constructor(
        IERC20 token_,
        IValidatorStaking staking_,
        uint8 maxCommittee_,
        uint8 minAttestations_,
        uint16 quorumBps_,
        uint64 minLabelTime_,
        IQualifications gate_
    ) {
        if (address(token_) == address(0) || address(staking_) == address(0)) {
            revert TaskMarketZeroAddress();
        }
        // The committee is a bitmask of 32 voters per result.
        if (maxCommittee_ == 0 || maxCommittee_ > 32 || minAttestations_ == 0 || minAttestations_ > maxCommittee_) {
            revert TaskMarketInvalidCommittee(maxCommittee_, minAttestations_);
        }
        if (quorumBps_ == 0 || quorumBps_ > Committee.BPS) revert TaskMarketInvalidQuorum(quorumBps_);
        _token = token_;
        _staking = staking_;
        _maxCommittee = maxCommittee_;
        _minAttestations = minAttestations_;
        _quorumBps = quorumBps_;
        _minLabelTime = minLabelTime_;
        _gate = gate_;
        // A vote's stake stays bonded for the whole attest window (unstaking takes longer), so
        // it cannot be withdrawn and restaked from another address to vote twice.
        _maxAttestWindow = staking_.unbondingDelay();
        // The round lock shares are multiples of it (Rounds.lockBps); staking bounds it.
        _slashBps = staking_.slashBps();
    }

    /// @inheritdoc ITaskMarket
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

    /// @inheritdoc ITaskMarket
    function quorumBps() external view returns (uint16) {
        return _quorumBps;
    }

    /// @inheritdoc ITaskMarket
    function minLabelTime() external view returns (uint64) {
        return _minLabelTime;
    }
}
