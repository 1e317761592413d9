// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITaskMarket} from "./ITaskMarket.sol";

/// @title IQualifications
/// @notice Reputation anchored on chain and the rules that admit an account to a gated task
/// (docs/qualification.md; issue #19 items 1 and 2). It is the market's gate: a gated task is
/// created here, its seats are claimed here (the market refuses a direct `claimSeat` on it),
/// and every claim of its payout credits the account's reputation in the task's domain.
/// @dev Reputation is derived only from finalized results: a gated task is seated, so under
/// the reward rule `assigned` (version 1) every accepted label pays exactly `rewardPerLabel` and a claim of `amount`
/// carries `amount / rewardPerLabel` accepted labels out of the `batchSize` items dealt to
/// the seat. The market calls `credit` from inside `claim`, after the payout leaf's Merkle
/// proof has been checked, so nobody can credit a label the result document does not pay.
/// A rule names what it checks: a seat claim that fails a rule reverts with that rule's error.
interface IQualifications {
    /// @notice What a requester states about a gated task, beside its `TaskParams`.
    /// @param domain The reputation domain the task's labels count in (zero: counted nowhere).
    /// @param allowlistRoot OpenZeppelin-layout Merkle root over `keccak256(abi.encode(account))`
    /// leaves (double hashed, as the payout tree); zero: no allowlist.
    /// @param minAccepted Least accepted labels the account must have in `domain`.
    /// @param minAccuracyBps Least `accepted / answered` in `domain`, in basis points.
    /// @param qualificationTaskId A finalized gated task (gold only, by convention) the account
    /// must have passed; zero: none.
    /// @param qualificationAccuracyBps Least `accepted / answered` on that task, in basis points.
    struct Gate {
        bytes32 domain;
        bytes32 allowlistRoot;
        uint32 minAccepted;
        uint16 minAccuracyBps;
        uint32 qualificationTaskId;
        uint16 qualificationAccuracyBps;
    }

    /// @notice A gated task's rule as stored: its `Gate` and the two figures of its params that
    /// turn a payout into counts.
    struct Rule {
        uint128 rewardPerLabel;
        uint32 batchSize;
        uint32 minAccepted;
        uint16 minAccuracyBps;
        uint32 qualificationTaskId;
        uint16 qualificationAccuracyBps;
        bytes32 domain;
        bytes32 allowlistRoot;
    }

    /// @notice A seat claim signed by its annotator (EIP-712 `SeatClaim(uint256 taskId,address
    /// annotator,uint256 deadline)` in this contract's domain), relayed by anyone.
    struct SignedSeat {
        address annotator;
        uint256 deadline;
        bytes32[] proof;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice An account's counters in one domain, summed over the claims of its gated tasks.
    struct Reputation {
        uint96 accepted;
        uint96 answered;
        uint64 tasks;
    }

    /// @notice A gated task was created with `gate`.
    event GatedTaskCreated(uint256 indexed taskId, address indexed requester, Gate gate);
    /// @notice A claim on `taskId` added `accepted` of `answered` labels to `account` in `domain`.
    event ReputationCredited(
        address indexed account, bytes32 indexed domain, uint256 indexed taskId, uint256 accepted, uint256 answered
    );

