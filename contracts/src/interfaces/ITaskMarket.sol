// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ITaskMarket
/// @notice Escrowed labeling tasks: requesters post a bounty, annotators commit to and then
/// reveal label batches, staked validators attest the payout Merkle root computed by the
/// task's consensus algorithm, and contributors claim with Merkle proofs.
/// @dev Storage holds only 32-byte roots, counters and amounts; CIDs travel in calldata and
/// events. No function loops over annotators or labels: the only loop is over the validator
/// committee, whose size is bounded by an immutable.
/// Market v2 (`version() == 2`) adds seats (docs/settlement.md §1.2): a task posted with a
/// `batchSize` has `numItems * redundancy / batchSize` seats, claimed on chain until its
/// `seatDeadline`, and only a seat holder may commit. A task posted with `batchSize == 0` is
/// an open task with v1's rules: no seats, and anyone may commit.
interface ITaskMarket {
    /// @notice Lifecycle state. While `Open`, the phase follows from the deadlines.
    enum TaskStatus {
        None,
        Open,
        Finalized,
        Disputed,
        Cancelled
    }

    /// @notice Where an `Open` task is in time.
    enum Phase {
        None,
        Commit,
        Reveal,
        Attest,
        Finalizable,
        Closed
    }

    /// @notice What a requester chooses when posting a task.
    /// @param manifestCid CID of the task manifest (instructions, classes, item pages).
    /// @param algorithm Consensus algorithm id and version, e.g. "ds-gold@1" left-aligned.
    /// @param goldCommitment keccak256(abi.encode(goldRoot, salt)); zero for no gold.
    /// @param rewardPerLabel Tokens paid per accepted label.
    /// @param validatorFee Tokens shared by the validators that attested the winning root.
    /// @param annotatorBond Tokens an annotator deposits at commit and gets back at reveal.
    /// @param commitDeadline Last second at which commits are accepted.
    /// @param revealDeadline Last second of the reveal window (annotators and gold).
    /// @param attestDeadline Last second at which validators may attest.
    /// @param numItems Number of items in the task.
    /// @param redundancy Labels wanted per item.
    /// @param seatDeadline Last second at which seats can be claimed; 0 for an open task.
    /// @param batchSize Items per seat; 0 for an open task (v1's rules: no seats).
    struct TaskParams {
        string manifestCid;
        bytes32 algorithm;
        bytes32 goldCommitment;
        uint128 rewardPerLabel;
        uint128 validatorFee;
        uint128 annotatorBond;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 attestDeadline;
        uint32 numItems;
        uint16 redundancy;
        uint64 seatDeadline;
        uint32 batchSize;
    }

    /// @notice A task as stored. `rewardPool = numItems * redundancy * rewardPerLabel`.
    /// `commitCount` counts the annotators who committed to an open task; a seated task
    /// (`seatLimit > 0`) counts seats instead (`seatCount`, each holding a bond until its
    /// reveal) and has `commitCount == 0`: its commits are the `LabelsCommitted` events.
    struct Task {
        address requester;
        uint64 commitDeadline;
        uint32 commitCount;
        uint64 revealDeadline;
        uint64 attestDeadline;
        uint32 revealCount;
        uint8 attestCount;
        TaskStatus status;
        bool goldRevealed;
        bool refunded;
        uint128 rewardPool;
        uint128 validatorFee;
        uint128 annotatorBond;
        uint128 paidOut;
        bytes32 goldCommitment;
        bytes32 payoutRoot;
        uint128 totalPayout;
        uint128 refundable;
        uint64 seatDeadline;
        uint32 seatCount;
        uint32 seatLimit;
    }

    /// @notice One validator's attestation.
    struct Attestation {
        address validator;
        uint96 weight;
        bytes32 payoutRoot;
        uint128 totalPayout;
    }

