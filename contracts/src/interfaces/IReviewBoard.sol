// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "./ITaskMarket.sol";

/// @title IReviewBoard
/// @notice The review round of a market task (docs/review.md, `review@1`), kept out of the
/// market: staked validators commit to and reveal votes on the task's contested items
/// between its reveal deadline and its attest deadline, the requester reveals its hidden
/// review gold, and the round's pay and slashes are settled from *review leaves* of the
/// task's final payout root, so they get the full protection of the market's settlement
/// rounds without a vote of their own.
/// @dev The board reads the market only through its external views (`getTask`,
/// `hasSeat`, `commitmentOf`) and the staking contract through `stakeOf` and `minStake`; it
/// never calls a market or staking function that changes state. A review leaf is a market
/// leaf `keccak256(bytes.concat(keccak256(abi.encode(reviewer, amount))))` whose amount
/// carries `REVIEW_TAG = 1 << 255`: the market can never pay it (its claim needs
/// `paidOut + amount <= totalPayout < 2**96`).
/// Lifecycle of a review: `openReview` (requester, until the task's reveal deadline, escrows
/// `cap * maxReviewers * feePerVote`) → `commitReview` (reviewers, after the task's reveal
/// deadline until `commitDeadline`, each posting a bond of `cap * slashPerVote`) →
/// `revealReview` (until `revealDeadline`) → `revealReviewGold` (requester, until
/// `goldDeadline <= attestDeadline`) → the market task is finalized → `settle` (anyone, per
/// reviewer, with the review leaf's proof) → `finishReview` (anyone: the requester gets
/// back the fees it did not spend, the rest is burned).
interface IReviewBoard {
    /// @notice What the requester chooses when it opens a review.
    /// @param feePerVote `r`: tokens paid per revealed vote.
    /// @param slashPerVote `s`: a reviewer's bond per contested item, lost per incoherent vote.
    /// @param cap Most contested items, `floor(contested_share * numItems)` as the manifest's
    /// `review` section states (nodes check it: a mismatch means the task is not reviewed).
    /// @param maxReviewers `m`, the reviewer seats, in [1, 32].
    /// @param commitDeadline Last second of `commitReview`.
    /// @param revealDeadline Last second of `revealReview`.
    /// @param goldDeadline Last second of `revealReviewGold`, at most the task's attest deadline.
    /// @param goldCommitment `keccak256(abi.encode(goldRoot, salt))` of the hidden review gold
    /// (`labelnet/gold@2`); zero for none.
    struct ReviewTerms {
        uint96 feePerVote;
        uint96 slashPerVote;
        uint32 cap;
        uint8 maxReviewers;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 goldDeadline;
        bytes32 goldCommitment;
    }

    /// @notice A review as stored. `held` is what the board holds for it (fee escrow and
    /// unreturned bonds, less what settlements paid); `charged` is the fees settled leaves
    /// bought (`votes * feePerVote`); `finalSeenAt` the first time the board saw the task
    /// finalized, which starts the settlement period.
    struct Review {
        address requester;
        uint8 maxReviewers;
        uint8 reviewerCount;
        uint8 settledCount;
        bool goldRevealed;
        bool finished;
        uint96 feePerVote;
        uint96 slashPerVote;
        uint32 cap;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 goldDeadline;
        uint64 finalSeenAt;
        uint128 held;
        uint128 charged;
        bytes32 goldCommitment;
    }

    /// @notice One reviewer's seat: its vote commitment, its weight (active stake at its
    /// first commit), whether it revealed and whether its leaf was settled.
    struct Seat {
        bytes32 commitment;
        uint96 weight;
        bool revealed;
        bool settled;
    }

