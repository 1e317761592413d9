// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

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
/// an open task: no seats, and anyone may commit. Market v3 (`version() == 3`) adds gated
/// tasks: created, seated and credited through the market's gate (IQualifications).
/// Settlement (docs/settlement.md §2): after the reveal deadline a task goes through rounds
/// 0, 1 and 2 of attestation. Rounds 0 and 1 are bounded committees, round 2 an unbounded
/// aggregate tally whose voters' stake is frozen. A root backed by more than half of all
/// stake is final at once (rule M); at a round's deadline a root with 2/3 of the round's
/// attesting weight, `minAttestations` votes and the stake quorum becomes provisional (rule
/// P) and anyone may appeal it by attesting in the next round during `CHALLENGE_PERIOD`;
/// otherwise the next round opens. Slashing follows the final root, in every round. A task
/// with any reveal can only end `Finalized`; one with none ends `Void`.
interface ITaskMarket {
    /// @notice Lifecycle state. While `Open`, the phase follows from the deadlines and the round.
    /// `Void`: nothing was revealed by the reveal deadline, everything is refunded. There is no
    /// `Disputed` state in market v2: a task with a reveal ends `Finalized`.
    enum TaskStatus {
        None,
        Open,
        Finalized,
        Void,
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
    /// `revealCount` counts reveals of a bonded task (whose forfeited bonds it decides); an
    /// unbonded task saves that write and reads 1 once anything is revealed, else 0: the
    /// reveals themselves are the `LabelsRevealed` events. `attestCount` is round 0's.
    /// `round`, `provisional` and `roundDeadline` locate the settlement (§2.2): the current
    /// round's window end, or the challenge end while `provisional` (`payoutRoot` and
    /// `totalPayout` then hold the provisional result).
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
        // The requester's refund, pushed when the task ended (0 while open).
        uint128 refundable;
        uint64 seatDeadline;
        uint32 seatCount;
        uint32 seatLimit;
        uint8 round;
        bool provisional;
        uint64 roundDeadline;
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
    /// @notice Emitted when a root is final (rule M, a provisional root whose challenge
    /// ended, or round 2's rules); `winningWeight` is its backing, `attestingWeight` the
    /// deciding round's attesting weight.
    event TaskFinalized(
        uint256 indexed taskId, bytes32 payoutRoot, uint256 totalPayout, uint256 winningWeight, uint256 attestingWeight
    );
    /// @notice Emitted when nothing was revealed by the reveal deadline: the requester gets
    /// the whole escrow and the forfeited bonds back.
    event TaskVoided(uint256 indexed taskId, uint256 refund);
    /// @notice Emitted when round `round` (1 or 2) opens, until `deadline`.
    event RoundOpened(uint256 indexed taskId, uint8 round, uint64 deadline);
    /// @notice Emitted when round `round`'s best result passes rule P: it becomes final at
    /// `challengeEnds` unless someone appeals (attests in round `round + 1`) before.
    event ResultProvisional(
        uint256 indexed taskId,
        uint8 round,
        bytes32 payoutRoot,
        uint256 totalPayout,
        uint256 backing,
        uint64 challengeEnds
    );
    /// @notice Emitted when `validator` appeals a provisional result by attesting in `round`.
    event Appealed(
        uint256 indexed taskId, uint8 round, address indexed validator, bytes32 payoutRoot, uint256 totalPayout
    );
    /// @notice Emitted when a validator of the final root earns its share of fee and slashings
    /// (rounds 0 and 1, inside `finalize`).
    event ValidatorRewarded(uint256 indexed taskId, address indexed validator, uint256 reward);
    /// @notice Emitted when a round-2 vote is settled: `slashed` if its root lost, else
    /// `reward`; the voter's stake is unfrozen.
    event VoteSettled(uint256 indexed taskId, address indexed validator, uint8 round, uint256 slashed, uint256 reward);
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
    /// @notice Nothing to decide yet: the round is still open and no root is backed by more
    /// than half of all stake (`backing` of the heaviest root, `totalStaked`).
    error TaskMarketNotFinal(uint256 taskId, uint256 backing, uint256 totalStaked);
    /// @notice A provisional result (or round 2's leader) cannot be final before `endsAt`.
    error TaskMarketChallengeOpen(uint256 taskId, uint64 endsAt);
    /// @notice The validator already voted in this round (rounds 1 and 2).
    error TaskMarketAlreadyVoted(uint256 taskId, uint8 round, address validator);
    /// @notice The task has no final root yet (a round-2 vote cannot be settled).
    error TaskMarketNotSettleable(uint256 taskId);
    /// @notice The round-2 vote does not exist or was already settled.
    error TaskMarketVoteSettled(uint256 taskId, address validator);
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
    /// @notice Only the market's gate (its Qualifications contract) may call this.
    error TaskMarketNotGate(address caller);
    /// @notice `taskId` is gated: its seats are claimed through the gate, which checks its rules.
    error TaskMarketGated(uint256 taskId);

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

    /// @notice The gate only (market v3): create a gated task for `requester`, who pays the
    /// escrow (it approved the market). A gated task's seats are claimed through the gate and
    /// its claims credit the gate's reputation counters (IQualifications).
    function createTaskFor(TaskParams calldata params, address requester) external returns (uint256 taskId);