    /// @notice Emitted when a task is posted and its bounty escrowed.
    event TaskCreated(uint256 indexed taskId, address indexed requester, TaskParams params, uint256 rewardPool);
    /// @notice Emitted when the requester cancels a task that has no commits.
    event TaskCancelled(uint256 indexed taskId, uint256 refunded);
    /// @notice Emitted when an annotator claims seat number `seat` (in claim order, from 0).
    event SeatClaimed(uint256 indexed taskId, address indexed annotator, uint32 seat);
    /// @notice Emitted when an annotator commits (or replaces its commitment) to a label batch.
    event LabelsCommitted(uint256 indexed taskId, address indexed annotator, bytes32 commitment);
    /// @notice Emitted when an annotator reveals its batch; the batch is at `labelsCid`.
    event LabelsRevealed(uint256 indexed taskId, address indexed annotator, bytes32 labelsRoot, string labelsCid);
    /// @notice Emitted when the requester reveals the gold answers at `goldCid`.
    event GoldRevealed(uint256 indexed taskId, bytes32 goldRoot, string goldCid);
    /// @notice Emitted when a validator attests a result; the result document is at `resultCid`.
    event ResultAttested(
        uint256 indexed taskId,
        address indexed validator,
        bytes32 payoutRoot,
        uint256 totalPayout,
        uint256 weight,
        string resultCid
    );
    /// @notice Emitted when a heavier validator takes the seat of `validator` on a full committee.
    event AttestationEvicted(uint256 indexed taskId, address indexed validator, address indexed replacedBy);
    /// @notice Emitted when a root wins: at least 2/3 of the attesting stake, `minAttestations`
    /// attesters, and still backed by at least `quorumBps` of all active stake.
    event TaskFinalized(
        uint256 indexed taskId, bytes32 payoutRoot, uint256 totalPayout, uint256 winningWeight, uint256 attestingWeight
    );
    /// @notice Emitted when no root wins (see `finalize`) or nothing was revealed: full refund.
    event TaskDisputed(uint256 indexed taskId, uint256 bestWeight, uint256 attestingWeight);
    /// @notice Emitted, just before `TaskDisputed`, when the best root had the attestations and
    /// 2/3 of the attesting stake but its attesters' stake (`backing`: attested weights capped
    /// at their current stake) was below `quorumBps` of `totalStaked`.
    event TaskQuorumMissed(uint256 indexed taskId, uint256 backing, uint256 totalStaked);
    /// @notice Emitted when a validator of the winning root earns its share of fee and slashings.
    event ValidatorRewarded(uint256 indexed taskId, address indexed validator, uint256 reward);
    /// @notice Emitted when `account` is paid its leaf of the payout tree.
    event PayoutClaimed(uint256 indexed taskId, address indexed account, uint256 amount);
    /// @notice Emitted when the requester receives what the task did not spend.
    event RequesterRefunded(uint256 indexed taskId, address indexed requester, uint256 amount);

