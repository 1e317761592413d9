// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PayoutTree} from "../utils/PayoutTree.sol";
import {HandlerClock} from "./HandlerClock.sol";
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
contract MarketHandler is HandlerClock {
    constructor(
        LabelToken token_,
        ValidatorStaking staking_,
        TaskMarket market_,
        address[] memory requesters_,
        address[] memory annotators_,
        address[] memory validators_
    ) HandlerClock(token_, staking_, market_, requesters_, annotators_, validators_) {}

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
        uint256 id = market.createTask(p);
        shapeOf[id] = Shape(p.numItems, p.redundancy, p.batchSize, p.seatDeadline, p.rewardPerLabel);
        honestAsleep[id] = (seed >> 102) % 4 == 1;
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

    /// @notice Refund: finalizes a due task (which pushes the refund); a second refund, or one
    /// after cancel, void or finalization, must fail.
    function refund(uint256 taskSeed) external {
        uint256 count = market.taskCount();
        if (count == 0) return;
        uint256 id = taskSeed % count + 1;
        ITaskMarket.Task memory t = market.getTask(id);
        if (t.status != ITaskMarket.TaskStatus.Open) {
            try market.refund(id) {
                ++ghostForbidden;
            } catch {}
            return;
        }
        _settle(id, true);
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
            _warpTo(market.getTask(id).commitDeadline + 1);
        }
        bool all = (actorSeed >> 128) % 2 == 0;
        for (uint256 k; k < _annotators.length; ++k) {
            address annotator = _annotators[(actorSeed % _annotators.length + k) % _annotators.length];
            bytes32 stored = market.commitmentOf(id, annotator);
            if (stored == bytes32(0) || stored == market.REVEALED()) continue;
            uint256 version = _commitVersion[id][annotator];
            vm.prank(annotator);
            market.reveal(id, _labelsRoot(version), "bafkreilabels", _salt(version));
            uint256 batch = shapeOf[id].batchSize;
            if (batch > 0) ghostAccepted[id][annotator] = _acceptedOf(id, annotator, version, batch);
            if (!all) break;
        }
        ++ghostCalls["reveal"];
    }

    // ================================================================ validator actions

    /// @notice Stake more; the adversary only up to `MAX_ADVERSARY_STAKE` (assumption H).
    function stake(uint256 actorSeed, uint256 amount) external {
        address validator = _validators[actorSeed % _validators.length];
        uint256 balance = token.balanceOf(validator);
        if (_isAdversary(validator)) {
            uint256 current = staking.stakeOf(validator);
            if (current + 1 >= MAX_ADVERSARY_STAKE) return;
            if (balance > MAX_ADVERSARY_STAKE - current - 1) balance = MAX_ADVERSARY_STAKE - current - 1;
        }
        if (balance == 0) return;
        vm.prank(validator);
        staking.stake(bound(amount, 1, balance));
        ++ghostCalls["stake"];
    }

    /// @notice Only the adversary unstakes: honest validators keep their stake, so they can
    /// always vote (the invariant deployment's 1% lock share leaves room for every round of
    /// every task) and keep the majority of assumption H. A frozen validator cannot unstake.
    function requestUnstake(uint256 actorSeed, uint256 amount) external {
        address validator = _validators[0];
        uint256 free = staking.stakeOf(validator) - staking.lockedOf(validator);
        if (free == 0) return;
        bool frozen = staking.frozenOf(validator) != 0;
        vm.prank(validator);
        try staking.requestUnstake(bound(amount ^ actorSeed, 1, free)) {
            if (frozen) ++ghostForbidden;
            ++ghostCalls["requestUnstake"];
        } catch {}
    }

    /// @notice Withdraw unbonded stake, sometimes waiting out the unbonding delay first.
    function withdraw(uint256 actorSeed, bool wait) external {
        address validator = _validators[actorSeed % _validators.length];
        IValidatorStaking.Unbonding memory u = staking.unbondingOf(validator);
        if (u.amount == 0) return;
        if (block.timestamp < u.releaseAt) {
            if (!wait) return;
            _warpTo(u.releaseAt);
        }
        vm.prank(validator);
        staking.withdraw();
        ++ghostCalls["withdraw"];
    }

    /// @notice One to three validators attest in the task's current round (or appeal a
    /// provisional result). Honest validators attest the honest root; the adversary a random
    /// kind (honest, greedy or overpromising). If no task takes votes, time first moves past
    /// the reveal deadline of a task that has reveals. Sometimes a validator first tries a
    /// result promising more than the pool, which must fail.
    function attest(uint256 taskSeed, uint256 actorSeed, uint256 kindSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _inAttest);
        if (!found) {
            (id, found) = _findTask(taskSeed, _revealedInReveal);
            if (!found) return;
            _warpTo(market.getTask(id).revealDeadline + 1);
        }
        uint256 n = 1 + (actorSeed >> 128) % 3;
        for (uint256 k; k < _validators.length && n > 0; ++k) {
            address validator = _validators[(actorSeed % _validators.length + k) % _validators.length];
            if (!_canAttest(id, validator)) continue;
            Payout storage payout = _payout(id, _isAdversary(validator) ? _kind(kindSeed >> (8 * k)) : 0);
            if ((kindSeed >> (64 + 8 * k)) % 16 == 1) {
                uint128 tooMuch = market.getTask(id).rewardPool + 1;
                vm.prank(validator);
                try market.attest(id, payout.root, tooMuch, "bafkreiresult") {
                    ++ghostForbidden;
                } catch {}
            }
            vm.prank(validator);
            try market.attest(id, payout.root, payout.total, "bafkreiresult") {
                --n;
            } catch {}
        }
        _checkRound2(id);
        ++ghostCalls["attest"];
    }

    /// @notice Honest (0) half the time, greedy (1) or overpromising (2) a quarter each.
    function _kind(uint256 seed) internal pure returns (uint256) {
        uint256 r = seed % 4;
        return r < 2 ? 0 : r - 1;
    }

    /// @notice Finalize an open task; when nothing is due yet, sometimes wait out its current
    /// deadline first (so the early, deadline, challenge and round-opening paths all run).
    function finalize(uint256 taskSeed, bool late) external {
        (uint256 id, bool found) = _findTask(taskSeed, _isOpen);
        if (!found) return;
        if (_settle(id, false) || !late) return;
        ITaskMarket.Task memory t = market.getTask(id);
        uint256 deadline =
            t.revealCount == 0 || block.timestamp <= t.revealDeadline ? t.revealDeadline : t.roundDeadline;
        if (deadline >= block.timestamp) _warpTo(deadline + 1);
        _settle(id, false);
    }

    /// @notice Settle one round-2 vote of a finalized task: a vote for the final root is paid
    /// from the reserve and never slashed; any other is slashed its lock and paid nothing.
    function settleVote(uint256 taskSeed, uint256 actorSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _isFinalized);
        if (!found) return;
        address validator = _validators[actorSeed % _validators.length];
        (bytes32 key, uint96 weight, bool settled) = market.finalVoteOf(id, validator);
        if (key == bytes32(0) || settled) {
            try market.settleVote(id, validator) {
                ++ghostForbidden;
            } catch {}
            return;
        }
        ITaskMarket.Task memory t = market.getTask(id);
        uint256 before = staking.stakeOf(validator);
        market.settleVote(id, validator);
        uint256 afterStake = staking.stakeOf(validator);
        bool won = key == keccak256(abi.encode(t.payoutRoot, uint96(t.totalPayout)));
        if (won) {
            uint256 reward = afterStake - before;
            if (reward > ghostReserved[id]) ++ghostSlashViolations;
            else ghostReserved[id] -= reward;
            ghostReservedTotal -= reward > ghostReservedTotal ? ghostReservedTotal : reward;
            ghostRewards += reward;
        } else if (before - afterStake != staking.lockAmount(weight, staking.slashBps() << 2)) {
            ++ghostSlashViolations;
        }
        if (!won && !_isAdversary(validator) && afterStake < before) ++ghostSlashViolations;
        ++ghostCalls["settleVote"];
    }

    /// @notice §5 invariant 8: move past a revealed task's delay bound (`delayBound`), the
    /// honest validators doing their duty on the way, and finalize it: under H it must then be
    /// `Finalized`, and a task that is not is recorded as a failure.
    function finalizeLate(uint256 taskSeed) external {
        (uint256 id, bool found) = _findTask(taskSeed, _revealedOpen);
        if (!found) return;
        uint256 bound = delayBound(market.getTask(id).attestDeadline);
        if (block.timestamp <= bound) _warpTo(bound + 1);
        if (market.getTask(id).status == ITaskMarket.TaskStatus.Open) _settle(id, false);
        if (market.getTask(id).status != ITaskMarket.TaskStatus.Finalized) ++ghostDelayFailures;
        ++ghostCalls["finalizeLate"];
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
            uint256 deadline = phase % 3 == 0 ? t.commitDeadline : phase % 3 == 1 ? t.revealDeadline : t.roundDeadline;
            if (deadline >= block.timestamp) target = deadline + 1;
        }
        _warpTo(target);
        ++ghostCalls["warp"];
    }

    // ================================================================ settlement

    /// @notice finalize (or refund, which finalizes first) and account for the settlement of
    /// rounds 0 and 1: every validator's stake before and after, checked against its votes
    /// (§5 invariant 7: a validator whose votes were all for other roots than the final one
    /// loses exactly their locks, one whose votes were all for it loses nothing, an honest one
    /// never loses), the refund the requester received against the one the market reports,
    /// and round 2's reserve (fee + slashed - rewards - dust; zero without round 2).
    function _settle(uint256 id, bool viaRefund) internal override returns (bool settled) {
        ITaskMarket.Task memory t = market.getTask(id);
        ITaskMarket.Attestation[] memory round0 = market.roundAttestations(id, 0);
        ITaskMarket.Attestation[] memory round1 = market.roundAttestations(id, 1);
        uint256[] memory before = new uint256[](_validators.length);
        for (uint256 i; i < _validators.length; ++i) {
            before[i] = staking.stakeOf(_validators[i]);
        }
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
        ++ghostCalls[viaRefund ? "refund" : "finalize"];
        t = market.getTask(id);
        if (t.status == ITaskMarket.TaskStatus.Open) {
            _checkRound2(id);
            return true;
        }
        settled = true;
        uint256 refunded = token.balanceOf(t.requester) - requesterBefore;
        if (refunded != t.refundable) ++ghostRefundMismatches;
        if (t.status == ITaskMarket.TaskStatus.Void) {
            for (uint256 i; i < _validators.length; ++i) {
                if (staking.stakeOf(_validators[i]) != before[i]) ++ghostDisputeStakeChanges;
            }
            return true;
        }
        uint256 slashed;
        uint256 rewards;
        for (uint256 i; i < _validators.length; ++i) {
            (uint256 lost, uint256 gained) = _checkSettled(t, _validators[i], before[i], round0, round1);
            slashed += lost;
            rewards += gained;
        }
        _recordLedger(id, t, refunded, slashed, rewards);
    }

    /// @notice The settlement's flows: fee + slashed in; rewards, the refund's dust and round
    /// 2's reserve out (the reserve is zero when round 2 was never reached).
    function _recordLedger(uint256 id, ITaskMarket.Task memory t, uint256 refunded, uint256 slashed, uint256 rewards)
        internal
    {
        uint256 forfeited = t.annotatorBond == 0 ? 0 : (_bonded(t) - t.revealCount) * t.annotatorBond;
        uint256 dust = refunded - (uint256(t.rewardPool) - t.totalPayout + forfeited);
        ghostFeesShared += t.validatorFee;
        ghostSlashed += slashed;
        ghostRewards += rewards;
        ghostDust += dust;
        if (t.validatorFee + slashed < rewards + dust) {
            ++ghostSlashViolations;
            return;
        }
        uint256 reserved = t.validatorFee + slashed - rewards - dust;
        if (reserved != 0 && t.round != 2) ++ghostSlashViolations;
        ghostReserved[id] = reserved;
        ghostReservedTotal += reserved;
    }

    /// @notice One validator's stake change at a finalization against its round 0-1 votes.
    function _checkSettled(
        ITaskMarket.Task memory t,
        address validator,
        uint256 before,
        ITaskMarket.Attestation[] memory round0,
        ITaskMarket.Attestation[] memory round1
    ) internal returns (uint256 lost, uint256 gained) {
        (uint256 winLocks, uint256 loseLocks, uint256 votes) = _votesOf(t, validator, round0, 0);
        (uint256 w1, uint256 l1, uint256 v1) = _votesOf(t, validator, round1, 1);
        (winLocks, loseLocks, votes) = (winLocks + w1, loseLocks + l1, votes + v1);
        uint256 afterStake = staking.stakeOf(validator);
        if (afterStake < before) lost = before - afterStake;
        else gained = afterStake - before;
        if (votes == 0) {
            if (lost + gained != 0) ++ghostSlashViolations;
        } else if (winLocks == 0 && lost != loseLocks) {
            ++ghostSlashViolations;
        } else if (loseLocks == 0 && lost != 0) {
            ++ghostSlashViolations;
        }
        if (!_isAdversary(validator) && lost != 0) ++ghostSlashViolations;
        // A validator that voted both ways moved by reward - locks: split it for the ledger.
        if (winLocks != 0 && loseLocks != 0) (lost, gained) = (loseLocks, afterStake + loseLocks - before);
    }

    function _votesOf(ITaskMarket.Task memory t, address validator, ITaskMarket.Attestation[] memory atts, uint8 round)
        internal
        view
        returns (uint256 winLocks, uint256 loseLocks, uint256 votes)
    {
        uint16 lockBps = staking.slashBps() << round;
        for (uint256 i; i < atts.length; ++i) {
            if (atts[i].validator != validator) continue;
            ++votes;
            uint256 lock = staking.lockAmount(atts[i].weight, lockBps);
            if (atts[i].payoutRoot == t.payoutRoot && atts[i].totalPayout == t.totalPayout) winLocks += lock;
            else loseLocks += lock;
        }
    }
}