    /// @notice The market is the zero address.
    error QualificationsZeroAddress();
    /// @notice Only the market may call this.
    error QualificationsNotMarket(address caller);
    /// @notice `taskId` is not a gated task of this contract.
    error QualificationsUnknownTask(uint256 taskId);
    /// @notice A gated task must be seated (`batchSize > 0`): its counts come from the seat.
    error QualificationsNotSeated();
    /// @notice An accuracy above 100% (10,000 basis points), or a qualification task without an
    /// accuracy (or an accuracy without a task).
    error QualificationsInvalidGate();
    /// @notice The market created the gated task under another id than the one its rule was
    /// stored under (never, with this contract's market: it numbers tasks one by one).
    error QualificationsWrongTaskId(uint256 expected, uint256 created);
    /// @notice A relayed seat claim past its signed deadline.
    error QualificationsClaimExpired(address annotator, uint256 deadline);
    /// @notice A relayed seat claim whose signature is not `annotator`'s.
    error QualificationsBadSignature(address annotator);
    /// @notice The arrays of a batch differ in length.
    error QualificationsLengthMismatch();
    /// @notice Rule allowlist: `account` is not a leaf of the task's allowlist root.
    error NotOnAllowlist(uint256 taskId, address account);
    /// @notice Rule minimum reputation: `account` has `have` accepted labels in the task's
    /// domain and the task needs `need`.
    error ReputationTooLow(uint256 taskId, address account, uint256 have, uint256 need);
    /// @notice Rule minimum reputation: `account`'s accuracy in the task's domain is `haveBps`
    /// and the task needs `needBps` (an account with nothing answered has 0).
    error AccuracyTooLow(uint256 taskId, address account, uint256 haveBps, uint256 needBps);
    /// @notice Rule qualification task: `account` was paid for too few accepted labels on
    /// `qualificationTaskId` (or claimed nothing there).
    error NotQualified(uint256 taskId, address account, uint256 qualificationTaskId);

    /// @notice Post a gated (seated) task: the market creates it with the caller as requester
    /// and pulls the escrow from the caller (approve the market first), then this contract
    /// stores its rule. Reverts on an ungated shape before anything moves.
    function createGatedTask(ITaskMarket.TaskParams calldata params, Gate calldata gate)
        external
        returns (uint256 taskId);

    /// @notice `createGatedTask` with an EIP-2612 permit of the escrow to the market, signed by
    /// the caller: one transaction. A permit already used (front-run) leaves its allowance,
    /// which the market's `transferFrom` then uses.
    function createGatedTaskWithPermit(
        ITaskMarket.TaskParams calldata params,
        Gate calldata gate,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 taskId);

    /// @notice Claim a seat on gated task `taskId` for the caller, if every rule of the task
    /// admits it (`proof`: the caller's allowlist proof, empty without an allowlist). The
    /// market then takes the seat as `claimSeat` would, bond included.
    function claimSeat(uint256 taskId, bytes32[] calldata proof) external returns (uint32 seat);

    /// @notice Claim seats on gated task `taskId` for many annotators in one transaction, each
    /// admitted as `claimSeat` admits it and each having signed its claim; anyone may relay.
    /// Seats are numbered in the array's order, which decides nothing (the deal permutes them).
    /// Reverts as a whole if any claim fails: relayers check `checkAdmission` first.
    function claimSeats(uint256 taskId, SignedSeat[] calldata seats) external;

    /// @notice Pay many leaves of one finalized task in one transaction: the market's `claim`
    /// for each `(accounts[i], amounts[i], proofs[i])`, each leaf paid to its own account (and,
    /// on a gated task, credited to its reputation). Anyone may relay.
    function claimFor(
        uint256 taskId,
        address[] calldata accounts,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external;

    /// @notice Market only, from inside a claim of gated task `taskId`: credit `account`'s
    /// reputation in the task's domain with the payout `amount` it was just paid.
    function credit(uint256 taskId, address account, uint256 amount) external;

    /// @notice Reverts with the error of the first rule of `taskId` that refuses `account`
    /// (the order: allowlist, minimum reputation, qualification task); returns otherwise.
    /// Nodes call it before claiming a seat, to skip tasks they do not qualify for.
    function checkAdmission(uint256 taskId, address account, bytes32[] calldata proof) external view;

    /// @notice The EIP-712 digest an annotator signs to have `claimSeats` seat it.
    function seatClaimDigest(uint256 taskId, address annotator, uint256 deadline) external view returns (bytes32);

    /// @notice The market this contract gates.
    function market() external view returns (ITaskMarket);

    /// @notice The rule of gated task `taskId` (all zero for any other task).
    function ruleOf(uint256 taskId) external view returns (Rule memory);

    /// @notice `account`'s counters in `domain`.
    function reputationOf(address account, bytes32 domain) external view returns (Reputation memory);
}