    /// @notice Emitted when a requester opens the review of `taskId` and escrows `escrow`.
    event ReviewOpened(uint256 indexed taskId, address indexed requester, ReviewTerms terms, uint256 escrow);
    /// @notice Emitted when `reviewer` commits (or replaces its commitment); `weight` is its stake.
    event ReviewCommitted(uint256 indexed taskId, address indexed reviewer, bytes32 commitment, uint256 weight);
    /// @notice Emitted when `reviewer` reveals its vote batch (a `labelnet/labels@2` batch at `votesCid`).
    event ReviewRevealed(uint256 indexed taskId, address indexed reviewer, bytes32 votesRoot, string votesCid);
    /// @notice Emitted when the requester reveals the hidden review gold at `goldCid`.
    event ReviewGoldRevealed(uint256 indexed taskId, bytes32 goldRoot, string goldCid);
    /// @notice Emitted when `reviewer`'s review leaf is settled: `pay` plus `bond - slashed`
    /// sent to it, `votes * feePerVote` charged to the requester's escrow.
    event ReviewSettled(uint256 indexed taskId, address indexed reviewer, uint256 pay, uint256 slashed, uint256 votes);
    /// @notice Emitted when the board first sees the task finalized with reviewers unsettled:
    /// `finishReview` may burn their bonds after `endsAt`.
    event ReviewSettlementStarted(uint256 indexed taskId, uint64 endsAt);
    /// @notice Emitted when a review ends: `refund` to the requester, `burned` sent to `BURN`.
    event ReviewFinished(uint256 indexed taskId, uint256 refund, uint256 burned);

    /// @notice A zero address, or a period that is zero or above `MAX_PERIOD`, in the constructor.
    error ReviewBoardInvalidConfig();
    /// @notice The caller is not the task's requester.
    error ReviewNotRequester(uint256 taskId, address caller);
    /// @notice The task already has a review.
    error ReviewAlreadyOpen(uint256 taskId);
    /// @notice The task has no review.
    error ReviewNotOpen(uint256 taskId);
    /// @notice The market task is not in the status this call needs.
    error ReviewTaskStatus(uint256 taskId, ITaskMarket.TaskStatus status);
    /// @notice `feePerVote`, `slashPerVote` and `cap` must be positive, `maxReviewers` in [1, 32].
    error ReviewInvalidTerms(uint96 feePerVote, uint96 slashPerVote, uint32 cap, uint8 maxReviewers);
    /// @notice Windows must satisfy `taskReveal + MIN <= commit`, `commit + MIN <= reveal`,
    /// `reveal + MIN <= gold <= taskAttest`.
    error ReviewInvalidWindows(
        uint64 taskRevealDeadline,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint64 goldDeadline,
        uint64 attestDeadline
    );
    /// @notice The fee escrow or the bond does not fit in 96 bits.
    error ReviewAmountTooLarge(uint256 amount);
    /// @notice The window of this step closed at `deadline`.
    error ReviewClosed(uint256 taskId, uint64 deadline);
    /// @notice The window of this step opens only after `opensAfter`.
    error ReviewTooEarly(uint256 taskId, uint64 opensAfter);
    /// @notice All `maxReviewers` seats are taken (first come, first seated).
    error ReviewSeatsFull(uint256 taskId, uint8 maxReviewers);
    /// @notice The reviewer is the task's requester, or holds a seat or a commitment on it.
    error ReviewerIsParty(uint256 taskId, address reviewer);
    /// @notice The reviewer's active stake is below the staking minimum.
    error ReviewerBelowMinimum(address reviewer, uint256 stake, uint256 minimum);
    /// @notice A zero commitment.
    error ReviewEmptyCommitment();
    /// @notice The account has no vote commitment on the task.
    error ReviewNotReviewer(uint256 taskId, address reviewer);
    /// @notice The reviewer already revealed.
    error ReviewAlreadyRevealed(uint256 taskId, address reviewer);
    /// @notice The revealed root and salt do not hash to the commitment.
    error CommitmentMismatch(uint256 taskId, address account);
    /// @notice The review has no hidden gold commitment.
    error ReviewNoGold(uint256 taskId);
    /// @notice The hidden review gold was already revealed.
    error ReviewGoldAlreadyRevealed(uint256 taskId);
    /// @notice The reviewer's leaf was already settled.
    error ReviewAlreadySettled(uint256 taskId, address reviewer);
    /// @notice The proof does not lead from the review leaf `(reviewer, amount)` to the task's payout root.
    error ReviewInvalidProof(uint256 taskId, address reviewer, uint256 amount);
    /// @notice A proven leaf the board cannot pay: `slashed` above the bond, `votes` above the
    /// cap, or more than the review holds (only a wrong final root can state one).
    error ReviewInvalidSettlement(uint256 taskId, address reviewer, uint96 pay, uint96 slashed, uint32 votes);
    /// @notice Reviewers are unsettled and the settlement period runs until `endsAt`.
    error ReviewSettling(uint256 taskId, uint64 endsAt);
    /// @notice The review already ended.
    error ReviewAlreadyFinished(uint256 taskId);