    /// @notice The gate only (market v3): claim a seat on a gated task for `annotator`, whom the
    /// gate admitted; the bond, if any, comes from `annotator`.
    function claimSeatFor(uint256 taskId, address annotator) external returns (uint32 seat);

    /// @notice Commit to a label batch: `commitment = keccak256(abi.encode(taskId, annotator,
    /// labelsRoot, salt))`, at least 2**128. In an open task a first commit pulls the annotator
    /// bond; in a seated task only a seat holder commits, and its seat already took the bond.
    /// Later commits replace the earlier one.
    function commit(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the batch committed to; returns the bond. Only after the commit deadline.
    function reveal(uint256 taskId, bytes32 labelsRoot, string calldata labelsCid, bytes32 salt) external;

    /// @notice Requester only: reveal the gold answers committed to at creation.
    function revealGold(uint256 taskId, bytes32 goldRoot, string calldata goldCid, bytes32 salt) external;

    /// @notice Staked validators only, after the reveal deadline of a task with a reveal: vote
    /// for a payout root in the current round, locking `slashBps << round` of the caller's
    /// stake. While a result is provisional the vote is an appeal: it opens the next round
    /// and is cast there. Rounds 0 and 1 are bounded committees (`maxCommittee`, then 32)
    /// where a heavier validator takes the seat of the lightest (whose lock is released);
    /// round 2 has no bound and freezes the voter's stake until `settleVote`. Reverts after
    /// the current round's deadline (rounds 0 and 1): `finalize` moves the task on first.
    function attest(uint256 taskId, bytes32 payoutRoot, uint128 totalPayout, string calldata resultCid) external;

    /// @notice Anyone: apply the settlement rules (docs/settlement.md §2.3, §2.5). Nothing
    /// revealed after the reveal deadline: `Void`, full refund. Otherwise a root backed by more
    /// than half of all stake is final at any time (M); at the round's deadline a provisional
    /// root whose challenge ended is final, a root passing P becomes provisional, or the next
    /// round opens; in round 2 after its deadline the heaviest root is final with the stake
    /// quorum and strictly more than any other, or once it led for `CHALLENGE_PERIOD`. A final
    /// root settles rounds 0 and 1 (votes for other roots slashed `slashBps << round`, the
    /// fee and slashings shared among the final root's voters pro rata to stake at risk) and
    /// pushes the requester's refund. Reverts when nothing changes.
    function finalize(uint256 taskId) external;

    /// @notice Anyone, once the task is final: settle `validator`'s round-2 vote. A vote for
    /// another root than the final one loses its lock; a vote for it is released with its
    /// share of the fee and of rounds 0–1's slashings. Either way the stake is unfrozen.
    function settleVote(uint256 taskId, address validator) external;

    /// @notice Pay `account` its leaf `(account, amount)` of the task's payout tree.
    function claim(uint256 taskId, address account, uint256 amount, bytes32[] calldata proof) external;

    /// @notice Pay `account` its leaves of several tasks in one transfer.
    function claimMany(
        uint256[] calldata taskIds,
        address account,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external;

    /// @notice Finalize the task if that ends it (which pushes the requester's refund); reverts
    /// `TaskMarketAlreadyRefunded` once it has ended, `TaskMarketWrongStatus` while it is open.
    function refund(uint256 taskId) external;

    /// @notice The stored task.
    function getTask(uint256 taskId) external view returns (Task memory);

    /// @notice Where an open task is in time.
    function phaseOf(uint256 taskId) external view returns (Phase);

    /// @notice The attestations of round `round` (0 or 1), by seat. (Market v3 dropped v2's
    /// `attestationsOf(taskId)`, which was round 0's, for the gate's bytes.)
    function roundAttestations(uint256 taskId, uint8 round) external view returns (Attestation[] memory);

    /// @notice A round-2 vote: its result key `keccak256(abi.encode(root, total))` (zero if
    /// none), weight, and whether it was settled.
    function finalVoteOf(uint256 taskId, address validator)
        external
        view
        returns (bytes32 resultKey, uint96 weight, bool settled);

    /// @notice The commitment of `annotator` on `taskId` (zero if none, REVEALED once revealed).
    /// A seat holder that has not committed yet reads zero, and so does a paid account: one
    /// slot holds an annotator's seat, commitment, reveal and payment in turn.
    function commitmentOf(uint256 taskId, address annotator) external view returns (bytes32);

    /// @notice Whether `annotator` holds a seat on `taskId` (false on an open task). The seat's
    /// number is in its `SeatClaimed` event.
    function hasSeat(uint256 taskId, address annotator) external view returns (bool);

    /// @notice Least time, in seconds, a seated task leaves between its seat and commit deadlines.
    function minLabelTime() external view returns (uint64);

    /// @notice The market's rules version: 3 (v2's seats and settlement rounds, and gated tasks
    /// through the gate). v1 markets have no `version()`.
    function version() external pure returns (uint256);

    /// @notice What `account` has been paid by `taskId`.
    function paidOf(uint256 taskId, address account) external view returns (uint256);

    /// @notice The bounty token.
    function token() external view returns (IERC20);

    /// @notice Number of tasks created so far (the latest id).
    function taskCount() external view returns (uint256);

    /// @notice Least share of all active stake (`totalStaked`), in basis points, that the
    /// attesters of a winning root must still hold at finalization, each counted with its
    /// attested weight capped at its current stake. Fixed at deployment, in [1, 10000].
    function quorumBps() external view returns (uint16);
}
