// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PayoutTree} from "../utils/PayoutTree.sol";
import {HandlerState} from "./HandlerState.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {IValidatorStaking} from "../../src/interfaces/IValidatorStaking.sol";

/// @title MarketHandler
/// @notice Drives random but mostly valid sequences of market and staking calls for the
/// invariant tests, with a small fixed cast (2 requesters, 3 annotators, 4 validators), and
/// keeps ghost records of what should have happened. Each action picks, from its seeds, a
/// task and an actor for which the action makes sense, so short sequences still reach
/// attestation, finalization and claims; a few actions deliberately try forbidden things
/// (paying a leaf twice, over-paying a root) and count it if they ever succeed.
contract MarketHandler is HandlerState {
    constructor(
        LabelToken token_,
        ValidatorStaking staking_,
        TaskMarket market_,
        address[] memory requesters_,
        address[] memory annotators_,
        address[] memory validators_
    ) HandlerState(token_, staking_, market_, requesters_, annotators_, validators_) {}

    // ================================================================ requester actions

    function createTask(uint256 seed, uint32 numItems, uint16 redundancy, uint128 reward, uint128 fee, uint128 bond)
        external
    {
        if (market.taskCount() >= MAX_TASKS) return;
        ITaskMarket.TaskParams memory p;
        p.manifestCid = "bafkreimanifest";
        p.algorithm = "mv@1";
        if (seed % 2 == 0) p.goldCommitment = keccak256(abi.encode(GOLD_ROOT, GOLD_SALT));
        p.numItems = uint32(bound(numItems, 1, 20));
        p.redundancy = uint16(bound(redundancy, 1, 5));
        p.rewardPerLabel = uint128(bound(reward, 1, 1 ether));
        p.validatorFee = uint128(bound(fee, 0, 10 ether));
        p.annotatorBond = seed % 3 == 0 ? 0 : uint128(bound(bond, 1, 1 ether));
        p.commitDeadline = uint64(block.timestamp + bound(seed >> 8, 1 hours, 1 days));
        if ((seed >> 100) % 2 == 1) {
            // A seated task: batches of every item (as many seats as the redundancy, so three
            // annotators can fill them) or of one item (more seats than annotators).
            p.batchSize = (seed >> 101) % 2 == 0 ? p.numItems : 1;
            p.commitDeadline += market.minLabelTime();
            p.seatDeadline = p.commitDeadline - market.minLabelTime();
        }
        p.revealDeadline = p.commitDeadline + uint64(bound(seed >> 40, 1 hours, 1 days));
        p.attestDeadline = p.revealDeadline + uint64(bound(seed >> 72, 1 hours, 1 days));
        vm.prank(_requesters[seed % _requesters.length]);
        market.createTask(p);
        ++ghostCalls["createTask"];
    }

    /// @notice Cancel a task nobody committed to; or, for a task with commits, check that the
    /// requester cannot pull the bounty from under the annotators.
    function cancel(uint256 taskSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _cancellable);
        if (!found) {
            (id, found) = _findTask(taskSeed, _isOpen);
            if (!found) return;
            vm.prank(market.getTask(id).requester);
            try market.cancel(id) {
                ++ghostForbidden;
            } catch {}
            return;
        }
        vm.prank(market.getTask(id).requester);
        market.cancel(id);
        ++ghostCalls["cancel"];
    }

    function revealGold(uint256 taskSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _goldRevealable);
        if (!found) return;
        vm.prank(market.getTask(id).requester);
        market.revealGold(id, GOLD_ROOT, "bafkreigold", GOLD_SALT);
        ++ghostCalls["revealGold"];
    }

    /// @notice Refund (finalizing first if due); the requester must receive exactly the
    /// refundable amount the market reported.
    function refund(uint256 taskSeed) external {
        uint256 count = market.taskCount();
        if (count == 0) return;
        uint256 id = taskSeed % count + 1;
        ITaskMarket.Task memory t = market.getTask(id);
        if (t.status == ITaskMarket.TaskStatus.Cancelled || t.refunded) {
            // A second refund (or one after cancel) would pay the requester twice.
            try market.refund(id) {
                ++ghostForbidden;
            } catch {}
            return;
        }
        if (t.status == ITaskMarket.TaskStatus.Open) {
            _settle(id, true);
            return;
        }
        uint256 before = token.balanceOf(t.requester);
        market.refund(id);
        if (token.balanceOf(t.requester) - before != t.refundable) ++ghostRefundMismatches;
        ++ghostCalls["refund"];
    }

    // ================================================================ annotator actions

    /// @notice An annotator claims a seat on a seated task in its seat window. A claim must not
    /// succeed for an annotator already seated or once the seats are taken, and must get the
    /// next seat number.
    function claimSeat(uint256 taskSeed, uint256 actorSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _inSeatWindow);
        if (!found) return;
        address annotator = _annotators[actorSeed % _annotators.length];
        bool had = market.hasSeat(id, annotator);
        ITaskMarket.Task memory t = market.getTask(id);
        vm.prank(annotator);
        try market.claimSeat(id) returns (uint32 seat) {
            if (had || t.seatCount >= t.seatLimit || seat != t.seatCount) ++ghostForbidden;
            ++ghostCalls["claimSeat"];
        } catch {}
    }

    /// @notice One to three annotators commit (or re-commit) to a task in its commit phase.
    function commit(uint256 taskSeed, uint256 actorSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _inCommit);
        if (!found) return;
        uint256 n = 1 + (actorSeed >> 128) % _annotators.length;
        for (uint256 k; k < n; ++k) {
            address annotator = _annotators[(actorSeed % _annotators.length + k) % _annotators.length];
            uint256 version = _commitVersion[id][annotator] + 1;
            bytes32 commitment = keccak256(abi.encode(id, annotator, _labelsRoot(version), _salt(version)));
            if (market.getTask(id).seatLimit > 0 && !market.hasSeat(id, annotator)) {
                // Only a seat holder commits to a seated task.
                vm.prank(annotator);
                try market.commit(id, commitment) {
                    ++ghostForbidden;
                } catch {}
                continue;
            }
            _commitVersion[id][annotator] = version;
            vm.prank(annotator);
            market.commit(id, commitment);
        }
        ++ghostCalls["commit"];
    }

    /// @notice Committed annotators reveal (one, or all of them). If no task is in its reveal
    /// phase, time first moves past the commit deadline of a task that has commits.
    function reveal(uint256 taskSeed, uint256 actorSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _inReveal);
        if (!found) {
            (id, found) = _findTask(taskSeed, _committedInCommit);
            if (!found) return;
            vm.warp(market.getTask(id).commitDeadline + 1);
        }
        bool all = (actorSeed >> 128) % 2 == 0;
        for (uint256 k; k < _annotators.length; ++k) {
            address annotator = _annotators[(actorSeed % _annotators.length + k) % _annotators.length];
            bytes32 stored = market.commitmentOf(id, annotator);
            if (stored == bytes32(0) || stored == market.REVEALED()) continue;
            uint256 version = _commitVersion[id][annotator];
            vm.prank(annotator);
            market.reveal(id, _labelsRoot(version), "bafkreilabels", _salt(version));
            if (!all) break;
        }
        ++ghostCalls["reveal"];
    }

    // ================================================================ validator actions

    function stake(uint256 actorSeed, uint256 amount) external {
        address validator = _validators[actorSeed % _validators.length];
        uint256 balance = token.balanceOf(validator);
        if (balance == 0) return;
        vm.prank(validator);
        staking.stake(bound(amount, 1, balance));
        ++ghostCalls["stake"];
    }

    function requestUnstake(uint256 actorSeed, uint256 amount) external {
        address validator = _validators[actorSeed % _validators.length];
        uint256 free = staking.stakeOf(validator) - staking.lockedOf(validator);
        if (free == 0) return;
        vm.prank(validator);
        staking.requestUnstake(bound(amount, 1, free));
        ++ghostCalls["requestUnstake"];
    }

    /// @notice Withdraw unbonded stake, sometimes waiting out the unbonding delay first.
    function withdraw(uint256 actorSeed, bool wait) external {
        address validator = _validators[actorSeed % _validators.length];
        IValidatorStaking.Unbonding memory u = staking.unbondingOf(validator);
        if (u.amount == 0) return;
        if (block.timestamp < u.releaseAt) {
            if (!wait) return;
            vm.warp(u.releaseAt);
        }
        vm.prank(validator);
        staking.withdraw();
        ++ghostCalls["withdraw"];
    }

    /// @notice One to three validators attest. They mostly agree on one result kind for the
    /// call (honest half the time, so dishonest roots sometimes win), and each deviates to a
    /// random kind a quarter of the time (so losers get slashed). If no task is in its
    /// attest window, time first moves past the reveal deadline of a task that has reveals.
    /// Sometimes a validator first tries a result promising more than the pool, which must fail.
    function attest(uint256 taskSeed, uint256 actorSeed, uint256 kindSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _inAttest);
        if (!found) {
            (id, found) = _findTask(taskSeed, _revealedInReveal);
            if (!found) return;
            vm.warp(market.getTask(id).revealDeadline + 1);
        }
        uint256 n = 1 + (actorSeed >> 128) % 3;
        uint256 agreed = _kind(kindSeed);
        for (uint256 k; k < _validators.length && n > 0; ++k) {
            address validator = _validators[(actorSeed % _validators.length + k) % _validators.length];
            if (!_canAttest(id, validator)) continue;
            uint256 deviation = kindSeed >> (8 + 8 * k);
            Payout storage payout = _payout(id, deviation % 4 == 0 ? _kind(deviation >> 2) : agreed);
            if (deviation % 16 == 1) {
                uint128 tooMuch = market.getTask(id).rewardPool + 1;
                vm.prank(validator);
                try market.attest(id, payout.root, tooMuch, "bafkreiresult") {
                    ++ghostForbidden;
                    return; // the validator has used its vote; keep the violation on record
                } catch {}
            }
            vm.prank(validator);
            market.attest(id, payout.root, payout.total, "bafkreiresult");
            --n;
            if (market.getTask(id).attestCount == market.maxCommittee()) break;
        }
        ++ghostCalls["attest"];
    }

    /// @notice Honest (0) half the time, greedy (1) or overpromising (2) a quarter each.
    function _kind(uint256 seed) internal pure returns (uint256) {
        uint256 r = seed % 4;
        return r < 2 ? 0 : r - 1;
    }

    /// @notice Finalize an open task; when it is not due yet, sometimes wait out its attest
    /// deadline first (so both the early and the deadline paths are exercised).
    function finalize(uint256 taskSeed, bool late) external {
        (uint256 id, bool found) = _findTask(taskSeed, _isOpen);
        if (!found) return;
        if (_settle(id, false) || !late) return;
        vm.warp(market.getTask(id).attestDeadline + 1);
        _settle(id, false);
    }

    // ================================================================ claims

    /// @notice Claim one leaf of a finalized task's winning tree, anyone submitting. A leaf
    /// already paid, one beyond the attested total, or a zero leaf is tried too: it must fail,
    /// and a success is recorded as a double claim or an overpayment.
    function claim(uint256 taskSeed, uint256 leafSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _isFinalized);
        if (!found) return;
        Payout storage payout = _winningPayout(id);
        uint256 i = leafSeed % payout.accounts.length;
        address account = payout.accounts[i];
        uint256 amount = payout.amounts[i];
        bytes32[] memory proof = PayoutTree.proof(_tree(payout), i);
        ITaskMarket.Task memory t = market.getTask(id);
        bool forbidden = ghostClaimCount[id][account] > 0 || t.paidOut + amount > t.totalPayout;
        if (forbidden || amount == 0) {
            try market.claim(id, account, amount, proof) {
                if (ghostClaimCount[id][account] > 0) ++ghostDoubleClaims;
                else ++ghostOverpayments;
            } catch {}
            return;
        }
        market.claim(id, account, amount, proof);
        _recordClaim(id, account, amount);
        ++ghostCalls["claim"];
    }

    /// @notice Claim every leaf `account` can still be paid across all finalized tasks at once.
    function claimMany(uint256 actorSeed) external {
        address account = actorSeed % 4 == 3
            ? _validators[0]  // the greedy root pays validator 0
            : _annotators[actorSeed % _annotators.length];
        uint256 count = market.taskCount();
        uint256[] memory ids = new uint256[](count);
        uint256[] memory amounts = new uint256[](count);
        bytes32[][] memory proofs = new bytes32[][](count);
        uint256 n;
        for (uint256 id = 1; id <= count; ++id) {
            if (!_isFinalized(id) || ghostClaimCount[id][account] > 0) continue;
            Payout storage payout = _winningPayout(id);
            ITaskMarket.Task memory t = market.getTask(id);
            for (uint256 i; i < payout.accounts.length; ++i) {
                uint256 amount = payout.amounts[i];
                if (payout.accounts[i] != account || amount == 0 || t.paidOut + amount > t.totalPayout) continue;
                (ids[n], amounts[n], proofs[n]) = (id, amount, PayoutTree.proof(_tree(payout), i));
                ++n;
            }
        }
        if (n == 0) return;
        assembly ("memory-safe") {
            mstore(ids, n)
            mstore(amounts, n)
            mstore(proofs, n)
        }
        market.claimMany(ids, account, amounts, proofs);
        for (uint256 k; k < n; ++k) {
            _recordClaim(ids[k], account, amounts[k]);
        }
        ++ghostCalls["claimMany"];
    }

    // ================================================================ time

    /// @notice Jump just past one of a task's deadlines (so phases are reached quickly), or a
    /// little further in time when that deadline is already behind.
    function warp(uint256 taskSeed, uint256 phase, uint256 extra) external {
        uint256 count = market.taskCount();
        uint256 target = block.timestamp + bound(extra, 1, 6 hours);
        if (count > 0) {
            ITaskMarket.Task memory t = market.getTask(taskSeed % count + 1);
            uint256 deadline = phase % 3 == 0 ? t.commitDeadline : phase % 3 == 1 ? t.revealDeadline : t.attestDeadline;
            if (deadline >= block.timestamp) target = deadline + 1;
        }
        vm.warp(target);
        ++ghostCalls["warp"];
    }

    // ================================================================ settlement

    /// @notice finalize (or refund, which finalizes first) and account for the committee
    /// settlement: stake lost by losers, stake gained by winners, the rounding dust the
    /// market reports in the refund, and the outcome against the quorum rule.
    function _settle(uint256 id, bool viaRefund) internal returns (bool settled) {
        ITaskMarket.Attestation[] memory atts = market.attestationsOf(id);
        uint256[] memory before = new uint256[](atts.length);
        for (uint256 i; i < atts.length; ++i) {
            before[i] = staking.stakeOf(atts[i].validator);
        }
        uint256 staked = staking.totalStaked();
        ITaskMarket.Task memory t = market.getTask(id);
        uint256 requesterBefore = token.balanceOf(t.requester);
        if (viaRefund) {
            try market.refund(id) {}
            catch {
                return false;
            }
        } else {
            try market.finalize(id) {}
            catch {
                return false;
            }
        }
        settled = true;
        ++ghostCalls[viaRefund ? "refund" : "finalize"];
        t = market.getTask(id);
        _checkQuorum(t, atts, before, staked);
        uint256 refunded = viaRefund ? token.balanceOf(t.requester) - requesterBefore : t.refundable;
        uint256 forfeited = (_bonded(t) - t.revealCount) * t.annotatorBond;
        uint256 slashed;
        uint256 rewards;
        for (uint256 i; i < atts.length; ++i) {
            uint256 afterStake = staking.stakeOf(atts[i].validator);
            if (afterStake < before[i]) slashed += before[i] - afterStake;
            else rewards += afterStake - before[i];
        }
        if (t.status == ITaskMarket.TaskStatus.Void) {
            if (slashed + rewards != 0) ++ghostDisputeStakeChanges;
            if (refunded != uint256(t.rewardPool) + t.validatorFee + forfeited) ++ghostRefundMismatches;
            return true;
        }
        ghostFeesShared += t.validatorFee;
        ghostSlashed += slashed;
        ghostRewards += rewards;
        // What the refund holds beyond the unspent pool and forfeited bonds is the dust.
        ghostDust += refunded - (uint256(t.rewardPool) - t.totalPayout + forfeited);
    }
}