    /// @notice Requester only, while the task is open and until its reveal deadline: open the
    /// task's review with `terms` and escrow `cap * maxReviewers * feePerVote` (transferFrom).
    function openReview(uint256 taskId, ReviewTerms calldata terms) external;

    /// @notice Staked validators (`stakeOf >= minStake`) other than the task's requester and
    /// annotators, after the task's reveal deadline until `commitDeadline`: commit to a vote
    /// batch, `commitment = reviewCommitment(taskId, reviewer, votesRoot, salt)`. The first
    /// commit takes a seat and pulls the bond `cap * slashPerVote`; later ones replace it.
    function commitReview(uint256 taskId, bytes32 commitment) external;

    /// @notice After `commitDeadline` until `revealDeadline`: reveal the committed vote batch.
    function revealReview(uint256 taskId, bytes32 votesRoot, string calldata votesCid, bytes32 salt) external;

    /// @notice Requester only, after `revealDeadline` until `goldDeadline`: reveal the hidden
    /// review gold committed at `openReview`.
    function revealReviewGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external;

    /// @notice Anyone, once the market task is finalized: settle `reviewer`'s review leaf of the
    /// final payout root, `amount = reviewLeafAmount(pay, slashed, votes)`. Sends `pay + bond -
    /// slashed` to the reviewer and charges `votes * feePerVote` to the requester's escrow.
    function settle(
        uint256 taskId,
        address reviewer,
        uint96 pay,
        uint96 slashed,
        uint32 votes,
        bytes32[] calldata proof
    ) external;

    /// @notice Anyone: end the review. A void or cancelled task refunds the escrow and every
    /// bond. A finalized task with every reviewer settled (or once the settlement period after
    /// the board first saw it final has passed) refunds `escrow - charged` to the requester and
    /// burns the rest (slashes and fees not paid, and the bonds of reviewers nobody settled).
    /// The first call on a finalized task with unsettled reviewers only starts that period.
    function finishReview(uint256 taskId) external;

    /// @notice The stored review (all zero if none).
    function reviewOf(uint256 taskId) external view returns (Review memory);

    /// @notice A reviewer's seat (all zero if none).
    function seatOf(uint256 taskId, address reviewer) external view returns (Seat memory);

    /// @notice The reviewers of a task, in seat order.
    function reviewersOf(uint256 taskId) external view returns (address[] memory);

    /// @notice `keccak256(abi.encode(bytes32("review@1"), taskId, reviewer, votesRoot, salt))`,
    /// as node/protocol/review.review_commitment.
    function reviewCommitment(uint256 taskId, address reviewer, bytes32 votesRoot, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice A review leaf's amount: `REVIEW_TAG | votes << 192 | slashed << 96 | pay`, as
    /// node/protocol/review.review_leaf_amount.
    function reviewLeafAmount(uint96 pay, uint96 slashed, uint32 votes) external pure returns (uint256);

    /// @notice The market whose tasks this board reviews.
    function market() external view returns (ITaskMarket);

    /// @notice Least seconds of each review window.
    function minReviewTime() external view returns (uint64);

    /// @notice Seconds after the board first sees a task final before unsettled bonds are burned.
    function settlePeriod() external view returns (uint64);
}