    /// @notice Constructor limits out of range: 1 <= minAttestations <= maxCommittee <= 32.
    error TaskMarketInvalidCommittee(uint8 maxCommittee, uint8 minAttestations);
    /// @notice Constructor quorum out of range: 1 <= quorumBps <= 10000.
    error TaskMarketInvalidQuorum(uint16 quorumBps);
    /// @notice A zero address where a contract is required.
    error TaskMarketZeroAddress();
    /// @notice The task does not exist.
    error TaskMarketUnknownTask(uint256 taskId);
    /// @notice numItems, redundancy and rewardPerLabel must all be positive.
    error TaskMarketEmptyTask(uint32 numItems, uint16 redundancy, uint128 rewardPerLabel);
    /// @notice Deadlines must satisfy now < commit < reveal < attest.
    error TaskMarketInvalidDeadlines(uint64 commitDeadline, uint64 revealDeadline, uint64 attestDeadline);
    /// @notice The manifest CID is empty.
    error TaskMarketEmptyCid();
    /// @notice The escrow (reward pool plus validator fee) does not fit in 96 bits.
    error TaskMarketBountyTooLarge(uint256 escrow);
    /// @notice The annotator bond does not fit in 96 bits.
    error TaskMarketBondTooLarge(uint128 bond);
    /// @notice The caller is not the task's requester.
    error TaskMarketNotRequester(uint256 taskId, address caller);
    /// @notice The task is not in the status this call needs.
    error TaskMarketWrongStatus(uint256 taskId, TaskStatus status);
    /// @notice The deadline for this step has passed.
    error TaskMarketDeadlinePassed(uint256 taskId, uint64 deadline);
    /// @notice This step opens only after `opensAfter`.
    error TaskMarketTooEarly(uint256 taskId, uint64 opensAfter);
    /// @notice The task already has commits (a seated task: seats) and can no longer be cancelled.
    error TaskMarketHasCommits(uint256 taskId, uint32 commitCount);
    /// @notice A commitment below 2**128 (zero, `REVEALED`, or a value a seat is stored as):
    /// never the keccak256 output `commit` expects, except with probability 2**-128.
    error TaskMarketEmptyCommitment();
    /// @notice The caller has no commitment on this task.
    error TaskMarketNotCommitted(uint256 taskId, address annotator);
    /// @notice The caller already revealed on this task.
    error TaskMarketAlreadyRevealed(uint256 taskId, address annotator);
    /// @notice The revealed root and salt do not hash to the commitment.
    error TaskMarketCommitmentMismatch(uint256 taskId, address annotator);
    /// @notice The task has no gold commitment.
    error TaskMarketNoGold(uint256 taskId);
    /// @notice The gold answers were already revealed.
    error TaskMarketGoldAlreadyRevealed(uint256 taskId);
    /// @notice Nobody revealed labels, so there is nothing to attest.
    error TaskMarketNoReveals(uint256 taskId);
    /// @notice The attested total exceeds the task's reward pool.
    error TaskMarketPayoutExceedsPool(uint256 taskId, uint256 totalPayout, uint256 rewardPool);
    /// @notice An empty payout root.
    error TaskMarketEmptyRoot();
    /// @notice The committee has `maxCommittee` members, none lighter than the caller.
    error TaskMarketCommitteeFull(uint256 taskId, uint8 maxCommittee);
    /// @notice The attest window is longer than the staking unbonding delay.
    error TaskMarketAttestWindowTooLong(uint64 window, uint64 maxWindow);
    /// @notice The validator already attested this task.
    error TaskMarketAlreadyAttested(uint256 taskId, address validator);
    /// @notice Finalizing before the attest deadline needs a result that would win now and whose
    /// attesters still hold 2/3 (and `quorumBps`) of all active stake (`bestWeight` is that
    /// backing stake: attested weights capped at the attesters' current stake; 0 when no
    /// result would win on its votes).
    error TaskMarketNoEarlyQuorum(uint256 taskId, uint256 bestWeight, uint256 totalStaked);
    /// @notice The account was already paid on this task.
    error TaskMarketAlreadyClaimed(uint256 taskId, address account);
    /// @notice The proof does not lead from `(account, amount)` to the task's payout root.
    error TaskMarketInvalidProof(uint256 taskId, address account, uint256 amount);
    /// @notice Paying this leaf would exceed the attested total.
    error TaskMarketPayoutExceeded(uint256 taskId, uint256 paidOut, uint256 amount, uint256 totalPayout);
    /// @notice A zero-amount leaf: there is nothing to pay.
    error TaskMarketNothingToClaim(uint256 taskId, address account);
    /// @notice The requester was already refunded.
    error TaskMarketAlreadyRefunded(uint256 taskId);
    /// @notice Array arguments of different lengths.
    error TaskMarketLengthMismatch();
    /// @notice A seated task needs `1 <= batchSize <= numItems`, `batchSize` dividing
    /// `numItems * redundancy` (every seat a full batch) and fewer than 2**24 seats.
    error TaskMarketInvalidBatchSize(uint32 batchSize, uint32 numItems, uint16 redundancy);
    /// @notice A seated task needs `now < seatDeadline` and `seatDeadline + minLabelTime <=
    /// commitDeadline` (time to label once the items are dealt); an open task, `seatDeadline == 0`.
    error TaskMarketInvalidSeatDeadline(uint64 seatDeadline, uint64 commitDeadline, uint64 minLabelTime);
    /// @notice Seats are claimed only until the seat deadline (0: an open task has no seats).
    error TaskMarketSeatsClosed(uint256 taskId, uint64 seatDeadline);
    /// @notice All `seatLimit` seats of the task are taken.
    error TaskMarketNoSeatsLeft(uint256 taskId, uint32 seatLimit);
    /// @notice The annotator already holds a seat on the task (one per address).
    error TaskMarketAlreadySeated(uint256 taskId, address annotator);
    /// @notice Only a seat holder may commit to a seated task.
    error TaskMarketNoSeat(uint256 taskId, address annotator);

    /// @notice Post a task and escrow its bounty (`rewardPool + validatorFee`) with `transferFrom`.
    /// @return taskId The new task's id (ids start at 1).
    function createTask(TaskParams calldata params) external returns (uint256 taskId);

