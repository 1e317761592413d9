// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestBase} from "../utils/TestBase.sol";
import {MarketHandler} from "./MarketHandler.sol";
import {LabelToken} from "../../src/LabelToken.sol";
import {ValidatorStaking} from "../../src/ValidatorStaking.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {IQualifications} from "../../src/interfaces/IQualifications.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";

/// @notice Stateful invariants over random sequences of MarketHandler actions (docs/settlement.md
/// §5): the requester never recovers what is owed (1), no void after a reveal (2), the honest
/// outcome under assumption H (3), paid what is owed (4), the exact rate (5), at most k seats
/// per item (6), slashing follows the final root (7), the bounded delay under H (8), solvency
/// (9), staking conservation and locks backed by stake (10); plus no double payment and seats
/// within their limit. Validator 0 is the adversary of H; the others are honest.
contract MarketInvariantsTest is TestBase {
    uint256 internal constant SUPPLY = 1e9 ether;
    /// @dev 1%: every round of every task (at most 6 * 7% locked) leaves an honest validator
    /// free stake to vote, as H needs; the unit tests cover the default 10%.
    uint16 internal constant SLASH_BPS = 100;
    uint16 internal constant QUORUM_BPS = 3334;
    uint64 internal constant MIN_LABEL_TIME = 1 hours;

    LabelToken internal token;
    ValidatorStaking internal staking;
    TaskMarket internal market;
    MarketHandler internal handler;
    address internal treasury;
    address[] internal requesters;
    address[] internal annotators;
    address[] internal validators;

    function setUp() public {
        treasury = makeAddr("treasury");
        token = new LabelToken(treasury, SUPPLY);
        staking = new ValidatorStaking(token, 100 ether, 3 days, SLASH_BPS, address(this));
        market = new TaskMarket(token, staking, 3, 2, QUORUM_BPS, MIN_LABEL_TIME, IQualifications(address(0)));
        staking.setMarket(address(market));

        requesters.push(makeAddr("requester1"));
        requesters.push(makeAddr("requester2"));
        annotators.push(makeAddr("annotatorA"));
        annotators.push(makeAddr("annotatorB"));
        annotators.push(makeAddr("annotatorC"));
        validators.push(makeAddr("validator1"));
        validators.push(makeAddr("validator2"));
        validators.push(makeAddr("validator3"));
        validators.push(makeAddr("validator4"));

        for (uint256 i; i < requesters.length; ++i) {
            _fundAndApprove(requesters[i], 1_000_000 ether, address(market));
        }
        for (uint256 i; i < annotators.length; ++i) {
            _fundAndApprove(annotators[i], 100 ether, address(market));
        }
        for (uint256 i; i < validators.length; ++i) {
            _fundAndApprove(validators[i], 2_000 ether, address(staking));
            vm.prank(validators[i]);
            staking.stake((4 - i) * 100 ether); // 400, 300, 200, 100
        }
        // Everything left with the treasury is out of play; the rest must stay conserved.
        uint256 rest = token.balanceOf(treasury);
        vm.prank(treasury);
        vm.assertTrue(token.transfer(address(0xdead), rest));

        handler = new MarketHandler(token, staking, market, requesters, annotators, validators);
        // Start every run with three tasks committed to, so that short sequences reach
        // attestation, settlement and claims: task 1 by all three annotators; task 2 by one,
        // its honest validators asleep until round 2 (seed bit 102); and task 3 seated (seed
        // bit 100), its two seats (batches of all four items) held by annotators A and B.
        handler.createTask(0, 10, 3, 1 ether, 3 ether, 0.5 ether);
        handler.createTask(1 | (1 << 102), 5, 2, 0.5 ether, 0, 0);
        handler.createTask(1 << 100, 4, 2, 0.5 ether, 1 ether, 0.25 ether);
        handler.commit(0, 2 << 128);
        handler.commit(1, 0);
        handler.claimSeat(2, 0);
        handler.claimSeat(2, 1);
        handler.commit(2, 1 << 128);
        vm.assertTrue(handler.honestAsleep(2) && !handler.honestAsleep(1) && !handler.honestAsleep(3));
        vm.assertEq(market.getTask(3).seatCount, 2);
        targetContract(address(handler));
        // Forge picks uniformly among the listed selectors, duplicates included: the steps
        // of a task's lifecycle are listed more than once so that runs of 32 calls regularly
        // get from commit to claim, while every action keeps a fair share.
        _select(MarketHandler.createTask.selector, 1);
        _select(MarketHandler.cancel.selector, 1);
        _select(MarketHandler.revealGold.selector, 1);
        _select(MarketHandler.refund.selector, 1);
        _select(MarketHandler.claimSeat.selector, 2);
        _select(MarketHandler.commit.selector, 2);
        _select(MarketHandler.reveal.selector, 2);
        _select(MarketHandler.stake.selector, 1);
        _select(MarketHandler.requestUnstake.selector, 1);
        _select(MarketHandler.withdraw.selector, 1);
        _select(MarketHandler.attest.selector, 3);
        _select(MarketHandler.finalize.selector, 3);
        _select(MarketHandler.settleVote.selector, 1);
        _select(MarketHandler.claim.selector, 3);
        _select(MarketHandler.claimMany.selector, 2);
        _select(MarketHandler.warp.selector, 1);
        _select(MarketHandler.finalizeLate.selector, 1);
        bytes4[] memory selectors = _selectors;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    bytes4[] internal _selectors;

    function _select(bytes4 selector, uint256 weight) internal {
        for (uint256 i; i < weight; ++i) {
            _selectors.push(selector);
        }
    }

    function _fundAndApprove(address account, uint256 amount, address spender) internal {
        vm.prank(treasury);
        vm.assertTrue(token.transfer(account, amount));
        vm.prank(account);
        token.approve(spender, type(uint256).max);
    }

    // ================================================================ invariants
    // Forge checks an invariant after every call, so each one reads state in few calls.

    /// @notice Every property below, checked after every handler call. One invariant function,
    /// not one per property: forge runs a whole campaign (10,000 runs of 24 calls in CI) per
    /// invariant function, so seven would take seven times as long for the same checks.
    function invariant_marketV2() public view {
        uint256 count = market.taskCount();
        ITaskMarket.Task[] memory tasks = new ITaskMarket.Task[](count + 1);
        for (uint256 id = 1; id <= count; ++id) {
            tasks[id] = market.getTask(id);
        }
        _marketHoldsEverythingOwed(tasks);
        _honestOutcomeAndNothingOwedRefunded(tasks);
        _payoutsBoundedByBounty(tasks);
        _noAccountPaidTwice();
        _slashedStakeAccounted();
        _locksBackedByActiveStake(tasks);
        _seatsWithinLimitOnePerAddress(tasks);
        _exactRate(tasks);
        _atMostKPerItem(tasks);
        _boundedDelay(tasks);
    }

    /// @notice Solvency (§5 invariant 9): the market holds at least everything it still owes:
    /// for open tasks the reward pool, the validator fee and the bonds not yet returned; for
    /// finalized tasks the unclaimed payouts; and round 2's reserved rewards not yet settled.
    /// Void and cancelled tasks owe nothing (their refund was pushed). Round 2's slashings stay
    /// in the market, so the balance may exceed this; without them it is exact.
    function _marketHoldsEverythingOwed(ITaskMarket.Task[] memory tasks) internal view {
        uint256 owed = handler.ghostReservedTotal();
        for (uint256 id = 1; id < tasks.length; ++id) {
            ITaskMarket.Task memory t = tasks[id];
            if (t.status == ITaskMarket.TaskStatus.Open) {
                uint256 bonded = uint256(t.commitCount) + t.seatCount;
                uint256 unreturned = t.annotatorBond == 0 ? 0 : (bonded - t.revealCount) * t.annotatorBond;
                owed += uint256(t.rewardPool) + t.validatorFee + unreturned;
                vm.assertEq(uint256(t.refundable), 0, "nothing is refundable while open");
                vm.assertFalse(t.refunded, "nothing is refunded while open");
            } else if (t.status == ITaskMarket.TaskStatus.Finalized) {
                owed += uint256(t.totalPayout) - t.paidOut;
            }
        }
        vm.assertGe(token.balanceOf(address(market)), owed, "market insolvent");
    }

    /// @notice §5 invariants 1-3: once anything is revealed the task never becomes void, and a
    /// finalized task's root is the honest one (H holds in this campaign), so the requester's
    /// refund is the pool minus what is owed, plus forfeited bonds and rounding dust (below
    /// the 35 winning votes of rounds 0 and 1, plus one).
    function _honestOutcomeAndNothingOwedRefunded(ITaskMarket.Task[] memory tasks) internal view {
        for (uint256 id = 1; id < tasks.length; ++id) {
            ITaskMarket.Task memory t = tasks[id];
            if (t.revealCount == 0) continue;
            vm.assertTrue(t.status != ITaskMarket.TaskStatus.Void, "void after a reveal");
            if (t.status != ITaskMarket.TaskStatus.Finalized) continue;
            (bytes32 root, uint128 owed) = handler.honestOf(id);
            vm.assertEq(t.payoutRoot, root, "a dishonest root is final under H");
            vm.assertEq(uint256(t.totalPayout), uint256(owed), "the total is not what is owed");
            uint256 bonded = uint256(t.commitCount) + t.seatCount;
            uint256 forfeited = t.annotatorBond == 0 ? 0 : (bonded - t.revealCount) * t.annotatorBond;
            vm.assertLe(t.refundable, uint256(t.rewardPool) - owed + forfeited + 36, "refund takes what is owed");
        }
    }

    /// @notice paidOut <= totalPayout <= rewardPool for every task; only finalized tasks pay;
    /// and paidOut is exactly what the handler saw claimed.
    function _payoutsBoundedByBounty(ITaskMarket.Task[] memory tasks) internal view {
        uint256 count = market.taskCount();
        uint256[] memory ghostPaid = handler.ghostPaidAll(count);
        for (uint256 id = 1; id <= count; ++id) {
            ITaskMarket.Task memory t = tasks[id];
            vm.assertLe(t.paidOut, t.totalPayout, "paid beyond attested total");
            vm.assertLe(t.totalPayout, t.rewardPool, "attested total beyond pool");
            vm.assertEq(t.paidOut, ghostPaid[id]);
            if (t.status != ITaskMarket.TaskStatus.Finalized) {
                vm.assertEq(uint256(t.paidOut), 0, "only a finalized task pays");
                // The view shows a provisional result's total; nothing else has one.
                if (!t.provisional) vm.assertEq(uint256(t.totalPayout), 0, "a total before any result");
            }
        }
    }

    /// @notice No leaf is ever paid twice or beyond its root's total (the handler retries
    /// paid and over-budget leaves and counts any success), and the market's per-task and
    /// per-account records match the transfers the handler saw.
    function _noAccountPaidTwice() internal view {
        (,,,, uint256 violations) = handler.ghostLedger();
        vm.assertEq(violations, 0, "forbidden claim or refund succeeded");
        address[] memory accounts = handler.payableAccounts();
        uint256[] memory totals = new uint256[](accounts.length);
        for (uint256 id = 1; id <= market.taskCount(); ++id) {
            if (market.phaseOf(id) != ITaskMarket.Phase.Closed) continue;
            uint256[] memory ghostPaid = handler.ghostPaidToMany(id, accounts);
            for (uint256 i; i < accounts.length; ++i) {
                uint256 paid = market.paidOf(id, accounts[i]);
                vm.assertEq(paid, ghostPaid[i]);
                totals[i] += paid;
            }
        }
        for (uint256 i; i < accounts.length; ++i) {
            vm.assertEq(handler.ghostTotalPaidTo(accounts[i]), totals[i]);
        }
    }

    /// @notice Staking conservation and §5 invariant 7: staking holds exactly active +
    /// unbonding stake; across all settlements fee + slashed (rounds 0-1) == rewards + dust +
    /// round 2's reserve; every settled vote moved with the final root and no honest validator
    /// lost stake; no refund differed from what the market reported.
    function _slashedStakeAccounted() internal view {
        vm.assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalUnbonding());
        (,,,, uint256 violations) = handler.ghostLedger();
        vm.assertEq(handler.ghostSlashViolations(), 0, "stake moved against the final root");
        vm.assertEq(violations, 0, "forbidden outcome, or refund differs from refundable");
    }

    /// @notice A validator's lock never exceeds its active stake, and equals the locks of its
    /// votes not yet settled: rounds 0 (1%) and 1 (2%) of open tasks, and round 2 (4%) of any
    /// task until `settleVote`.
    function _locksBackedByActiveStake(ITaskMarket.Task[] memory tasks) internal view {
        uint256[] memory expected = new uint256[](validators.length);
        for (uint256 id = 1; id < tasks.length; ++id) {
            bool open = tasks[id].status == ITaskMarket.TaskStatus.Open;
            if (tasks[id].round == 2) {
                for (uint256 i; i < validators.length; ++i) {
                    (bytes32 key, uint96 weight, bool settled) = market.finalVoteOf(id, validators[i]);
                    if (key != bytes32(0) && !settled) expected[i] += uint256(weight) * (SLASH_BPS << 2) / 10_000;
                }
            }
            if (!open) continue;
            for (uint8 round; round <= tasks[id].round && round < 2; ++round) {
                ITaskMarket.Attestation[] memory atts = market.roundAttestations(id, round);
                for (uint256 j; j < atts.length; ++j) {
                    for (uint256 i; i < validators.length; ++i) {
                        if (atts[j].validator == validators[i]) {
                            expected[i] += uint256(atts[j].weight) * (SLASH_BPS << round) / 10_000;
                        }
                    }
                }
            }
        }
        for (uint256 i; i < validators.length; ++i) {
            uint256 locked = staking.lockedOf(validators[i]);
            vm.assertLe(locked, staking.stakeOf(validators[i]), "lock exceeds active stake");
            vm.assertEq(locked, expected[i], "lock differs from unsettled votes");
        }
    }

    /// @notice Seats (market v2): a task never has more seats claimed than its limit, an open
    /// task has none, a seated task counts no commits, and every claimed seat is held by a
    /// distinct annotator of the cast (one seat per address: the seat count equals the number
    /// of annotators holding one).
    function _seatsWithinLimitOnePerAddress(ITaskMarket.Task[] memory tasks) internal view {
        address[] memory cast = annotators;
        for (uint256 id = 1; id < tasks.length; ++id) {
            ITaskMarket.Task memory t = tasks[id];
            vm.assertLe(t.seatCount, t.seatLimit, "more seats than the limit");
            if (t.seatLimit > 0) vm.assertEq(uint256(t.commitCount), 0, "a seated task counts seats");
            uint256 holders;
            for (uint256 i; i < cast.length; ++i) {
                if (market.hasSeat(id, cast[i])) ++holders;
            }
            vm.assertEq(holders, t.seatCount, "one seat per address");
        }
    }

    /// @notice §5 invariant 5, exact rate: on a seated task every paid account got exactly the
    /// posted rate times the labels the rule accepted from its batch (the handler's ghost, from
    /// the batches it built): no pro rata scaling, and nothing for an account without labels.
    function _exactRate(ITaskMarket.Task[] memory tasks) internal view {
        address[] memory accounts = handler.payableAccounts();
        for (uint256 id = 1; id < tasks.length; ++id) {
            if (tasks[id].seatLimit == 0 || tasks[id].status != ITaskMarket.TaskStatus.Finalized) continue;
            (,,,, uint128 rate) = handler.shapeOf(id);
            uint256[] memory accepted = handler.ghostAcceptedMany(id, accounts);
            for (uint256 i; i < accounts.length; ++i) {
                uint256 paid = market.paidOf(id, accounts[i]);
                if (paid != 0) vm.assertEq(paid, uint256(rate) * accepted[i], "paid other than rate x accepted");
            }
        }
    }

    /// @notice §5 invariant 6, at most k per item: a seated task has `N·k / B` seats, no claim
    /// lands after its seal block, and the dealing rule of §1.4 over the seal's seed (the seed
    /// of node/chain/seal.py, reproduced by the handler's clock) deals no item to more than k
    /// of the claimed seats.
    function _atMostKPerItem(ITaskMarket.Task[] memory tasks) internal view {
        for (uint256 id = 1; id < tasks.length; ++id) {
            (uint32 numItems, uint16 k, uint32 batch,,) = handler.shapeOf(id);
            if (batch == 0) continue;
            vm.assertEq(uint256(tasks[id].seatLimit), uint256(numItems) * k / batch, "seat limit is not N*k/B");
            if (handler.sealBlockOf(id) != 0) {
                vm.assertEq(uint256(tasks[id].seatCount), handler.seatsAtSeal(id), "a seat claimed after the seal");
            }
            (bool known, uint256 most) = handler.mostSeatsPerItem(id);
            if (known) vm.assertLe(most, k, "an item dealt to more than k seats");
        }
    }

    /// @notice §5 invariant 8, bounded delay under H: a task still open in round 2 has its
    /// deadline within `attestDeadline + 2C + W1 + W2` (plus the two seconds of FINALIZE_LAG),
    /// and no revealed task was found unfinalized past that bound (`finalizeLate`).
    function _boundedDelay(ITaskMarket.Task[] memory tasks) internal view {
        for (uint256 id = 1; id < tasks.length; ++id) {
            ITaskMarket.Task memory t = tasks[id];
            if (t.status != ITaskMarket.TaskStatus.Open || t.round != 2) continue;
            vm.assertLe(t.roundDeadline, handler.delayBound(t.attestDeadline), "round 2 ends past the delay bound");
        }
        vm.assertEq(handler.ghostDelayFailures(), 0, "a revealed task is not final past its delay bound");
    }
}
