// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IReviewBoard} from "./interfaces/IReviewBoard.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {ValidatorStaking} from "./ValidatorStaking.sol";

/// @title ReviewBoard
/// @notice The review round of market tasks (docs/review.md §6), beside the market rather
/// than in it: TaskMarket is within a few hundred bytes of EIP-170.
/// @dev Solvency: for every review the board holds `held` = the fee escrow plus the bonds not
/// yet returned, less what settlements paid; a settlement never pays more than `held`, and
/// `finishReview` pays out exactly `held` (refund plus burn). So the board's balance is the
/// sum of `held` over reviews not finished (the conservation test checks it). The board has no
/// owner and no parameter that changes after deployment.
contract ReviewBoard is IReviewBoard, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The bit that marks a payout leaf as a review leaf (no market claim can pay it).
    uint256 public constant REVIEW_TAG = 1 << 255;
    /// @notice The commitment's domain tag, `bytes32("review@1")`.
    bytes32 public constant COMMITMENT_TAG = "review@1";
    /// @notice Most reviewer seats per task (the void refund loops over them).
    uint8 public constant MAX_REVIEWERS = 32;
    /// @notice Longest review window minimum and settlement period (about 136 years): a
    /// timestamp plus either then stays far below 2**64, so no deadline sum can overflow and
    /// lock a review's money.
    uint64 public constant MAX_PERIOD = type(uint32).max;
    /// @notice Where burned tokens go (LabelToken has no burn; nobody holds this key).
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;

    IERC20 private immutable _token;
    ITaskMarket private immutable _market;
    /// @dev The concrete type: `minStake` is not part of IValidatorStaking, whose bytes the
    /// market shares.
    ValidatorStaking private immutable _staking;
    uint64 private immutable _minReviewTime;
    uint64 private immutable _settlePeriod;

    mapping(uint256 taskId => Review) private _reviews;
    mapping(uint256 taskId => mapping(address reviewer => Seat)) private _seats;
    mapping(uint256 taskId => address[]) private _reviewers;

    /// @param token_ The market's token (fees and bonds are paid in it).
    /// @param market_ The market whose tasks are reviewed.
    /// @param staking_ The market's validator staking (who may review, and with what weight).
    /// @param minReviewTime_ Least seconds of each review window (1 hour by default: a person judges).
    /// @param settlePeriod_ Seconds, after the board first sees a task final, during which
    /// unsettled reviewers may still be settled (30 days by default).
    constructor(
        IERC20 token_,
        ITaskMarket market_,
        ValidatorStaking staking_,
        uint64 minReviewTime_,
        uint64 settlePeriod_
    ) {
        if (
            address(token_) == address(0) || address(market_) == address(0) || address(staking_) == address(0)
                || minReviewTime_ == 0 || settlePeriod_ == 0 || minReviewTime_ > MAX_PERIOD
                || settlePeriod_ > MAX_PERIOD
        ) revert ReviewBoardInvalidConfig();
        _token = token_;
        _market = market_;
        _staking = staking_;
        _minReviewTime = minReviewTime_;
        _settlePeriod = settlePeriod_;
    }

    // ---------------------------------------------------------------- requester

    /// @inheritdoc IReviewBoard
    function openReview(uint256 taskId, ReviewTerms calldata terms) external nonReentrant {
        ITaskMarket.Task memory task = _market.getTask(taskId);
        if (msg.sender != task.requester) revert ReviewNotRequester(taskId, msg.sender);
        if (task.status != ITaskMarket.TaskStatus.Open) revert ReviewTaskStatus(taskId, task.status);
        if (block.timestamp > task.revealDeadline) revert ReviewClosed(taskId, task.revealDeadline);
        Review storage review = _reviews[taskId];
        if (review.requester != address(0)) revert ReviewAlreadyOpen(taskId);
        if (
            terms.feePerVote == 0 || terms.slashPerVote == 0 || terms.cap == 0 || terms.maxReviewers == 0
                || terms.maxReviewers > MAX_REVIEWERS
        ) revert ReviewInvalidTerms(terms.feePerVote, terms.slashPerVote, terms.cap, terms.maxReviewers);
        uint64 least = _minReviewTime;
        // Each sum is of a deadline below 2**40 (the market's) or a checked one and an
        // immutable period; checked arithmetic rejects a period so large it overflows.
        if (
            terms.commitDeadline < task.revealDeadline + least || terms.revealDeadline < terms.commitDeadline + least
                || terms.goldDeadline < terms.revealDeadline + least || terms.goldDeadline > task.attestDeadline
        ) {
            revert ReviewInvalidWindows(
                task.revealDeadline, terms.commitDeadline, terms.revealDeadline, terms.goldDeadline, task.attestDeadline
            );
        }
        uint256 escrow = uint256(terms.cap) * terms.maxReviewers * terms.feePerVote;
        if (escrow > type(uint96).max) revert ReviewAmountTooLarge(escrow);
        uint256 bond = uint256(terms.cap) * terms.slashPerVote;
        if (bond > type(uint96).max) revert ReviewAmountTooLarge(bond);

        review.requester = msg.sender;
        review.maxReviewers = terms.maxReviewers;
        review.feePerVote = terms.feePerVote;
        review.slashPerVote = terms.slashPerVote;
        review.cap = terms.cap;
        review.commitDeadline = terms.commitDeadline;
        review.revealDeadline = terms.revealDeadline;
        review.goldDeadline = terms.goldDeadline;
        // forge-lint: disable-next-line(unsafe-typecast) -- below 2**96 (checked above).
        review.held = uint128(escrow);
        if (terms.goldCommitment != bytes32(0)) review.goldCommitment = terms.goldCommitment;
        emit ReviewOpened(taskId, msg.sender, terms, escrow);
        _token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @inheritdoc IReviewBoard
    function revealReviewGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external {
        Review storage review = _review(taskId);
        if (msg.sender != review.requester) revert ReviewNotRequester(taskId, msg.sender);
        if (review.goldCommitment == bytes32(0)) revert ReviewNoGold(taskId);
        if (review.goldRevealed) revert ReviewGoldAlreadyRevealed(taskId);
        _requireWindow(taskId, review.revealDeadline, review.goldDeadline);
        if (keccak256(abi.encode(goldRoot, salt)) != review.goldCommitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        review.goldRevealed = true;
        emit ReviewGoldRevealed(taskId, goldRoot, goldCid);
    }

    // ---------------------------------------------------------------- reviewer

    /// @inheritdoc IReviewBoard
    function commitReview(uint256 taskId, bytes32 commitment) external nonReentrant {
        Review storage review = _review(taskId);
        if (commitment == bytes32(0)) revert ReviewEmptyCommitment();
        // phaseOf, not getTask: the phase says "open and past its reveal deadline" for a
        // fraction of the gas (the whole task view costs about 19,000); the view is read only
        // to name the deadline or status in a revert.
        ITaskMarket.Phase phase = _market.phaseOf(taskId);
        if (phase == ITaskMarket.Phase.Commit || phase == ITaskMarket.Phase.Reveal) {
            revert ReviewTooEarly(taskId, _market.getTask(taskId).revealDeadline);
        }
        if (phase == ITaskMarket.Phase.Closed) revert ReviewTaskStatus(taskId, _market.getTask(taskId).status);
        if (block.timestamp > review.commitDeadline) revert ReviewClosed(taskId, review.commitDeadline);
        Seat storage seat = _seats[taskId][msg.sender];
        bool first = seat.commitment == bytes32(0);
        if (first) {
            // The review's requester is the task's (openReview checked it).
            _requireEligible(taskId, review.requester, msg.sender);
            uint8 count = review.reviewerCount;
            if (count == review.maxReviewers) revert ReviewSeatsFull(taskId, review.maxReviewers);
            uint256 stake = _staking.stakeOf(msg.sender);
            // forge-lint: disable-next-line(unsafe-typecast) -- the staking contract keeps stakes below 2**96.
            seat.weight = uint96(stake);
            // unchecked: count < maxReviewers <= 32.
            unchecked {
                review.reviewerCount = count + 1;
            }
            _reviewers[taskId].push(msg.sender);
        }
        seat.commitment = commitment;
        if (first) _addHeld(review, _bond(review));
        emit ReviewCommitted(taskId, msg.sender, commitment, seat.weight);
        if (first) _token.safeTransferFrom(msg.sender, address(this), _bond(review));
    }

    /// @inheritdoc IReviewBoard
    function revealReview(uint256 taskId, bytes32 votesRoot, string calldata votesCid, bytes32 salt) external {
        Review storage review = _review(taskId);
        Seat storage seat = _seats[taskId][msg.sender];
        if (seat.commitment == bytes32(0)) revert ReviewNotReviewer(taskId, msg.sender);
        if (seat.revealed) revert ReviewAlreadyRevealed(taskId, msg.sender);
        _requireWindow(taskId, review.commitDeadline, review.revealDeadline);
        if (reviewCommitment(taskId, msg.sender, votesRoot, salt) != seat.commitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        seat.revealed = true;
        emit ReviewRevealed(taskId, msg.sender, votesRoot, votesCid);
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IReviewBoard
    function settle(
        uint256 taskId,
        address reviewer,
        uint96 pay,
        uint96 slashed,
        uint32 votes,
        bytes32[] calldata proof
    ) external nonReentrant {
        Review storage review = _review(taskId);
        if (review.finished) revert ReviewAlreadyFinished(taskId);
        Seat storage seat = _seats[taskId][reviewer];
        if (seat.commitment == bytes32(0)) revert ReviewNotReviewer(taskId, reviewer);
        if (seat.settled) revert ReviewAlreadySettled(taskId, reviewer);
        ITaskMarket.Task memory task = _market.getTask(taskId);
        if (task.status != ITaskMarket.TaskStatus.Finalized) revert ReviewTaskStatus(taskId, task.status);
        uint256 amount = reviewLeafAmount(pay, slashed, votes);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(reviewer, amount))));
        if (!MerkleProof.verifyCalldata(proof, task.payoutRoot, leaf)) {
            revert ReviewInvalidProof(taskId, reviewer, amount);
        }
        uint256 bond = _bond(review);
        // A slash above the bond cannot be returned as `bond - slashed`; more votes than the
        // cap would charge the requester more than its escrow (votes <= cap for each of at
        // most maxReviewers seats keeps `charged <= escrow`).
        if (slashed > bond || votes > review.cap) {
            revert ReviewInvalidSettlement(taskId, reviewer, pay, slashed, votes);
        }
        uint256 out = uint256(pay) + (bond - slashed);
        uint128 held = review.held;
        if (out > held) revert ReviewInvalidSettlement(taskId, reviewer, pay, slashed, votes);

        seat.settled = true;
        // unchecked: settledCount < reviewerCount <= 32 (each seat settles once); out <= held
        // (checked above); charged stays <= escrow < 2**96 (votes <= cap, one leaf per seat).
        unchecked {
            ++review.settledCount;
            // forge-lint: disable-next-line(unsafe-typecast) -- out <= held < 2**128.
            review.held = held - uint128(out);
            review.charged += uint128(votes) * review.feePerVote;
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- a timestamp fits 64 bits.
        if (review.finalSeenAt == 0) review.finalSeenAt = uint64(block.timestamp);
        emit ReviewSettled(taskId, reviewer, pay, slashed, votes);
        if (out != 0) _token.safeTransfer(reviewer, out);
    }

    /// @inheritdoc IReviewBoard
    function finishReview(uint256 taskId) external nonReentrant {
        Review storage review = _review(taskId);
        if (review.finished) revert ReviewAlreadyFinished(taskId);
        ITaskMarket.TaskStatus status = _market.getTask(taskId).status;
        if (status == ITaskMarket.TaskStatus.Void || status == ITaskMarket.TaskStatus.Cancelled) {
            _finishUnreviewed(taskId, review);
            return;
        }
        if (status != ITaskMarket.TaskStatus.Finalized) revert ReviewTaskStatus(taskId, status);
        if (review.settledCount < review.reviewerCount) {
            uint64 seen = review.finalSeenAt;
            if (seen == 0) {
                // forge-lint: disable-next-line(unsafe-typecast) -- a timestamp fits 64 bits.
                review.finalSeenAt = uint64(block.timestamp);
                emit ReviewSettlementStarted(taskId, uint64(block.timestamp) + _settlePeriod);
                return;
            }
            if (block.timestamp <= seen + _settlePeriod) revert ReviewSettling(taskId, seen + _settlePeriod);
        }
        uint256 held = review.held;
        uint256 unspent = _escrow(review) - review.charged;
        uint256 refund = unspent < held ? unspent : held;
        // unchecked: refund <= held.
        uint256 burned;
        unchecked {
            burned = held - refund;
        }
        review.held = 0;
        review.finished = true;
        emit ReviewFinished(taskId, refund, burned);
        if (refund != 0) _token.safeTransfer(review.requester, refund);
        if (burned != 0) _token.safeTransfer(BURN, burned);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IReviewBoard
    function reviewOf(uint256 taskId) external view returns (Review memory) {
        return _reviews[taskId];
    }

    /// @inheritdoc IReviewBoard
    function seatOf(uint256 taskId, address reviewer) external view returns (Seat memory) {
        return _seats[taskId][reviewer];
    }

    /// @inheritdoc IReviewBoard
    function reviewersOf(uint256 taskId) external view returns (address[] memory) {
        return _reviewers[taskId];
    }

    /// @inheritdoc IReviewBoard
    function reviewCommitment(uint256 taskId, address reviewer, bytes32 votesRoot, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(COMMITMENT_TAG, taskId, reviewer, votesRoot, salt));
    }

    /// @inheritdoc IReviewBoard
    function reviewLeafAmount(uint96 pay, uint96 slashed, uint32 votes) public pure returns (uint256) {
        return REVIEW_TAG | (uint256(votes) << 192) | (uint256(slashed) << 96) | pay;
    }

    /// @inheritdoc IReviewBoard
    function market() external view returns (ITaskMarket) {
        return _market;
    }

    /// @inheritdoc IReviewBoard
    function minReviewTime() external view returns (uint64) {
        return _minReviewTime;
    }

    /// @inheritdoc IReviewBoard
    function settlePeriod() external view returns (uint64) {
        return _settlePeriod;
    }

    // ---------------------------------------------------------------- internals

    function _review(uint256 taskId) private view returns (Review storage review) {
        review = _reviews[taskId];
        if (review.requester == address(0)) revert ReviewNotOpen(taskId);
    }

    /// @dev A step open after `opensAfter` until `deadline`, both included as the market's are.
    function _requireWindow(uint256 taskId, uint64 opensAfter, uint64 deadline) private view {
        if (block.timestamp <= opensAfter) revert ReviewTooEarly(taskId, opensAfter);
        if (block.timestamp > deadline) revert ReviewClosed(taskId, deadline);
    }

    /// @dev A reviewer is a staked validator and no party to the task: not its requester, and
    /// no seat or commitment on it (an annotator would judge its own labels).
    function _requireEligible(uint256 taskId, address requester, address reviewer) private view {
        if (
            reviewer == requester || _market.hasSeat(taskId, reviewer)
                || _market.commitmentOf(taskId, reviewer) != bytes32(0)
        ) revert ReviewerIsParty(taskId, reviewer);
        uint256 stake = _staking.stakeOf(reviewer);
        uint256 minimum = _staking.minStake();
        if (stake < minimum || stake == 0) revert ReviewerBelowMinimum(reviewer, stake, minimum);
    }

    /// @dev A void or cancelled task was never reviewed: every bond back, the escrow refunded.
    function _finishUnreviewed(uint256 taskId, Review storage review) private {
        address[] storage reviewers = _reviewers[taskId];
        uint256 count = reviewers.length;
        uint256 bond = _bond(review);
        // Nothing was settled (settle needs a finalized task), so held = escrow + count * bond.
        uint256 refund = review.held - count * bond;
        review.held = 0;
        review.finished = true;
        emit ReviewFinished(taskId, refund, 0);
        _token.safeTransfer(review.requester, refund);
        // Bounded: count <= MAX_REVIEWERS.
        for (uint256 i; i < count; ++i) {
            _token.safeTransfer(reviewers[i], bond);
        }
    }

    function _addHeld(Review storage review, uint256 amount) private {
        // unchecked: escrow and every bond are below 2**96 and there are at most 32 bonds.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast) -- see above.
            review.held += uint128(amount);
        }
    }

    function _bond(Review storage review) private view returns (uint256) {
        return uint256(review.cap) * review.slashPerVote;
    }

    function _escrow(Review storage review) private view returns (uint256) {
        return uint256(review.cap) * review.maxReviewers * review.feePerVote;
    }
}