    /// @notice `createTask` with an EIP-2612 permit instead of a prior approval. A permit that
    /// fails (for instance because it was front-run) is ignored if the allowance suffices.
    function createTaskWithPermit(TaskParams calldata params, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 taskId);

    /// @notice Requester only: cancel a task that nobody committed to, returning the escrow.
    function cancel(uint256 taskId) external;

    /// @notice Claim a seat on a seated task, until its seat deadline: seats are numbered in
    /// claim order and stop at the task's seat limit, one per address. Pulls the annotator bond
    /// if the task has one. Which items a seat labels is dealt off chain (rule `deal` version 1,
    /// docs/settlement.md §1.4) from randomness that exists only after the seat deadline, so
    /// the claim order decides nothing.
    /// @return seat The seat's number, from 0.
    function claimSeat(uint256 taskId) external returns (uint32 seat);

    /// @notice Commit to a label batch: `commitment = keccak256(abi.encode(taskId, annotator,
    /// labelsRoot, salt))`, at least 2**128. In an open task a first commit pulls the annotator
    /// bond; in a seated task only a seat holder commits, and its seat already took the bond.
    /// Later commits replace the earlier one.
    function commit(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the batch committed to; returns the bond. Only after the commit deadline.
    function reveal(uint256 taskId, bytes32 labelsRoot, string calldata labelsCid, bytes32 salt) external;

    /// @notice Requester only: reveal the gold answers committed to at creation.
    function revealGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external;

    /// @notice Staked validators only, after the reveal deadline: attest the task's payout root.
    /// When the committee is full, a validator heavier than its lightest member takes that
    /// member's seat (whose lock is released).
    function attest(uint256 taskId, bytes32 payoutRoot, uint128 totalPayout, string calldata resultCid) external;

    /// @notice Settle the task: the root backed by at least 2/3 of attesting stake, by at least
    /// `minAttestations` attestations, and by attesters still holding at least `quorumBps` of
    /// all active stake wins; other attesters are slashed; otherwise disputed. Anyone may call
    /// after the attest deadline, or earlier once a winning root's attesters still hold 2/3
    /// (and `quorumBps`) of all active stake; after the reveal deadline if nobody revealed.
    function finalize(uint256 taskId) external;

    /// @notice Pay `account` its leaf `(account, amount)` of the task's payout tree.
    function claim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) external;

    /// @notice Pay `account` its leaves of several tasks in one transfer.
    function claimMany(
        uint256[] calldata taskIds,
        address account,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external;

    /// @notice Send the requester what the task did not spend (finalizing it first if it is due).
    function refund(uint256 taskId) external;

    /// @notice The stored task.
    function getTask(uint256 taskId) external view returns (Task memory);

    /// @notice Where an open task is in time.
    function phaseOf(uint256 taskId) external view returns (Phase);

    /// @notice The task's attestations, in the order they were made.
    function attestationsOf(uint256 taskId) external view returns (Attestation[] memory);

    /// @notice The commitment of `annotator` on `taskId` (zero if none, REVEALED once revealed).
    /// A seat holder that has not committed yet reads zero, and so does a paid account: one
    /// slot holds an annotator's seat, commitment, reveal and payment in turn.
    function commitmentOf(uint256 taskId, address annotator) external view returns (bytes32);

    /// @notice Whether `annotator` holds a seat on `taskId` (false on an open task). The seat's
    /// number is in its `SeatClaimed` event.
    function hasSeat(uint256 taskId, address annotator) external view returns (bool);

    /// @notice Least time, in seconds, a seated task leaves between its seat and commit deadlines.
    function minLabelTime() external view returns (uint64);

    /// @notice The market's rules version: 2 (seats). v1 markets have no `version()`.
    function version() external pure returns (uint256);

    /// @notice What `account` has been paid by `taskId`.
    function paidOf(uint256 taskId, address account) external view returns (uint256);

    /// @notice What `account` has been paid by all tasks together.
    function totalPaidOf(address account) external view returns (uint256);

    /// @notice Number of tasks created so far (the latest id).
    function taskCount() external view returns (uint256);

    /// @notice Least share of all active stake (`totalStaked`), in basis points, that the
    /// attesters of a winning root must still hold at finalization, each counted with its
    /// attested weight capped at its current stake. Fixed at deployment, in [1, 10000].
    function quorumBps() external view returns (uint16);
}
