// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "../utils/TestBase.sol";
import {PayoutTree} from "../utils/PayoutTree.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @title HandlerState
/// @notice The invariant handler's cast, ghost records and helpers: what the actions in
/// MarketHandler read and write, and what the invariants read back in bulk.
abstract contract HandlerState is TestBase {
    /// @notice Attested results come in three kinds: honest (revealed annotators share the
    /// pool), greedy (one validator takes the whole pool), and overpromising (honest leaves,
    /// but a total one wei short, so the last claim must fail).
    uint256 internal constant KINDS = 3;
    uint256 public constant MAX_TASKS = 6;
    bytes32 internal constant GOLD_ROOT = keccak256("gold");
    bytes32 internal constant GOLD_SALT = keccak256("gold salt");

    struct Payout {
        address[] accounts;
        uint256[] amounts;
        uint128 total;
        bytes32 root;
    }

    LabelToken public immutable token;
    ValidatorStaking public immutable staking;
    TaskMarket public immutable market;

    address[] internal _requesters;
    address[] internal _annotators;
    address[] internal _validators;

    /// @notice What `createTask` posted and `getTask` does not return: the deal's inputs, the
    /// posted rate, and the seat deadline from which the seal block follows.
    struct Shape {
        uint32 numItems;
        uint16 redundancy;
        uint32 batchSize;
        uint64 seatDeadline;
        uint128 rate;
    }

    mapping(uint256 taskId => Shape) public shapeOf;
    /// @notice Tasks whose honest validators sleep through rounds 0 and 1 and vote only in
    /// round 2, which assumption H still allows (§2.8): the path of `no_validator`, and the
    /// one way a task reaches round 2 while honest stake is a majority.
    mapping(uint256 taskId => bool) public honestAsleep;
    mapping(uint256 taskId => mapping(uint256 kind => Payout)) internal _payouts;
    mapping(uint256 taskId => mapping(address annotator => uint256)) internal _commitVersion;

    // ---------------------------------------------------------------- ghosts
    mapping(uint256 taskId => mapping(address account => uint256)) public ghostClaimCount;
    mapping(uint256 taskId => mapping(address account => uint256)) public ghostPaidTo;
    mapping(uint256 taskId => uint256) public ghostPaid;
    /// @notice Forbidden outcomes that succeeded: must stay zero.
    uint256 public ghostDoubleClaims;
    uint256 public ghostOverpayments;
    uint256 public ghostRefundMismatches;
    uint256 public ghostDisputeStakeChanges;
    /// @notice Settled votes whose stake moved against the final root (§5 invariant 7): a vote
    /// for another root not slashed, a vote for it slashed, or an honest validator slashed.
    uint256 public ghostSlashViolations;
    /// @notice Round 2's part of the pot reserved at finalization and not yet paid, per task;
    /// a round-2 reward beyond it, or a reserve without round 2, is a violation.
    mapping(uint256 taskId => uint256) public ghostReserved;
    uint256 public ghostReservedTotal;
    /// @notice A second refund, a cancel after commits, or an attestation promising more than
    /// the pool, that succeeded.
    uint256 public ghostForbidden;
    /// @notice Settlement flows: fee + slashed in, rewards + dust out.
    uint256 public ghostFeesShared;
    uint256 public ghostSlashed;
    uint256 public ghostRewards;
    uint256 public ghostDust;
    /// @notice Labels of an annotator's revealed batch that the deterministic rule accepts, on a
    /// seated task (§5 invariant 5): drawn from the batch the handler built, at most its size.
    mapping(uint256 taskId => mapping(address annotator => uint256)) public ghostAccepted;
    /// @notice How often each action really did something (for tuning the campaign).
    mapping(string action => uint256) public ghostCalls;

    constructor(
        LabelToken token_,
        ValidatorStaking staking_,
        TaskMarket market_,
        address[] memory requesters_,
        address[] memory annotators_,
        address[] memory validators_
    ) {
        token = token_;
        staking = staking_;
        market = market_;
        _requesters = requesters_;
        _annotators = annotators_;
        _validators = validators_;
    }

    function actors() external view returns (address[] memory all) {
        all = new address[](_requesters.length + _annotators.length + _validators.length);
        uint256 k;
        for (uint256 i; i < _requesters.length; ++i) {
            all[k++] = _requesters[i];
        }
        for (uint256 i; i < _annotators.length; ++i) {
            all[k++] = _annotators[i];
        }
        for (uint256 i; i < _validators.length; ++i) {
            all[k++] = _validators[i];
        }
    }

    function validators() external view returns (address[] memory) {
        return _validators;
    }

    /// @notice The accounts of the winning payout tree of a finalized task.
    function winningAccounts(uint256 id) external view returns (address[] memory) {
        return _winningPayout(id).accounts;
    }

    /// @notice What the handler saw paid to `account` across all tasks.
    mapping(address account => uint256) public ghostTotalPaidTo;

    /// @notice Settlement flows and forbidden outcomes, in one call (invariant checks run
    /// after every call, so they read the ghosts in bulk).
    function ghostLedger()
        external
        view
        returns (uint256 feesShared, uint256 slashed, uint256 rewards, uint256 dust, uint256 violations)
    {
        violations = ghostDoubleClaims + ghostOverpayments + ghostRefundMismatches + ghostDisputeStakeChanges
            + ghostForbidden + ghostSlashViolations;
        return (ghostFeesShared, ghostSlashed, ghostRewards, ghostDust, violations);
    }

    /// @notice `ghostPaidTo(id, account)` for several accounts.
    function ghostPaidToMany(uint256 id, address[] memory accounts) external view returns (uint256[] memory paid) {
        paid = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            paid[i] = ghostPaidTo[id][accounts[i]];
        }
    }

    /// @notice `ghostAccepted(id, account)` for several accounts.
    function ghostAcceptedMany(uint256 id, address[] memory accounts) external view returns (uint256[] memory n) {
        n = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            n[i] = ghostAccepted[id][accounts[i]];
        }
    }

    /// @notice `ghostPaid(id)` for tasks 1..count.
    function ghostPaidAll(uint256 count) external view returns (uint256[] memory paid) {
        paid = new uint256[](count + 1);
        for (uint256 id = 1; id <= count; ++id) {
            paid[id] = ghostPaid[id];
        }
    }

    /// @notice The only accounts a payout tree here can pay: the annotators, and validator 0
    /// (whom the greedy result pays).
    function payableAccounts() external view returns (address[] memory accounts) {
        accounts = new address[](_annotators.length + 1);
        for (uint256 i; i < _annotators.length; ++i) {
            accounts[i] = _annotators[i];
        }
        accounts[_annotators.length] = _validators[0];
    }

    // ================================================================ internals

    function _recordClaim(uint256 id, address account, uint256 amount) internal {
        ++ghostClaimCount[id][account];
        ghostPaidTo[id][account] += amount;
        ghostTotalPaidTo[account] += amount;
        ghostPaid[id] += amount;
    }

    function _payout(uint256 id, uint256 kind) internal returns (Payout storage payout) {
        payout = _payouts[id][kind];
        if (payout.root != bytes32(0)) return payout;
        ITaskMarket.Task memory t = market.getTask(id);
        uint256 revealed;
        for (uint256 i; i < _annotators.length; ++i) {
            if (market.commitmentOf(id, _annotators[i]) == market.REVEALED()) ++revealed;
        }
        // An open task (v1's rule) shares the pool, scaled; a seated one (`assigned@1`) pays the
        // posted rate per accepted label, never scaled: at most B accepted per seat, so the
        // total stays within S·B·r = P by construction.
        uint256 share = t.rewardPool / (revealed + 1);
        uint256 rate = shapeOf[id].rate;
        bool seated = t.seatLimit > 0;
        uint256 total;
        if (kind == 1) {
            payout.accounts.push(_validators[0]);
            payout.amounts.push(t.rewardPool);
            total = t.rewardPool;
        } else {
            for (uint256 i; i < _annotators.length; ++i) {
                address annotator = _annotators[i];
                if (market.commitmentOf(id, annotator) != market.REVEALED()) continue;
                uint256 amount = seated ? rate * ghostAccepted[id][annotator] : share;
                payout.accounts.push(annotator);
                payout.amounts.push(amount);
                total += amount;
            }
            // Kind 2 promises one wei less than its leaves add up to.
            if (kind == 2 && total > 0) --total;
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- total <= rewardPool < 2**96.
        payout.total = uint128(total);
        payout.root = PayoutTree.root(_tree(payout));
    }

    /// @notice The honest result of a task (kind 0): what the deterministic rule owes the
    /// annotators who revealed. Zero before anyone attested (it is built at the first attest,
    /// after the reveal deadline).
    function honestOf(uint256 id) external view returns (bytes32 root, uint128 total) {
        Payout storage payout = _payouts[id][0];
        return (payout.root, payout.total);
    }

    function _tree(Payout storage payout) internal view returns (PayoutTree.Tree memory) {
        return PayoutTree.build(payout.accounts, payout.amounts);
    }

    function _winningPayout(uint256 id) internal view returns (Payout storage) {
        ITaskMarket.Task memory t = market.getTask(id);
        for (uint256 kind; kind < KINDS; ++kind) {
            Payout storage payout = _payouts[id][kind];
            if (payout.root == t.payoutRoot && payout.total == t.totalPayout) return payout;
        }
        revert("handler: unknown winning root");
    }

    /// @notice The round a vote goes to now: the current one, or the next while a result is
    /// provisional (an appeal).
    function _voteRound(ITaskMarket.Task memory t) internal pure returns (uint8) {
        return t.provisional ? t.round + 1 : t.round;
    }

    /// @notice Whether `validator` may vote on the task now: enough stake, free stake for the
    /// round's lock share, no vote in that round yet, and not an honest one asleep.
    function _canAttest(uint256 id, address validator) internal view returns (bool) {
        ITaskMarket.Task memory t = market.getTask(id);
        uint8 round = _voteRound(t);
        if (round < 2 && honestAsleep[id] && !_isAdversary(validator)) return false;
        uint256 active = staking.stakeOf(validator);
        if (active < staking.minStake()) return false;
        uint16 lockBps = staking.slashBps() << round;
        // forge-lint: disable-next-line(unsafe-typecast) -- stakes here are far below 2**96.
        if (staking.lockAmount(uint96(active), lockBps) > active - staking.lockedOf(validator)) return false;
        if (round == 2) {
            (bytes32 key,,) = market.finalVoteOf(id, validator);
            return key == bytes32(0);
        }
        ITaskMarket.Attestation[] memory atts = market.roundAttestations(id, round);
        for (uint256 i; i < atts.length; ++i) {
            if (atts[i].validator == validator) return false;
        }
        return true;
    }

    /// @notice The adversary of assumption H (docs/settlement.md §2.8): validator 0, whom the
    /// greedy root pays. The handler stakes it no higher than `MAX_ADVERSARY_STAKE`, well under
    /// the 600 LABEL the honest validators (who never unstake) hold, so that with the rewards
    /// it can earn honest stake stays a majority of all.
    function _isAdversary(address validator) internal view returns (bool) {
        return validator == _validators[0];
    }

    uint256 public constant MAX_ADVERSARY_STAKE = 450 ether;

    /// @notice The first task, starting from `seed`, that satisfies `pred`.
    function _findTask(uint256 seed, function(uint256) internal view returns (bool) pred)
        internal
        view
        returns (uint256 id, bool found)
    {
        uint256 count = market.taskCount();
        for (uint256 k; k < count; ++k) {
            id = (seed % count + k) % count + 1;
            if (pred(id)) return (id, true);
        }
    }

    // Predicates ask phaseOf first: it is far cheaper than getTask, and most tasks fail it.

    function _isOpen(uint256 id) internal view returns (bool) {
        return market.phaseOf(id) != ITaskMarket.Phase.Closed;
    }

    function _isFinalized(uint256 id) internal view returns (bool) {
        return
            market.phaseOf(id) == ITaskMarket.Phase.Closed
                && market.getTask(id).status == ITaskMarket.TaskStatus.Finalized;
    }

    function _cancellable(uint256 id) internal view returns (bool) {
        ITaskMarket.Task memory t = market.getTask(id);
        return market.phaseOf(id) != ITaskMarket.Phase.Closed && _bonded(t) == 0;
    }

    /// @notice Annotators holding a bond until they reveal: committers of an open task, seat
    /// holders of a seated one (each kind counts only its own).
    function _bonded(ITaskMarket.Task memory t) internal pure returns (uint256) {
        return uint256(t.commitCount) + t.seatCount;
    }

    function _inSeatWindow(uint256 id) internal view returns (bool) {
        ITaskMarket.Task memory t = market.getTask(id);
        return t.status == ITaskMarket.TaskStatus.Open && t.seatLimit > 0 && block.timestamp <= t.seatDeadline;
    }

    function _inCommit(uint256 id) internal view returns (bool) {
        return market.phaseOf(id) == ITaskMarket.Phase.Commit;
    }

    function _inReveal(uint256 id) internal view returns (bool) {
        if (market.phaseOf(id) != ITaskMarket.Phase.Reveal) return false;
        for (uint256 i; i < _annotators.length; ++i) {
            bytes32 stored = market.commitmentOf(id, _annotators[i]);
            if (stored != bytes32(0) && stored != market.REVEALED()) return true;
        }
        return false;
    }

    function _committedInCommit(uint256 id) internal view returns (bool) {
        return market.phaseOf(id) == ITaskMarket.Phase.Commit && _bonded(market.getTask(id)) > 0;
    }

    function _revealedInReveal(uint256 id) internal view returns (bool) {
        return market.phaseOf(id) == ITaskMarket.Phase.Reveal && market.getTask(id).revealCount > 0;
    }

    function _goldRevealable(uint256 id) internal view returns (bool) {
        if (market.phaseOf(id) != ITaskMarket.Phase.Reveal) return false;
        ITaskMarket.Task memory t = market.getTask(id);
        return t.goldCommitment != bytes32(0) && !t.goldRevealed;
    }

    /// @dev The Attest phase already implies at least one reveal; round 2 takes votes after its
    /// window too.
    function _inAttest(uint256 id) internal view returns (bool) {
        ITaskMarket.Phase phase = market.phaseOf(id);
        if (phase == ITaskMarket.Phase.Attest) return true;
        if (phase != ITaskMarket.Phase.Finalizable) return false;
        ITaskMarket.Task memory t = market.getTask(id);
        return t.round == 2 && t.revealCount > 0;
    }

    /// @notice How many of its `batch` labels the rule accepts from `annotator`'s batch `version`
    /// on task `id`: between 0 and the batch size, fixed by the batch itself.
    function _acceptedOf(uint256 id, address annotator, uint256 version, uint256 batch)
        internal
        pure
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(id, annotator, _labelsRoot(version)))) % (batch + 1);
    }

    function _labelsRoot(uint256 version) internal pure returns (bytes32) {
        return keccak256(abi.encode("labels", version));
    }

    function _salt(uint256 version) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", version));
    }
}
